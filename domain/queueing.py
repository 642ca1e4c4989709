"""Jobs on the RQ queue: coalesced workspace rescores, RFM refreshes and scoring-run work.

A rescore is requested per workspace, not per customer: the job takes every customer dirty in its
workspace at that moment (in batches), so a burst of orders makes a few jobs, not one per order. A
short-lived Redis key keeps at most one such job queued per workspace; the job deletes it when it
starts, so a change made while a job runs always gets a job of its own. MongoDB's dirty flag stays the
source of truth: a lost job or an expired key only delays the work until the sweeper runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from domain.redis_clients import RedisBreaker

log = logging.getLogger(__name__)

# Referenced by dotted name: the domain does not import the workers package.
RESCORE_JOB = "workers.jobs.rescore_workspace"
RUN_BATCH_JOB = "workers.jobs.score_run_batch"
RUN_PLANNING_JOB = "workers.jobs.plan_scoring_run"
RFM_REFRESH_JOB = "workers.jobs.refresh_rfm_bounds"
FUTURE_VALUE_JOB = "workers.jobs.fit_future_value"
CONVERSION_JOB = "workers.jobs.train_conversion_model"
IMPORT_JOB = "workers.jobs.run_import"
JOB_TIMEOUT_SECONDS = 600
# Workspace-wide jobs (RFM refresh, future-value fit, conversion training) are queued once at a time per
# workspace. Short, so that a job lost with a worker holds back the next one only briefly (a duplicate in
# a backlog costs one more read of the workspace's customers, nothing else).
WORKSPACE_JOB_PENDING_SECONDS = 30


def pending_key(workspace_id: str) -> str:
    return f"crm:rescore-pending:{workspace_id}"


def rfm_refresh_key(workspace_id: str) -> str:
    return f"crm:rfm-refresh-pending:{workspace_id}"


def future_value_key(workspace_id: str) -> str:
    return f"crm:future-value-pending:{workspace_id}"


def conversion_key(workspace_id: str) -> str:
    return f"crm:conversion-pending:{workspace_id}"


class RqRescoreQueue:
    def __init__(
        self, redis: Redis, queue_name: str, pending_ttl_seconds: int, breaker: RedisBreaker | None = None
    ) -> None:
        self._redis = redis
        self._queue = Queue(queue_name, connection=redis)
        self._ttl = pending_ttl_seconds
        self.breaker = breaker or RedisBreaker()

    async def request_rescore(self, workspace_id: str) -> None:
        await asyncio.to_thread(self.request_rescore_now, workspace_id)

    def request_rescore_now(self, workspace_id: str, *, force: bool = False) -> bool:
        """Queue a rescore of the workspace's dirty customers unless one is queued already; True if queued.

        ``force`` queues one even where a request seems pending: its job may have died with a worker,
        and the de-duplication key would hold back every retry until it expires."""
        if not self.breaker.available:
            return False  # Redis failed moments ago: the sweeper queues it once Redis is back
        try:
            if not self._redis.set(pending_key(workspace_id), 1, nx=not force, ex=self._ttl):
                return False
            self._queue.enqueue(
                RESCORE_JOB, workspace_id, job_timeout=JOB_TIMEOUT_SECONDS, result_ttl=300, failure_ttl=7 * 24 * 3600
            )
        except RedisError:
            log.warning("rescore of workspace %s not queued; the sweeper will retry", workspace_id)
            self.breaker.failed()
            self._release_quietly(pending_key(workspace_id))
            return False
        return True

    def release(self, workspace_id: str) -> None:
        """Called by the job as it starts: later changes must queue a job of their own."""
        self._redis.delete(pending_key(workspace_id))

    async def request_rfm_refresh(self, workspace_id: str) -> None:
        await asyncio.to_thread(self.request_rfm_refresh_now, workspace_id)

    def request_rfm_refresh_now(self, workspace_id: str) -> bool:
        """One queued refresh per workspace at a time; the job releases the key when it starts."""
        return self._request_once(RFM_REFRESH_JOB, rfm_refresh_key(workspace_id), workspace_id)

    def release_rfm_refresh(self, workspace_id: str) -> None:
        self._redis.delete(rfm_refresh_key(workspace_id))

    async def request_future_value_fit(self, workspace_id: str) -> None:
        await asyncio.to_thread(self.request_future_value_fit_now, workspace_id)

    def request_future_value_fit_now(self, workspace_id: str) -> bool:
        return self._request_once(FUTURE_VALUE_JOB, future_value_key(workspace_id), workspace_id)

    def release_future_value_fit(self, workspace_id: str) -> None:
        self._redis.delete(future_value_key(workspace_id))

    async def request_conversion_training(self, workspace_id: str) -> None:
        await asyncio.to_thread(self.request_conversion_training_now, workspace_id)

    def request_conversion_training_now(self, workspace_id: str) -> bool:
        return self._request_once(CONVERSION_JOB, conversion_key(workspace_id), workspace_id)

    def release_conversion_training(self, workspace_id: str) -> None:
        self._redis.delete(conversion_key(workspace_id))

    def _request_once(self, job: str, key: str, workspace_id: str) -> bool:
        """One queued job of this kind per workspace at a time; the job releases the key when it starts."""
        if not self.breaker.available:
            return False
        try:
            if not self._redis.set(key, 1, nx=True, ex=WORKSPACE_JOB_PENDING_SECONDS):
                return False
            self._queue.enqueue(job, workspace_id, job_timeout=JOB_TIMEOUT_SECONDS, result_ttl=300, failure_ttl=86400)
        except RedisError:
            log.warning("%s for workspace %s not queued; the sweeper will retry", job, workspace_id)
            self.breaker.failed()
            return False
        return True

    async def enqueue_run_batches(self, run_id: str, numbers: list[int]) -> None:
        """One job per batch of a scoring run; the batch documents in MongoDB say what is still to do."""

        def enqueue() -> None:
            for number in numbers:
                self._queue.enqueue(
                    RUN_BATCH_JOB,
                    run_id,
                    number,
                    job_timeout=JOB_TIMEOUT_SECONDS,
                    result_ttl=3600,
                    failure_ttl=7 * 24 * 3600,
                )

        await asyncio.to_thread(enqueue)

    async def enqueue_import(self, import_id: str) -> None:
        await asyncio.to_thread(self.enqueue_import_now, import_id)

    def enqueue_import_now(self, import_id: str) -> None:
        # Long files take a while: the job's timeout is an hour.
        self._queue.enqueue(IMPORT_JOB, import_id, job_timeout=3600, result_ttl=3600, failure_ttl=7 * 24 * 3600)

    async def enqueue_run_planning(self, run_id: str) -> None:
        await asyncio.to_thread(
            self._queue.enqueue,
            RUN_PLANNING_JOB,
            run_id,
            job_timeout=JOB_TIMEOUT_SECONDS,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )

    def _release_quietly(self, key: str) -> None:
        # If Redis is down the key expires on its own.
        if not self.breaker.available:
            return
        with contextlib.suppress(RedisError):
            self._redis.delete(key)
