"""Local MongoDB-wire server for development and tests (mongoeco), used when MONGODB_URI is not set.

No MongoDB server can be installed on our machines; mongoeco speaks the real wire protocol, so the
application still talks to it through ``pymongo.AsyncMongoClient`` exactly as it would to MongoDB.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import copy
import dataclasses
import datetime
import decimal
import gc
import itertools
import signal
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from mongoeco.core import codec, operators
from mongoeco.core.filtering import QueryEngine
from mongoeco.core.query_plan import (
    AndCondition,
    EqualsCondition,
    GreaterThanCondition,
    GreaterThanOrEqualCondition,
    InCondition,
    LessThanCondition,
    LessThanOrEqualCondition,
    QueryNode,
    ensure_query_plan,
)
from mongoeco.engines import memory, results
from mongoeco.engines.memory import MemoryEngine, _MemoryIndexedCandidates
from mongoeco.engines.semantic_core import iter_filtered_documents
from mongoeco.engines.virtual_indexes import document_in_virtual_index, query_can_use_index
from mongoeco.wire import AsyncMongoEcoProxyServer
from mongoeco.wire.protocol import OP_MSG, OP_QUERY

from devstack.mongo_semantics import follow_mongodb

MONGOECO_VERSION = "4.11.0"
# An index lookup expands at most this many value combinations; beyond, the engine scans as before.
MAX_LOOKUP_KEYS = 20_000
# What survived a collection is frozen this often, so no collection walks the whole store (see below).
FREEZE_INTERVAL_SECONDS = 10.0
# A collection that holds the server longer than this is worth a line in its log.
LONG_COLLECTION_SECONDS = 1.0


class DevMemoryEngine(MemoryEngine):
    """MemoryEngine with the shortcuts a real MongoDB has and mongoeco 4.11.0 lacks, so that the dev
    server's costs look like production's rather than a full scan per query or per insert. Each is checked
    by tests/test_dev_mongo_server.py; re-check them when upgrading mongoeco. None changes a result: a
    query still matches every candidate in full, only fewer candidates are read, and a unique index still
    rejects every duplicate, found by lookup instead of by comparison with every stored document.

    - Inserts do not scan every stored document: every wire insert compared the new ``_id`` with each
      stored one (``scan_payload_id=True``), 16 ms an insert at 3k documents. Duplicate ``_id``s are still
      rejected by the storage-key check that runs before the scan.
    - Compound indexes are keyed on every combination of their fields' values (one array field at most,
      as MongoDB allows), where mongoeco keys a document on the first element of each array. That makes
      them lookups that cannot miss a document, so a compound unique index (partial or not) is checked
      by looking up the new document's keys, where mongoeco compared it with every stored document
      (quadratic: 1,000 inserts took seconds at a few thousand documents).
    - Index lookups: mongoeco uses only the first single-field index with an equality, and otherwise
      matches every document (3 s for ``customer_id $in`` 100 ids over 30k orders). Here ``_id`` equality
      or ``$in`` reads documents by key, equality or ``$in`` on any single-field index takes the union
      of its buckets, and equality on every field of a compound index (an upsert by workspace and
      external id) reads its bucket, choosing the index with the fewest candidates.
    - A find sorted on ``_id`` with a limit reads candidates in ``_id`` order from its lower bound and
      stops at the limit, as an index scan would, instead of matching and sorting the whole collection.
    - An update touches only the indexes whose entries it changes, as MongoDB does: mongoeco removed the
      document from every index and added it back (a scored customer has some thirty), 60% of an update.
      An index is left alone only when every field it keys on, and its partial filter's verdict, are the
      same before and after (values compared with their types); special indexes are always redone.
    """

    def __init__(self) -> None:
        # mongoeco refuses a $group or $sort over more than 50,000 source documents without a spill to disk
        # ("exceeds the configured materialization budget"): a shop's orders passed that. MongoDB spills
        # by default (allowDiskUse); here everything is in memory anyway.
        super().__init__(aggregation_materialization_limit=None)
        # Finds sorted on _id with a limit, keyed by their query plan while they run (see below).
        self._ordered_finds: dict[int, Any] = {}
        # Stored documents read so far (scans, candidates, duplicate checks): what the shortcuts save,
        # reported by serverStatus as mongoeco.engineRuntime.storedDocumentsRead.
        self._documents_read = 0

    async def update_with_operation(self, *args: Any, **kwargs: Any) -> Any:
        # Within one update, its index removal of the old document waits for the addition of the new one.
        token = _UPDATING.set({})
        try:
            return await super().update_with_operation(*args, **kwargs)
        finally:
            _UPDATING.reset(token)

    def _update_indexes_locked(
        self, db_name: str, coll_name: str, storage_key: Any, document: Any, *, action: str = "insert", **views: Any
    ) -> None:
        deferred = _UPDATING.get()
        if deferred is None:
            return super()._update_indexes_locked(db_name, coll_name, storage_key, document, action=action, **views)
        if action == "delete":
            deferred[(db_name, coll_name)] = (storage_key, document)
            return None
        held = deferred.pop((db_name, coll_name), None)
        if held is None or held[0] != storage_key or action != "insert":
            if held is not None:
                super()._update_indexes_locked(db_name, coll_name, held[0], held[1], action="delete", **views)
            return super()._update_indexes_locked(db_name, coll_name, storage_key, document, action=action, **views)
        indexes = (views.get("indexes_view") or self._indexes).get(db_name, {}).get(coll_name, [])
        changed = [index for index in indexes if not _same_index_entries(held[1], document, index)]
        if changed:
            views = {**views, "indexes_view": {db_name: {coll_name: changed}}}
            super()._update_indexes_locked(db_name, coll_name, storage_key, held[1], action="delete", **views)
            super()._update_indexes_locked(db_name, coll_name, storage_key, document, action="insert", **views)
        return None

    def _borrow_storage_document(self, payload: object, **options: Any) -> Any:
        self._documents_read += 1
        return super()._borrow_storage_document(payload, **options)

    def _runtime_diagnostics_info(self) -> dict[str, object]:
        return {**super()._runtime_diagnostics_info(), "storedDocumentsRead": self._documents_read}

    def _index_keys(self, document: Any, fields: list[str]) -> set[tuple[Any, ...]]:
        if len(fields) == 1:
            return super()._index_keys(document, fields)
        return self._unique_index_keys(document, fields)

    def _ensure_unique_indexes(self, db_name: str, coll_name: str, candidate: Any, **kwargs: Any) -> None:
        kwargs["scan_payload_id"] = False
        indexes = _view(self._indexes, kwargs.get("indexes_view"), db_name, coll_name) or []
        index_data = _view(self._index_data, kwargs.get("index_data_view"), db_name, coll_name) or {}
        looked_up = [index for index in indexes if _checked_by_lookup(index) and index["name"] in index_data]
        if looked_up:
            stored = _view(self._storage, kwargs.get("storage_view"), db_name, coll_name) or {}
            exclude = kwargs.get("exclude_storage_key")
            if exclude is not None and exclude not in stored:
                exclude = self._storage_key(exclude)
            for index in looked_up:
                self._reject_duplicate(
                    f"{db_name}.{coll_name}", candidate, index, index_data[index["name"]], stored, exclude
                )
            # The rest (the _id, single-field and collated unique indexes) as mongoeco checks them.
            kwargs["indexes_view"] = {db_name: {coll_name: [index for index in indexes if index not in looked_up]}}
        super()._ensure_unique_indexes(db_name, coll_name, candidate, **kwargs)

    def _reject_duplicate(
        self, namespace: str, candidate: Any, index: Any, buckets: Any, stored: Any, exclude: Any
    ) -> None:
        if not document_in_virtual_index(candidate, index):
            return  # outside the partial filter: not in the index, so never a duplicate
        self._validate_compound_multikey_shape(candidate, index)
        for key in self._unique_index_keys(candidate, index["fields"]):
            if any(holder != exclude and holder in stored for holder in buckets.get(key, ())):
                message = f"Duplicate key for unique index '{index['name']}': {index['fields']}={key!r}"
                raise self._unique_key_error(  # type: ignore[no-untyped-call]
                    message, namespace, candidate, index=index, conflict=key
                )

    def scan_find_semantics(self, db_name: str, coll_name: str, semantics: Any, *, context: Any = None) -> Any:
        if _id_sort_direction(semantics) is not None:
            if len(self._ordered_finds) > 1000:
                self._ordered_finds.clear()
            self._ordered_finds[id(semantics.query_plan)] = semantics
        return super().scan_find_semantics(db_name, coll_name, semantics, context=context)

    def _candidate_items_for_plan_locked(self, coll: Any, query_plan: QueryNode, **kwargs: Any) -> Any:
        semantics = self._ordered_finds.pop(id(query_plan), None)
        if semantics is None:
            return super()._candidate_items_for_plan_locked(coll, query_plan, **kwargs)
        direction = _id_sort_direction(semantics)
        assert direction is not None
        indexed = self._indexed_candidate_storage_keys_for_plan_locked(
            kwargs["indexes"], kwargs["index_data"], query_plan, dialect=kwargs["dialect"], collation=None
        )
        # A selective index gives few candidates to order; otherwise walk the whole collection in _id order.
        pool = indexed.storage_keys if indexed is not None and len(indexed.storage_keys) * 4 < len(coll) else coll
        keys = sorted((key for key in pool if key in coll), reverse=direction < 0)
        if len({key[0] for key in keys}) > 1:
            return super()._candidate_items_for_plan_locked(coll, query_plan, **kwargs)  # ids of several types
        start = _first_position(keys, _id_bound(query_plan, direction), self._storage_key, direction)
        wanted = semantics.skip + semantics.limit
        found = []
        for key in keys[start:]:
            data = coll[key]
            if any(iter_filtered_documents([self._borrow_storage_document(data)], semantics)):
                found.append((key, data))
                if len(found) == wanted:
                    break
        return found

    def _indexed_candidate_storage_keys_for_plan_locked(
        self, indexes: Any, index_data: Any, query_plan: QueryNode, *, dialect: Any, collation: Any
    ) -> Any:
        if collation is not None:
            return None
        constrained = _equality_values(query_plan)
        options: list[Any] = []
        if "_id" in constrained and len(constrained["_id"]) <= MAX_LOOKUP_KEYS:
            options.append({self._storage_key(value) for value in constrained["_id"]})
        for index in indexes:
            fields = [field for field, _direction in index["key"]]
            combinations = _combinations(constrained, fields)
            usable = combinations is not None and query_can_use_index(
                index, query_plan, dialect=dialect, collation=collation
            )
            buckets = index_data.get(index["name"]) if usable else None
            if buckets is None or combinations is None:
                continue
            found = [buckets.get(tuple(self._index_equality_key(value) for value in key), ()) for key in combinations]
            options.append(found[0] if len(found) == 1 else set().union(*found))
        if not options:
            return super()._indexed_candidate_storage_keys_for_plan_locked(
                indexes, index_data, query_plan, dialect=dialect, collation=collation
            )
        return _MemoryIndexedCandidates(min(options, key=len))


_UPDATING: ContextVar[dict[tuple[str, str], tuple[Any, Any]] | None] = ContextVar("dev_updating", default=None)
_MISSING = object()


def _same_index_entries(before: Any, after: Any, index: Any) -> bool:
    """Whether ``index`` holds the same entries for the document before and after an update."""
    if any(direction not in (1, -1) for _field, direction in index["key"]):
        return False  # text, hashed, geo: keyed otherwise
    if document_in_virtual_index(before, index) != document_in_virtual_index(after, index):
        return False
    return all(_same_value(_at(before, field), _at(after, field)) for field in index["fields"])


def _at(document: Any, path: str) -> Any:
    """The value at a dotted path, or the whole array met on the way (then compared whole)."""
    current = document
    for part in path.split("."):
        if isinstance(current, list):
            return current
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current


def _same_value(left: Any, right: Any) -> bool:
    """Equal with the same types all the way down (1, 1.0 and True key differently)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same_value(left[key], right[key]) for key in left)
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(_same_value(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})
_ATOMIC = frozenset({str, int, float, bool, type(None), bytes, datetime.datetime, datetime.date, decimal.Decimal})


def _tree_copy(value: Any, *more: Any) -> Any:
    """copy.deepcopy for the trees of dicts, lists and scalars a decoded document is, 6x faster (no memo:
    a decoded document shares no parts); anything else is handed to deepcopy."""
    kind = type(value)
    if kind in _ATOMIC and not more:
        return value
    if kind is dict and not more:
        return {key: item if type(item) in _ATOMIC else _tree_copy(item) for key, item in value.items()}
    if kind is list and not more:
        return [item if type(item) in _ATOMIC else _tree_copy(item) for item in value]
    return copy.deepcopy(value, *more)


def compile_update_selectors_once() -> None:
    """update_many updates each matched document by its id, re-checking the command's filter: mongoeco
    compiled that filter again per document, and prepared its $in values again per match, so a stamp of
    1,000 events by id took 1,000 x 1,000 steps (1.4 s). The filter's plan is compiled once per command
    here (unless it reads variables, which change per document) and its $in values are prepared once."""
    compile_semantics = getattr(memory, "compile_update_semantics")  # noqa: B009
    plans: dict[int, tuple[Any, Any]] = {}  # id of a filter -> (the filter, its plan or None if it reads variables)

    def compile_update_semantics(operation: Any, *, selector_filter: Any = None, **options: Any) -> Any:
        if selector_filter is None:
            return compile_semantics(operation, **options)
        held = plans.get(id(selector_filter))
        if held is None or held[0] is not selector_filter:
            if len(plans) >= 64:
                plans.clear()
            held = plans[id(selector_filter)] = (selector_filter, None if _reads_variables(selector_filter) else ...)
        if held[1] is None:
            return compile_semantics(operation, selector_filter=selector_filter, **options)
        semantics = compile_semantics(operation, **options)
        if held[1] is ...:
            plan = ensure_query_plan(selector_filter, None, dialect=semantics.dialect, variables=semantics.variables)
            held = plans[id(selector_filter)] = (selector_filter, plan)
        return dataclasses.replace(semantics, selector_plan=held[1], selector_filter=selector_filter)

    setattr(memory, "compile_update_semantics", compile_update_semantics)  # noqa: B010
    prepare = getattr(QueryEngine, "_prepare_membership_values")  # noqa: B009
    prepared: dict[tuple[int, bool], tuple[Any, Any]] = {}

    def prepare_membership_values(values: Any, *, null_matches_undefined: bool, collation: Any = None) -> Any:
        if collation is not None or len(values) < 16:
            return prepare(values, null_matches_undefined=null_matches_undefined, collation=collation)
        held = prepared.get((id(values), null_matches_undefined))
        if held is None or held[0] is not values:
            if len(prepared) >= 64:
                prepared.clear()
            held = (values, prepare(values, null_matches_undefined=null_matches_undefined))
            prepared[(id(values), null_matches_undefined)] = held
        return held[1]

    setattr(QueryEngine, "_prepare_membership_values", staticmethod(prepare_membership_values))  # noqa: B010


def _reads_variables(filter_spec: Any) -> bool:
    if isinstance(filter_spec, dict):
        return any(key in ("$expr", "$where", "$function") or _reads_variables(v) for key, v in filter_spec.items())
    if isinstance(filter_spec, list | tuple):
        return any(_reads_variables(item) for item in filter_spec)
    return False


def copy_documents_as_trees() -> None:
    """mongoeco deep-copies a document three or four times per update (the original, the new one, the
    result, the change event): with copy.deepcopy, 40% of an update of a scored customer."""
    for module in (memory, results, operators):
        setattr(module, "deepcopy", _tree_copy)  # noqa: B010


def validate_each_value_once() -> None:
    """mongoeco's codec validates a document's whole subtree at every level it encodes (each nested
    document again, then each of its values again), so a value at depth d is checked d times: a scored
    customer (classes, evidence, inputs) cost most of an update's time in checks. Here the outermost
    encode validates the whole value once, exactly as before, and the nested encodes skip the repeat.
    Idempotent; the encode runs on the engine's one thread."""
    if getattr(codec, "_validated_once", False):
        return
    encode = codec.DocumentCodec.encode
    validate = getattr(codec, "validate_bson_value")  # noqa: B009
    inside = threading.local()

    def validate_unless_inside(value: object) -> None:
        if not getattr(inside, "active", False):
            validate(value)

    def encode_validating_once(data: Any) -> Any:
        if getattr(inside, "active", False):
            # Validated already; these encode as themselves (the codec's last line, after ~30 type checks).
            return data if type(data) in _PLAIN_SCALARS else encode(data)
        validate(data)
        inside.active = True
        try:
            return encode(data)
        finally:
            inside.active = False

    setattr(codec, "validate_bson_value", validate_unless_inside)  # noqa: B010
    setattr(codec.DocumentCodec, "encode", staticmethod(encode_validating_once))  # noqa: B010
    setattr(codec, "_validated_once", True)  # noqa: B010


def freeze_survivors() -> None:
    """Everything the server stores lives as Python objects in this process, so a full collection walks
    all of them while holding the interpreter: at 50,000 scored customers that pause outlasted the
    driver's heartbeat timeout, and the driver then interrupted the operations in flight. What survives a
    collection is live; frozen, later collections skip it. Frozen objects are still freed by reference
    counting (stored documents hold no cycles); only a cycle among them that becomes garbage later stays."""
    gc.collect()
    gc.freeze()


async def freeze_survivors_regularly(interval: float = FREEZE_INTERVAL_SECONDS) -> None:
    while True:
        await asyncio.sleep(interval)
        freeze_survivors()


def log_long_collections(threshold: float = LONG_COLLECTION_SECONDS) -> None:
    started: list[float] = [0.0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif (held := time.perf_counter() - started[0]) > threshold:
            print(
                f"a garbage collection (generation {info['generation']}) held the server {held:.1f} s", file=sys.stderr
            )

    gc.callbacks.append(timed)


def _id_sort_direction(semantics: Any) -> int | None:
    if semantics.limit is None or semantics.collation is not None or semantics.text_query is not None:
        return None
    sort = list(semantics.sort or [])
    if len(sort) != 1 or sort[0][0] != "_id":
        return None
    return int(sort[0][1])


def _id_bound(node: QueryNode, direction: int) -> tuple[Any, bool] | None:
    """The ``_id`` the ordered read may start from, and whether it is itself excluded."""
    clauses = node.clauses if isinstance(node, AndCondition) else (node,)
    lower, upper = (GreaterThanCondition, GreaterThanOrEqualCondition), (LessThanCondition, LessThanOrEqualCondition)
    for clause in clauses:
        if isinstance(clause, lower if direction > 0 else upper) and clause.field == "_id":
            return clause.value, isinstance(clause, GreaterThanCondition | LessThanCondition)
    return None


def _first_position(keys: list[Any], bound: tuple[Any, bool] | None, storage_key: Any, direction: int) -> int:
    if bound is None:
        return 0
    value, exclusive = bound
    key = storage_key(value)
    if direction > 0:
        return (bisect.bisect_right if exclusive else bisect.bisect_left)(keys, key)
    descending = [_Reversed(k) for k in keys]
    return (bisect.bisect_right if exclusive else bisect.bisect_left)(descending, _Reversed(key))


class _Reversed:
    """Orders like its value, backwards (bisect on a list sorted in descending order)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)


def _combinations(constrained: dict[str, list[Any]], fields: list[str]) -> list[tuple[Any, ...]] | None:
    """The index keys a query pinning every field of the index can have, if few enough to look up.

    A compound index is keyed on array elements, not on whole arrays: a query for an array value, which
    would match a whole array, is left to a scan."""
    if any(field not in constrained for field in fields):
        return None
    count = 1
    for field in fields:
        count *= len(constrained[field])
    if count > MAX_LOOKUP_KEYS:
        return None
    if len(fields) > 1 and any(isinstance(value, list) for field in fields for value in constrained[field]):
        return None
    return list(itertools.product(*(constrained[field] for field in fields)))


def _checked_by_lookup(index: Any) -> bool:
    return bool(index.get("unique")) and len(index["fields"]) > 1 and index.get("collation") is None


def _view(own: dict[str, Any], view: dict[str, Any] | None, db_name: str, coll_name: str) -> Any:
    """A collection's entry in the engine's own state, or in a transaction's view of it."""
    return (own if view is None else view).get(db_name, {}).get(coll_name)


def _equality_values(node: QueryNode) -> dict[str, list[Any]]:
    """Fields the query pins to one value or a list of values (top level, and-ed)."""
    clauses = node.clauses if isinstance(node, AndCondition) else (node,)
    values: dict[str, list[Any]] = {}
    for clause in clauses:
        if isinstance(clause, EqualsCondition) and not clause.null_matches_undefined:
            values.setdefault(clause.field, [clause.value])
        elif isinstance(clause, InCondition) and not clause.null_matches_undefined and clause.values:
            values.setdefault(clause.field, list(clause.values))
    return values


class DevProxyServer(AsyncMongoEcoProxyServer):  # type: ignore[misc]
    """The wire server, answering the driver's heartbeats while a long command runs.

    mongoeco runs every command on the event loop that reads the sockets, so a command of a few seconds
    (an aggregation over thousands of customers, a bulk insert) left the driver's heartbeat unanswered:
    the driver marked the server unknown and interrupted the operations in flight on its connections
    (``_OperationCancelled``; the API waits 2 s for a heartbeat). Here commands run on an event loop of
    their own thread (``engine_loop``; interleaved where mongoeco awaits, in order per connection, as
    before), and the handshake (``hello``, ``isMaster``: no engine, no session) is answered on the socket
    loop, which the engine thread yields to at the interpreter's switch interval (5 ms)."""

    _engine_connected: bool
    _client: Any

    def __init__(self, *, engine_loop: asyncio.AbstractEventLoop, **options: Any) -> None:
        super().__init__(**options)
        self._engine_loop = engine_loop

    async def _dispatch_wire_request(self, header: Any, payload: bytes, *, connection: Any) -> bytes | None:
        request = super()._dispatch_wire_request(header, payload, connection=connection)
        if command_name(header.op_code, payload) in HANDSHAKES:
            return await request  # type: ignore[no-any-return]
        return await self._on_engine_loop(request)

    async def close(self) -> None:
        # mongoeco's close clears the engine's memory: only once nothing runs on the engine loop any more.
        connected, self._engine_connected = self._engine_connected, False
        await super().close()
        if connected:
            await self._on_engine_loop(_disconnect_when_idle(self._client._engine))

    async def _on_engine_loop(self, work: Coroutine[Any, Any, _T]) -> _T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._engine_loop))


_T = TypeVar("_T")
HANDSHAKES = {b"hello", b"isMaster", b"ismaster"}


def command_name(op_code: int, payload: bytes) -> bytes | None:
    """The first key of a command's body (its name), read from the raw message without decoding it."""
    if op_code == OP_MSG:
        if len(payload) < 6 or payload[4] != 0:  # flag bits, then the body section (kind 0) first
            return None
        body = 5
    elif op_code == OP_QUERY:
        collection_end = payload.find(b"\0", 4)  # flags, then the full collection name
        if collection_end < 0:
            return None
        body = collection_end + 1 + 8  # number to skip, number to return
    else:
        return None
    name = body + 4 + 1  # the document's length, the first element's type
    end = payload.find(b"\0", name)
    return payload[name:end] if end > name else None


async def _disconnect_when_idle(engine: Any) -> None:
    await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}), return_exceptions=True)
    await engine.disconnect()


@contextmanager
def engine_thread() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running on a thread of its own until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="mongoeco-engine", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


async def serve(host: str, port: int, ready_file: str | None) -> None:
    follow_mongodb()
    validate_each_value_once()
    copy_documents_as_trees()
    compile_update_selectors_once()
    log_long_collections()
    freezing = asyncio.create_task(freeze_survivors_regularly())
    with engine_thread() as engine_loop:
        server = DevProxyServer(engine=DevMemoryEngine(), host=host, port=port, engine_loop=engine_loop)
        address = await server.start()
        if ready_file:
            # The launcher polls this file for the URI; a few bytes written once at start-up.
            Path(ready_file).write_text(address.uri)  # noqa: ASYNC240
        print(f"mongoeco {MONGOECO_VERSION} listening at {address.uri}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            freezing.cancel()
            await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="MongoDB-wire development server (in memory)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument("--ready-file", default=None, help="write the connection URI here once listening")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.ready_file))


if __name__ == "__main__":
    main()
