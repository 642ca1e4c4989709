"""A stack for the benchmarks: Redis and the MongoDB-wire server on free ports, a workspace filled with
synthetic customers through the bulk paths, scored, and the API and a bare Strawberry app under uvicorn."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from bench.commands import CommandCount
from devstack.processes import ManagedProcess, _spawn, _wait, free_port, start_api, start_mongo_dev_server, start_redis
from domain.auth.principals import Principal
from domain.config import AppConfig
from domain.db import Database, Document
from domain.queueing import RqRescoreQueue
from domain.redis_clients import sync_client
from domain.services import Services, build_services
from workers.runtime import WorkerRuntime

CITIES = ["Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Huế", "Cần Thơ", "上海", "广州"]
TAGS = ["vip", "spa", "zalo", "facebook", "sỉ", "lẻ"]
CATEGORIES = ["dress", "shoes", "bag", "premium_design", "accessories"]


@dataclass(frozen=True)
class Stack:
    config: AppConfig
    token: str
    workspace_id: str
    customer_ids: list[str]
    logs: Path


@contextmanager
def services_stack(
    n: int, seed: int = 11, timings: dict[str, Any] | None = None, commands: CommandCount | None = None
) -> Iterator[Stack]:
    """Redis and MongoDB (``MONGODB_URI`` or a local dev server) with ``n`` scored customers; ``timings``
    receives the seconds and ``commands``' MongoDB commands of the load and of the first scoring."""
    timings = {} if timings is None else timings
    counted = commands.total if commands else lambda: 0
    logs = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    started: list[ManagedProcess] = []
    try:
        redis_process, redis_url = start_redis(free_port(), logs / "redis.log")
        started.append(redis_process)
        mongodb_uri = os.environ.get("MONGODB_URI", "")
        if not mongodb_uri:
            mongo_process, mongodb_uri = start_mongo_dev_server(free_port(), logs / "mongodb.log")
            started.append(mongo_process)
        config = AppConfig(
            mongodb_uri=mongodb_uri,
            mongodb_db=f"crm_bench_{os.getpid()}",
            redis_url=redis_url,
            rq_queue="crm-bench",
            rate_limit_capacity=10**9,
            rate_limit_per_second=10**9,
            rfm_refresh_seconds=0,
        )
        token = "crm_bench_" + os.urandom(8).hex()
        started_at, before = time.perf_counter(), counted()
        workspace_id, ids = asyncio.run(_fill(config, token, n, seed, timings))
        timings["load"], timings["load_commands"] = time.perf_counter() - started_at, counted() - before
        print(f"loaded {n:,} customers with orders and interactions in {timings['load']:.1f} s")
        started_at, before = time.perf_counter(), counted()
        score_everything(config, workspace_id)
        timings["score"], timings["score_commands"] = time.perf_counter() - started_at, counted() - before
        print(f"scored them in {timings['score']:.1f} s")
        yield Stack(config, token, workspace_id, ids, logs)
    finally:
        for process in reversed(started):
            process.stop()


def score_everything(config: AppConfig, workspace_id: str) -> None:
    """Score the dirty customers, refresh the RFM bounds, and score those the bounds move (in-process)."""
    runtime = WorkerRuntime.open(config)
    try:
        runtime.run(runtime.rescoring.rescore_dirty(workspace_id, config.scoring_batch_size))
        moved = runtime.run(runtime.rfm_bounds.refresh(workspace_id, datetime.now(UTC), timedelta(0)))
        if moved:
            runtime.run(runtime.rescoring.rescore_dirty(workspace_id, config.scoring_batch_size))
        runtime.redis_sync.flushdb()  # the jobs the bulk writes queued: done here already
    finally:
        runtime.close()


async def _fill(config: AppConfig, token: str, n: int, seed: int, loaded: dict[str, Any]) -> tuple[str, list[str]]:
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(config.mongodb_uri, tz_aware=True)
    try:
        db = Database.connect(mongo, config.mongodb_db)
        await db.ensure_indexes()
        services = build_services(db, RqRescoreQueue(sync_client(config.redis_url), config.rq_queue, 600))
        created = await services.workspaces.create("Bench shop", admin_token=token)
        admin = await services.keys.authenticate(f"Bearer {token}")
        users = [await services.workspaces.add_user(admin.workspace_id, f"Sales {i}") for i in range(5)]
        owners = [user.id for user in users]
        rng = random.Random(seed)
        ids: list[str] = []
        counts = {"orders": 0, "interactions": 0}
        for start in range(0, n, 1000):
            ids += await _fill_chunk(services, admin, rng, owners, range(start, min(n, start + 1000)), counts)
        loaded["counts"] = f"{counts['orders']:,} orders, {counts['interactions']:,} interactions"
        return created.workspace.id, ids
    finally:
        await mongo.close()


async def _fill_chunk(
    services: Services, admin: Principal, rng: random.Random, owners: list[str], numbers: range, counts: dict[str, int]
) -> list[str]:
    now = datetime.now(UTC)
    rows = [
        {
            "name": f"Khách hàng {number}",
            "phone": f"091{rng.randrange(10**7):07d}",
            "city": rng.choice(CITIES),
            "tags": rng.sample(TAGS, rng.randrange(3)),
            "birth_date": f"{rng.randrange(1950, 2008)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}",
            "owner_id": rng.choice(owners),
            "personality_type": rng.randrange(1, 10),
        }
        for number in numbers
    ]
    customers = await services.customers.create_many(admin, rows)
    orders: list[dict[str, Any]] = []
    interactions: list[dict[str, Any]] = []
    for customer in customers:
        for _ in range(rng.choice([0, 1, 2, 3, 3, 5, 8])):
            total = Decimal(rng.randrange(2, 400) * 50_000)
            orders.append(
                {
                    "customer_id": customer.id,
                    "status": rng.choice(["paid", "paid", "delivered", "placed"]),
                    "total": total,
                    "discount": total / 10 if rng.random() < 0.2 else Decimal(0),
                    "placed_at": now - timedelta(days=rng.randrange(1, 900)),
                    "items": [{"sku": "S1", "category": rng.choice(CATEGORIES), "quantity": 1, "unit_price": total}],
                }
            )
        for _ in range(rng.randrange(3)):
            kind = rng.choice(["visit", "call", "message", "quote"])
            interactions.append(
                {"customer_id": customer.id, "kind": kind, "at": now - timedelta(days=rng.randrange(300))}
            )
    counts["orders"] += len(orders)
    counts["interactions"] += len(interactions)
    for start in range(0, len(orders), 2000):
        await services.orders.record_many(admin, orders[start : start + 2000])
    for start in range(0, len(interactions), 2000):
        await services.interactions.record_many(admin, interactions[start : start + 2000])
    return [customer.id for customer in customers]


def worker_env(stack: Stack) -> dict[str, str]:
    return {
        **os.environ,
        "MONGODB_URI": stack.config.mongodb_uri,
        "MONGODB_DB": stack.config.mongodb_db,
        "REDIS_URL": stack.config.redis_url,
        "RQ_QUEUE": stack.config.rq_queue,
        "SWEEP_INTERVAL_SECONDS": "5",
        "RFM_REFRESH_SECONDS": "60",
    }


def start_our_api(stack: Stack, port: int) -> tuple[ManagedProcess, str]:
    env = {
        **os.environ,
        "MONGODB_URI": stack.config.mongodb_uri,
        "MONGODB_DB": stack.config.mongodb_db,
        "REDIS_URL": stack.config.redis_url,
        "RQ_QUEUE": stack.config.rq_queue,
        "RATE_LIMIT_CAPACITY": str(stack.config.rate_limit_capacity),
        "RATE_LIMIT_PER_SECOND": str(stack.config.rate_limit_per_second),
    }
    return start_api(env, port, stack.logs / "api.log")


def start_bare_app(port: int, logs: Path) -> tuple[ManagedProcess, str]:
    """A Strawberry app with one field, under the same uvicorn: the ceiling for any GraphQL request here."""
    command = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning"]
    process = ManagedProcess("bare", _spawn(command, logs / "bare.log"))
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        import urllib.request

        with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
            return bool(response.status == 200)

    _wait(answers, "the bare app", process)
    return process, base
