"""Touch points with a customer: visits, calls, messages, complaints, ratings, quotes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.timestamps import aware


class InteractionKind(StrEnum):
    VISIT = "visit"
    CALL = "call"
    MESSAGE = "message"
    EMAIL_OPEN = "email_open"
    COMPLAINT = "complaint"
    SERVICE_RATING = "service_rating"
    QUOTE = "quote"
    MEETING = "meeting"
    WEBSITE_VISIT = "website_visit"
    UNSUBSCRIBE = "unsubscribe"  # from newsletters or marketing messages: lowers the lead score


@dataclass(frozen=True, slots=True)
class Interaction:
    id: str
    workspace_id: str
    customer_id: str
    kind: InteractionKind
    at: datetime
    created_at: datetime
    rating: int | None = None
    note: str | None = None
    external_id: str | None = None

    @classmethod
    def from_document(cls, d: dict[str, Any]) -> Interaction:
        return cls(
            id=d["_id"],
            workspace_id=d["workspace_id"],
            customer_id=d["customer_id"],
            kind=InteractionKind(d["kind"]),
            at=aware(d["at"]),
            created_at=aware(d["created_at"]),
            rating=d.get("rating"),
            note=d.get("note"),
            external_id=d.get("external_id"),
        )
