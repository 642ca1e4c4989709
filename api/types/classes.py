"""Class sets, codes, a customer's classes and class-change events. Labels and colours are the
workspace's (read once per request and handed to each object), so they resolve without awaiting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from domain.classes.catalogue import CLASS_SETS, LANGUAGES
from domain.classes.events import ClassChangeEvent
from domain.classes.evidence import render_evidence
from domain.classes.settings import current_params
from domain.customers.models import AssignedClass
from domain.errors import ErrorCode, InvalidInput
from domain.workspaces.models import Workspace
from scoring.spec import Sentence


def checked_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise InvalidInput.one("lang", ErrorCode.UNKNOWN_LANGUAGE, f"lang must be one of {', '.join(LANGUAGES)}")
    return lang


@strawberry.type
class ClassCodeInfo:
    class_set: str
    code: str
    workspace: strawberry.Private[Workspace]

    @strawberry.field(description="The workspace's own label when it set one, else the catalogue's")
    def label(self, lang: str = "en") -> str:
        return self.workspace.label(self.class_set, self.code, checked_language(lang))

    @strawberry.field
    def color(self) -> str | None:
        return self.workspace.color(self.class_set, self.code)


@strawberry.type(description="A class set of the catalogue with its codes in order and this workspace's settings")
class ClassSet:
    key: str
    codes: list[ClassCodeInfo]
    settings_version: int
    settings: dict[str, Any] = strawberry.field(
        graphql_type=JSON, description="Thresholds, windows and hysteresis in force (defaults or the workspace's)"
    )
    names: strawberry.Private[Sentence]

    @strawberry.field
    def name(self, lang: str = "en") -> str:
        return self.names.in_language(checked_language(lang))

    @classmethod
    def from_workspace(cls, key: str, workspace: Workspace) -> ClassSet:
        definition = CLASS_SETS[key]
        return cls(
            key=key,
            codes=[ClassCodeInfo(class_set=key, code=code.code, workspace=workspace) for code in definition.codes],
            settings_version=workspace.class_settings.version,
            settings=current_params(key, workspace.scoring_settings),
            names=definition.names,
        )


@strawberry.type(description="How many customers have one code of a class set")
class ClassCount(ClassCodeInfo):
    count: int


@strawberry.type(description="The customer's current code in one class set, with why.")
class CustomerClass(ClassCodeInfo):
    since: datetime
    settings_version: int
    evidence_data: dict[str, Any] = strawberry.field(
        graphql_type=JSON, description="The facts that decided the class, as stored"
    )

    @strawberry.field(description="Why the customer has this class, as a sentence in vi, zh or en")
    def evidence(self, lang: str = "en") -> str:
        return render_evidence(self.class_set, self.evidence_data, checked_language(lang))

    @classmethod
    def from_domain(cls, assigned: AssignedClass, workspace: Workspace) -> CustomerClass:
        return cls(
            class_set=assigned.class_set,
            code=assigned.code,
            workspace=workspace,
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
    version: int = strawberry.field(
        description="The customer's result version that made this change: per customer, later changes have higher"
    )
    at: datetime
    evidence_data: dict[str, Any] = strawberry.field(graphql_type=JSON)
    workspace: strawberry.Private[Workspace]

    @strawberry.field
    def current_label(self, lang: str = "en") -> str:
        return self.workspace.label(self.class_set, self.current, checked_language(lang))

    @strawberry.field
    def previous_label(self, lang: str = "en") -> str | None:
        if self.previous is None:
            return None
        return self.workspace.label(self.class_set, self.previous, checked_language(lang))

    @strawberry.field
    def evidence(self, lang: str = "en") -> str:
        return render_evidence(self.class_set, self.evidence_data, checked_language(lang))

    @classmethod
    def from_domain(cls, event: ClassChangeEvent, workspace: Workspace) -> ClassChange:
        return cls(
            id=strawberry.ID(event.id),
            customer_id=strawberry.ID(event.customer_id),
            class_set=event.class_set,
            previous=event.previous,
            current=event.current,
            reason=event.reason,
            settings_version=event.settings_version,
            version=event.version,
            at=event.at,
            evidence_data=event.evidence,
            workspace=workspace,
        )
