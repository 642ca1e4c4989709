"""Starting, watching, cancelling and resuming bulk scoring runs, and scoring one batch of one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from domain.auth.principals import Permission, Principal
from domain.classes.catalogue import CLASS_SETS
from domain.db import new_id
from domain.errors import Conflict, FieldError, InvalidInput, NotFound
from domain.rescoring.service import RescoringService
from domain.runs.models import BatchStatus, RunStatus, ScoringRun
from domain.runs.repository import ScoringRunRepository, batch_id
from domain.workspaces.repository import WorkspaceRepository

# Thousands of customers per job: a few bulk queries and one bulk write each, never a job per customer.
BATCH_SIZE = 2000


class RunQueue(Protocol):
    async def enqueue_run_batches(self, run_id: str, numbers: list[int]) -> None: ...


class ScoringRunService:
    def __init__(
        self, runs: ScoringRunRepository, workspaces: WorkspaceRepository, queue: RunQueue, batch_size: int = BATCH_SIZE
    ) -> None:
        self._runs = runs
        self._workspaces = workspaces
        self._queue = queue
        self._batch_size = batch_size

    async def start(self, principal: Principal, dry_run: bool, class_sets: list[str] | None) -> ScoringRun:
        principal.require(Permission.RUN_JOBS)
        selected = _checked_class_sets(class_sets)
        workspace = await self._workspaces.get(principal.workspace_id)
        if workspace is None:
            raise NotFound("workspace no longer exists")
        run_id = new_id()
        ids = await self._runs.customer_ids(principal.workspace_id)
        batches = [
            {
                "_id": batch_id(run_id, number),
                "run_id": run_id,
                "number": number,
                "size": len(chunk),
                "customer_ids": chunk,
                "status": BatchStatus.PENDING.value,
            }
            for number, chunk in enumerate(
                ids[start : start + self._batch_size] for start in range(0, len(ids), self._batch_size)
            )
        ]
        await self._runs.insert(
            {
                "_id": run_id,
                "workspace_id": principal.workspace_id,
                "status": RunStatus.RUNNING.value if batches else RunStatus.COMPLETED.value,
                "dry_run": dry_run,
                "class_sets": selected,
                "settings_version": workspace.class_settings.version,
                "started_at": datetime.now(UTC),
                "finished_at": None if batches else datetime.now(UTC),
                "started_by": principal.user_id,
            },
            batches,
        )
        await self._enqueue(run_id, list(range(len(batches))))
        return await self._require(principal, run_id)

    async def get(self, principal: Principal, run_id: str) -> ScoringRun | None:
        principal.require(Permission.READ)
        return await self._runs.get(principal.workspace_id, run_id)

    async def latest(self, principal: Principal, limit: int) -> list[ScoringRun]:
        principal.require(Permission.READ)
        return await self._runs.latest(principal.workspace_id, min(max(limit, 0), 100))

    async def cancel(self, principal: Principal, run_id: str) -> ScoringRun:
        """Batches already done stay done; the others are skipped by their jobs."""
        principal.require(Permission.RUN_JOBS)
        run = await self._require(principal, run_id)
        if not await self._runs.set_status(run.id, RunStatus.CANCELLED, expected=RunStatus.RUNNING):
            raise Conflict(f"the run is {run.status.value}, not running", field="id", code="NOT_RUNNING")
        return await self._require(principal, run_id)

    async def resume(self, principal: Principal, run_id: str) -> ScoringRun:
        """Re-enqueue every batch not done yet (after a cancel, a failure or a lost worker)."""
        principal.require(Permission.RUN_JOBS)
        run = await self._require(principal, run_id)
        if run.status == RunStatus.COMPLETED:
            raise Conflict("the run has completed", field="id", code="ALREADY_COMPLETED")
        if run.status == RunStatus.CANCELLED:
            await self._runs.set_status(run.id, RunStatus.RUNNING, expected=RunStatus.CANCELLED)
        await self._enqueue(run.id, await self._runs.unfinished_batches(run.id))
        return await self._require(principal, run_id)

    async def requeue_stalled(self, older_than: datetime) -> int:
        """For the sweeper: batches whose job seems lost are enqueued again (running a batch twice is safe)."""
        stalled = await self._runs.stalled_batches(older_than)
        for run_id, number in stalled:
            await self._enqueue(run_id, [number])
        return len(stalled)

    async def _enqueue(self, run_id: str, numbers: list[int]) -> None:
        if numbers:
            await self._runs.mark_enqueued(run_id, numbers)
            await self._queue.enqueue_run_batches(run_id, numbers)

    async def _require(self, principal: Principal, run_id: str) -> ScoringRun:
        run = await self._runs.get(principal.workspace_id, run_id)
        if run is None:
            raise NotFound(f"no scoring run {run_id!r}", field="id")
        return run


class RunBatchExecutor:
    """Worker side: score one batch of a run, exactly once as far as the run's counts go."""

    def __init__(self, runs: ScoringRunRepository, rescoring: RescoringService) -> None:
        self._runs = runs
        self._rescoring = rescoring

    async def run_batch(self, run_id: str, number: int) -> str:
        run = await self._runs.get_any(run_id)
        batch = await self._runs.batch(run_id, number)
        if run is None or batch is None or run["status"] != RunStatus.RUNNING.value:
            return "skipped: run not running"
        if batch["status"] == BatchStatus.DONE.value:
            return "skipped: batch already done"
        only = frozenset(run["class_sets"]) if run.get("class_sets") else None
        try:
            outcome = await self._rescoring.rescore(
                run["workspace_id"], batch["customer_ids"], only=only, dry_run=run["dry_run"]
            )
        except Exception:
            await self._runs.finish_batch(run_id, number, BatchStatus.FAILED, 0, 0, {})
            raise
        # Every customer listed at the start counts as processed, including any deleted since.
        await self._runs.finish_batch(
            run_id, number, BatchStatus.DONE, batch["size"], outcome.changed, outcome.transitions
        )
        if not await self._runs.unfinished_batches(run_id):
            await self._runs.set_status(run_id, RunStatus.COMPLETED, expected=RunStatus.RUNNING)
        return f"batch {number}: {batch['size']} customers, {outcome.changed} changed"


def _checked_class_sets(class_sets: list[str] | None) -> list[str] | None:
    if class_sets is None:
        return None
    unknown = [key for key in class_sets if key not in CLASS_SETS]
    if unknown or not class_sets:
        message = f"class sets must be some of {', '.join(CLASS_SETS)}; got {unknown or 'none'}"
        raise InvalidInput([FieldError("classSets", "UNKNOWN_CLASS_SET", message)])
    return list(dict.fromkeys(class_sets))
