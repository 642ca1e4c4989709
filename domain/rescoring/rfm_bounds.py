"""The workspace's RFM quintiles: refreshed by a job of their own, never inside a rescore.

Rescore jobs score with the bounds stored in the workspace and count how many customers' RFM inputs
they changed. A refresh job recomputes the bounds from the customers' stats; when they move, it marks
dirty exactly the customers whose R, F or M score differs between the old and the new bounds, so
every stored class stays consistent with the bounds in force.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.rescoring.stats_repository import CustomerStatsRepository
from domain.workspaces.models import CachedRfmBounds
from domain.workspaces.repository import WorkspaceRepository
from scoring.rfm_bounds import NO_BOUNDS, rfm_bounds

# Even without new orders, recency bounds move as time passes.
MAX_AGE = timedelta(hours=24)


class RfmBoundsService:
    def __init__(self, customers: CustomerStatsRepository, workspaces: WorkspaceRepository) -> None:
        self._customers = customers
        self._workspaces = workspaces

    async def refresh(self, workspace_id: str, now: datetime, min_interval: timedelta) -> int:
        """Recompute the bounds (at most once per ``min_interval``); returns how many customers it marked dirty."""
        workspace = await self._workspaces.get(workspace_id)
        if workspace is None:
            return 0
        cached = workspace.rfm_bounds
        if cached is not None and now - cached.computed_at < min_interval:
            return 0  # still marked stale: the sweeper asks again once the interval has passed
        old, version = (cached.bounds, cached.version) if cached else (NO_BOUNDS, 0)
        bounds = rfm_bounds(*await self._customers.rfm_inputs(workspace_id, now))
        moved = bounds != old
        saved = await self._workspaces.save_rfm_bounds(
            workspace_id, CachedRfmBounds(bounds, version + int(moved), now), version, workspace.rfm_changes
        )
        if not saved or not moved:
            return 0
        return await self._customers.mark_rfm_crossings(workspace_id, old, bounds, now)

    async def workspaces_due(self, now: datetime) -> list[str]:
        """Workspaces whose customers' RFM inputs changed since the last refresh, or whose bounds are old."""
        return await self._workspaces.needing_rfm_refresh(now - MAX_AGE)
