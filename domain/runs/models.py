"""Bulk scoring runs: a workspace split into batches of customers, each scored by one RQ job."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.timestamps import aware


class RunStatus(StrEnum):
    PLANNING = "planning"  # a job is listing the customers into batches
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"  # some batches failed every attempt; resume retries them


ACTIVE_STATUSES = frozenset({RunStatus.PLANNING, RunStatus.RUNNING})


class BatchStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Counts summed over a run's batches (the batches, not the run, are the record of work done)."""

    total: int = 0
    processed: int = 0
    changed: int = 0
    failed: int = 0
    pending_batches: int = 0
    transitions: dict[str, dict[str, int]] = field(default_factory=dict)
    failed_batches: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ScoringRun:
    id: str
    workspace_id: str
    status: RunStatus
    dry_run: bool
    class_sets: list[str] | None
    settings_version: int
    started_at: datetime
    finished_at: datetime | None
    progress: BatchProgress
    settings_override: dict[str, Any] | None = None  # a proposed class-set change, for a dry run
    planned: bool = False  # every customer is in a batch
    segment_id: str | None = None  # a run that applies this segment's rule instead of scoring
    read_at: datetime | None = None  # when it was read: the moment its ETA projects from

    @property
    def eta(self) -> datetime | None:
        """Projected end, from the pace so far (None until the first batch is done, or when finished)."""
        done = self.progress.processed + self.progress.failed
        if self.status != RunStatus.RUNNING or done == 0 or done >= self.progress.total or self.read_at is None:
            return None
        elapsed = self.read_at - self.started_at
        return self.started_at + elapsed * (self.progress.total / done)

    @classmethod
    def from_document(cls, document: dict[str, Any], progress: BatchProgress, read_at: datetime) -> ScoringRun:
        finished = document.get("finished_at")
        return cls(
            id=document["_id"],
            workspace_id=document["workspace_id"],
            status=RunStatus(document["status"]),
            dry_run=document["dry_run"],
            class_sets=document.get("class_sets"),
            settings_version=document["settings_version"],
            started_at=aware(document["started_at"]),
            finished_at=aware(finished) if finished else None,
            progress=progress,
            settings_override=document.get("settings_override"),
            planned=bool(document.get("planned")),
            segment_id=document.get("segment_id"),
            read_at=read_at,
        )
