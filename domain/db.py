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
from domain.config import AppConfig
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
# ``public_changed_at`` moves only with what every role may see: a change to a class read from personal
# details (the age band on a birthday) moves ``changed_at`` alone, so its moment reveals nothing to others.
STAMP_CHANGED: Document = {"changed_at": True, "public_changed_at": True}
STAMP_PRIVATE_CHANGE: Document = {"changed_at": True}


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

    async def ensure_indexes(self, retention: Retention | None = None) -> None:
        """Idempotent; run by the API and the worker at start-up and by the CLI."""
        for name in ("customers", "orders", "interactions", "segments", "class_events"):
            await _drop_retired_indexes(self.db[name])
        for name, indexes in index_plan(retention or Retention()).items():
            await _drop_changed_ttl(self.db[name], indexes)
            if indexes:
                await self.db[name].create_indexes(indexes)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long what only grows is kept, in days (None: for ever); each enforced by a TTL index."""

    tombstones_days: int | None = 180
    ledger_days: int | None = None
    imports_days: int | None = 30
    allow_list_days: int | None = None

    @classmethod
    def of(cls, config: AppConfig) -> Retention:
        return cls(
            config.tombstone_retention_days,
            config.ledger_retention_days,
            config.import_retention_days,
            config.allow_list_retention_days,
        )


def index_plan(retention: Retention) -> dict[str, list[IndexModel]]:
    """Every collection's indexes: what ``ensure_indexes`` creates, and what the sharding plan is checked
    against (tests/test_sharding_plan.py)."""
    return {
        "api_keys": [IndexModel([("token_hash", ASCENDING)], unique=True)],
        "users": [IndexModel([("workspace_id", ASCENDING), ("name", ASCENDING)])],
        "customers": [
            _unique_external_id(),
            # The sweeper looks for dirty customers across workspaces, jobs within theirs; only dirty ones
            # are indexed.
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
            # A segment's members, listed and counted on an index (customers' "segments" holds their ids).
            _by_workspace("segments"),
            # What offline sync of a role without personal details reads instead of changed_at.
            _by_workspace("public_changed_at"),
        ]
        # Every list the API offers is in id order within a workspace, alone or after one filter field (the
        # fields and class-set keys are ours, never a client's).
        + [_by_workspace(field) for field in (None, *CUSTOMER_FILTER_FIELDS)]
        + [_by_workspace(f"classes.{key}.code") for key in CLASS_SETS]
        # Lists ordered by a value (lead score, CLV, spend, last order) page along these.
        + [_by_workspace(path) for path in SORT_PATHS.values()],
        # A customer's orders, interactions and class events: looked up by customer id within the workspace
        # (a page of customers at a time); workspace-wide reads (segment previews, model training) use the
        # same index's prefix, never a scan across shops.
        "orders": [_unique_external_id(), _by_customer()],
        "interactions": [_unique_external_id(), _by_customer()],
        "scoring_runs": [
            IndexModel([("workspace_id", ASCENDING), ("_id", DESCENDING)]),
            IndexModel([("status", ASCENDING)]),
        ],
        "scoring_run_batches": [
            IndexModel([("run_id", ASCENDING), ("number", ASCENDING)]),
            IndexModel([("status", ASCENDING)]),
        ],
        "class_events": [
            _by_customer(),
            # Subscriptions that resume read the ledger in recorded order.
            IndexModel([("workspace_id", ASCENDING), ("recorded_at", ASCENDING), ("_id", ASCENDING)]),
            *_ttl("recorded_at", retention.ledger_days),
        ],
        # Syncing clients page through deletions in time order.
        "customer_tombstones": [
            IndexModel([("workspace_id", ASCENDING), ("deleted_at", ASCENDING), ("_id", ASCENDING)]),
            # Deletions a crash left half done, for the sweeper.
            IndexModel([("begun_at", ASCENDING)], partialFilterExpression={"unfinished": True}),
            *_ttl("deleted_at", retention.tombstones_days),
        ],
        "segments": [
            IndexModel([("workspace_id", ASCENDING), ("_id", ASCENDING)]),
            # A client's external id makes a retried save idempotent; saves that left work undone.
            _unique_external_id(),
            IndexModel([("pending.since", ASCENDING)], partialFilterExpression={"pending": {"$type": "object"}}),
        ],
        "segment_events": [
            IndexModel([("workspace_id", ASCENDING), ("customer_id", ASCENDING), ("at", DESCENDING)]),
            *_ttl("at", retention.ledger_days),
        ],
        # Imports older than retention.imports_days are removed with their files by the sweeper.
        "imports": [IndexModel([("created_at", ASCENDING)]), IndexModel([("status", ASCENDING)])],
        "persisted_queries": [*_ttl("registered_at", retention.allow_list_days)],
    }


def _ttl(field: str, days: int | None) -> list[IndexModel]:
    if days is None:
        return []
    return [IndexModel([(field, ASCENDING)], name=f"ttl_{field}", expireAfterSeconds=days * 86400)]


async def _drop_changed_ttl(collection: AsyncCollection[Document], wanted: list[IndexModel]) -> None:
    """A retention setting that changed (or went) replaces its TTL index: a new expiry cannot be given to
    an index by creating it again."""
    expiries = {model.document["name"]: model.document.get("expireAfterSeconds") for model in wanted}
    async for index in await collection.list_indexes():
        name = index["name"]
        if name.startswith("ttl_") and expiries.get(name, -1) != index.get("expireAfterSeconds"):
            await collection.drop_index(name)


# Customer fields the API filters lists by, each with an index (see _by_workspace).
CUSTOMER_FILTER_FIELDS = ("owner_id", "city", "region", "legal_type", "tags", "interests", "search_words")


def _by_workspace(field: str | None) -> IndexModel:
    keys = [("workspace_id", ASCENDING)] + ([(field, ASCENDING)] if field else []) + [("_id", ASCENDING)]
    return IndexModel(keys)


def _by_customer() -> IndexModel:
    return IndexModel([("workspace_id", ASCENDING), ("customer_id", ASCENDING)])


def _unique_external_id() -> IndexModel:
    """External ids make retried creates idempotent, unique within a workspace; documents without one are
    not indexed. The index starts with the shard key (workspace_id), as a sharded cluster requires."""
    return IndexModel(
        [("workspace_id", ASCENDING), ("external_id", ASCENDING)],
        name=EXTERNAL_ID_INDEX,
        unique=True,
        partialFilterExpression={"external_id": {"$type": "string"}},
    )


EXTERNAL_ID_INDEX = "workspace_external_id_unique"
# Before it, one field held the workspace and the external id together (a dev-server speed-up, since made
# in the dev server itself); its index is dropped where an older database still has it.
# Likewise customer_id alone, replaced by (workspace_id, customer_id).
_RETIRED_INDEXES = ("external_key_1", "customer_id_1")


async def _drop_retired_indexes(collection: AsyncCollection[Document]) -> None:
    existing = {index["name"] async for index in await collection.list_indexes()}
    for name in _RETIRED_INDEXES:
        if name in existing:
            await collection.drop_index(name)


def _external_id(document: Document) -> str | None:
    value = document.get("external_id")
    return value if isinstance(value, str) else None


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
        await collection.insert_one(document)
    except DuplicateKeyError:
        existing = await collection.find_one(
            {"workspace_id": document["workspace_id"], "external_id": _external_id(document)}
        )
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
    [workspace_id] = {document["workspace_id"] for document in documents}
    first_row: dict[str, int] = {}
    clashes: list[int] = []
    for index, document in enumerate(documents):
        key = _external_id(document)
        if key is None:
            continue
        earlier = first_row.setdefault(key, index)
        if earlier != index and not _same_request(documents[earlier], document, {}):
            clashes.append(index)
    # Bounded by the batch (an import's 500 rows), never by the workspace.
    wanted = list(first_row)
    found = collection.find({"workspace_id": workspace_id, "external_id": {"$in": wanted}}) if wanted else None
    existing = {item["external_id"]: item async for item in found} if found is not None else {}
    clashes += [
        index
        for index, document in enumerate(documents)
        if (key := _external_id(document)) in existing and not _same_request(existing[key], document, scope)
    ]
    if clashes:
        raise DuplicateExternalId(sorted(set(clashes)))
    fresh = [
        document
        for index, document in enumerate(documents)
        if (key := _external_id(document)) is None or (key not in existing and first_row[key] == index)
    ]
    if fresh:
        try:
            await collection.insert_many(fresh, ordered=False)
        except BulkWriteError as error:
            if any(item.get("code") != DUPLICATE_KEY for item in error.details.get("writeErrors", [])):
                raise
            # A concurrent import of the same rows won a race: compare with what it stored.
            return await insert_many_idempotent(collection, documents, scope)
    by_key = {**{key: document for document in fresh if (key := _external_id(document))}, **existing}
    stored = [by_key.get(_external_id(document) or "", document) for document in documents]
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
