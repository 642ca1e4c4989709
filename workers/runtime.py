"""Everything a worker process holds open: one event loop, the MongoDB and Redis clients, the services.

RQ calls jobs as plain functions, so the worker binds its runtime to a context variable for the
duration of each job (see workers.worker) instead of keeping clients in module globals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio
from pymongo import AsyncMongoClient

from domain.clock import Clock, SystemClock
from domain.config import AppConfig
from domain.db import Database, Document, Retention
from domain.event_bus import RedisEventPublisher
from domain.queueing import RqRescoreQueue
from domain.redis_clients import async_client, sync_client
from domain.rescoring.repository import ScoringRepository
from domain.rescoring.rfm_bounds import RfmBoundsService
from domain.rescoring.service import RescoringService
from domain.runs.service import RunBatchExecutor, ScoringRunService
from domain.services import Services, build_services
from workers.metrics import WorkerMetrics

_bound_runtime: ContextVar[WorkerRuntime] = ContextVar("crm_worker_runtime")


@dataclass
class WorkerRuntime:
    config: AppConfig
    runner: asyncio.Runner
    mongo: AsyncMongoClient[Document]
    redis_sync: redis.Redis
    redis_async: redis.asyncio.Redis
    db: Database
    services: Services
    rescore_queue: RqRescoreQueue
    clock: Clock
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)
    # Set for a long-running worker that beats (see workers.heartbeat); work it starts records the name.
    worker_name: str | None = None

    @classmethod
    def open(cls, config: AppConfig, clock: Clock | None = None) -> WorkerRuntime:
        clock = clock or SystemClock()
        runner = asyncio.Runner()
        redis_sync = sync_client(config.redis_url)

        async def connect() -> WorkerRuntime:
            mongo: AsyncMongoClient[Document] = AsyncMongoClient(config.mongodb_uri, tz_aware=True)
            redis_async = async_client(config.redis_url)
            db = Database.connect(mongo, config.mongodb_db)
            await db.ensure_indexes(Retention.of(config))
            queue = RqRescoreQueue(redis_sync, config.rq_queue, config.rescore_pending_ttl_seconds)
            services = build_services(
                db,
                queue,
                notifier=RedisEventPublisher(redis_async, config.event_channel_prefix),
                scoring_batch_size=config.scoring_batch_size,
                clock=clock,
                worker_dead_after_seconds=config.worker_dead_after_seconds,
            )
            return cls(config, runner, mongo, redis_sync, redis_async, db, services, queue, clock)

        return runner.run(connect())

    # The services jobs use, by the names jobs and tests know them.
    @property
    def rescoring(self) -> RescoringService:
        return self.services.rescoring

    @property
    def runs(self) -> ScoringRunService:
        return self.services.scoring_runs

    @property
    def run_batches(self) -> RunBatchExecutor:
        return self.services.run_batches

    @property
    def rfm_bounds(self) -> RfmBoundsService:
        return self.services.rfm_bounds

    @property
    def scoring(self) -> ScoringRepository:
        """For tests that look at what the sweep will find."""
        return ScoringRepository(self.db, self.clock)

    def run[T](self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    def close(self) -> None:
        async def disconnect() -> None:
            await self.mongo.close()
            await self.redis_async.aclose()

        self.runner.run(disconnect())
        self.runner.close()
        self.redis_sync.close()

    @contextmanager
    def bound(self) -> Iterator[None]:
        token = _bound_runtime.set(self)
        try:
            yield
        finally:
            _bound_runtime.reset(token)


def current_runtime() -> WorkerRuntime:
    try:
        return _bound_runtime.get()
    except LookupError:
        raise RuntimeError("CRM jobs run only inside a CRM worker (workers.worker)") from None
