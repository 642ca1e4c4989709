"""Re-enqueues customers still marked dirty in MongoDB, so a lost Redis job loses nothing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from workers.runtime import WorkerRuntime

log = logging.getLogger(__name__)

SWEEP_LIMIT = 100_000
# A batch job still pending this long after it was enqueued has been lost (its timeout is 10 minutes).
STALLED_AFTER = timedelta(minutes=15)
STUCK_AFTER_SWEEPS = 3


def sweep_dirty_customers(runtime: WorkerRuntime) -> int:
    """Enqueue customers still dirty, and those whose classes change with time by now (birthdays,
    tenure boundaries); returns how many were enqueued."""
    now = datetime.now(UTC)
    dirty = runtime.run(runtime.scoring.dirty_customers(SWEEP_LIMIT))
    due = runtime.run(runtime.scoring.due_customers(now, SWEEP_LIMIT))
    # Dirty for several sweeps: their job most likely died with a worker while holding the de-dup key.
    stuck_since = now - STUCK_AFTER_SWEEPS * timedelta(seconds=runtime.config.sweep_interval_seconds)
    stuck = runtime.run(runtime.scoring.dirty_customers(SWEEP_LIMIT, dirty_before=stuck_since))
    forced = sum(runtime.rescore_queue.request_rescore_now(ws, ids, force=True) for ws, ids in stuck.items())
    if forced:
        log.info("sweeper re-enqueued %d customers dirty for several sweeps", forced)
    stalled = runtime.run(runtime.runs.requeue_stalled(now, now - STALLED_AFTER))
    if stalled:
        log.info("sweeper re-enqueued %d scoring-run batches (lost jobs, retries)", stalled)
    for workspace_id in runtime.run(runtime.rfm_bounds.workspaces_due(datetime.now(UTC))):
        runtime.rescore_queue.request_rfm_refresh_now(workspace_id)
    enqueued = 0
    for grouped, what in ((dirty, "dirty"), (due, "due for a time-based change")):
        count = sum(runtime.rescore_queue.request_rescore_now(ws, ids) for ws, ids in grouped.items())
        if count:
            log.info("sweeper enqueued %d customers %s", count, what)
        enqueued += count
    return enqueued
