"""Which worker processes are alive, so that work a dead one held is taken over within a minute.

Each long-running worker beats into ``workers`` every few seconds, stamped with the database's clock;
work it starts (a scoring-run batch, an import) records the worker's name. The sweeper asks which of
the named workers have not beaten for a while: their work is queued again at once (running it twice
is safe), instead of waiting for the long timeouts that cover a lost job.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.db import Database


class WorkerLiveness:
    def __init__(self, db: Database) -> None:
        self._workers = db.workers

    async def beat(self, name: str) -> None:
        await self._workers.update_one({"_id": name}, {"$currentDate": {"seen_at": True}}, upsert=True)

    async def stopped(self, name: str) -> None:
        """A clean stop: whatever it held was finished or handed back."""
        await self._workers.delete_one({"_id": name})

    async def dead(self, names: Iterable[str], after_seconds: float) -> set[str]:
        """Those of ``names`` not seen for ``after_seconds`` on the database's clock (or never seen)."""
        wanted = set(names)
        if not wanted:
            return set()
        cutoff = {"$subtract": ["$$NOW", round(after_seconds * 1000)]}
        cursor = self._workers.find(
            {"_id": {"$in": sorted(wanted)}, "$expr": {"$gt": ["$seen_at", cutoff]}}, {"_id": 1}
        )
        alive = {document["_id"] async for document in cursor}
        return wanted - alive
