"""RQ jobs. Each takes ids, re-reads the state from MongoDB and is safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from workers.runtime import current_runtime


def rescore_workspace(workspace_id: str) -> dict[str, int]:
    """Every customer dirty in the workspace now, in batches."""
    runtime = current_runtime()
    # Released before reading, so any change made from here on enqueues a job of its own.
    runtime.rescore_queue.release(workspace_id)
    outcome = runtime.run(runtime.rescoring.rescore_dirty(workspace_id, runtime.config.scoring_batch_size))
    runtime.metrics.customers_rescored.inc(outcome.processed)
    runtime.metrics.class_events.inc(outcome.events)
    return {
        "processed": outcome.processed,
        "changed": outcome.changed,
        "events": outcome.events,
        "failed": outcome.failed,
    }


def refresh_rfm_bounds(workspace_id: str) -> int:
    """Recompute the workspace's RFM bounds; customers whose scores they move are rescored."""
    runtime = current_runtime()
    runtime.rescore_queue.release_rfm_refresh(workspace_id)
    moved = runtime.run(
        runtime.rfm_bounds.refresh(
            workspace_id, runtime.clock.now(), timedelta(seconds=runtime.config.rfm_refresh_seconds)
        )
    )
    if moved:
        runtime.rescore_queue.request_rescore_now(workspace_id)
    return moved


def fit_future_value(workspace_id: str) -> str:
    """Fit the workspace's future-value models; with new models, its buyers are rescored."""
    runtime = current_runtime()
    runtime.rescore_queue.release_future_value_fit(workspace_id)
    outcome = runtime.run(runtime.services.future_value.refit(workspace_id, runtime.clock.now()))
    runtime.rescore_queue.request_rescore_now(workspace_id)
    return outcome


def train_conversion_model(workspace_id: str) -> str:
    """Train the workspace's conversion model; with a new model, every customer is rescored."""
    runtime = current_runtime()
    runtime.rescore_queue.release_conversion_training(workspace_id)
    outcome = runtime.run(runtime.services.conversion.train(workspace_id, runtime.clock.now()))
    runtime.rescore_queue.request_rescore_now(workspace_id)
    return outcome


def run_import(import_id: str) -> str:
    """A CSV import, from where it stopped (the import document says)."""
    runtime = current_runtime()
    return runtime.run(runtime.services.imports.run(import_id, runtime.worker_name))


def plan_scoring_run(run_id: str) -> str:
    runtime = current_runtime()
    return runtime.run(runtime.runs.plan(run_id))


def score_run_batch(run_id: str, number: int) -> str:
    runtime = current_runtime()
    return runtime.run(runtime.run_batches.run_batch(run_id, number, runtime.worker_name))
