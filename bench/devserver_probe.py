"""The development MongoDB-wire server with a big shop: N customers and 4N orders shaped like ours, loaded
and read the way the product does, through the driver we ship, with the driver's heartbeats watched.

    .venv/bin/python bench/devserver_probe.py                    # N = 2,000, 10,000, 50,000
    .venv/bin/python bench/devserver_probe.py --n 2000 --n 10000
    MONGODB_URI=mongodb://... .venv/bin/python bench/devserver_probe.py   # the same against a real MongoDB

For each N it prints seconds for: inserting customers and orders in chunks of 1,000 (with the cost of the
first and last chunk, which a linear insert keeps equal), a find of 5,000 customers by an ``_id`` range
sorted by ``_id``, an aggregation ``$match {workspace_id, customer_id: {$in: 5,000 ids}}`` + ``$group`` and a
``$match {workspace_id}`` + ``$group`` over every order, and upserts that create customers by (workspace id,
external id) and by ``_id``; and whether any operation was cancelled or any heartbeat failed (the API's
client waits 2 s for a heartbeat, then interrupts the operations in flight).
The collections carry the indexes the product creates, including the compound partial unique index
``(workspace_id, external_id)``. A step that exceeds ``--budget`` seconds stops that N.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, AsyncMongoClient, IndexModel, monitoring
from pymongo.errors import PyMongoError, _OperationCancelled

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devstack.processes import free_port, start_mongo_dev_server

CHUNK = 1000
PICKED = 5000
UPSERTS = 200
Document = dict[str, Any]


class _Heartbeats(monitoring.ServerHeartbeatListener):
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.slowest = 0.0

    def started(self, event: monitoring.ServerHeartbeatStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.ServerHeartbeatSucceededEvent) -> None:
        self.slowest = max(self.slowest, event.duration)

    def failed(self, event: monitoring.ServerHeartbeatFailedEvent) -> None:
        self.failures.append(f"{type(event.reply).__name__}: {str(event.reply)[:80]}")


@dataclass
class Step:
    name: str
    seconds: float | None = None
    note: str = ""
    error: str = ""


@dataclass
class Run:
    n: int
    steps: list[Step] = field(default_factory=list)
    heartbeats: _Heartbeats = field(default_factory=_Heartbeats)


class OverBudget(Exception):
    pass


def _customers(n: int, workspace_id: str, rng: random.Random) -> list[Document]:
    now = datetime.now(UTC)
    return [
        {
            "_id": str(ObjectId()),
            "workspace_id": workspace_id,
            "external_id": f"c-{i}",
            "name": f"Khách {i}",
            "city": rng.choice(["Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Huế"]),
            "tags": rng.sample(["vip", "spa", "zalo", "sỉ"], rng.randrange(3)),
            "created_at": now - timedelta(days=rng.randrange(700)),
            "scoring": {"dirty": False, "seq": 0, "version": 0},
        }
        for i in range(n)
    ]


def _orders(customer_ids: list[str], workspace_id: str, rng: random.Random) -> list[Document]:
    now = datetime.now(UTC)
    return [
        {
            "_id": str(ObjectId()),
            "workspace_id": workspace_id,
            "external_id": f"o-{i}",
            "customer_id": customer_ids[i // 4],
            "status": rng.choice(["paid", "paid", "paid", "cancelled", "pending"]),
            "total_minor": rng.randrange(50_000, 5_000_000),
            "placed_at": now - timedelta(days=rng.randrange(700)),
        }
        for i in range(len(customer_ids) * 4)
    ]


async def _timed(run: Run, name: str, budget: float, work: Callable[[], Awaitable[str]]) -> None:
    step = Step(name)
    run.steps.append(step)
    started = time.perf_counter()
    try:
        step.note = await asyncio.wait_for(work(), budget)
    except TimeoutError:
        step.error = f"over the {budget:.0f} s budget"
        raise OverBudget from None
    except _OperationCancelled:
        # The driver interrupts operations in flight when a heartbeat times out.
        step.error = "CANCELLED (_OperationCancelled)"
    except PyMongoError as error:
        step.error = f"{type(error).__name__}: {str(error)[:60]}"
    step.seconds = time.perf_counter() - started


async def _insert(collection: Any, documents: list[Document]) -> str:
    chunk_seconds = []
    for start in range(0, len(documents), CHUNK):
        began = time.perf_counter()
        await collection.insert_many(documents[start : start + CHUNK], ordered=False)
        chunk_seconds.append(time.perf_counter() - began)
    return f"first chunk {chunk_seconds[0] * 1000:.0f} ms, last chunk {chunk_seconds[-1] * 1000:.0f} ms"


async def _upsert(collection: Any, keys: list[Document]) -> str:
    """New documents through upserts, as an idempotent create would (each finds nothing, then inserts)."""
    began = time.perf_counter()
    for key in keys:
        await collection.update_one(key, {"$set": {"name": "new"}, "$setOnInsert": {"created": True}}, upsert=True)
    return f"{(time.perf_counter() - began) / len(keys) * 1000:.1f} ms each"


async def probe(uri: str, n: int, budget: float, unique_on: str) -> Run:
    run = Run(n)
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        uri, connectTimeoutMS=2000, serverSelectionTimeoutMS=3000, event_listeners=[run.heartbeats]
    )
    db = client[f"devserver_probe_{n}_{os.getpid()}"]
    rng = random.Random(n)
    workspace_id = str(ObjectId())
    try:
        unique = (
            IndexModel(
                [("workspace_id", ASCENDING), ("external_id", ASCENDING)],
                unique=True,
                partialFilterExpression={"external_id": {"$type": "string"}},
            )
            if unique_on == "compound"
            else IndexModel(
                [("external_id", ASCENDING)], unique=True, partialFilterExpression={"external_id": {"$type": "string"}}
            )
        )
        await db.customers.create_indexes([unique, IndexModel([("workspace_id", ASCENDING), ("_id", ASCENDING)])])
        await db.orders.create_indexes([unique, IndexModel([("customer_id", ASCENDING)])])
        customers = _customers(n, workspace_id, rng)
        ids = sorted(document["_id"] for document in customers)
        orders = _orders([document["_id"] for document in customers], workspace_id, rng)
        picked = rng.sample(ids, min(PICKED, n))
        low = ids[(n - len(picked)) // 2]
        high = ids[(n - len(picked)) // 2 + len(picked) - 1]

        async def find_range() -> str:
            cursor = db.customers.find({"workspace_id": workspace_id, "_id": {"$gte": low, "$lte": high}})
            found = [document async for document in cursor.sort("_id", 1).batch_size(len(picked))]
            return f"{len(found):,} customers"

        async def group(match: Document) -> str:
            pipeline = [
                {"$match": match},
                {"$group": {"_id": "$customer_id", "spent": {"$sum": "$total_minor"}, "last": {"$max": "$placed_at"}}},
            ]
            cursor = await db.orders.aggregate(pipeline, batchSize=len(picked))
            return f"{len([row async for row in cursor]):,} groups"

        await _timed(run, f"insert {n:,} customers", budget, lambda: _insert(db.customers, customers))
        await _timed(run, f"insert {4 * n:,} orders", budget, lambda: _insert(db.orders, orders))
        await _timed(run, f"find {len(picked):,} by _id range, sorted", budget, find_range)
        in_match = {"workspace_id": workspace_id, "customer_id": {"$in": picked}}
        await _timed(run, f"$match $in {len(picked):,} ids + $group", budget, lambda: group(in_match))
        everything = {"workspace_id": workspace_id}
        await _timed(run, "$match workspace + $group, all orders", budget, lambda: group(everything))
        by_key = [{"workspace_id": workspace_id, "external_id": f"new-{i}"} for i in range(UPSERTS)]
        await _timed(
            run, f"{UPSERTS} upserts by (workspace, external id)", budget, lambda: _upsert(db.customers, by_key)
        )
        by_id = [{"_id": str(ObjectId())} for _ in range(UPSERTS)]
        await _timed(run, f"{UPSERTS} upserts by _id", budget, lambda: _upsert(db.customers, by_id))
    except OverBudget:
        pass
    finally:
        with suppress(PyMongoError):
            await client.drop_database(db.name)
        await client.close()
    return run


def report(run: Run) -> None:
    print(f"\nN = {run.n:,} customers, {4 * run.n:,} orders")
    for step in run.steps:
        seconds = f"{step.seconds:8.2f} s" if step.seconds is not None else "       - "
        print(f"  {step.name:<42} {seconds}  {step.error or step.note}")
    failed = run.heartbeats.failures
    first = f" ({failed[0]})" if failed else ""
    print(f"  heartbeats: slowest {run.heartbeats.slowest:.2f} s, failed {len(failed)}{first}")
    cancelled = [step for step in run.steps if step.error.startswith("CANCELLED")]
    print(f"  cancelled operations: {len(cancelled)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, action="append", help="customers (repeatable); default 2,000 10,000 50,000")
    parser.add_argument(
        "--unique",
        choices=["compound", "single"],
        default="compound",
        help="external ids unique per workspace (compound partial index) or across the collection (one field)",
    )
    parser.add_argument("--budget", type=float, default=600.0, help="seconds a step may take before this N stops")
    args = parser.parse_args()
    for n in args.n or [2000, 10_000, 50_000]:
        with _server() as uri:
            report(asyncio.run(probe(uri, n, args.budget, args.unique)))


@contextmanager
def _server() -> Iterator[str]:
    """MONGODB_URI's server, or a fresh dev server (one per N: an abandoned operation cannot slow the next)."""
    uri = os.environ.get("MONGODB_URI", "")
    if uri:
        yield uri
        return
    log = Path(tempfile.mkdtemp(prefix="devserver-probe-")) / "mongodb.log"
    process, uri = start_mongo_dev_server(free_port(), log)
    try:
        yield uri
    finally:
        process.stop()


if __name__ == "__main__":
    main()
