"""Customers as the rest of the code sees them (read side)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from domain.timestamps import aware
from scoring.catalogue import always_sensitive


class LegalType(StrEnum):
    INDIVIDUAL = "individual"
    COMPANY = "company"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Verdict(StrEnum):
    """What sales concluded about a lead; counts as a label when the conversion model is trained."""

    GOOD_FIT = "good_fit"
    NOT_A_FIT = "not_a_fit"


@dataclass(frozen=True, slots=True)
class LeadVerdict:
    verdict: Verdict
    at: datetime
    by: str  # the user who gave it

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> LeadVerdict:
        return cls(Verdict(document["verdict"]), aware(document["at"]), document["by"])


class IncomeBand(StrEnum):
    LOW = "low"
    LOWER_MIDDLE = "lower_middle"
    MIDDLE = "middle"
    UPPER_MIDDLE = "upper_middle"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Personality:
    type: int
    entered_by: str
    entered_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerStats:
    order_count: int = 0
    paid_order_count: int = 0
    net_spend_minor: int = 0
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    last_paid_at: datetime | None = None  # kept for the workspace's RFM recency bounds
    first_paid_at: datetime | None = None  # kept for fitting the workspace's future-value models

    def to_document(self) -> dict[str, Any]:
        return {
            "order_count": self.order_count,
            "paid_order_count": self.paid_order_count,
            "net_spend_minor": self.net_spend_minor,
            "first_order_at": self.first_order_at,
            "last_order_at": self.last_order_at,
            "last_paid_at": self.last_paid_at,
            "first_paid_at": self.first_paid_at,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any] | None) -> CustomerStats:
        if not document:
            return cls()
        return cls(
            order_count=document.get("order_count", 0),
            paid_order_count=document.get("paid_order_count", 0),
            net_spend_minor=document.get("net_spend_minor", 0),
            first_order_at=aware(document.get("first_order_at")),
            last_order_at=aware(document.get("last_order_at")),
            last_paid_at=aware(document.get("last_paid_at")),
            first_paid_at=aware(document.get("first_paid_at")),
        )


@dataclass(frozen=True, slots=True)
class AssignedClass:
    """The customer's current code in one class set, with the facts that decided it."""

    class_set: str
    code: str
    since: datetime
    evidence: dict[str, Any]
    settings_version: int
    sensitive: bool = False  # read from a sensitive field: shown only to roles that may read those
    # The move that gave this code: from what, and in which of the customer's result versions. The class
    # change event of that move is derived from this entry (see ClassChangeEvent.of_class).
    previous: str | None = None
    changed_version: int = 0

    def to_document(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "since": self.since,
            "evidence": self.evidence,
            "settings_version": self.settings_version,
            "sensitive": self.sensitive,
            "previous": self.previous,
            "changed_version": self.changed_version,
        }

    @classmethod
    def from_document(cls, class_set: str, document: dict[str, Any]) -> AssignedClass:
        return cls(
            class_set=class_set,
            code=document["code"],
            since=aware(document["since"]),
            evidence=document.get("evidence", {}),
            settings_version=document.get("settings_version", 1),
            sensitive=bool(document.get("sensitive")) or class_set in always_sensitive(),
            previous=document.get("previous"),
            changed_version=document.get("changed_version", 0),
        )


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    workspace_id: str
    name: str
    legal_type: LegalType
    created_at: datetime
    updated_at: datetime
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    company_name: str | None = None
    tax_id: str | None = None
    birth_date: date | None = None
    customer_since: date | None = None
    gender: Gender | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    income_band: IncomeBand | None = None
    occupation: str | None = None
    interests: list[str] = field(default_factory=list)
    lifestyle: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    personality: Personality | None = None
    owner_id: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    sensitive_attributes: list[str] = field(default_factory=list)
    stats: CustomerStats = field(default_factory=CustomerStats)
    classes: list[AssignedClass] = field(default_factory=list)
    next_class_change_at: datetime | None = None
    next_public_class_change_at: datetime | None = None
    lead_verdict: LeadVerdict | None = None
    segment_since: dict[str, datetime] = field(default_factory=dict)  # the segments it is in, and since when
    changed_at: datetime | None = None  # the last change a client sees (profile, classes, stats, segments)
    public_changed_at: datetime | None = None  # the same, leaving out changes read from personal details

    def without_sensitive_fields(self) -> Customer:
        """What a role without access to personal details sees: no birth date, income, personality,
        sensitive attributes, nor the classes read from them (their code, since and next change)."""
        return replace(
            self,
            birth_date=None,
            income_band=None,
            personality=None,
            attributes={k: v for k, v in self.attributes.items() if k not in self.sensitive_attributes},
            sensitive_attributes=[],
            classes=[item for item in self.classes if not item.sensitive],
            next_class_change_at=self.next_public_class_change_at,
            changed_at=self.public_changed_at,
        )

    @classmethod
    def from_document(cls, d: dict[str, Any]) -> Customer:
        personality = d.get("personality")
        birth, since = d.get("birth_date"), d.get("customer_since")
        return cls(
            id=d["_id"],
            workspace_id=d["workspace_id"],
            name=d["name"],
            legal_type=LegalType(d.get("legal_type", "individual")),
            created_at=aware(d["created_at"]),
            updated_at=aware(d["updated_at"]),
            external_id=d.get("external_id"),
            email=d.get("email"),
            phone=d.get("phone"),
            company_name=d.get("company_name"),
            tax_id=d.get("tax_id"),
            birth_date=birth.date() if isinstance(birth, datetime) else None,
            customer_since=since.date() if isinstance(since, datetime) else None,
            gender=Gender(d["gender"]) if d.get("gender") else None,
            city=d.get("city"),
            region=d.get("region"),
            country=d.get("country"),
            income_band=IncomeBand(d["income_band"]) if d.get("income_band") else None,
            occupation=d.get("occupation"),
            interests=d.get("interests") or [],
            lifestyle=d.get("lifestyle") or [],
            tags=d.get("tags") or [],
            needs=d.get("needs") or [],
            personality=(
                Personality(
                    personality["type"],
                    personality["entered_by"],
                    aware(personality["entered_at"]),
                )
                if personality
                else None
            ),
            owner_id=d.get("owner_id"),
            attributes=d.get("attributes") or {},
            sensitive_attributes=d.get("sensitive_attributes") or [],
            stats=CustomerStats.from_document(d.get("stats")),
            classes=[
                AssignedClass.from_document(key, value) for key, value in sorted((d.get("classes") or {}).items())
            ],
            next_class_change_at=aware((d.get("scoring") or {}).get("next_transition_at")),
            next_public_class_change_at=aware((d.get("scoring") or {}).get("next_public_transition_at")),
            lead_verdict=LeadVerdict.from_document(d["lead_verdict"]) if d.get("lead_verdict") else None,
            changed_at=aware(d.get("changed_at")),
            public_changed_at=aware(d.get("public_changed_at")),
            segment_since={
                segment_id: aware((d.get("segment_since") or {}).get(segment_id)) or aware(d["created_at"])
                for segment_id in d.get("segments") or ()
            },
        )


class TombstoneReason(StrEnum):
    DELETED = "deleted"
    REASSIGNED = "reassigned"  # moved to another owner: gone from the previous owner's scope only


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A customer that left a scope, for syncing clients: ``id`` orders tombstones of one moment."""

    id: str
    customer_id: str
    at: datetime
    reason: TombstoneReason

    @classmethod
    def from_document(cls, d: dict[str, Any]) -> Tombstone:
        at = aware(d["deleted_at"])
        assert at is not None
        return cls(d["_id"], d.get("customer_id") or d["_id"], at, TombstoneReason(d.get("reason") or "deleted"))


def customer_since(document: dict[str, Any]) -> datetime:
    """Since when the shop has had a customer: its ``customer_since`` (a migrating shop's signup date) when
    that is earlier than its creation here. Tenure, lead silence and segment rules on the creation date
    count from it. Read from a document with ``created_at`` and ``customer_since``."""
    created: datetime = aware(document["created_at"])
    since = document.get("customer_since")
    return min(created, aware(since)) if isinstance(since, datetime) else created
