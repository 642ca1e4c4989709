"""The MongoDB collections and their indexes. Only repositories use this module."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from domain.classes.catalogue import CLASS_SETS
from domain.customers.ordering import SORT_PATHS
from domain.errors import DuplicateExternalId

Document = dict[str, Any]

DUPLICATE_KEY = 11000


async def append_once(collection: AsyncCollection[Document], documents: list[Document]) -> None:
    """Insert records with deterministic ids (ledger events); ones already stored (a re-run) are skipped."""
    if not documents:
        return
    try:
        await collection.insert_many(documents, ordered=False)
    except BulkWriteError as error:
        if any(item.get("code") != DUPLICATE_KEY for item in error.details.get("writeErrors", [])):
            raise


def settled(field: str, settle_seconds: float) -> Document:
    """``field`` is a date at least ``settle_seconds`` older than the database's own time (``$$NOW``).

    Stamps that order what clients read incrementally (the ledger, offline sync) are set by the database
    in the write itself, and this cut-off is measured on the same clock: the hosts' clocks play no part.
    What remains is the time a stamped write takes to become visible, which the settle window covers.
    """
    cutoff = {"$subtract": ["$$NOW", round(settle_seconds * 1000)]}
    return {field: {"$type": "date"}, "$expr": {"$lte": [f"${field}", cutoff]}}


async def server_time(db: AsyncDatabase[Document]) -> datetime:
    """The database server's clock (``hello``'s localTime)."""
    reply = await db.command("hello")
    moment: datetime = reply["localTime"]
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Stamps the database's own time; a write can say {"$currentDate": STAMP_CHANGED} alongside its $set.
STAMP_CHANGED: Document = {"changed_at": True}


def new_id() -> str:
    """Ids are ObjectId hex strings: time-ordered (a stable sort key for pagination) and URL-safe."""
    return str(ObjectId())


@dataclass(frozen=True, slots=True)
class Database:
    db: AsyncDatabase[Document]

    @classmethod
    def connect(cls, client: AsyncMongoClient[Document], name: str) -> Database:
        return cls(client[name])

    @property
    def workspaces(self) -> AsyncCollection[Document]:
        return self.db["workspaces"]

    @property
    def users(self) -> AsyncCollection[Document]:
        return self.db["users"]

    @property
    def api_keys(self) -> AsyncCollection[Document]:
        return self.db["api_keys"]

    @property
    def customers(self) -> AsyncCollection[Document]:
        return self.db["customers"]

    @property
    def orders(self) -> AsyncCollection[Document]:
        return self.db["orders"]

    @property
    def interactions(self) -> AsyncCollection[Document]:
        return self.db["interactions"]

    @property
    def class_events(self) -> AsyncCollection[Document]:
        return self.db["class_events"]

    @property
    def settings_history(self) -> AsyncCollection[Document]:
        return self.db["settings_history"]

    @property
    def scoring_runs(self) -> AsyncCollection[Document]:
        return self.db["scoring_runs"]

    @property
    def scoring_run_batches(self) -> AsyncCollection[Document]:
        return self.db["scoring_run_batches"]

    @property
    def segments(self) -> AsyncCollection[Document]:
        return self.db["segments"]

    @property
    def segment_events(self) -> AsyncCollection[Document]:
        return self.db["segment_events"]

    @property
    def imports(self) -> AsyncCollection[Document]:
        return self.db["imports"]

    @property
    def customer_tombstones(self) -> AsyncCollection[Document]:
        return self.db["customer_tombstones"]

    @property
    def persisted_queries(self) -> AsyncCollection[Document]:
        return self.db["persisted_queries"]

    @property
    def workers(self) -> AsyncCollection[Document]:
        return self.db["workers"]

    @property
    def conversion_models(self) -> AsyncCollection[Document]:
        return self.db["conversion_models"]

    async def ensure_indexes(self) -> None:
        """Idempotent; run by the API and the worker at start-up and by the CLI."""
        await self.api_keys.create_indexes([IndexModel([("token_hash", ASCENDING)], unique=True)])
        await self.users.create_indexes([IndexModel([("workspace_id", ASCENDING), ("name", ASCENDING)])])
        await self.customers.create_indexes(
            [
                _unique_external_id(),
                # The sweeper looks for dirty customers across workspaces, jobs within theirs; only dirty
                # ones are indexed.
                IndexModel([("scoring.dirty", ASCENDING)], partialFilterExpression={"scoring.dirty": True}),
                IndexModel(
                    [("workspace_id", ASCENDING), ("scoring.dirty", ASCENDING)],
                    partialFilterExpression={"scoring.dirty": True},
                ),
                # Due time-based changes (birthdays, tenure boundaries), found by the sweeper.
                IndexModel(
                    [("scoring.next_transition_at", ASCENDING)],
                    partialFilterExpression={"scoring.next_transition_at": {"$type": "date"}},
                ),
            ]
            # Every list the API offers is in id order within a workspace, alone or after one filter field
            # (the fields and class-set keys are ours, never a client's).
            + [_by_workspace(field) for field in (None, *CUSTOMER_FILTER_FIELDS)]
            + [_by_workspace(f"classes.{key}.code") for key in CLASS_SETS]
            # Lists ordered by a value (lead score, CLV, spend, last order) page along these.
            + [_by_workspace(path) for path in SORT_PATHS.values()]
        )
        # A customer's orders, interactions and class events: looked up by customer id, a page at a time.
        await self.orders.create_indexes([_unique_external_id(), IndexModel([("customer_id", ASCENDING)])])
        await self.interactions.create_indexes([_unique_external_id(), IndexModel([("customer_id", ASCENDING)])])
        await self.scoring_runs.create_indexes(
            [IndexModel([("workspace_id", ASCENDING), ("_id", DESCENDING)]), IndexModel([("status", ASCENDING)])]
        )
        await self.scoring_run_batches.create_indexes(
            [IndexModel([("run_id", ASCENDING), ("number", ASCENDING)]), IndexModel([("status", ASCENDING)])]
        )
        await self.class_events.create_indexes(
            [
                IndexModel([("customer_id", ASCENDING)]),
                # Subscriptions that resume read the ledger in recorded order.
                IndexModel([("workspace_id", ASCENDING), ("recorded_at", ASCENDING), ("_id", ASCENDING)]),
            ]
        )
        # Syncing clients page through deletions in time order.
        await self.customer_tombstones.create_indexes(
            [IndexModel([("workspace_id", ASCENDING), ("deleted_at", ASCENDING), ("_id", ASCENDING)])]
        )
        # A segment's members, listed and counted on an index (customers' "segments" holds their ids).
        await self.customers.create_indexes([_by_workspace("segments")])
        await self.segments.create_indexes(
            [
                IndexModel([("workspace_id", ASCENDING), ("_id", ASCENDING)]),
                # A client's external id makes a retried save idempotent; saves that left work undone.
                _unique_external_id(),
                IndexModel([("pending.since", ASCENDING)], partialFilterExpression={"pending": {"$type": "object"}}),
            ]
        )
        await self.segment_events.create_indexes(
            [IndexModel([("workspace_id", ASCENDING), ("customer_id", ASCENDING), ("at", DESCENDING)])]
        )


# Customer fields the API filters lists by, each with an index (see _by_workspace).
CUSTOMER_FILTER_FIELDS = ("owner_id", "city", "region", "legal_type", "tags", "interests", "search_words")


def _by_workspace(field: str | None) -> IndexModel:
    keys = [("workspace_id", ASCENDING)] + ([(field, ASCENDING)] if field else []) + [("_id", ASCENDING)]
    return IndexModel(keys)


def _unique_external_id() -> IndexModel:
    """External ids make retried creates idempotent; documents without one are not indexed.

    The index is on one field holding workspace and external id together rather than a compound
    (workspace_id, external_id) index: the same guarantee, and the local MongoDB-wire server checks
    single-field unique indexes by lookup but compound ones by scanning the whole collection.
    """
    return IndexModel(
        [("external_key", ASCENDING)], unique=True, partialFilterExpression={"external_key": {"$type": "string"}}
    )


def external_key(workspace_id: str, external_id: str) -> str:
    return f"{workspace_id}\x1f{external_id}"


def with_external_key(document: Document) -> Document:
    """The document with its workspace-scoped unique key, when it has an external id."""
    if isinstance(document.get("external_id"), str):
        document["external_key"] = external_key(document["workspace_id"], document["external_id"])
    return document


def fingerprint(content: Any) -> str:
    """What a create request asked for, so that a retry can be told from a clash of external ids."""
    canonical = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _same_request(existing: Document, document: Document, scope: Document) -> bool:
    """The stored record is this very request, made before, by someone allowed to see it."""
    in_scope = all(existing.get(key) == value for key, value in scope.items())
    return in_scope and existing.get("request_hash") in (None, document.get("request_hash"))


async def insert_idempotent(
    collection: AsyncCollection[Document], document: Document, scope: Document
) -> tuple[Document, bool]:
    """Insert one document; when its external id is stored already for the same request within ``scope``,
    return the stored one and False. Any other owner of the external id is a DuplicateExternalId."""
    try:
        await collection.insert_one(with_external_key(document))
    except DuplicateKeyError:
        existing = await collection.find_one({"external_key": document.get("external_key")})
        if existing is None or not _same_request(existing, document, scope):
            raise DuplicateExternalId() from None
        return existing, False
    return document, True


async def insert_many_idempotent(
    collection: AsyncCollection[Document], documents: list[Document], scope: Document
) -> tuple[list[Document], list[str]]:
    """Bulk insert where an external id stored already for the same request means "already there".

    Every clash (another request, another owner, two different rows with one external id) is found
    before anything is written and raised as DuplicateExternalId naming the rows. Returns, in input
    order, the stored document for each row and the ids that this call created.
    """
    if not documents:
        return [], []
    documents = [with_external_key(document) for document in documents]
    first_row: dict[str, int] = {}
    clashes: list[int] = []
    for index, document in enumerate(documents):
        key = document.get("external_key")
        if key is None:
            continue
        earlier = first_row.setdefault(key, index)
        if earlier != index and not _same_request(documents[earlier], document, {}):
            clashes.append(index)
    wanted = list(first_row)
    existing = {item["external_key"]: item async for item in collection.find({"external_key": {"$in": wanted}})}
    clashes += [
        index
        for index, document in enumerate(documents)
        if document.get("external_key") in existing
        and not _same_request(existing[document["external_key"]], document, scope)
    ]
    if clashes:
        raise DuplicateExternalId(sorted(set(clashes)))
    fresh = [
        document
        for index, document in enumerate(documents)
        if "external_key" not in document
        or (document["external_key"] not in existing and first_row[document["external_key"]] == index)
    ]
    if fresh:
        try:
            await collection.insert_many(fresh, ordered=False)
        except BulkWriteError as error:
            if any(item.get("code") != DUPLICATE_KEY for item in error.details.get("writeErrors", [])):
                raise
            # A concurrent import of the same rows won a race: compare with what it stored.
            return await insert_many_idempotent(collection, documents, scope)
    by_key = {**{document["external_key"]: document for document in fresh if "external_key" in document}, **existing}
    stored = [by_key.get(document.get("external_key"), document) for document in documents]
    return stored, [document["_id"] for document in fresh]


async def latest_per_customer(
    collection: AsyncCollection[Document],
    query: Document,
    customer_ids: list[str],
    newest_first: Document,
    limit: int,
) -> dict[str, list[Document]]:
    """The first ``limit`` documents of each customer in ``newest_first`` order: one aggregation for a
    whole page of customers, whatever its size."""
    if limit <= 0 or not customer_ids:
        return {}
    cursor = await collection.aggregate(
        [
            {"$match": {**query, "customer_id": {"$in": customer_ids}}},
            {
                "$group": {
                    "_id": "$customer_id",
                    "rows": {"$topN": {"n": limit, "sortBy": newest_first, "output": "$$ROOT"}},
                }
            },
        ]
    )
    return {row["_id"]: row["rows"] async for row in cursor}
