from __future__ import annotations

from datetime import datetime

import strawberry

from domain.runs.models import RunStatus
from domain.runs.models import ScoringRun as DomainRun

RunStatusEnum = strawberry.enum(RunStatus, name="ScoringRunStatus")


@strawberry.type(description="How many customers would move (dry run) or moved from one code to another")
class ClassTransition:
    class_set: str
    from_code: str | None = strawberry.field(name="from")
    to_code: str = strawberry.field(name="to")
    count: int


@strawberry.type
class ScoringRun:
    id: strawberry.ID
    status: RunStatusEnum  # type: ignore[valid-type]
    total: int = strawberry.field(
        description="Customers in the workspace when the run started (growing while the run is PLANNING)"
    )
    processed: int
    changed: int = strawberry.field(description="Customers who moved to another code in at least one class set")
    failed: int = strawberry.field(description="Customers in batches that failed (retried with back-off)")
    failed_batches: list[int] = strawberry.field(
        description="Batches whose last attempt failed; a FAILED run names the ones that failed every attempt"
    )
    started_at: datetime
    finished_at: datetime | None
    eta: datetime | None
    dry_run: bool
    class_sets: list[str] | None
    settings_version: int
    transitions: list[ClassTransition] = strawberry.field(
        description="Moves per class set; a segment run counts joins (out>in) and leaves (in>out) under segment:<id>"
    )
    segment_id: strawberry.ID | None = strawberry.field(
        description="Set when the run applies this segment's rule to the workspace instead of scoring"
    )

    @classmethod
    def from_domain(cls, run: DomainRun) -> ScoringRun:
        progress = run.progress
        return cls(
            id=strawberry.ID(run.id),
            status=run.status,
            total=progress.total,
            processed=progress.processed,
            changed=progress.changed,
            failed=progress.failed,
            failed_batches=list(progress.failed_batches),
            started_at=run.started_at,
            finished_at=run.finished_at,
            eta=run.eta,
            dry_run=run.dry_run,
            class_sets=run.class_sets,
            settings_version=run.settings_version,
            segment_id=strawberry.ID(run.segment_id) if run.segment_id else None,
            transitions=[
                ClassTransition(
                    class_set=class_set, from_code=move.split(">")[0] or None, to_code=move.split(">")[1], count=count
                )
                for class_set, moves in sorted(progress.transitions.items())
                for move, count in sorted(moves.items())
            ],
        )


@strawberry.input
class ScoringRunInput:
    dry_run: bool = False
    class_sets: list[str] | None = strawberry.field(default=None, description="Default: every class set")
