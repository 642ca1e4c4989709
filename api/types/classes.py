from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from domain.classes.catalogue import CLASS_SETS, LANGUAGES
from domain.classes.events import ClassChangeEvent
from domain.classes.evidence import render_evidence
from domain.customers.models import AssignedClass
from domain.errors import FieldError, InvalidInput


def checked_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise InvalidInput([FieldError("lang", "UNKNOWN_LANGUAGE", f"lang must be one of {', '.join(LANGUAGES)}")])
    return lang


def _label(class_set: str, code: str | None, lang: str) -> str | None:
    if code is None:
        return None
    return CLASS_SETS[class_set].code(code).label(checked_language(lang))


@strawberry.type
class ClassCodeInfo:
    code: str
    color: str | None
    labels: strawberry.Private[dict[str, str]]

    @strawberry.field
    def label(self, lang: str = "en") -> str:
        return self.labels.get(checked_language(lang), self.code)


@strawberry.type(description="A class set of the catalogue with its codes in order and this workspace's settings")
class ClassSet:
    key: str
    codes: list[ClassCodeInfo]
    settings_version: int
    settings: dict[str, Any] = strawberry.field(graphql_type=JSON, description="Thresholds and windows in force")
    names: strawberry.Private[dict[str, str]]

    @strawberry.field
    def name(self, lang: str = "en") -> str:
        return self.names.get(checked_language(lang), self.key)


@strawberry.type(description="How many customers have one code of a class set")
class ClassCount:
    class_set: str
    code: str
    count: int
    color: str | None

    @strawberry.field
    def label(self, lang: str = "en") -> str:
        return _label(self.class_set, self.code, lang) or self.code


@strawberry.type(description="The customer's current code in one class set, with why.")
class CustomerClass:
    class_set: str
    code: str
    color: str | None
    since: datetime
    settings_version: int
    evidence_data: dict[str, Any] = strawberry.field(
        graphql_type=JSON, description="The facts that decided the class, as stored"
    )

    @strawberry.field(description="Label in vi, zh or en")
    def label(self, lang: str = "en") -> str:
        return _label(self.class_set, self.code, lang) or self.code

    @strawberry.field(description="Why the customer has this class, as a sentence in vi, zh or en")
    def evidence(self, lang: str = "en") -> str:
        return render_evidence(self.class_set, self.evidence_data, checked_language(lang))

    @classmethod
    def from_domain(cls, assigned: AssignedClass) -> CustomerClass:
        definition = CLASS_SETS[assigned.class_set]
        return cls(
            class_set=assigned.class_set,
            code=assigned.code,
            color=definition.code(assigned.code).color,
            since=assigned.since,
            settings_version=assigned.settings_version,
            evidence_data=assigned.evidence,
        )


@strawberry.type(name="ClassChangeEvent", description="One change of class, from the class_events ledger or live")
class ClassChange:
    id: strawberry.ID = strawberry.field(description="Stable: a re-delivered event has the same id")
    customer_id: strawberry.ID
    class_set: str
    previous: str | None
    current: str
    reason: str
    settings_version: int
    at: datetime
    evidence_data: dict[str, Any] = strawberry.field(graphql_type=JSON)

    @strawberry.field
    def current_label(self, lang: str = "en") -> str:
        return _label(self.class_set, self.current, lang) or self.current

    @strawberry.field
    def previous_label(self, lang: str = "en") -> str | None:
        return _label(self.class_set, self.previous, lang)

    @strawberry.field
    def evidence(self, lang: str = "en") -> str:
        return render_evidence(self.class_set, self.evidence_data, checked_language(lang))

    @classmethod
    def from_domain(cls, event: ClassChangeEvent) -> ClassChange:
        return cls(
            id=strawberry.ID(event.id),
            customer_id=strawberry.ID(event.customer_id),
            class_set=event.class_set,
            previous=event.previous,
            current=event.current,
            reason=event.reason,
            settings_version=event.settings_version,
            at=event.at,
            evidence_data=event.evidence,
        )
