"""RQ jobs. Each takes ids, re-reads the state from MongoDB and is safe to run twice."""

from __future__ import annotations

from dataclasses import asdict

from workers.runtime import current_runtime


def rescore_customers(workspace_id: str, customer_ids: list[str]) -> dict[str, int]:
    runtime = current_runtime()
    # Released before reading, so any change made from here on enqueues a job of its own.
    runtime.rescore_queue.release(workspace_id, customer_ids)
    outcome = runtime.run(runtime.rescoring.rescore(workspace_id, customer_ids))
    return asdict(outcome)


def score_run_batch(run_id: str, number: int) -> str:
    runtime = current_runtime()
    return runtime.run(runtime.run_batches.run_batch(run_id, number))
