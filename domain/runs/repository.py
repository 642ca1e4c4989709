"""MongoDB access for scoring runs and their batches.

A batch is a range of customer ids (``after`` exclusive, ``upto`` inclusive) with the number of
customers it held when the run was planned: small documents, whatever the batch size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from domain.clock import Clock
from domain.db import DUPLICATE_KEY, Database, Document
from domain.runs.models import ACTIVE_STATUSES, BatchProgress, BatchStatus, RunStatus, ScoringRun


class ScoringRunRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._clock = clock
        self._runs = db.scoring_runs
        self._batches = db.scoring_run_batches
        self._customers = db.customers

    async def customer_id_chunks(self, workspace_id: str, size: int, after: str | None) -> AsyncIterator[list[str]]:
        """The workspace's customers after ``after``, in id order, ``size`` at a time: the run's fixed work."""
        query: dict[str, Any] = {"workspace_id": workspace_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._customers.find(query, {"_id": 1}).sort("_id", ASCENDING)
        chunk: list[str] = []
        async for document in cursor:
            chunk.append(document["_id"])
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    async def insert_run(self, run: Document) -> bool:
        """False when a run with this id is stored already (a retried start)."""
        try:
            await self._runs.insert_one(run)
        except DuplicateKeyError:
            return False
        return True

    async def insert_batches(self, batches: list[Document]) -> None:
        """In order, so that whatever happens the run's batches are a gap-free prefix (planning resumes
        after the last one); a batch inserted already by a concurrent planner is left as it is."""
        if not batches:
            return
        try:
            await self._batches.insert_many(batches, ordered=True)
        except BulkWriteError as error:
            if any(item.get("code") != DUPLICATE_KEY for item in error.details.get("writeErrors", [])):
                raise

    async def last_batch(self, run_id: str) -> Document | None:
        cursor = self._batches.find({"run_id": run_id}, {"number": 1, "upto": 1}).sort("number", DESCENDING).limit(1)
        return next(iter([document async for document in cursor]), None)

    async def mark_planned(self, run_id: str) -> bool:
        result = await self._runs.update_one(
            {"_id": run_id, "status": RunStatus.PLANNING.value},
            {"$set": {"status": RunStatus.RUNNING.value, "planned": True}},
        )
        return result.modified_count == 1

    async def get(self, workspace_id: str, run_id: str) -> ScoringRun | None:
        document = await self._runs.find_one({"_id": run_id, "workspace_id": workspace_id})
        return ScoringRun.from_document(document, await self.progress(run_id), self._clock.now()) if document else None

    async def get_any(self, run_id: str) -> Document | None:
        return await self._runs.find_one({"_id": run_id})

    async def latest(self, workspace_id: str, limit: int) -> list[ScoringRun]:
        cursor = self._runs.find({"workspace_id": workspace_id}).sort("_id", DESCENDING).limit(limit)
        return [
            ScoringRun.from_document(document, await self.progress(document["_id"]), self._clock.now())
            async for document in cursor
        ]

    async def set_status(self, run_id: str, status: RunStatus, expected: RunStatus) -> bool:
        finished = None if status in ACTIVE_STATUSES else self._clock.now()
        result = await self._runs.update_one(
            {"_id": run_id, "status": expected.value}, {"$set": {"status": status.value, "finished_at": finished}}
        )
        return result.modified_count == 1

    async def batch(self, run_id: str, number: int) -> Document | None:
        return await self._batches.find_one({"_id": batch_id(run_id, number)})

    async def unfinished_batches(self, run_id: str) -> list[int]:
        cursor = self._batches.find({"run_id": run_id, "status": {"$ne": BatchStatus.DONE.value}}, {"number": 1}).sort(
            "number", ASCENDING
        )
        return [document["number"] async for document in cursor]

    async def mark_enqueued(self, run_id: str, numbers: list[int], *, reset_attempts: bool = False) -> None:
        """Pending again, unless done meanwhile: a finished batch never goes back."""
        update: dict[str, Any] = {"enqueued_at": self._clock.now(), "status": BatchStatus.PENDING.value}
        if reset_attempts:
            update["attempts"] = 0
        await self._batches.update_many(
            {"run_id": run_id, "number": {"$in": numbers}, "status": {"$ne": BatchStatus.DONE.value}},
            {"$set": update, "$unset": {"running_on": ""}},
        )

    async def mark_running(self, run_id: str, number: int, worker: str) -> None:
        """The batch is being scored by ``worker``: if that worker dies, the sweeper queues the batch again."""
        await self._batches.update_one(
            {"_id": batch_id(run_id, number), "status": {"$ne": BatchStatus.DONE.value}},
            {"$set": {"running_on": worker}},
        )

    async def batches_held(self, run_ids: list[str]) -> list[tuple[str, int, str]]:
        """Unfinished batches some worker has started: (run, number, worker)."""
        cursor = self._batches.find(
            {"run_id": {"$in": run_ids}, "status": BatchStatus.PENDING.value, "running_on": {"$type": "string"}},
            {"run_id": 1, "number": 1, "running_on": 1},
        )
        return [(document["run_id"], document["number"], document["running_on"]) async for document in cursor]

    async def finish_batch(
        self, run_id: str, number: int, processed: int, changed: int, transitions: dict[str, dict[str, int]]
    ) -> bool:
        """Record a batch's outcome once; a second finisher (a re-run) changes nothing and gets False."""
        result = await self._batches.update_one(
            {"_id": batch_id(run_id, number), "status": {"$ne": BatchStatus.DONE.value}},
            {
                "$set": {
                    "status": BatchStatus.DONE.value,
                    "processed": processed,
                    "changed": changed,
                    "transitions": transitions,
                },
                "$unset": {"running_on": ""},
            },
        )
        return result.modified_count == 1

    async def fail_batch(self, run_id: str, number: int, error: str, retry_at: datetime | None) -> None:
        """One more failed attempt; ``retry_at`` None means no attempt is left."""
        await self._batches.update_one(
            {"_id": batch_id(run_id, number), "status": {"$ne": BatchStatus.DONE.value}},
            {
                "$set": {"status": BatchStatus.FAILED.value, "error": error[:500], "retry_at": retry_at},
                "$inc": {"attempts": 1},
                "$unset": {"running_on": ""},
            },
        )

    async def progress(self, run_id: str) -> BatchProgress:
        total = processed = changed = failed = pending = 0
        transitions: dict[str, dict[str, int]] = {}
        failed_batches: list[int] = []
        cursor = self._batches.find({"run_id": run_id}).sort("number", ASCENDING)
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
                failed_batches.append(batch["number"])
                pending += 1
            else:
                pending += 1
        return BatchProgress(total, processed, changed, failed, pending, transitions, tuple(failed_batches))

    async def pending_batch_count(self) -> int:
        return await self._batches.count_documents({"status": BatchStatus.PENDING.value})

    async def failed_since(self, since: datetime) -> int:
        return await self._runs.count_documents({"status": RunStatus.FAILED.value, "finished_at": {"$gte": since}})

    async def active_runs(self, statuses: frozenset[RunStatus]) -> list[Document]:
        cursor = self._runs.find({"status": {"$in": [status.value for status in statuses]}})
        return [document async for document in cursor]

    async def stalled_batches(self, run_ids: list[str], older_than: datetime) -> list[tuple[str, int]]:
        """Pending batches enqueued before ``older_than``: their job was probably lost."""
        cursor = self._batches.find(
            {"run_id": {"$in": run_ids}, "status": BatchStatus.PENDING.value, "enqueued_at": {"$lt": older_than}},
            {"run_id": 1, "number": 1},
        )
        return [(document["run_id"], document["number"]) async for document in cursor]

    async def batches_to_retry(self, run_ids: list[str], now: datetime) -> list[tuple[str, int]]:
        """Failed batches whose back-off has passed and that have attempts left."""
        cursor = self._batches.find(
            {
                "run_id": {"$in": run_ids},
                "status": BatchStatus.FAILED.value,
                "retry_at": {"$type": "date", "$lte": now},
            },
            {"run_id": 1, "number": 1},
        )
        return [(document["run_id"], document["number"]) async for document in cursor]


def batch_id(run_id: str, number: int) -> str:
    return f"{run_id}:{number:06d}"
