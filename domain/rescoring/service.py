"""Rescoring use case: recompute every class set of a batch of customers and record what changed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from domain.classes.events import ClassChangeEvent, ClassEventRepository
from domain.classes.evidence import spend_tier_evidence
from domain.customers.models import AssignedClass, CustomerStats
from domain.orders.repository import OrderRepository
from domain.ports import EventPublisher
from domain.rescoring.repository import ScoredCustomer, ScoringRepository, ScoringState
from domain.workspaces.models import Workspace
from domain.workspaces.repository import WorkspaceRepository
from scoring.spend_tier import classify_spend_tier

RESCORE_REASON = "rescore"


@dataclass(frozen=True, slots=True)
class RescoreOutcome:
    processed: int
    changed: int
    events: int


class RescoringService:
    def __init__(
        self,
        scoring: ScoringRepository,
        orders: OrderRepository,
        workspaces: WorkspaceRepository,
        class_events: ClassEventRepository,
        publisher: EventPublisher,
    ) -> None:
        self._scoring = scoring
        self._orders = orders
        self._workspaces = workspaces
        self._class_events = class_events
        self._publisher = publisher

    async def rescore(self, workspace_id: str, customer_ids: Sequence[str]) -> RescoreOutcome:
        """Safe to repeat: a customer changed since it was read is left to the job that change enqueued,
        and events are delivered from the customer document until they are in the ledger."""
        workspace = await self._workspaces.get(workspace_id)
        if workspace is None:
            return RescoreOutcome(0, 0, 0)
        states = await self._scoring.load(workspace_id, customer_ids)
        await self._deliver([event for state in states for event in state.pending_events])
        stats = await self._orders.stats_for(workspace_id, [state.customer_id for state in states])
        scored = compute_changes(workspace, states, stats, datetime.now(UTC))
        written = await self._scoring.write_results(workspace_id, scored)
        events = [event for item in scored if item.customer_id in written for event in item.events]
        await self._deliver(events)
        finished = [
            (item.customer_id, item.seq) for item in scored if item.customer_id in written or not item.needs_write
        ]
        await self._scoring.finish(workspace_id, finished)
        changed = sum(1 for item in scored if item.customer_id in written and item.changed_classes)
        return RescoreOutcome(len(states), changed, len(events))

    async def _deliver(self, events: Sequence[ClassChangeEvent]) -> None:
        await self._class_events.append(events)
        await self._publisher.publish(events)


def compute_changes(
    workspace: Workspace, states: Sequence[ScoringState], stats: dict[str, CustomerStats], now: datetime
) -> list[ScoredCustomer]:
    """Pure: the new stats and classes of each customer, with one event per changed class set."""
    customer_stats = [stats.get(state.customer_id, CustomerStats()) for state in states]
    net_spend = np.fromiter((item.net_spend_minor for item in customer_stats), dtype=np.int64, count=len(states))
    settings = workspace.class_settings
    tiers = classify_spend_tier(net_spend, settings.spend_tier)
    codes = tiers.codes()
    result = []
    for i, state in enumerate(states):
        evidence = spend_tier_evidence(
            int(net_spend[i]), workspace.currency, codes[i], int(tiers.lower[i]), int(tiers.upper[i])
        )
        current = state.classes.get("spend_tier") or {}
        changed: list[AssignedClass] = []
        events: list[ClassChangeEvent] = []
        if current.get("code") != codes[i] or current.get("evidence") != evidence:
            since = now if current.get("code") != codes[i] else current["since"]
            changed.append(AssignedClass("spend_tier", codes[i], since, evidence, settings.version))
        if current.get("code") != codes[i]:
            events.append(
                ClassChangeEvent(
                    id=uuid.uuid4().hex,
                    workspace_id=workspace.id,
                    customer_id=state.customer_id,
                    class_set="spend_tier",
                    previous=current.get("code"),
                    current=codes[i],
                    evidence=evidence,
                    settings_version=settings.version,
                    reason=RESCORE_REASON,
                    at=now,
                )
            )
        new_stats = customer_stats[i]
        result.append(
            ScoredCustomer(
                state.customer_id,
                state.seq,
                new_stats,
                changed,
                events,
                stats_changed=_stored_stats_differ(state.stats, new_stats),
            )
        )
    return result


def _stored_stats_differ(stored: dict[str, Any], stats: CustomerStats) -> bool:
    return CustomerStats.from_document(stored) != stats
