"""Starting, watching, cancelling and resuming bulk scoring runs; planning them and scoring their batches.

A run always ends: COMPLETED when every batch is done, CANCELLED, or FAILED naming the batches that
failed every attempt (a failed batch is retried with back-off first). Resume picks up whatever is left.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.auth.principals import Permission, Principal
from domain.classes.catalogue import CLASS_SETS
from domain.clock import Clock
from domain.db import new_id
from domain.errors import Conflict, ErrorCode, InvalidInput, NotFound
from domain.liveness import WorkerLiveness
from domain.ports import RunProgressPublisher, RunQueue
from domain.rescoring.repository import IdRange
from domain.rescoring.service import RescoreOutcome, RescoringService
from domain.runs.models import ACTIVE_STATUSES, BatchStatus, RunStatus, ScoringRun
from domain.runs.repository import ScoringRunRepository, batch_id
from domain.segments.membership import SegmentEvaluator
from domain.segments.models import MembershipReason
from domain.timestamps import aware
from domain.workspaces.repository import WorkspaceRepository

# Thousands of customers per job: a few bulk queries and one bulk write each, never a job per customer.
# A failed batch is tried this many times in all, waiting this long before each retry.
MAX_ATTEMPTS = 3
RETRY_BACKOFF = (timedelta(seconds=10), timedelta(seconds=60))
# Planning inserts batch documents this many at a time.
PLANNING_CHUNK = 100
# A worker not seen for this long is dead: the batches it was scoring are queued again.
DEFAULT_DEAD_AFTER_SECONDS = 45.0


class ScoringRunService:
    def __init__(
        self,
        runs: ScoringRunRepository,
        workspaces: WorkspaceRepository,
        queue: RunQueue,
        publisher: RunProgressPublisher,
        *,
        batch_size: int,
        clock: Clock,
        liveness: WorkerLiveness,
        dead_after_seconds: float = DEFAULT_DEAD_AFTER_SECONDS,
    ) -> None:
        self._clock = clock
        self._liveness = liveness
        self._dead_after_seconds = dead_after_seconds
        self._runs = runs
        self._workspaces = workspaces
        self._queue = queue
        self._batch_size = batch_size
        self._publisher = publisher

    async def start(
        self,
        principal: Principal,
        *,
        dry_run: bool = False,
        class_sets: list[str] | None = None,
        settings_override: dict[str, Any] | None = None,
        segment_id: str | None = None,
        segment_reason: str | None = None,
    ) -> ScoringRun:
        """Returns at once: a job lists the customers into batches (PLANNING), then they are scored.

        With ``segment_id`` the batches evaluate that segment's rule instead (a new or changed rule
        applied to the whole workspace; ``segment_reason`` goes on the joins and leaves)."""
        principal.require(Permission.RUN_JOBS)
        selected = _checked_class_sets(class_sets)
        run_id = new_id()
        await self._insert(
            principal.workspace_id, run_id, dry_run, selected, settings_override, segment_id, segment_reason
        )
        await self._queue.enqueue_run_planning(run_id)
        return await self._require(principal, run_id)

    async def start_segment_run(self, workspace_id: str, run_id: str, segment_id: str, reason: str) -> ScoringRun:
        """The run applying a segment's saved rule, by the id the save chose: starting it again (a retried
        save, the sweeper finishing one) starts the same run, and plans it again only while it is planning
        (planning twice is harmless). The save checked who may do it."""
        created = await self._insert(workspace_id, run_id, False, None, None, segment_id, reason)
        run = await self._runs.get(workspace_id, run_id)
        if run is None:
            raise NotFound("workspace no longer exists")
        if created or run.status is RunStatus.PLANNING:
            await self._queue.enqueue_run_planning(run_id)
        return run

    async def _insert(
        self,
        workspace_id: str,
        run_id: str,
        dry_run: bool,
        class_sets: list[str] | None,
        settings_override: dict[str, Any] | None,
        segment_id: str | None,
        segment_reason: str | None,
    ) -> bool:
        workspace = await self._workspaces.get(workspace_id)
        if workspace is None:
            raise NotFound("workspace no longer exists")
        return await self._runs.insert_run(
            {
                "_id": run_id,
                "workspace_id": workspace_id,
                "status": RunStatus.PLANNING.value,
                "dry_run": dry_run,
                "class_sets": class_sets,
                "settings_version": workspace.class_settings.version,
                "settings_override": settings_override,
                "segment_id": segment_id,
                "segment_reason": segment_reason,
                "started_at": self._clock.now(),
                "finished_at": None,
            }
        )

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
        cancelled = run.status in ACTIVE_STATUSES and await self._runs.set_status(
            run.id, RunStatus.CANCELLED, expected=run.status
        )
        if not cancelled:
            raise Conflict(f"the run is {run.status.value}, not running", field="id", code=ErrorCode.NOT_RUNNING)
        await self._progressed(run.workspace_id, run.id)
        return await self._require(principal, run_id)

    async def resume(self, principal: Principal, run_id: str) -> ScoringRun:
        """Enqueue every batch not done yet (after a cancel, a failure or a lost worker); a run with
        nothing left completes."""
        principal.require(Permission.RUN_JOBS)
        run = await self._require(principal, run_id)
        if run.status == RunStatus.COMPLETED:
            raise Conflict("the run has completed", field="id", code=ErrorCode.ALREADY_COMPLETED)
        if run.status in (RunStatus.CANCELLED, RunStatus.FAILED) and not run.planned:
            await self._runs.set_status(run.id, RunStatus.PLANNING, expected=run.status)
        if run.status == RunStatus.PLANNING or not run.planned:
            await self._queue.enqueue_run_planning(run.id)  # planning resumes after its last batch
            return await self._require(principal, run_id)
        if run.status in (RunStatus.CANCELLED, RunStatus.FAILED):
            await self._runs.set_status(run.id, RunStatus.RUNNING, expected=run.status)
        numbers = await self._runs.unfinished_batches(run.id)
        if numbers:
            await self._enqueue(run.id, numbers, reset_attempts=True)
        else:
            await self._finish_if_done(run.workspace_id, run.id)
        return await self._require(principal, run_id)

    async def plan(self, run_id: str) -> str:
        """Worker side: list the workspace's customers into batches, then start scoring them."""
        run = await self._runs.get_any(run_id)
        if run is None or run["status"] != RunStatus.PLANNING.value:
            return "skipped: run not planning"
        last = await self._runs.last_batch(run_id)
        number, previous = (last["number"] + 1, last["upto"]) if last else (0, None)
        pending: list[dict[str, Any]] = []
        async for chunk in self._runs.customer_id_chunks(run["workspace_id"], self._batch_size, previous):
            pending.append(_batch_document(run_id, number, previous, chunk, self._clock.now()))
            previous, number = chunk[-1], number + 1
            if len(pending) == PLANNING_CHUNK:
                await self._runs.insert_batches(pending)
                await self._progressed(run["workspace_id"], run_id)
                pending = []
        await self._runs.insert_batches(pending)
        if not await self._runs.mark_planned(run_id):
            return "stopped: cancelled while planning"
        # The listing is an exact count: it corrects any drift of the workspace's maintained one.
        await self._workspaces.set_customer_count(run["workspace_id"], (await self._runs.progress(run_id)).total)
        unfinished = await self._runs.unfinished_batches(run_id)
        if unfinished:
            await self._enqueue(run_id, unfinished)
            await self._progressed(run["workspace_id"], run_id)
        else:
            await self._finish_if_done(run["workspace_id"], run_id)
        return f"planned {number} batches"

    async def pending_batches(self) -> int:
        """For operators: scoring-run batches not yet done, over every active run."""
        return await self._runs.pending_batch_count()

    async def failed_lately(self) -> int:
        """For operators: runs that failed in the last day (resumed ones are running again, not counted)."""
        return await self._runs.failed_since(self._clock.now() - timedelta(days=1))

    async def requeue_stalled(self, now: datetime, older_than: datetime) -> int:
        """For the sweeper: planning or batch jobs that seem lost are enqueued again (running one twice is
        safe), and failed batches whose back-off has passed are retried."""
        active = await self._runs.active_runs(ACTIVE_STATUSES)
        for run in active:
            if run["status"] == RunStatus.PLANNING.value and aware(run["started_at"]) < older_than:
                await self._queue.enqueue_run_planning(run["_id"])
        running = [run["_id"] for run in active if run["status"] == RunStatus.RUNNING.value]
        if not running:
            return 0
        again = await self._runs.stalled_batches(running, older_than)
        again += await self._runs.batches_to_retry(running, now)
        held = await self._runs.batches_held(running)
        dead = await self._liveness.dead({worker for _, _, worker in held}, self._dead_after_seconds)
        again += [(run_id, number) for run_id, number, worker in held if worker in dead]
        again = list(dict.fromkeys(again))
        for run_id, number in again:
            await self._enqueue(run_id, [number])
        return len(again)

    async def batch_done(self, workspace_id: str, run_id: str) -> None:
        await self._finish_if_done(workspace_id, run_id)
        await self._progressed(workspace_id, run_id)

    async def batch_failed(self, workspace_id: str, run_id: str, number: int, error: str) -> None:
        """Retry later with back-off; after the last attempt the run fails, naming its failed batches."""
        batch = await self._runs.batch(run_id, number)
        attempts = (batch or {}).get("attempts", 0) + 1
        retry_at = self._clock.now() + RETRY_BACKOFF[attempts - 1] if attempts < MAX_ATTEMPTS else None
        await self._runs.fail_batch(run_id, number, error, retry_at)
        if retry_at is None:
            await self._runs.set_status(run_id, RunStatus.FAILED, expected=RunStatus.RUNNING)
        await self._progressed(workspace_id, run_id)

    async def _finish_if_done(self, workspace_id: str, run_id: str) -> None:
        if not await self._runs.unfinished_batches(run_id):
            await self._runs.set_status(run_id, RunStatus.COMPLETED, expected=RunStatus.RUNNING)
            await self._progressed(workspace_id, run_id)

    async def _enqueue(self, run_id: str, numbers: list[int], *, reset_attempts: bool = False) -> None:
        await self._runs.mark_enqueued(run_id, numbers, reset_attempts=reset_attempts)
        await self._queue.enqueue_run_batches(run_id, numbers)

    async def _progressed(self, workspace_id: str, run_id: str) -> None:
        await self._publisher.run_progressed(workspace_id, run_id)

    async def _require(self, principal: Principal, run_id: str) -> ScoringRun:
        run = await self._runs.get(principal.workspace_id, run_id)
        if run is None:
            raise NotFound(f"no scoring run {run_id!r}", field="id")
        return run


class RunBatchExecutor:
    """Worker side: score one batch of a run, exactly once as far as the run's counts go."""

    def __init__(
        self,
        runs: ScoringRunRepository,
        rescoring: RescoringService,
        service: ScoringRunService,
        segments: SegmentEvaluator,
        workspaces: WorkspaceRepository,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._runs = runs
        self._rescoring = rescoring
        self._service = service
        self._segments = segments
        self._workspaces = workspaces

    async def run_batch(self, run_id: str, number: int, worker: str | None = None) -> str:
        """``worker``: the name of the long-running worker process scoring it, whose death the sweeper
        notices (see domain.liveness); None for one that does not beat (a burst worker)."""
        run = await self._runs.get_any(run_id)
        batch = await self._runs.batch(run_id, number)
        if run is None or batch is None or run["status"] != RunStatus.RUNNING.value:
            return "skipped: run not running"
        if batch["status"] == BatchStatus.DONE.value:
            return "skipped: batch already done"
        if worker is not None:
            await self._runs.mark_running(run_id, number, worker)
        only = frozenset(run["class_sets"]) if run.get("class_sets") else None
        ids = IdRange(batch.get("after"), batch["upto"], batch["size"])
        try:
            if run.get("segment_id"):
                outcome = await self._evaluate_segment(run, ids)
            else:
                outcome = await self._rescoring.rescore(
                    run["workspace_id"],
                    ids,
                    only=only,
                    dry_run=run["dry_run"],
                    settings_override=run.get("settings_override"),
                )
        except Exception as error:
            await self._service.batch_failed(run["workspace_id"], run_id, number, f"{type(error).__name__}: {error}")
            raise
        # Every customer listed at the start counts as processed, including any deleted since.
        if await self._runs.finish_batch(run_id, number, batch["size"], outcome.changed, outcome.transitions):
            await self._service.batch_done(run["workspace_id"], run_id)
        return f"batch {number}: {batch['size']} customers, {outcome.changed} changed"

    async def _evaluate_segment(self, run: dict[str, Any], ids: IdRange) -> RescoreOutcome:
        workspace = await self._workspaces.get(run["workspace_id"])
        if workspace is None:
            return RescoreOutcome(0, 0, 0)
        id_range: dict[str, str] = {"$lte": ids.upto}
        if ids.after is not None:
            id_range["$gt"] = ids.after
        reason = MembershipReason(run.get("segment_reason") or MembershipReason.RULE.value)
        outcome = await self._segments.evaluate(
            workspace, {"_id": id_range}, self._clock.now(), reason=reason, only=[run["segment_id"]], expected=ids.size
        )
        await self._rescoring.segments_moved(workspace, outcome)
        return RescoreOutcome(outcome.evaluated, len(outcome.events), len(outcome.events), outcome.transitions)


def _batch_document(run_id: str, number: int, after: str | None, chunk: list[str], now: datetime) -> dict[str, Any]:
    return {
        "_id": batch_id(run_id, number),
        "run_id": run_id,
        "number": number,
        "after": after,
        "upto": chunk[-1],
        "size": len(chunk),
        "status": BatchStatus.PENDING.value,
        "attempts": 0,
        # Pending from the moment it is planned: if planning dies before the batch's job is queued, the
        # stalled-batch sweep finds it by this date (a missing field never matches a range).
        "enqueued_at": now,
    }


def _checked_class_sets(class_sets: list[str] | None) -> list[str] | None:
    if class_sets is None:
        return None
    if len(class_sets) > len(CLASS_SETS):
        raise InvalidInput.one("classSets", ErrorCode.TOO_MANY_ITEMS, f"at most {len(CLASS_SETS)} class sets")
    unknown = [key for key in class_sets if key not in CLASS_SETS]
    if unknown or not class_sets:
        message = f"class sets must be some of {', '.join(CLASS_SETS)}; got {unknown or 'none'}"
        raise InvalidInput.one("classSets", ErrorCode.UNKNOWN_CLASS_SET, message)
    return list(dict.fromkeys(class_sets))
