"""MongoDB access for scoring: customers' scoring state, their conditional result writes, dirty sweeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from domain.classes.events import ClassChangeEvent
from domain.customers.models import AssignedClass, CustomerStats
from domain.db import Database
from domain.rescoring.features import ProfileFeatures
from domain.timestamps import aware


@dataclass(frozen=True, slots=True)
class ScoringState:
    """What the scorer needs of a customer: its change counter, current classes and undelivered events."""

    customer_id: str
    seq: int
    classes: dict[str, dict[str, Any]]
    stats: dict[str, Any]
    pending_events: list[ClassChangeEvent]
    profile: ProfileFeatures
    owner_id: str | None = None
    next_transition_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ScoredCustomer:
    customer_id: str
    seq: int
    stats: CustomerStats
    changed_classes: list[AssignedClass] = field(default_factory=list)
    events: list[ClassChangeEvent] = field(default_factory=list)
    stats_changed: bool = True
    next_transition_at: datetime | None = None
    next_transition_changed: bool = False

    @property
    def needs_write(self) -> bool:
        return self.stats_changed or self.next_transition_changed or bool(self.changed_classes)


class ScoringRepository:
    def __init__(self, db: Database) -> None:
        self._customers = db.customers

    async def load(self, workspace_id: str, customer_ids: Sequence[str]) -> list[ScoringState]:
        cursor = self._customers.find(
            {"workspace_id": workspace_id, "_id": {"$in": list(customer_ids)}},
            {
                "scoring": 1,
                "classes": 1,
                "stats": 1,
                "created_at": 1,
                "birth_date": 1,
                "personality.type": 1,
                "country": 1,
                "city": 1,
                "legal_type": 1,
                "owner_id": 1,
            },
        ).sort("_id", 1)
        return [_state(document) async for document in cursor]

    async def write_results(self, workspace_id: str, scored: Sequence[ScoredCustomer]) -> set[str]:
        """Write classes, stats and the events to deliver, only where nobody changed the customer since
        it was read (``scoring.seq`` unchanged). Returns the ids that were written."""
        to_write = [item for item in scored if item.needs_write]
        if not to_write:
            return set()
        operations = [
            UpdateOne(
                {"_id": item.customer_id, "workspace_id": workspace_id, "scoring.seq": item.seq},
                {"$set": _result_fields(item), "$inc": {"scoring.version": 1}},
            )
            for item in to_write
        ]
        await self._customers.bulk_write(operations, ordered=False)
        # bulk_write reports counts, not which documents matched, so read back what carries our seq.
        cursor = self._customers.find(
            {
                "workspace_id": workspace_id,
                "_id": {"$in": [item.customer_id for item in to_write]},
            },
            {"scoring.seq": 1, "scoring.scored_seq": 1},
        )
        written = set()
        async for document in cursor:
            scoring = document.get("scoring") or {}
            if scoring.get("scored_seq") == scoring.get("seq"):
                written.add(document["_id"])
        return written

    async def finish(self, workspace_id: str, done: Sequence[tuple[str, int]]) -> None:
        """Clear the dirty flag and delivered events where the customer is still at the scored seq."""
        if not done:
            return
        await self._customers.bulk_write(
            [
                UpdateOne(
                    {"_id": customer_id, "workspace_id": workspace_id, "scoring.seq": seq},
                    {
                        "$set": {
                            "scoring.dirty": False,
                            "scoring.pending_events": [],
                            "scoring.scored_seq": seq,
                        }
                    },
                )
                for customer_id, seq in done
            ],
            ordered=False,
        )

    async def dirty_customers(self, limit: int) -> dict[str, list[str]]:
        """Dirty customers of every workspace, grouped by workspace (for the sweeper)."""
        return await self._grouped({"scoring.dirty": True}, limit)

    async def due_customers(self, now: datetime, limit: int) -> dict[str, list[str]]:
        """Customers whose classes change with time alone by ``now`` (a birthday, a tenure boundary)."""
        return await self._grouped({"scoring.next_transition_at": {"$lte": now}}, limit)

    async def _grouped(self, query: dict[str, Any], limit: int) -> dict[str, list[str]]:
        cursor = self._customers.find(query, {"workspace_id": 1}).limit(limit)
        grouped: dict[str, list[str]] = {}
        async for document in cursor:
            grouped.setdefault(document["workspace_id"], []).append(document["_id"])
        return grouped


def _state(document: dict[str, Any]) -> ScoringState:
    scoring = document.get("scoring") or {}
    birth = document.get("birth_date")
    return ScoringState(
        customer_id=document["_id"],
        seq=scoring.get("seq", 0),
        classes=document.get("classes") or {},
        stats=document.get("stats") or {},
        pending_events=[ClassChangeEvent.from_document(event) for event in scoring.get("pending_events", [])],
        profile=ProfileFeatures(
            created_at=aware(document["created_at"]),
            birth_date=birth.date() if isinstance(birth, datetime) else None,
            personality_type=(document.get("personality") or {}).get("type", 0),
            country=document.get("country") or "",
            city=document.get("city") or "",
            legal_type=document.get("legal_type") or "individual",
        ),
        next_transition_at=aware(scoring["next_transition_at"]) if scoring.get("next_transition_at") else None,
        owner_id=document.get("owner_id"),
    )


def _result_fields(item: ScoredCustomer) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "stats": item.stats.to_document(),
        "scoring.next_transition_at": item.next_transition_at,
        "scoring.scored_seq": item.seq,
        "scoring.pending_events": [event.to_document() for event in item.events],
    }
    for assigned in item.changed_classes:
        # The class-set key comes from our catalogue, never from a client.
        fields[f"classes.{assigned.class_set}"] = assigned.to_document()
    return fields
