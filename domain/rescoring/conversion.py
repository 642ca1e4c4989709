"""Training a workspace's conversion model (scoring/conversion_training.py) and the sales verdicts it
learns from as well as the orders.

A job trains it from every customer and interaction, on a schedule (weekly, daily while the history is
below the data gate) and on demand; the model is stored with its card, and every customer is marked
dirty so that the next rescore gives each its probability. Below the gate the lead score stands alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from domain.auth.principals import Permission, Principal
from domain.customers.models import LeadVerdict, Verdict
from domain.customers.repository import CustomerRepository
from domain.errors import NotFound
from domain.interactions.repository import InteractionRepository
from domain.ports import ModelQueue
from domain.rescoring.conversion_models import ConversionModelRepository
from domain.rescoring.features import InteractionFeatures, OrderFeatures, build_batch
from domain.rescoring.stats_repository import CustomerStatsRepository, LeadRecord
from domain.workspaces.models import ConversionModelInfo
from domain.workspaces.repository import WorkspaceRepository

if TYPE_CHECKING:
    from scoring.conversion_training import LeadHistory

RETRAIN_AFTER = timedelta(days=7)
THIN_RETRY_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ConversionStatus:
    model: ConversionModelInfo | None  # the model in force
    check: dict[str, Any] | None  # the last training attempt
    problem: str | None  # why the model in force is not applied (the lead tier is then on rules)


class ConversionService:
    def __init__(
        self,
        stats: CustomerStatsRepository,
        interactions: InteractionRepository,
        customers: CustomerRepository,
        workspaces: WorkspaceRepository,
        models: ConversionModelRepository,
        queue: ModelQueue,
    ) -> None:
        self._stats = stats
        self._interactions = interactions
        self._customers = customers
        self._workspaces = workspaces
        self._models = models
        self._queue = queue

    async def train(self, workspace_id: str, now: datetime) -> str:
        workspace = await self._workspaces.get(workspace_id)
        if workspace is None:
            return "no such workspace"
        records = await self._stats.lead_history(workspace_id)
        touches = await self._interactions.touches_in_workspace(workspace_id)
        history = _history(records, touches, now)
        # scikit-learn is loaded where a model is trained or applied (workers), not in every API process.
        from scoring.conversion_training import train_from_history

        # Training is seconds of CPU: off the event loop, so the worker's heartbeat keeps going.
        outcome = await asyncio.to_thread(train_from_history, history, workspace.scoring_settings.lead_tier)
        check = {"checked_at": now, "fitted": outcome.scorer is not None, **outcome.card}
        if outcome.scorer is None:
            await self._workspaces.save_model_attempt(workspace_id, "conversion", check, None)
            return f"not trained: {outcome.card['won']} won, {outcome.card['lost']} lost"
        if not await self._models.save(workspace_id, now, outcome.scorer):
            return "not stored: a newer model is already in force"
        info = ConversionModelInfo(now, outcome.card)
        await self._workspaces.save_model_attempt(workspace_id, "conversion", check, info.to_document())
        marked = await self._stats.mark_all_dirty(workspace_id)
        return f"trained on {outcome.card['won']} won and {outcome.card['lost']} lost; {marked} to rescore"

    async def request_training(self, principal: Principal) -> None:
        """On demand (ops, admin): a job trains the workspace's model soon."""
        principal.require(Permission.RUN_JOBS)
        await self._queue.request_conversion_training(principal.workspace_id)

    async def status(self, principal: Principal) -> ConversionStatus:
        """The model in force, the last training attempt, and why the model is not applied if it is not."""
        principal.require(Permission.READ)
        workspace = await self._workspaces.get(principal.workspace_id)
        check = await self._workspaces.model_check(principal.workspace_id, "conversion")
        if workspace is None:
            return ConversionStatus(None, check, None)
        return ConversionStatus(workspace.conversion, check, await self._models.problem(workspace))

    async def record_verdict(
        self, principal: Principal, customer_id: str, verdict: Verdict | None, now: datetime
    ) -> LeadVerdict | None:
        """Sales' conclusion on a lead (None clears it); sales only on their own customers."""
        principal.require(Permission.WRITE_CUSTOMERS)
        given = LeadVerdict(verdict, now, principal.user_id) if verdict else None
        if not await self._customers.set_lead_verdict(principal.scope, customer_id, given):
            raise NotFound(f"no customer {customer_id!r}", field="customerId")
        return given

    async def workspaces_due(self, now: datetime) -> list[str]:
        return await self._workspaces.needing_model("conversion", now - RETRAIN_AFTER, now - THIN_RETRY_AFTER)


def _history(records: list[LeadRecord], touches: dict[str, list[tuple[str, datetime]]], now: datetime) -> LeadHistory:
    from scoring.conversion_training import LeadHistory

    batch = build_batch(
        [record.profile for record in records],
        [OrderFeatures()] * len(records),
        [InteractionFeatures(touches=tuple(touches.get(record.customer_id, ()))) for record in records],
        now,
    )
    nan = float("nan")
    return LeadHistory(
        batch,
        np.array([r.first_paid_at.timestamp() if r.first_paid_at else nan for r in records], dtype=np.float64),
        np.array([nan if r.average_order_minor is None else r.average_order_minor for r in records], np.float64),
        np.array([r.verdict.at.timestamp() if r.verdict else nan for r in records], dtype=np.float64),
        np.array([bool(r.verdict and r.verdict.verdict is Verdict.GOOD_FIT) for r in records], dtype=bool),
    )
