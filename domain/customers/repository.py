"""All MongoDB access for customer documents (profile side; scoring writes live in domain.rescoring)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from domain.auth.principals import CustomerScope, Principal
from domain.classes.catalogue import CLASS_SETS
from domain.clock import Clock
from domain.customers.models import Customer, LeadVerdict, Tombstone, TombstoneReason
from domain.customers.ordering import EVIDENCE_OF, CustomerOrder, PagePosition, SortValue
from domain.db import (
    STAMP_CHANGED,
    Database,
    Document,
    insert_idempotent,
    insert_many_idempotent,
    new_id,
    settled,
)
from domain.errors import DuplicateExternalId, UnknownCustomer
from domain.sharding import scatter_gather


def mark_dirty_update(now: datetime) -> dict[str, Any]:
    """The update part that tells the scorer this customer needs work; bundled into every write."""
    # dirty_since keeps the first moment of a dirty spell: the sweeper re-queues customers dirty too long.
    return {"$set": {"scoring.dirty": True}, "$min": {"scoring.dirty_since": now}, "$inc": {"scoring.seq": 1}}


# Customers stamped per write, so that each write is short (see domain.db.settled).
STAMP_CHUNK = 1000


class CustomerRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._customers = db.customers
        self._tombstones = db.customer_tombstones
        self._clock = clock

    async def insert(self, scope: CustomerScope, document: Document) -> tuple[Customer, bool]:
        """Insert a new customer; a retry of the same request (same external id, same content, within the
        caller's scope) returns the stored one and False instead."""
        stored, created = await insert_idempotent(self._customers, document, scope.query())
        if created:
            await self._stamp_changed(scope.workspace_id, [stored["_id"]])
        return Customer.from_document(stored), created

    async def insert_many(self, scope: CustomerScope, documents: list[Document]) -> tuple[list[Customer], list[str]]:
        """Insert a batch under the same rule, row by row. Returns every row's customer (in order) and the
        ids that were newly created."""
        stored, created = await insert_many_idempotent(self._customers, documents, scope.query())
        await self._stamp_changed(scope.workspace_id, created)
        return [Customer.from_document(document) for document in stored], created

    async def _stamp_changed(self, workspace_id: str, customer_ids: list[str]) -> None:
        """New customers become visible to offline sync at the database's time (an insert cannot take it;
        until stamped a customer has no ``changed_at`` and sync skips it, and its first rescore stamps it)."""
        for start in range(0, len(customer_ids), STAMP_CHUNK):
            chunk = customer_ids[start : start + STAMP_CHUNK]
            await self._customers.update_many(
                {"workspace_id": workspace_id, "_id": {"$in": chunk}}, {"$currentDate": STAMP_CHANGED}
            )

    async def get(self, scope: CustomerScope, customer_id: str, *, with_evidence: bool = True) -> Customer | None:
        document = await self._customers.find_one(
            {"_id": customer_id, **scope.query()}, _read_projection(with_evidence)
        )
        return Customer.from_document(document) if document else None

    async def exists(self, scope: CustomerScope, customer_id: str) -> bool:
        return await self._customers.count_documents({"_id": customer_id, **scope.query()}, limit=1) > 0

    async def page(
        self,
        query: dict[str, Any],
        order: CustomerOrder,
        after: PagePosition | None,
        limit: int,
        *,
        with_evidence: bool = True,
    ) -> list[tuple[Customer, SortValue]]:
        """Customers in ``order``, strictly after ``after``; each with its value in that order."""
        if limit <= 0:
            return []
        if after is not None:
            condition = order.after(after)
            # Merged only when no key is shared: a filter's own _id condition (one that matches nobody) must
            # not be replaced by the cursor's.
            shared = query.keys() & condition.keys()
            query = {**query, **condition} if order.path is None and not shared else {"$and": [query, condition]}
        projection = _read_projection(with_evidence, keep=EVIDENCE_OF.get(order.field))
        cursor = self._customers.find(query, projection).sort(order.sort()).limit(limit)
        return [(Customer.from_document(document), order.value_of(document)) async for document in cursor]

    async def count_by_class(self, query: dict[str, Any], class_set_key: str) -> dict[str | None, int]:
        """Customers per code of one class set, counted by MongoDB on the (workspace, code) index."""
        field = f"classes.{class_set_key}.code"  # the key comes from our catalogue
        # Projecting the one field first lets MongoDB answer from the index without reading documents.
        cursor = await self._customers.aggregate(
            [
                {"$match": query},
                {"$project": {"_id": 0, field: 1}},
                {"$group": {"_id": f"${field}", "count": {"$sum": 1}}},
            ]
        )
        return {row["_id"]: row["count"] async for row in cursor}

    async def count(self, query: dict[str, Any]) -> int:
        cursor = await self._customers.aggregate([{"$match": query}, {"$project": {"_id": 1}}, {"$count": "n"}])
        return next(iter([row["n"] async for row in cursor]), 0)

    async def update(
        self,
        scope: CustomerScope,
        customer_id: str,
        set_fields: dict[str, Any],
        unset_fields: list[str],
        *,
        owner_was: str | None = None,
    ) -> Customer | None:
        """A profile change; with ``owner_was`` it moves the customer from that owner (compare-and-set: None
        when someone else moved it meanwhile), so the caller can tell the previous owner exactly once."""
        now = self._clock.now()
        update = mark_dirty_update(now)
        update["$set"] = {**update["$set"], **set_fields, "updated_at": now}
        update["$currentDate"] = STAMP_CHANGED
        if unset_fields:
            update["$unset"] = dict.fromkeys(unset_fields, "")
        try:
            found = {"_id": customer_id, **scope.query()}
            if owner_was is not None:
                found = {"$and": [found, {"owner_id": owner_was}]}
            document = await self._customers.find_one_and_update(found, update, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            raise DuplicateExternalId() from None
        return Customer.from_document(document) if document else None

    async def mark_dirty(self, scope: CustomerScope, customer_id: str) -> bool:
        result = await self._customers.update_one(
            {"_id": customer_id, **scope.query()}, mark_dirty_update(self._clock.now())
        )
        return result.matched_count == 1

    async def mark_many_dirty(self, scope: CustomerScope, customer_ids: list[str]) -> None:
        await self._customers.update_many(
            {**scope.query(), "_id": {"$in": customer_ids}}, mark_dirty_update(self._clock.now())
        )

    async def set_lead_verdict(self, scope: CustomerScope, customer_id: str, verdict: LeadVerdict | None) -> bool:
        """Not a profile change: nothing to rescore, the verdict is read when the conversion model trains."""
        update: dict[str, Any] = (
            {"$set": {"lead_verdict": {"verdict": verdict.verdict.value, "at": verdict.at, "by": verdict.by}}}
            if verdict
            else {"$unset": {"lead_verdict": ""}}
        )
        update["$currentDate"] = STAMP_CHANGED
        result = await self._customers.update_one({"_id": customer_id, **scope.query()}, update)
        return result.matched_count == 1

    async def ids_by_external_id(self, scope: CustomerScope, external_ids: list[str]) -> dict[str, str]:
        """Our ids of the customers the shop names by its own ids (within the scope), one read."""
        cursor = self._customers.find(
            {**scope.query(), "external_id": {"$in": sorted(set(external_ids))}}, {"external_id": 1}
        )
        return {document["external_id"]: document["_id"] async for document in cursor}

    async def documents_by_external_id(self, scope: CustomerScope, external_ids: list[str]) -> dict[str, Document]:
        """The stored profiles of the customers the shop names by its own ids (within the scope), one read."""
        cursor = self._customers.find(
            {**scope.query(), "external_id": {"$in": sorted(set(external_ids))}}, {"classes": 0, **_HIDDEN}
        )
        return {document["external_id"]: document async for document in cursor}

    async def existing_ids(self, scope: CustomerScope, customer_ids: Iterable[str]) -> set[str]:
        cursor = self._customers.find({**scope.query(), "_id": {"$in": list(set(customer_ids))}}, {"_id": 1})
        return {document["_id"] async for document in cursor}

    async def begin_delete(self, scope: CustomerScope, customer_id: str) -> bool:
        """Tombstone first: the deletion is recorded, unfinished, with what finishing it needs (the owner
        and the segment memberships to close), before anything is removed. A crash from here on is
        finished by the sweeper (``unfinished_deletions``); the tombstone reaches syncing clients only when
        the deletion is finished. False when the scope holds no such customer."""
        state = await self._customers.find_one({"_id": customer_id, **scope.query()}, _DELETION_STATE)
        if state is None:
            return False
        await self._tombstones.update_one(
            {"_id": customer_id, "workspace_id": scope.workspace_id},
            {
                "$set": {
                    "customer_id": customer_id,
                    "owner_id": state.get("owner_id"),
                    "reason": TombstoneReason.DELETED.value,
                    "state": state,
                    "unfinished": True,
                },
                "$currentDate": {"begun_at": True},
            },
            upsert=True,
        )
        return True

    async def remove(self, workspace_id: str, customer_id: str) -> dict[str, Any] | None:
        """Remove a customer whose deletion has begun; its state as removed (None: removed already). The
        tombstone keeps that state, fresher than the one recorded when the deletion began."""
        removed = await self._customers.find_one_and_delete(
            {"_id": customer_id, "workspace_id": workspace_id}, projection=_DELETION_STATE
        )
        if removed is not None:
            await self._tombstones.update_one(
                {"_id": customer_id, "workspace_id": workspace_id}, {"$set": {"state": removed}}
            )
        return removed

    async def deletion_state(self, workspace_id: str, customer_id: str) -> dict[str, Any] | None:
        found = await self._tombstones.find_one({"_id": customer_id, "workspace_id": workspace_id}, {"state": 1})
        return (found or {}).get("state")

    async def finish_delete(self, workspace_id: str, customer_id: str) -> None:
        """Done: the tombstone is stamped (the database's time) and becomes visible to syncing clients."""
        await self._tombstones.update_one(
            {"_id": customer_id, "workspace_id": workspace_id, "unfinished": True},
            {"$unset": {"unfinished": "", "state": ""}, "$currentDate": {"deleted_at": True}},
        )

    async def unfinished_deletions(self, begun_seconds_ago: float, limit: int) -> list[tuple[str, str]]:
        """(workspace, customer) of deletions begun at least that long ago and not finished: their request
        died on the way."""
        cutoff = {"$subtract": ["$$NOW", round(begun_seconds_ago * 1000)]}
        cursor = self._tombstones.find(
            {"unfinished": True, "$expr": {"$lte": ["$begun_at", cutoff]}},
            {"workspace_id": 1, "customer_id": 1},
            comment=scatter_gather("the sweeper finishes deletions of every workspace"),
        ).limit(limit)
        return [(document["workspace_id"], document["customer_id"]) async for document in cursor]

    async def left_owner(self, workspace_id: str, customer_id: str, owner_id: str) -> None:
        """The customer moved to another owner: a tombstone for the previous owner's keys (their phones
        drop it and its personal data), invisible to workspace-wide keys, which still see the customer."""
        await self._tombstone(customer_id, workspace_id, owner_id, TombstoneReason.REASSIGNED)

    async def _tombstone(
        self, customer_id: str, workspace_id: str, owner_id: str | None, reason: TombstoneReason
    ) -> None:
        # One per deletion (a retry rewrites it); one per move to another owner. Stamped with the
        # database's time, like changed_at, in the one write.
        tombstone_id = customer_id if reason is TombstoneReason.DELETED else f"{customer_id}~{new_id()}"
        await self._tombstones.update_one(
            {"_id": tombstone_id, "workspace_id": workspace_id},
            {
                "$set": {
                    "customer_id": customer_id,
                    "workspace_id": workspace_id,
                    "owner_id": owner_id,
                    "reason": reason.value,
                },
                "$currentDate": {"deleted_at": True},
            },
            upsert=True,
        )

    async def deleted_since(
        self,
        scope: CustomerScope,
        since: datetime | None,
        settle_seconds: float,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Tombstone]:
        """Customers that left the scope (deleted, or for an owner's scope moved to another owner) since
        ``since`` and at least ``settle_seconds`` ago, oldest first, after a position."""
        query: dict[str, Any] = {**scope.query(), **settled("deleted_at", settle_seconds)}
        if scope.owner_id is None:
            query["reason"] = {"$ne": TombstoneReason.REASSIGNED.value}  # still in a workspace-wide scope
        conditions: list[dict[str, Any]] = [query]
        if since is not None:
            conditions.append({"deleted_at": {"$gte": since}})
        if after is not None:
            at, tombstone_id = after
            conditions.append({"$or": [{"deleted_at": {"$gt": at}}, {"deleted_at": at, "_id": {"$gt": tombstone_id}}]})
        cursor = (
            self._tombstones.find({"$and": conditions}, {"deleted_at": 1, "customer_id": 1, "reason": 1})
            .sort([("deleted_at", 1), ("_id", 1)])
            .limit(limit)
        )
        return [Tombstone.from_document(document) async for document in cursor]


async def visible_customers(customers: CustomerRepository, principal: Principal, customer_ids: list[str]) -> list[str]:
    """The ids the caller may read: all of them within a workspace-wide scope (the workspace filter on the
    child records is enough), else those its scope holds (one look-up for the whole list)."""
    if principal.scope.owner_id is None:
        return customer_ids
    known = await customers.existing_ids(principal.scope, customer_ids)
    return [customer_id for customer_id in customer_ids if customer_id in known]


async def require_customers(customers: CustomerRepository, scope: CustomerScope, customer_ids: list[str]) -> None:
    """UnknownCustomer naming every row whose customer is not in the caller's scope."""
    known = await customers.existing_ids(scope, customer_ids)
    missing = [index for index, customer_id in enumerate(customer_ids) if customer_id not in known]
    if missing:
        raise UnknownCustomer(missing)


_DELETION_STATE = {"owner_id": 1, "segments": 1, "segment_changes": 1, "segment_pending": 1}

# Never needed by readers: undelivered events, idempotency fingerprints, search words.
_HIDDEN = {
    "scoring.pending_events": 0,
    "request_hash": 0,
    "search_words": 0,
    "segment_changes": 0,
    "segment_pending": 0,
}


def _read_projection(with_evidence: bool, keep: str | None = None) -> dict[str, int]:
    """What a customer read returns: evidence only when asked for (it is most of a scored customer), and
    the evidence of ``keep``'s class set when the list is ordered by it."""
    if with_evidence:
        return _HIDDEN
    return {**_HIDDEN, **{f"classes.{key}.evidence": 0 for key in CLASS_SETS if key != keep}}
