"""MongoDB access for segments: their definitions, the frame a rule is evaluated on, membership writes
and the timeline.

Membership lives on the customer (``segments``: the ids it is in, indexed for lists and counts;
``segment_since.<id>``) with a counter per pair (``segment_changes.<id>``). Every change is a
compare-and-set on that counter; the n-th change of a pair is event ``<customer>:<segment>:<n>`` and
its direction follows from n (odd: joined, even: left), so two jobs deciding the same change write the
same event, and a job that dies between the change and its event leaves the event on the customer
(``segment_pending.<id>``) for whichever evaluation comes next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from bson.decimal128 import Decimal128
from pymongo import ReturnDocument, UpdateOne

from domain.auth.principals import CustomerScope
from domain.customers.models import customer_since
from domain.db import STAMP_CHANGED, STAMP_PRIVATE_CHANGE, Database, append_once, insert_idempotent, latest_per_customer
from domain.money import minor_digits
from domain.segments.aggregates import (
    interaction_accumulators,
    interaction_leaves,
    interaction_prefilter,
    order_accumulators,
    order_leaves,
    order_prefilter,
)
from domain.segments.models import Segment, SegmentEvent
from domain.timestamps import aware
from scoring.catalogue import always_sensitive
from scoring.registry import CLASS_SETS
from scoring.segment_rules import (
    LIST_FIELDS,
    OrderMeasure,
    ProfileField,
    Rule,
    referenced_segments,
)
from scoring.segments import LeafValues, SegmentFrame

MONEY_MEASURES = (OrderMeasure.SUM, OrderMeasure.AVG, OrderMeasure.MIN, OrderMeasure.MAX)
_SCORE_PATHS = {
    "lead_score": ("classes", "lead_tier", "evidence", "score"),
    "conversion": ("classes", "lead_tier", "evidence", "probability"),
    "clv": ("classes", "future_value", "evidence", "clv_12m_minor"),
    "net_spend": ("stats", "net_spend_minor"),
    "paid_orders": ("stats", "paid_order_count"),
    "orders": ("stats", "order_count"),
}
_MONEY_SCORES = frozenset({"clv", "net_spend"})
ALL_SEGMENTS_BATCH = 250  # above the most segments a workspace may hold


@dataclass(frozen=True, slots=True)
class MemberState:
    """A customer's memberships as read with the frame."""

    customer_id: str
    owner_id: str | None
    segments: frozenset[str]
    changes: dict[str, int] = field(default_factory=dict)
    pending: list[SegmentEvent] = field(default_factory=list)


class SegmentRepository:
    def __init__(self, db: Database) -> None:
        self._segments = db.segments

    async def insert(self, document: dict[str, Any]) -> tuple[Segment, bool]:
        """Idempotent on the client's external id: when this request stored it already, the stored
        segment and False; another request's is DuplicateExternalId."""
        stored, created = await insert_idempotent(self._segments, document, {"workspace_id": document["workspace_id"]})
        return Segment.from_document(stored), created

    async def by_external_id(self, workspace_id: str, external_id: str) -> dict[str, Any] | None:
        return await self._segments.find_one({"workspace_id": workspace_id, "external_id": external_id})

    async def settle(self, workspace_id: str, segment_id: str, pending_id: str, run_id: str | None) -> None:
        """The save's pending work is done: cleared, unless a later save gave it other work meanwhile."""
        update: dict[str, Any] = {"$unset": {"pending": ""}}
        if run_id is not None:
            update["$set"] = {"recompute_run_id": run_id}
        await self._segments.update_one(
            {"_id": segment_id, "workspace_id": workspace_id, "pending.id": pending_id}, update
        )

    async def pending_since(self, before: datetime) -> list[Segment]:
        """Segments, in any workspace, whose save left work undone since before ``before``."""
        cursor = self._segments.find({"pending.since": {"$lt": before}}).sort("pending.since", 1)
        return [Segment.from_document(document) async for document in cursor]

    async def count(self, workspace_id: str) -> int:
        return await self._segments.count_documents({"workspace_id": workspace_id})

    async def with_references(self, workspace_id: str, segment_ids: set[str]) -> dict[str, Segment]:
        """These segments and every one their rules reference, transitively: one read per level of
        references, whatever else the workspace holds."""
        found: dict[str, Segment] = {}
        asked: set[str] = set()
        wanted = set(segment_ids)
        while wanted:
            asked |= wanted
            batch = await self.by_ids(workspace_id, sorted(wanted))
            found.update(batch)
            # Unknown ids (deleted, or never there) are asked for once.
            wanted = {ref for s in batch.values() if s.defining_rule for ref in referenced_segments(s.defining_rule)}
            wanted -= asked
        return found

    async def update(self, workspace_id: str, segment_id: str, fields: dict[str, Any]) -> Segment | None:
        document = await self._segments.find_one_and_update(
            {"_id": segment_id, "workspace_id": workspace_id}, {"$set": fields}, return_document=ReturnDocument.AFTER
        )
        return Segment.from_document(document) if document else None

    async def get(self, workspace_id: str, segment_id: str) -> Segment | None:
        document = await self._segments.find_one({"_id": segment_id, "workspace_id": workspace_id})
        return Segment.from_document(document) if document else None

    async def all(self, workspace_id: str) -> list[Segment]:
        # One reply for the most a workspace may hold.
        cursor = self._segments.find({"workspace_id": workspace_id}, batch_size=ALL_SEGMENTS_BATCH).sort("_id", 1)
        return [Segment.from_document(document) async for document in cursor]

    async def by_ids(self, workspace_id: str, segment_ids: list[str]) -> dict[str, Segment]:
        cursor = self._segments.find({"workspace_id": workspace_id, "_id": {"$in": segment_ids}})
        return {document["_id"]: Segment.from_document(document) async for document in cursor}

    async def delete(self, workspace_id: str, segment_id: str) -> bool:
        result = await self._segments.delete_one({"_id": segment_id, "workspace_id": workspace_id})
        return result.deleted_count == 1


class MembershipRepository:
    def __init__(self, db: Database) -> None:
        self._customers = db.customers
        self._orders = db.orders
        self._interactions = db.interactions
        self._events = db.segment_events

    async def load(
        self,
        query: dict[str, Any],
        rules: Sequence[Rule],
        currency: str,
        now: datetime,
        *,
        expected: int = 1000,
        hide_personal: bool = False,
    ) -> tuple[list[MemberState], SegmentFrame]:
        """The customers matching ``query`` (within one workspace), as a frame for ``rules``: one read of
        the customers, and one aggregation per collection whose leaves the rules have. ``hide_personal``
        leaves out what a role without access to personal details may not read, classes stored as read
        from them included (rules on them are refused; this covers classes read so under earlier settings)."""
        fields = {**_FRAME_FIELDS, **(_SENSITIVE_FLAGS if hide_personal else {})}
        cursor = self._customers.find(query, fields, batch_size=max(expected, 1)).sort("_id", 1)
        documents = [document async for document in cursor]
        if hide_personal:
            documents = [_without_personal_details(document) for document in documents]
        ids = [document["_id"] for document in documents]
        workspace_id = query["workspace_id"]
        orders = order_leaves(list(rules))
        interactions = interaction_leaves(list(rules))
        # No customers, nothing to aggregate: every leaf counts nothing.
        leaves = {key: _leaf({}, [], key) for key in (*orders, *interactions)}
        # The same customers by the same condition on the customer id (a range for a run's batch, a list
        # for a rescore), or the whole workspace for a preview: never a list of every customer.
        match: dict[str, Any] = {"workspace_id": workspace_id}
        if "_id" in query:
            match["customer_id"] = query["_id"]
        if orders and ids:
            counted = {**match, **order_prefilter(orders, now)}
            rows = await self._grouped(self._orders, counted, len(ids), order_accumulators(orders, now))
            scale = 10.0 ** minor_digits(currency)
            for key, leaf in orders.items():
                money = leaf.measure in MONEY_MEASURES
                leaves[key] = _leaf(
                    rows, ids, key, average=leaf.measure is OrderMeasure.AVG, scale=scale if money else 1
                )
        if interactions and ids:
            counted = {**match, **interaction_prefilter(interactions, now)}
            rows = await self._grouped(
                self._interactions, counted, len(ids), interaction_accumulators(interactions, now)
            )
            for key in interactions:
                leaves[key] = _leaf(rows, ids, key)
        states = [member_state(document) for document in documents]
        return states, _frame(documents, leaves, currency, now)

    async def _grouped(
        self, collection: Any, match: dict[str, Any], expected: int, accumulators: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        cursor = await collection.aggregate(
            [{"$match": match}, {"$group": {"_id": "$customer_id", **accumulators}}], batchSize=max(expected, 1)
        )
        return {row["_id"]: row async for row in cursor}

    async def change(
        self, workspace_id: str, events: Sequence[SegmentEvent], numbers: Sequence[int], due: dict[str, datetime]
    ) -> None:
        """Apply membership changes (event i is the pair's change number ``numbers[i]``) by compare-and-set
        on each pair's counter, then record the events; ``due`` schedules a re-evaluation per customer."""
        operations = [
            _change_operation(workspace_id, event, number) for event, number in zip(events, numbers, strict=True)
        ]
        operations += [UpdateOne({"_id": cid, "workspace_id": workspace_id}, _due_by(at)) for cid, at in due.items()]
        if operations:
            await self._customers.bulk_write(operations, ordered=False)
        await self.record(workspace_id, events, numbers)

    async def record(self, workspace_id: str, events: Sequence[SegmentEvent], numbers: Sequence[int]) -> None:
        """Put events in the timeline (again is harmless), then clear them from their customers."""
        if not events:
            return
        await self.record_only(events)
        await self._customers.bulk_write(
            [
                UpdateOne(
                    {"_id": e.customer_id, "workspace_id": workspace_id, f"segment_changes.{e.segment_id}": n},
                    {"$unset": {f"segment_pending.{e.segment_id}": ""}},
                )
                for e, n in zip(events, numbers, strict=True)
            ],
            ordered=False,
        )

    async def record_only(self, events: Sequence[SegmentEvent]) -> None:
        await append_once(self._events, [event.to_document() for event in events])

    async def forget_segment(self, workspace_id: str, segment_id: str) -> None:
        """A deleted segment: nobody is in it any more (its timeline stays)."""
        await self._customers.update_many(
            {"workspace_id": workspace_id, "segments": segment_id},
            {"$pull": {"segments": segment_id}, "$unset": {f"segment_since.{segment_id}": ""}},
        )

    async def members(
        self, scope: CustomerScope, segment_id: str, first: int, after: str | None
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {**scope.query(), "segments": segment_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._customers.find(query, {"_id": 1}).sort("_id", 1).limit(first)
        return [document async for document in cursor]

    async def count(self, scope: CustomerScope, segment_id: str) -> int:
        return await self._customers.count_documents({**scope.query(), "segments": segment_id})

    async def counts(self, scope: CustomerScope, segment_ids: list[str]) -> dict[str, int]:
        """Members of each segment among the scope's customers: one aggregation for a list of segments."""
        cursor = await self._customers.aggregate(
            [
                {"$match": {**scope.query(), "segments": {"$in": segment_ids}}},
                {"$project": {"_id": 0, "segments": 1}},
                {"$unwind": "$segments"},
                {"$match": {"segments": {"$in": segment_ids}}},
                {"$group": {"_id": "$segments", "n": {"$sum": 1}}},
            ]
        )
        return {row["_id"]: row["n"] async for row in cursor}

    async def history(
        self, workspace_id: str, customer_ids: list[str], limit: int, hiding: frozenset[str] | None = None
    ) -> dict[str, list[SegmentEvent]]:
        """Newest first, per customer: one aggregation for a page of customers. With ``hiding`` (the
        segments read from personal details now), neither their events nor any decided while the
        segment read one are included."""
        query: dict[str, Any] = {"workspace_id": workspace_id}
        if hiding is not None:
            query |= {"sensitive": {"$ne": True}, "segment_id": {"$nin": sorted(hiding)}}
        rows = await latest_per_customer(self._events, query, customer_ids, {"at": -1}, limit)
        return {cid: [SegmentEvent.from_document(row) for row in found] for cid, found in rows.items()}


_TEXT_FIELDS = [f.value for f in ProfileField if f not in LIST_FIELDS]
_FRAME_FIELDS: dict[str, int] = {
    **dict.fromkeys(_TEXT_FIELDS, 1),
    **dict.fromkeys((f.value for f in LIST_FIELDS), 1),
    "created_at": 1,
    "customer_since": 1,
    "birth_date": 1,
    "stats": 1,
    **{f"classes.{key}.code": 1 for key in CLASS_SETS},
    "classes.lead_tier.evidence.score": 1,
    "classes.lead_tier.evidence.probability": 1,
    "classes.future_value.evidence.clv_12m_minor": 1,
    "segments": 1,
    "segment_changes": 1,
    "segment_pending": 1,
}


_SENSITIVE_FLAGS = {f"classes.{key}.sensitive": 1 for key in CLASS_SETS}
_PERSONAL_FIELDS = ("birth_date", ProfileField.INCOME_BAND.value)


def _without_personal_details(document: dict[str, Any]) -> dict[str, Any]:
    classes = document.get("classes") or {}
    shown = {
        key: value
        for key, value in classes.items()
        if not (isinstance(value, dict) and value.get("sensitive")) and key not in always_sensitive()
    }
    return {key: value for key, value in document.items() if key not in _PERSONAL_FIELDS} | {"classes": shown}


def _due_by(at: datetime) -> list[dict[str, Any]]:
    """The customer's next re-evaluation at ``at`` unless one is due sooner. Not ``$min``: in BSON order null
    is below every date, so a stored null (nothing pending) would win over every moment for ever."""
    current = "$scoring.next_transition_at"
    sooner = {"$cond": [{"$eq": [{"$type": current}, "date"]}, {"$min": [current, at]}, at]}
    return [{"$set": {"scoring.next_transition_at": sooner}}]


def _change_operation(workspace_id: str, event: SegmentEvent, number: int) -> UpdateOne:
    segment = event.segment_id
    counted = {"$in": [None, 0]} if number == 1 else number - 1
    update: dict[str, Any] = {
        "$set": {
            f"segment_changes.{segment}": number,
            f"segment_pending.{segment}": event.to_document(),
        },
        "$currentDate": STAMP_PRIVATE_CHANGE if event.sensitive else STAMP_CHANGED,
    }
    if number % 2 == 1:
        update["$addToSet"] = {"segments": segment}
        update["$set"][f"segment_since.{segment}"] = event.at
    else:
        update["$pull"] = {"segments": segment}
        update["$unset"] = {f"segment_since.{segment}": ""}
    return UpdateOne(
        {"_id": event.customer_id, "workspace_id": workspace_id, f"segment_changes.{segment}": counted}, update
    )


def member_state(document: dict[str, Any]) -> MemberState:
    pending = document.get("segment_pending") or {}
    return MemberState(
        customer_id=document["_id"],
        owner_id=document.get("owner_id"),
        segments=frozenset(document.get("segments") or ()),
        changes=dict(document.get("segment_changes") or {}),
        pending=[SegmentEvent.from_document(event) for event in pending.values() if event],
    )


def _leaf(
    rows: dict[str, dict[str, Any]], ids: list[str], key: str, *, average: bool = False, scale: float = 1
) -> LeafValues:
    values = np.full(len(ids), np.nan)
    earliest = np.full(len(ids), np.nan)
    for i, customer_id in enumerate(ids):
        row = rows.get(customer_id)
        if row is None or not row.get(f"n{key}"):
            continue
        value = row.get(f"v{key}")
        if isinstance(value, Decimal128):
            value = float(value.to_decimal())  # a money sum (exact in MongoDB; a float is what rules compare)
        if value is not None:
            values[i] = (value / row[f"n{key}"] if average else value) / scale
        first = row.get(f"e{key}")
        if first is not None:
            earliest[i] = aware(first).timestamp()
    return LeafValues(values, earliest)


def _age(birth: Any, now: datetime) -> float:
    if not isinstance(birth, datetime):
        return np.nan
    return float(now.year - birth.year - ((now.month, now.day) < (birth.month, birth.day)))


def _frame(
    documents: list[dict[str, Any]], leaves: dict[str, LeafValues], currency: str, now: datetime
) -> SegmentFrame:
    scale = 10.0 ** minor_digits(currency)

    def number(document: dict[str, Any], path: tuple[str, ...]) -> float:
        value: Any = document
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return float(value) if isinstance(value, int | float) else np.nan

    def moment(value: Any) -> float:
        return aware(value).timestamp() if isinstance(value, datetime) else np.nan

    births = [document.get("birth_date") for document in documents]
    stats = [document.get("stats") or {} for document in documents]
    return SegmentFrame(
        now=now.timestamp(),
        texts={name: np.array([str(d.get(name) or "") for d in documents], dtype=object) for name in _TEXT_FIELDS},
        lists={f.value: [tuple(d.get(f.value) or ()) for d in documents] for f in LIST_FIELDS},
        dates={
            "created_at": np.array([moment(_since(d)) for d in documents], dtype=np.float64),
            "birth_date": np.array([moment(b) for b in births], dtype=np.float64),
            "first_order_at": np.array([moment(s.get("first_order_at")) for s in stats], dtype=np.float64),
            "last_order_at": np.array([moment(s.get("last_order_at")) for s in stats], dtype=np.float64),
        },
        birth_month=np.array([b.month if isinstance(b, datetime) else 0 for b in births], dtype=np.int64),
        birth_day=np.array([b.day if isinstance(b, datetime) else 0 for b in births], dtype=np.int64),
        numbers={
            **{
                name: np.array([number(d, path) for d in documents], dtype=np.float64)
                / (scale if name in _MONEY_SCORES else 1)
                for name, path in _SCORE_PATHS.items()
            },
            "age": np.array([_age(b, now) for b in births], dtype=np.float64),
        },
        classes={
            key: np.array([((d.get("classes") or {}).get(key) or {}).get("code", "") for d in documents], dtype=object)
            for key in CLASS_SETS
        },
        leaves=leaves,
        members={},
    )


def _since(document: dict[str, Any]) -> datetime | None:
    """A rule on the creation date reads since when the shop has had the customer (customer_since)."""
    return customer_since(document) if isinstance(document.get("created_at"), datetime) else None
