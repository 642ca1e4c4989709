"""Rescoring use case: recompute every class set of a batch of customers and record what changed."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pymongo.errors import ConnectionFailure, PyMongoError

from domain.classes.events import ClassChangeEvent, ClassEventRepository
from domain.clock import Clock
from domain.interactions.repository import InteractionRepository
from domain.orders.repository import OrderRepository
from domain.ports import EventPublisher, ScoringQueue
from domain.rescoring.changes import compute_changes
from domain.rescoring.conversion_models import ConversionModelRepository
from domain.rescoring.repository import IdRange, ScoredCustomer, ScoringRepository, ScoringState
from domain.segments.membership import MembershipOutcome, SegmentEvaluator
from domain.workspaces.models import Workspace
from domain.workspaces.repository import WorkspaceRepository
from scoring.lead import LEAD_LOOKBACK

log = logging.getLogger(__name__)


# A coalesced job scores at most this many batches, then leaves the rest to the job it queues.
MAX_ROUNDS = 50


@dataclass(frozen=True, slots=True)
class RescoreOutcome:
    processed: int
    changed: int
    events: int
    # Per class set, how many customers moved from one code to another ("none>new": 3).
    transitions: dict[str, dict[str, int]] = field(default_factory=dict)
    failed: int = 0  # customers that could not be scored (set aside with their error)


class RescoringService:
    def __init__(
        self,
        scoring: ScoringRepository,
        orders: OrderRepository,
        interactions: InteractionRepository,
        workspaces: WorkspaceRepository,
        class_events: ClassEventRepository,
        publisher: EventPublisher,
        queue: ScoringQueue,
        conversion_models: ConversionModelRepository,
        segments: SegmentEvaluator,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._scoring = scoring
        self._conversion_models = conversion_models
        self._segments = segments
        self._orders = orders
        self._interactions = interactions
        self._workspaces = workspaces
        self._class_events = class_events
        self._publisher = publisher
        self._queue = queue

    async def rescore(
        self,
        workspace_id: str,
        customers: Sequence[str] | IdRange,
        *,
        only: frozenset[str] | None = None,
        dry_run: bool = False,
        settings_override: dict[str, Any] | None = None,
    ) -> RescoreOutcome:
        """Safe to repeat and to run concurrently: results are written by compare-and-set on what was read,
        so a customer changed or rescored since is left to that change's job; events are delivered from
        the customer document until they are in the ledger.

        ``only`` limits the class sets that may change; ``dry_run`` computes and reports, writing nothing;
        ``settings_override`` (dry runs only) scores with a proposed class-set change instead of the saved one.
        """
        workspace = await self._workspaces.get(workspace_id)
        if workspace is None:
            return RescoreOutcome(0, 0, 0)
        if settings_override is not None:
            if not dry_run:
                raise ValueError("proposed settings are only ever scored in a dry run")
            workspace = workspace.with_class_set(settings_override["class_set"], settings_override["settings"])
        states = await (
            self._scoring.load_range(workspace_id, customers)
            if isinstance(customers, IdRange)
            else self._scoring.load(workspace_id, customers)
        )
        if not dry_run:
            await self._deliver([event for state in states for event in state.pending_events])
        now = self._clock.now()
        ids = [state.customer_id for state in states]
        stage = workspace.scoring_settings.purchase_stage
        orders = await self._orders.features_for(
            workspace_id, ids, now - timedelta(days=stage.window_days), stage.loyal_orders
        )
        if orders.unscorable:
            states = await self._set_aside(workspace_id, states, orders.unscorable, dry_run)
            ids = [state.customer_id for state in states]
        failed = len(orders.unscorable)
        interactions = await self._interactions.features_for(workspace_id, ids, now - LEAD_LOOKBACK)
        bounds, bounds_version = workspace.rfm_bounds_in_force
        conversion = await self._conversion_models.scorer_for(workspace)
        scored = compute_changes(workspace, states, orders.features, interactions, now, bounds, only, conversion)
        if dry_run:
            changed = [item for item in scored if item.changed_classes]
            moves = sum(1 for item in changed if item.events)
            return RescoreOutcome(len(states), moves, 0, _transitions(scored), failed=failed)
        written = await self._scoring.write_results(workspace_id, scored, writer=uuid.uuid4().hex)
        events = [event for item in scored if item.customer_id in written for event in item.events]
        await self._deliver(events)
        await self._check_rfm_bounds(workspace_id, scored, written, bounds_version)
        await self._scoring.finish(workspace_id, scored, written)
        # The same job keeps dynamic segments current for these customers (after their classes and stats,
        # which rules read).
        membership = await self._segments.evaluate(workspace, {"_id": {"$in": ids}}, now, expected=len(ids))
        await self.segments_moved(workspace, membership)
        moved = [item for item in scored if item.customer_id in written and item.events]
        return RescoreOutcome(len(states), len(moved), len(events), _transitions(moved), failed=failed)

    async def _set_aside(
        self, workspace_id: str, states: list[ScoringState], problems: dict[str, str], dry_run: bool
    ) -> list[ScoringState]:
        """Customers whose own data cannot be scored (a money total beyond what can be stored) are set
        aside with the reason, like any customer that fails to score; the rest of the batch goes on."""
        for customer_id, reason in problems.items():
            log.warning("customer %s cannot be scored (%s); set aside until its next change", customer_id, reason)
            if not dry_run:
                await self._scoring.set_aside(workspace_id, customer_id, reason)
        return [state for state in states if state.customer_id not in problems]

    async def segments_moved(self, workspace: Workspace, membership: MembershipOutcome) -> None:
        """Market fit can be defined by a segment: whoever joined or left it is rescored."""
        target = workspace.scoring_settings.market_fit.segment
        moved = sorted({e.customer_id for e in membership.events if target is not None and e.segment_id == target})
        if moved:
            await self._scoring.mark_dirty(workspace.id, moved)
            await self._queue.request_rescore(workspace.id)

    async def rescore_dirty(self, workspace_id: str, batch_size: int) -> RescoreOutcome:
        """Score every customer dirty in the workspace now, a batch at a time (a burst of writes is one
        job). A customer that cannot be scored is set aside with its error instead of blocking the rest."""
        processed = changed = events = failed = 0
        for _ in range(MAX_ROUNDS):
            ids = await self._scoring.dirty_ids(workspace_id, batch_size)
            if not ids:
                break
            outcome = await self._rescore_isolating_failures(workspace_id, ids)
            processed += outcome.processed
            changed += outcome.changed
            events += outcome.events
            failed += outcome.failed
            if len(ids) < batch_size:
                break
        else:
            await self._queue.request_rescore(workspace_id)  # more than one job's worth: a next job goes on
        return RescoreOutcome(processed, changed, events, failed=failed)

    async def _rescore_isolating_failures(self, workspace_id: str, ids: list[str]) -> RescoreOutcome:
        try:
            return await self.rescore(workspace_id, ids)
        except ConnectionFailure:
            raise  # the database is away, not a customer's fault: the job fails and is retried
        except Exception:
            log.exception("a batch of %d customers failed to score; scoring them one by one", len(ids))
        processed = changed = events = failed = 0
        refused: list[tuple[str, Exception]] = []
        for customer_id in ids:
            try:
                outcome = await self.rescore(workspace_id, [customer_id])
            except ConnectionFailure:
                raise
            except Exception as error:
                refused.append((customer_id, error))
                continue
            processed, changed = processed + 1, changed + outcome.changed
            events, failed = events + outcome.events, failed + outcome.failed
        if refused and not processed and any(isinstance(problem, PyMongoError) for _, problem in refused):
            # The database refused every customer: something of its own, not one customer's data.
            raise refused[0][1]
        for customer_id, problem in refused:
            log.error("customer %s cannot be scored; set aside until its next change", customer_id, exc_info=problem)
            await self._scoring.set_aside(workspace_id, customer_id, f"{type(problem).__name__}: {problem}")
        return RescoreOutcome(processed, changed, events, failed=failed + len(refused))

    async def _check_rfm_bounds(
        self, workspace_id: str, scored: Sequence[ScoredCustomer], written: set[str], bounds_version: int
    ) -> None:
        """Count RFM input changes (the bounds then need a refresh), and rescore what this job wrote if the
        bounds were refreshed while it ran: a refresh marks only customers whose stored stats cross."""
        if not written:
            return
        changes = sum(1 for item in scored if item.customer_id in written and item.rfm_inputs_changed)
        if changes:
            version_now = await self._workspaces.note_rfm_changes(workspace_id, changes)
            await self._queue.request_rfm_refresh(workspace_id)
        else:
            version_now = await self._workspaces.rfm_version(workspace_id)
        if version_now != bounds_version:
            await self._scoring.mark_dirty(workspace_id, sorted(written))
            await self._queue.request_rescore(workspace_id)

    async def _deliver(self, events: Sequence[ClassChangeEvent]) -> None:
        await self._class_events.append(events)
        await self._publisher.publish(events)


def _transitions(scored: Sequence[ScoredCustomer]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for item in scored:
        for event in item.events:
            key = f"{event.previous or ''}>{event.current}"
            per_set = counts.setdefault(event.class_set, {})
            per_set[key] = per_set.get(key, 0) + 1
    return counts
