"""What the periodic sweep reads from MongoDB: the work still to do, whatever happened to the Redis queue."""

from __future__ import annotations

from datetime import datetime

from domain.rescoring.repository import ScoringRepository

SWEEP_LIMIT = 100_000


class DirtySweep:
    def __init__(self, scoring: ScoringRepository) -> None:
        self._scoring = scoring

    async def mark_due_dirty(self, now: datetime) -> int:
        """Mark dirty the customers whose classes change with time alone by ``now`` (birthdays, tenure
        boundaries); returns how many."""
        due = await self._scoring.due_customers(now, SWEEP_LIMIT)
        for workspace_id, ids in due.items():
            await self._scoring.mark_dirty(workspace_id, ids)
        return sum(len(ids) for ids in due.values())

    async def backlog(self) -> tuple[int, datetime | None]:
        """For operators: customers waiting to be rescored, and since when the longest has."""
        return await self._scoring.dirty_backlog()

    async def dirty_workspaces(self, *, dirty_before: datetime | None = None) -> set[str]:
        """Workspaces with dirty customers (dirty since before ``dirty_before``, if given)."""
        return set(await self._scoring.dirty_customers(SWEEP_LIMIT, dirty_before=dirty_before))
