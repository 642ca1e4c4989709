"""MongoDB access for scoring: customers' scoring state, their compare-and-set result writes, dirty sweeps.

Every result write is a compare-and-set on what the job read: the customer's change counter
(``scoring.seq``, bumped by every profile, order or interaction write) and its result version
(``scoring.version``, bumped by every result write). Any number of jobs may score one customer at
once; exactly one write per (customer, version) succeeds, and the job that made it knows it did.

The class events of a write are derived from the classes it stored (each keeps the move that gave it
its code), so the write holds them without a copy. Until they are in the ledger the customer stays
dirty with ``scoring.delivered_version`` behind ``scoring.version``; whichever job reads it next
delivers them first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from domain.classes.events import ClassChangeEvent
from domain.clock import Clock
from domain.customers.models import AssignedClass, CustomerStats
from domain.customers.repository import mark_dirty_update
from domain.db import STAMP_CHANGED, STAMP_PRIVATE_CHANGE, Database
from domain.rescoring.features import PROFILE_FIELDS, ProfileFeatures
from domain.sharding import scatter_gather
from domain.timestamps import aware
from scoring.catalogue import always_sensitive


@dataclass(frozen=True, slots=True)
class IdRange:
    """Customers by id: after ``after`` (exclusive; None from the start) up to ``upto`` (inclusive), about
    ``size`` of them."""

    after: str | None
    upto: str
    size: int


@dataclass(frozen=True, slots=True)
class ScoringState:
    """What the scorer needs of a customer: its counters, current classes and undelivered events."""

    customer_id: str
    seq: int
    classes: dict[str, dict[str, Any]]
    stats: dict[str, Any]
    pending_events: list[ClassChangeEvent]  # written but not yet in the ledger
    profile: ProfileFeatures
    owner_id: str | None = None
    next_transition_at: datetime | None = None
    next_public_transition_at: datetime | None = None
    version: int = 0
    dirty: bool = False


@dataclass(frozen=True, slots=True)
class ScoredCustomer:
    """A customer's new results, computed from the state read at ``seq`` and ``version``."""

    customer_id: str
    seq: int
    stats: CustomerStats
    changed_classes: list[AssignedClass] = field(default_factory=list)
    events: list[ClassChangeEvent] = field(default_factory=list)
    stats_changed: bool = True
    next_transition_at: datetime | None = None
    next_public_transition_at: datetime | None = None  # leaving out class sets read from sensitive fields
    next_transition_changed: bool = False
    version: int = 0
    dirty: bool = False
    keep_dirty: bool = False  # dirty for class sets this job did not compute (a run restricted to some)
    delivered_pending: bool = False  # the state read carried undelivered events, delivered since
    rfm_inputs_changed: bool = False  # net spend, paid orders or last payment moved: RFM bounds may move

    @property
    def needs_write(self) -> bool:
        return self.stats_changed or self.next_transition_changed or bool(self.changed_classes)


# Writes go in commands of at most this many operations, so that no single command holds the server
# for long (the development server answers the driver's heartbeats between commands only).
WRITE_CHUNK = 1000


class ScoringRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._customers = db.customers
        self._clock = clock

    async def load(self, workspace_id: str, customer_ids: Sequence[str]) -> list[ScoringState]:
        return await self._load({"workspace_id": workspace_id, "_id": {"$in": list(customer_ids)}}, len(customer_ids))

    async def load_range(self, workspace_id: str, ids: IdRange) -> list[ScoringState]:
        """The customers of a run's batch that still exist, read in the same command that finds them."""
        id_range: dict[str, str] = {"$lte": ids.upto}
        if ids.after is not None:
            id_range["$gt"] = ids.after
        return await self._load({"workspace_id": workspace_id, "_id": id_range}, ids.size)

    async def _load(self, query: dict[str, Any], expected: int) -> list[ScoringState]:
        cursor = self._customers.find(
            query,
            {"workspace_id": 1, "scoring": 1, "classes": 1, "stats": 1, "owner_id": 1, **PROFILE_FIELDS},
            # One reply for the whole batch where it fits (16 MB), not pages of 101.
            batch_size=max(expected, 1),
        ).sort("_id", 1)
        return [_state(document) async for document in cursor]

    async def write_results(self, workspace_id: str, scored: Sequence[ScoredCustomer], writer: str) -> set[str]:
        """Write classes, stats and the events to deliver where the customer is still at the seq and
        version the job read, bumping the version. Returns the ids this call (``writer``) wrote."""
        to_write = [item for item in scored if item.needs_write]
        if not to_write:
            return set()
        operations = [
            UpdateOne(
                {
                    "_id": item.customer_id,
                    "workspace_id": workspace_id,
                    "scoring.seq": item.seq,
                    "scoring.version": _version_match(item.version),
                },
                {
                    "$set": {**_result_fields(item), "scoring.written_by": writer},
                    "$unset": _result_unset(item),
                    # What a syncing client sees changed, on the database's clock.
                    **_change_stamp(item),
                },
            )
            for item in to_write
        ]
        modified = 0
        for start in range(0, len(operations), WRITE_CHUNK):
            result = await self._customers.bulk_write(operations[start : start + WRITE_CHUNK], ordered=False)
            modified += result.modified_count
        if modified == len(to_write):
            return {item.customer_id for item in to_write}
        # Some lost the compare-and-set: the writer mark tells ours apart (bulk_write only counts).
        expected = {item.customer_id: item.version + 1 for item in to_write}
        cursor = self._customers.find(
            {"workspace_id": workspace_id, "_id": {"$in": list(expected)}, "scoring.written_by": writer},
            {"scoring.version": 1},
        )
        return {
            document["_id"]
            async for document in cursor
            if (document.get("scoring") or {}).get("version") == expected[document["_id"]]
        }

    async def finish(self, workspace_id: str, scored: Sequence[ScoredCustomer], written: set[str]) -> None:
        """Record that the events are delivered and clear the dirty flag of customers this job settled:
        those it wrote with events, and those that needed no write. A customer changed since keeps its
        dirty flag for the job that change queued; one rewritten since is that writer's to settle."""
        operations = [operation for item in scored for operation in _finish_operations(workspace_id, item, written)]
        for start in range(0, len(operations), WRITE_CHUNK):
            await self._customers.bulk_write(operations[start : start + WRITE_CHUNK], ordered=False)

    async def mark_dirty(self, workspace_id: str, customer_ids: Sequence[str]) -> None:
        """Something they depend on changed (time, the workspace's RFM bounds): rescore them."""
        if customer_ids:
            await self._customers.update_many(
                {"workspace_id": workspace_id, "_id": {"$in": list(customer_ids)}}, mark_dirty_update(self._clock.now())
            )

    async def dirty_backlog(self) -> tuple[int, datetime | None]:
        """How many customers wait to be rescored (all workspaces), and since when the longest has."""
        dirty = {"scoring.dirty": True}
        across = scatter_gather("the backlog of every workspace, for the operators' gauges")
        count = await self._customers.count_documents(dirty, comment=across)
        oldest = await self._customers.find_one(
            dirty, {"scoring.dirty_since": 1}, sort=[("scoring.dirty_since", 1)], comment=across
        )
        return count, aware(((oldest or {}).get("scoring") or {}).get("dirty_since"))

    async def dirty_ids(self, workspace_id: str, limit: int) -> list[str]:
        """At most ``limit`` of the workspace's dirty customers (on the dirty partial index)."""
        cursor = self._customers.find({"workspace_id": workspace_id, "scoring.dirty": True}, {"_id": 1}).limit(limit)
        return [document["_id"] async for document in cursor]

    async def set_aside(self, workspace_id: str, customer_id: str, error: str) -> None:
        """A customer whose scoring fails stops being picked up until its next change (which marks it
        dirty again); the error stays on it for whoever looks."""
        await self._customers.update_one(
            {"_id": customer_id, "workspace_id": workspace_id},
            {"$set": {"scoring.dirty": False, "scoring.error": error[:500]}, "$unset": {"scoring.dirty_since": ""}},
        )

    async def dirty_customers(self, limit: int, *, dirty_before: datetime | None = None) -> dict[str, list[str]]:
        """Dirty customers of every workspace (dirty since before ``dirty_before``), grouped by workspace."""
        query: dict[str, Any] = {"scoring.dirty": True}
        if dirty_before is not None:
            query["scoring.dirty_since"] = {"$lt": dirty_before}
        return await self._grouped(query, limit, "the sweeper finds dirty customers of every workspace")

    async def due_customers(self, now: datetime, limit: int) -> dict[str, list[str]]:
        """Customers whose classes change with time alone by ``now`` (a birthday, a tenure boundary).

        ``$type`` keeps customers without a pending change (null) out: a range on null is not a date.
        """
        due = {"scoring.next_transition_at": {"$type": "date", "$lte": now}}
        return await self._grouped(due, limit, "the sweeper finds customers due in every workspace")

    async def _grouped(self, query: dict[str, Any], limit: int, why: str) -> dict[str, list[str]]:
        """Across workspaces, on a partial index of what is due: once per sweep, not per request."""
        cursor = self._customers.find(query, {"workspace_id": 1}, comment=scatter_gather(why)).limit(limit)
        grouped: dict[str, list[str]] = {}
        async for document in cursor:
            grouped.setdefault(document["workspace_id"], []).append(document["_id"])
        return grouped


def _version_match(version: int) -> Any:
    # Customers created before result versions existed have none: they are at version 0.
    return version if version else {"$in": [0, None]}


def _finish_operations(workspace_id: str, item: ScoredCustomer, written: set[str]) -> list[UpdateOne]:
    if item.customer_id in written:
        if not item.events:
            return []  # the result write settled it already
        version = item.version + 1
    elif item.needs_write:
        return []  # lost the compare-and-set: whoever won settles this customer
    elif item.delivered_pending or (item.dirty and not item.keep_dirty):
        version = item.version
    else:
        return []  # clean and unchanged: nothing to write
    settled = {"_id": item.customer_id, "workspace_id": workspace_id, "scoring.version": _version_match(version)}
    fields: dict[str, Any] = {"scoring.delivered_version": version}
    if not item.keep_dirty:
        # Clean only if nothing changed since the read; a change keeps it dirty for the job it queued.
        unchanged = {"$eq": ["$scoring.seq", item.seq]}
        fields["scoring.dirty"] = {"$cond": [unchanged, False, "$scoring.dirty"]}
        fields["scoring.dirty_since"] = {"$cond": [unchanged, "$$REMOVE", "$scoring.dirty_since"]}
    return [UpdateOne(settled, [{"$set": fields}])]


def _state(document: dict[str, Any]) -> ScoringState:
    scoring = document.get("scoring") or {}
    version = scoring.get("version") or 0
    return ScoringState(
        customer_id=document["_id"],
        seq=scoring.get("seq", 0),
        version=version,
        dirty=bool(scoring.get("dirty")),
        classes=document.get("classes") or {},
        stats=document.get("stats") or {},
        pending_events=_undelivered(document, version, scoring.get("delivered_version", 0)),
        profile=ProfileFeatures.from_document(document),
        next_transition_at=aware(scoring.get("next_transition_at")),
        next_public_transition_at=aware(scoring.get("next_public_transition_at")),
        owner_id=document.get("owner_id"),
    )


def _undelivered(document: dict[str, Any], version: int, delivered: int) -> list[ClassChangeEvent]:
    """The events of the customer's latest result write, if they are not in the ledger yet (only the
    latest can be: a job delivers them before it writes the next)."""
    if delivered >= version:
        return []
    return [
        ClassChangeEvent.of_class(document["workspace_id"], document["_id"], document.get("owner_id"), assigned)
        for key, entry in (document.get("classes") or {}).items()
        if (assigned := AssignedClass.from_document(key, entry)).changed_version == version
    ]


def _result_fields(item: ScoredCustomer) -> dict[str, Any]:
    settled = not item.events and not item.keep_dirty
    fields: dict[str, Any] = {
        "stats": item.stats.to_document(),
        "scoring.version": item.version + 1,
        # Events still to deliver keep the customer dirty until they are in the ledger.
        "scoring.dirty": not settled,
    }
    if not item.events:
        fields["scoring.delivered_version"] = item.version + 1
    for assigned in item.changed_classes:
        # The class-set key comes from our catalogue, never from a client.
        fields[f"classes.{assigned.class_set}"] = assigned.to_document()
    fields.update({path: moment for path, moment in _next_moments(item).items() if moment is not None})
    return fields


def _change_stamp(item: ScoredCustomer) -> dict[str, Any]:
    """What moves for syncing clients. Every role's moment moves with stats and with a class moving to
    another code; a class read from personal details, or evidence refreshed within the same code (day
    counts, a score within its tier: it rides along with the next such change), moves only the moment of
    the roles that may read personal details, or a birthday's rescore would be seen by everyone."""
    moved = [assigned for assigned in item.changed_classes if assigned.changed_version == item.version + 1]
    if item.stats_changed or any(not _private(assigned) for assigned in moved):
        return {"$currentDate": STAMP_CHANGED}
    return {"$currentDate": STAMP_PRIVATE_CHANGE} if item.changed_classes else {}


def _private(assigned: AssignedClass) -> bool:
    return assigned.sensitive or assigned.class_set in always_sensitive()


def _next_moments(item: ScoredCustomer) -> dict[str, datetime | None]:
    return {
        "scoring.next_transition_at": item.next_transition_at,
        "scoring.next_public_transition_at": item.next_public_transition_at,
    }


def _result_unset(item: ScoredCustomer) -> dict[str, str]:
    # Nothing ahead is a missing field, never null: segments schedule their own moments with $min, and in
    # BSON order null is below every date, so a stored null would keep every later moment out.
    unset = {"scoring.error": "", **{path: "" for path, moment in _next_moments(item).items() if moment is None}}
    if not item.events and not item.keep_dirty:
        unset["scoring.dirty_since"] = ""
    return unset
