"""Re-enqueues customers still marked dirty in MongoDB, so a lost Redis job loses nothing."""

from __future__ import annotations

import logging

from workers.runtime import WorkerRuntime

log = logging.getLogger(__name__)

SWEEP_LIMIT = 100_000


def sweep_dirty_customers(runtime: WorkerRuntime) -> int:
    grouped = runtime.run(runtime.scoring.dirty_customers(SWEEP_LIMIT))
    enqueued = sum(runtime.rescore_queue.request_rescore_now(ws, ids) for ws, ids in grouped.items())
    if enqueued:
        log.info("sweeper re-enqueued %d dirty customers", enqueued)
    return enqueued
