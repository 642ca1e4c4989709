"""Local MongoDB-wire server for development and tests (mongoeco), used when MONGODB_URI is not set.

No MongoDB server can be installed on our machines; mongoeco speaks the real wire protocol, so the
application still talks to it through ``pymongo.AsyncMongoClient`` exactly as it would to MongoDB.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import signal
from pathlib import Path
from typing import Any

from mongoeco.core.query_plan import (
    AndCondition,
    EqualsCondition,
    GreaterThanCondition,
    GreaterThanOrEqualCondition,
    InCondition,
    LessThanCondition,
    LessThanOrEqualCondition,
    QueryNode,
)
from mongoeco.engines.memory import MemoryEngine, _MemoryIndexedCandidates
from mongoeco.engines.semantic_core import iter_filtered_documents
from mongoeco.engines.virtual_indexes import query_can_use_index
from mongoeco.wire import AsyncMongoEcoProxyServer

MONGOECO_VERSION = "4.11.0"
# An index lookup expands at most this many value combinations; beyond, the engine scans as before.
MAX_LOOKUP_KEYS = 20_000


class DevMemoryEngine(MemoryEngine):
    """MemoryEngine with the shortcuts a real MongoDB has and mongoeco 4.11.0 lacks, so that the dev
    server's costs look like production's rather than a full scan per query. Each is checked by
    tests/test_dev_mongo_server.py; re-check them when upgrading mongoeco. None changes a result: the
    query still matches every candidate in full, only fewer candidates are read.

    - Inserts do not scan every stored document: every wire insert compared the new ``_id`` with each
      stored one (``scan_payload_id=True``), 16 ms an insert at 3k documents. Duplicate ``_id``s are still
      rejected by the storage-key check that runs before the scan.
    - Index lookups: mongoeco uses only the first single-field index with an equality, and otherwise
      matches every document (3 s for ``customer_id $in`` 100 ids over 30k orders). Here ``_id`` equality
      or ``$in`` reads documents by key, and equality or ``$in`` on any single-field index takes the union
      of its buckets, choosing the index with the fewest candidates. (Compound indexes stay unused:
      mongoeco keys them on the first element of an array, so a lookup could miss documents.)
    - A find sorted on ``_id`` with a limit reads candidates in ``_id`` order from its lower bound and
      stops at the limit, as an index scan would, instead of matching and sorting the whole collection.
    """

    def __init__(self) -> None:
        super().__init__()
        # Finds sorted on _id with a limit, keyed by their query plan while they run (see below).
        self._ordered_finds: dict[int, Any] = {}

    def _ensure_unique_indexes(self, *args: Any, **kwargs: Any) -> None:
        kwargs["scan_payload_id"] = False
        super()._ensure_unique_indexes(*args, **kwargs)

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
            [(field, _direction), *rest] = index["key"]
            usable = (
                not rest
                and field in constrained
                and len(constrained[field]) <= MAX_LOOKUP_KEYS
                and query_can_use_index(index, query_plan, dialect=dialect, collation=collation)
            )
            buckets = index_data.get(index["name"]) if usable else None
            if buckets is None:
                continue
            found = [buckets.get((self._index_equality_key(value),), ()) for value in constrained[field]]
            options.append(found[0] if len(found) == 1 else set().union(*found))
        if not options:
            return super()._indexed_candidate_storage_keys_for_plan_locked(
                indexes, index_data, query_plan, dialect=dialect, collation=collation
            )
        return _MemoryIndexedCandidates(min(options, key=len))


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


async def serve(host: str, port: int, ready_file: str | None) -> None:
    server = AsyncMongoEcoProxyServer(engine=DevMemoryEngine(), host=host, port=port)
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
