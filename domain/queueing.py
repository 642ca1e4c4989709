"""Rescore requests on the RQ queue, deduplicated per customer with a short-lived Redis key.

The key is set when a rescore is requested and deleted by the job just before it reads the customer,
so a change made while a job runs always gets a job of its own. MongoDB's dirty flag stays the
source of truth: a lost job or an expired key only delays the work until the sweeper runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

log = logging.getLogger(__name__)

# Referenced by dotted name: the domain does not import the workers package.
RESCORE_JOB = "workers.jobs.rescore_customers"
RUN_BATCH_JOB = "workers.jobs.score_run_batch"
RUN_PLANNING_JOB = "workers.jobs.plan_scoring_run"
RFM_REFRESH_JOB = "workers.jobs.refresh_rfm_bounds"
BATCH_SIZE = 2000
JOB_TIMEOUT_SECONDS = 600
# Short, so that a refresh job lost with a worker holds back the next one only briefly (a duplicate
# refresh in a backlog costs one more read of the workspace's stats, nothing else).
RFM_REFRESH_PENDING_SECONDS = 30


def pending_key(workspace_id: str, customer_id: str) -> str:
    return f"crm:rescore-pending:{workspace_id}:{customer_id}"


def rfm_refresh_key(workspace_id: str) -> str:
    return f"crm:rfm-refresh-pending:{workspace_id}"


class RqRescoreQueue:
    def __init__(self, redis: Redis, queue_name: str, pending_ttl_seconds: int) -> None:
        self._redis = redis
        self._queue = Queue(queue_name, connection=redis)
        self._ttl = pending_ttl_seconds

    async def request_rescore(self, workspace_id: str, customer_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.request_rescore_now, workspace_id, customer_ids)

    def request_rescore_now(self, workspace_id: str, customer_ids: Sequence[str], *, force: bool = False) -> int:
        """Enqueue jobs for the customers without a pending request; returns how many were enqueued.

        ``force`` enqueues even where a request seems pending: its job may have died with a worker, and
        the de-duplication key would hold back every retry until it expires."""
        fresh: list[str] = []
        try:
            fresh = self._claim_pending(workspace_id, customer_ids, force=force)
            for start in range(0, len(fresh), BATCH_SIZE):
                self._queue.enqueue(
                    RESCORE_JOB,
                    workspace_id,
                    fresh[start : start + BATCH_SIZE],
                    job_timeout=JOB_TIMEOUT_SECONDS,
                    result_ttl=300,
                    failure_ttl=7 * 24 * 3600,
                )
        except RedisError:
            log.warning("rescore of %d customers not queued; the sweeper will retry", len(customer_ids))
            self._release_quietly(workspace_id, fresh)
            return 0
        return len(fresh)

    async def request_rfm_refresh(self, workspace_id: str) -> None:
        await asyncio.to_thread(self.request_rfm_refresh_now, workspace_id)

    def request_rfm_refresh_now(self, workspace_id: str) -> bool:
        """One queued refresh per workspace at a time; the job releases the key when it starts."""
        try:
            if not self._redis.set(rfm_refresh_key(workspace_id), 1, nx=True, ex=RFM_REFRESH_PENDING_SECONDS):
                return False
            self._queue.enqueue(
                RFM_REFRESH_JOB, workspace_id, job_timeout=JOB_TIMEOUT_SECONDS, result_ttl=300, failure_ttl=86400
            )
        except RedisError:
            log.warning("RFM refresh of workspace %s not queued; the sweeper will retry", workspace_id)
            return False
        return True

    def release_rfm_refresh(self, workspace_id: str) -> None:
        self._redis.delete(rfm_refresh_key(workspace_id))

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

    async def enqueue_run_planning(self, run_id: str) -> None:
        await asyncio.to_thread(
            self._queue.enqueue,
            RUN_PLANNING_JOB,
            run_id,
            job_timeout=JOB_TIMEOUT_SECONDS,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )

    def release(self, workspace_id: str, customer_ids: Sequence[str]) -> None:
        """Called by the job before it reads: later changes must enqueue again."""
        if customer_ids:
            self._redis.delete(*(pending_key(workspace_id, customer_id) for customer_id in customer_ids))

    def _release_quietly(self, workspace_id: str, customer_ids: Sequence[str]) -> None:
        # If Redis is down the keys expire on their own.
        with contextlib.suppress(RedisError):
            self.release(workspace_id, customer_ids)

    def _claim_pending(self, workspace_id: str, customer_ids: Sequence[str], *, force: bool) -> list[str]:
        pipe = self._redis.pipeline(transaction=False)
        for customer_id in customer_ids:
            pipe.set(pending_key(workspace_id, customer_id), 1, nx=not force, ex=self._ttl)
        claimed = pipe.execute()
        return [customer_id for customer_id, ok in zip(customer_ids, claimed, strict=True) if ok]
