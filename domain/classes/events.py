"""The append-only ledger of class changes, and the event shape published to subscribers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from domain.auth.principals import Permission, Principal
from domain.customers.models import AssignedClass
from domain.db import Database, append_once, latest_per_customer, server_time, settled
from domain.timestamps import aware
from scoring.catalogue import always_sensitive

RESCORE_REASON = "rescore"


def event_id(customer_id: str, class_set: str, result_version: int) -> str:
    """Deterministic: one result write per (customer, version), so a re-delivery carries the same id."""
    return f"{customer_id}:{class_set}:{result_version}"


@dataclass(frozen=True, slots=True)
class ClassChangeEvent:
    """One customer moving from one code to another in one class set.

    ``id`` is derived from (customer, class set, version), so a re-delivered event has the same id;
    ``version`` is the customer's result version that made the change and orders a customer's events.
    """

    id: str
    workspace_id: str
    customer_id: str
    class_set: str
    previous: str | None
    current: str
    evidence: dict[str, Any]
    settings_version: int
    reason: str
    at: datetime
    owner_id: str | None = None  # so that a sales rep's subscription carries only their customers
    version: int = 0
    sensitive: bool = False  # the class set read a sensitive field (see scoring.catalogue)

    def visible_to(self, principal: Principal) -> bool:
        """Within the caller's scope, and read from sensitive fields only for roles that may read those."""
        sensitive = self.sensitive or self.class_set in always_sensitive()
        return principal.scope.owner_id in (None, self.owner_id) and (
            not sensitive or principal.can(Permission.READ_SENSITIVE)
        )

    @classmethod
    def of_class(
        cls, workspace_id: str, customer_id: str, owner_id: str | None, assigned: AssignedClass
    ) -> ClassChangeEvent:
        """The event of the move that gave a customer its current code in one class set: derived from the
        stored class, so a change written but not yet delivered is never lost, and always the same."""
        return cls(
            id=event_id(customer_id, assigned.class_set, assigned.changed_version),
            workspace_id=workspace_id,
            customer_id=customer_id,
            class_set=assigned.class_set,
            previous=assigned.previous,
            current=assigned.code,
            evidence=assigned.evidence,
            settings_version=assigned.settings_version,
            reason=RESCORE_REASON,
            at=assigned.since,
            owner_id=owner_id,
            version=assigned.changed_version,
            sensitive=assigned.sensitive,
        )

    def to_document(self) -> dict[str, Any]:
        document = asdict(self)
        document["_id"] = document.pop("id")
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ClassChangeEvent:
        fields = {key: value for key, value in document.items() if key not in ("_id", "recorded_at", "unstamped")}
        at = fields.pop("at")
        return cls(id=document["_id"], at=aware(at), **fields)

    def to_json(self) -> str:
        payload = asdict(self)
        payload["at"] = self.at.isoformat()
        return json.dumps(payload, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> ClassChangeEvent:
        payload = json.loads(raw)
        payload["at"] = datetime.fromisoformat(payload["at"])
        return cls(**payload)


@dataclass(frozen=True, slots=True)
class LedgerPosition:
    """Where an event stands in the ledger's order (when it was recorded, then its id)."""

    recorded_at: datetime
    event_id: str


# Events stamped per write: short writes, so that each is visible well within the settle window.
STAMP_CHUNK = 1000


class ClassEventRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._events = db.class_events

    async def present(self) -> LedgerPosition:
        """The ledger's present end, on the database's clock: events stamped from now on come after it."""
        return LedgerPosition(await server_time(self._db.db), "")

    async def append(self, events: Sequence[ClassChangeEvent]) -> None:
        """Insert events; ones already in the ledger (a re-run after a crash) are skipped.

        ``recorded_at`` orders the ledger for subscriptions that resume (see ``after``). It is the
        database's time, stamped just after the insert, never a worker's: two workers whose clocks
        disagree still record in the order the database saw. An event inserted but not yet stamped (a
        crash in between) is invisible to readers until the re-delivery of its customer's pending events
        stamps it; stamps go a chunk at a time, so each stamping write is short (see ``settled``).
        """
        await append_once(self._events, [{**event.to_document(), "unstamped": True} for event in events])
        for start in range(0, len(events), STAMP_CHUNK):
            chunk = events[start : start + STAMP_CHUNK]
            # One workspace per chunk in practice (a job scores one); grouped so each write names its shard.
            for workspace_id in {event.workspace_id for event in chunk}:
                ids = [event.id for event in chunk if event.workspace_id == workspace_id]
                await self._events.update_many(
                    {"workspace_id": workspace_id, "_id": {"$in": ids}, "unstamped": True},
                    {"$currentDate": {"recorded_at": True}, "$unset": {"unstamped": ""}},
                )

    async def position(self, workspace_id: str, event_id: str) -> LedgerPosition | None:
        document = await self._events.find_one({"_id": event_id, "workspace_id": workspace_id}, {"recorded_at": 1})
        if document is None or document.get("recorded_at") is None:
            return None
        return LedgerPosition(aware(document["recorded_at"]), event_id)

    async def after(
        self,
        workspace_id: str,
        position: LedgerPosition,
        settle_seconds: float,
        class_set: str | None,
        customer_id: str | None,
        limit: int,
    ) -> list[tuple[ClassChangeEvent, LedgerPosition]]:
        """Events recorded after ``position`` and at least ``settle_seconds`` ago, in ledger order."""
        query: dict[str, Any] = {
            "workspace_id": workspace_id,
            **settled("recorded_at", settle_seconds),
            "$or": [
                {"recorded_at": {"$gt": position.recorded_at}},
                {"recorded_at": position.recorded_at, "_id": {"$gt": position.event_id}},
            ],
        }
        if class_set is not None:
            query["class_set"] = class_set
        if customer_id is not None:
            query["customer_id"] = customer_id
        cursor = self._events.find(query).sort([("recorded_at", 1), ("_id", 1)]).limit(limit)
        return [
            (ClassChangeEvent.from_document(document), LedgerPosition(aware(document["recorded_at"]), document["_id"]))
            async for document in cursor
        ]

    async def history(
        self, workspace_id: str, customer_ids: list[str], class_set: str | None, limit: int
    ) -> dict[str, list[ClassChangeEvent]]:
        """Newest first, per customer: one aggregation for a page of customers."""
        query: dict[str, Any] = {"workspace_id": workspace_id}
        if class_set is not None:
            query["class_set"] = class_set
        rows = await latest_per_customer(self._events, query, customer_ids, {"version": -1, "class_set": 1}, limit)
        return {cid: [ClassChangeEvent.from_document(row) for row in found] for cid, found in rows.items()}
