"""Re-enqueues the work MongoDB says is left, so a lost Redis job loses nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

from rq import Queue

from workers.runtime import WorkerRuntime

log = logging.getLogger(__name__)

# A batch job still pending this long after it was enqueued has been lost (its timeout is 10 minutes).
STALLED_AFTER = timedelta(minutes=15)
STUCK_AFTER_SWEEPS = 3


def sweep_dirty_customers(runtime: WorkerRuntime) -> int:
    """Queue a rescore for every workspace with dirty customers, after marking dirty those whose classes
    change with time by now (birthdays, tenure boundaries); returns how many rescores were queued."""
    now = runtime.clock.now()
    sweep = runtime.services.sweep
    runtime.run(sweep.mark_due_dirty(now))
    # Dirty for several sweeps: their job most likely died with a worker while holding the de-dup key.
    stuck_since = now - STUCK_AFTER_SWEEPS * timedelta(seconds=runtime.config.sweep_interval_seconds)
    stuck = runtime.run(sweep.dirty_workspaces(dirty_before=stuck_since))
    forced = sum(runtime.rescore_queue.request_rescore_now(workspace_id, force=True) for workspace_id in stuck)
    if forced:
        log.info("sweeper re-queued %d workspaces with customers dirty for several sweeps", forced)
    dirty = runtime.run(sweep.dirty_workspaces())
    queued = sum(
        runtime.rescore_queue.request_rescore_now(workspace_id) for workspace_id in dirty if workspace_id not in stuck
    )
    if queued:
        log.info("sweeper queued rescores for %d workspaces with dirty customers", queued)
    runtime.run(runtime.services.segments.finish_stalled_saves(now))
    stalled = runtime.run(runtime.runs.requeue_stalled(now, now - STALLED_AFTER))
    if stalled:
        log.info("sweeper re-enqueued %d scoring-run batches (lost jobs, retries)", stalled)
    for workspace_id in runtime.run(runtime.rfm_bounds.workspaces_due(now)):
        runtime.rescore_queue.request_rfm_refresh_now(workspace_id)
    for workspace_id in runtime.run(runtime.services.future_value.workspaces_due(now)):
        runtime.rescore_queue.request_future_value_fit_now(workspace_id)
    for workspace_id in runtime.run(runtime.services.conversion.workspaces_due(now)):
        runtime.rescore_queue.request_conversion_training_now(workspace_id)
    finished = runtime.run(runtime.services.customers.finish_unfinished_deletions())
    if finished:
        log.info("sweeper finished %d customer deletions a crash had left half done", finished)
    imports = runtime.services.imports
    for import_id in runtime.run(imports.stalled(now - STALLED_AFTER)) + runtime.run(imports.abandoned()):
        runtime.rescore_queue.enqueue_import_now(import_id)
    if runtime.config.import_retention_days is not None:
        runtime.run(imports.forget_older_than(now - timedelta(days=runtime.config.import_retention_days)))
    return queued + forced


def observe_backlog(runtime: WorkerRuntime, queue: Queue) -> None:
    """Refresh the gauges operators watch: queue depth, dirty backlog and its age, pending run batches,
    failed runs, stalled imports."""
    metrics = runtime.metrics
    metrics.queue_depth.set(len(queue))
    count, oldest = runtime.run(runtime.services.sweep.backlog())
    metrics.dirty_backlog.set(count)
    metrics.oldest_dirty.set((runtime.clock.now() - oldest).total_seconds() if oldest else 0)
    metrics.run_batches_pending.set(runtime.run(runtime.runs.pending_batches()))
    metrics.failed_runs.set(runtime.run(runtime.runs.failed_lately()))
    stalled = runtime.run(runtime.services.imports.stalled(runtime.clock.now() - STALLED_AFTER))
    metrics.stalled_imports.set(len(stalled))
