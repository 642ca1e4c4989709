"""MongoDB access for scoring runs and their batches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING

from domain.db import Database, Document
from domain.runs.models import BatchProgress, BatchStatus, RunStatus, ScoringRun


class ScoringRunRepository:
    def __init__(self, db: Database) -> None:
        self._runs = db.scoring_runs
        self._batches = db.scoring_run_batches
        self._customers = db.customers

    async def customer_ids(self, workspace_id: str) -> list[str]:
        """Every customer of the workspace now, in id order: the run's fixed list of work."""
        cursor = self._customers.find({"workspace_id": workspace_id}, {"_id": 1}).sort("_id", ASCENDING)
        return [document["_id"] async for document in cursor]

    async def insert(self, run: Document, batches: list[Document]) -> None:
        # Batches first: a run document is only visible once all of its work is recorded.
        if batches:
            await self._batches.insert_many(batches, ordered=False)
        await self._runs.insert_one(run)

    async def get(self, workspace_id: str, run_id: str) -> ScoringRun | None:
        document = await self._runs.find_one({"_id": run_id, "workspace_id": workspace_id})
        return ScoringRun.from_document(document, await self.progress(run_id)) if document else None

    async def get_any(self, run_id: str) -> Document | None:
        return await self._runs.find_one({"_id": run_id})

    async def latest(self, workspace_id: str, limit: int) -> list[ScoringRun]:
        cursor = self._runs.find({"workspace_id": workspace_id}).sort("_id", DESCENDING).limit(limit)
        return [ScoringRun.from_document(document, await self.progress(document["_id"])) async for document in cursor]

    async def set_status(self, run_id: str, status: RunStatus, expected: RunStatus) -> bool:
        update: dict[str, Any] = {"status": status.value}
        if status != RunStatus.RUNNING:
            update["finished_at"] = datetime.now(UTC)
        else:
            update["finished_at"] = None
        result = await self._runs.update_one({"_id": run_id, "status": expected.value}, {"$set": update})
        return result.modified_count == 1

    async def batch(self, run_id: str, number: int) -> Document | None:
        return await self._batches.find_one({"_id": batch_id(run_id, number)})

    async def unfinished_batches(self, run_id: str) -> list[int]:
        cursor = self._batches.find({"run_id": run_id, "status": {"$ne": BatchStatus.DONE.value}}, {"number": 1}).sort(
            "number", ASCENDING
        )
        return [document["number"] async for document in cursor]

    async def mark_enqueued(self, run_id: str, numbers: list[int]) -> None:
        await self._batches.update_many(
            {"run_id": run_id, "number": {"$in": numbers}},
            {"$set": {"enqueued_at": datetime.now(UTC), "status": BatchStatus.PENDING.value}},
        )

    async def finish_batch(
        self,
        run_id: str,
        number: int,
        status: BatchStatus,
        processed: int,
        changed: int,
        transitions: dict[str, dict[str, int]],
    ) -> bool:
        """Record a batch's outcome once; a second finisher (a re-run) changes nothing and gets False."""
        result = await self._batches.update_one(
            {"_id": batch_id(run_id, number), "status": {"$ne": BatchStatus.DONE.value}},
            {
                "$set": {
                    "status": status.value,
                    "processed": processed,
                    "changed": changed,
                    "transitions": transitions,
                    "finished_at": datetime.now(UTC),
                }
            },
        )
        return result.modified_count == 1

    async def progress(self, run_id: str) -> BatchProgress:
        total = processed = changed = failed = pending = 0
        transitions: dict[str, dict[str, int]] = {}
        cursor = self._batches.find({"run_id": run_id}, {"customer_ids": 0})
        async for batch in cursor:
            total += batch["size"]
            if batch["status"] == BatchStatus.DONE.value:
                processed += batch["processed"]
                changed += batch["changed"]
                for class_set, moves in (batch.get("transitions") or {}).items():
                    merged = transitions.setdefault(class_set, {})
                    for move, count in moves.items():
                        merged[move] = merged.get(move, 0) + count
            elif batch["status"] == BatchStatus.FAILED.value:
                failed += batch["size"]
                pending += 1
            else:
                pending += 1
        return BatchProgress(total, processed, changed, failed, pending, transitions)

    async def stalled_batches(self, older_than: datetime) -> list[tuple[str, int]]:
        """Pending batches of running runs enqueued before ``older_than``: their job was probably lost."""
        running = [document["_id"] async for document in self._runs.find({"status": RunStatus.RUNNING.value})]
        if not running:
            return []
        cursor = self._batches.find(
            {"run_id": {"$in": running}, "status": BatchStatus.PENDING.value, "enqueued_at": {"$lt": older_than}},
            {"run_id": 1, "number": 1},
        )
        return [(document["run_id"], document["number"]) async for document in cursor]


def batch_id(run_id: str, number: int) -> str:
    return f"{run_id}:{number:06d}"
