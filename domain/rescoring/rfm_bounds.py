"""The workspace's RFM quintiles: recomputed from orders when old or when the orders have grown."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.orders.repository import OrderRepository
from domain.workspaces.models import CachedRfmBounds, Workspace
from domain.workspaces.repository import WorkspaceRepository
from scoring.rfm import RfmBounds, rfm_bounds

MAX_AGE = timedelta(hours=1)
# Recompute sooner when the workspace's count of paid orders moved by more than this share.
MAX_ORDER_DRIFT = 0.05


class RfmBoundsService:
    def __init__(self, orders: OrderRepository, workspaces: WorkspaceRepository) -> None:
        self._orders = orders
        self._workspaces = workspaces

    async def current(self, workspace: Workspace, now: datetime, *, refresh: bool = False) -> RfmBounds:
        orders_now = await self._orders.count_paid(workspace.id)
        cached = workspace.rfm_bounds
        if not refresh and cached is not None and _fresh(cached, orders_now, now):
            return cached.bounds
        bounds = rfm_bounds(*await self._orders.rfm_inputs(workspace.id, now))
        await self._workspaces.save_rfm_bounds(workspace.id, CachedRfmBounds(bounds, orders_now, now))
        return bounds


def _fresh(cached: CachedRfmBounds, orders_now: int, now: datetime) -> bool:
    drift = abs(orders_now - cached.orders_seen) / max(cached.orders_seen, 1)
    return now - cached.computed_at < MAX_AGE and drift <= MAX_ORDER_DRIFT
