"""Fitting a workspace's future-value models (BG/NBD and Gamma-Gamma, scoring/future_value.py).

A job fits them from every buyer's stored stats, on a schedule (weekly, daily while the history is too
thin) and on demand; predictions are made in every rescore from the stored models, as of the fit, so
they stay put between fits. New models mark every buyer dirty: the workspace is rescored with them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.auth.principals import Permission, Principal
from domain.ports import ModelQueue
from domain.rescoring.stats_repository import CustomerStatsRepository
from domain.workspaces.models import future_value_to_document
from domain.workspaces.repository import WorkspaceRepository
from scoring.future_value import FutureValueModel, fit_model, histories

REFIT_AFTER = timedelta(days=7)
THIN_RETRY_AFTER = timedelta(days=1)


class FutureValueService:
    def __init__(self, customers: CustomerStatsRepository, workspaces: WorkspaceRepository, queue: ModelQueue) -> None:
        self._customers = customers
        self._workspaces = workspaces
        self._queue = queue

    async def refit(self, workspace_id: str, now: datetime) -> str:
        paid, first, last, spend = await self._customers.purchase_stats(workspace_id)
        h = histories(paid, first, last, spend, now.timestamp())
        model = fit_model(h, now.timestamp())
        buyers, repeat = int(h.bought.sum()), int((h.bought & (h.x > 0)).sum())
        check = {"checked_at": now, "buyers": buyers, "repeat_buyers": repeat, "fitted": model is not None}
        document = future_value_to_document(model) if model is not None else None
        await self._workspaces.save_model_attempt(workspace_id, "future_value", check, document)
        if model is None:
            return f"not fitted: {buyers} buyers, {repeat} repeat buyers"
        marked = await self._customers.mark_buyers_dirty(workspace_id)
        return f"fitted on {buyers} buyers; {marked} to rescore"

    async def request_fit(self, principal: Principal) -> None:
        """On demand (ops, admin): a job fits the workspace's models soon."""
        principal.require(Permission.RUN_JOBS)
        await self._queue.request_future_value_fit(principal.workspace_id)

    async def status(self, principal: Principal) -> tuple[FutureValueModel | None, dict[str, Any] | None]:
        """The models in force and the last fitting attempt (when, on how many buyers, fitted or not)."""
        principal.require(Permission.READ)
        workspace = await self._workspaces.get(principal.workspace_id)
        check = await self._workspaces.model_check(principal.workspace_id, "future_value")
        return (workspace.future_value if workspace else None), check

    async def workspaces_due(self, now: datetime) -> list[str]:
        return await self._workspaces.needing_model("future_value", now - REFIT_AFTER, now - THIN_RETRY_AFTER)
