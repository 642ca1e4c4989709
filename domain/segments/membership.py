"""Keeping dynamic segments' membership current: evaluate some customers against the workspace's
dynamic segments, write who joined and left, publish it, and schedule the moment time alone would move
someone (a qualifying order leaving "the last 90 days", a birthday month turning)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from domain.auth.principals import Principal
from domain.ports import SegmentEventPublisher
from domain.segments.models import (
    MembershipChange,
    MembershipReason,
    Segment,
    SegmentEvent,
    SegmentKind,
)
from domain.segments.repository import MembershipRepository, MemberState, SegmentRepository
from domain.segments.sensitivity import SegmentAccess, sensitive_segments
from domain.workspaces.models import Workspace
from domain.workspaces.repository import WorkspaceRepository
from scoring.catalogue import sensitive_class_sets
from scoring.segments import SegmentFrame, Verdict, evaluate


@dataclass(frozen=True, slots=True)
class MembershipOutcome:
    evaluated: int = 0
    events: list[SegmentEvent] = field(default_factory=list)

    @property
    def transitions(self) -> dict[str, dict[str, int]]:
        """Per segment, how many joined ("out>in") and left ("in>out"), as a scoring run counts moves."""
        counts: dict[str, dict[str, int]] = {}
        for event in self.events:
            per = counts.setdefault(f"segment:{event.segment_id}", {})
            move = "out>in" if event.change is MembershipChange.JOINED else "in>out"
            per[move] = per.get(move, 0) + 1
        return counts


class SegmentEvaluator:
    def __init__(
        self,
        segments: SegmentRepository,
        membership: MembershipRepository,
        publisher: SegmentEventPublisher,
        workspaces: WorkspaceRepository | None = None,
    ) -> None:
        self._segments = segments
        self._membership = membership
        self._publisher = publisher
        self._access = SegmentAccess(segments, workspaces)

    async def require_readable(self, principal: Principal, segment_id: str, field: str) -> None:
        """FORBIDDEN when the segment reads a personal detail the caller may not read (as a filter, say)."""
        await self._access.require_readable(principal, segment_id, field)

    async def evaluate(
        self,
        workspace: Workspace,
        query: dict[str, Any],
        now: datetime,
        *,
        reason: MembershipReason = MembershipReason.RULE,
        only: Sequence[str] | None = None,
        expected: int = 1000,
    ) -> MembershipOutcome:
        """The customers matching ``query`` against the workspace's dynamic segments (or ``only`` these)."""
        if not workspace.dynamic_segments and only is None:
            return MembershipOutcome()
        every = {segment.id: segment for segment in await self._segments.all(workspace.id)}
        targets = [
            segment
            for segment in every.values()
            if segment.kind is SegmentKind.DYNAMIC and segment.rule is not None and (only is None or segment.id in only)
        ]
        if not targets:
            return MembershipOutcome()
        rules = [segment.rule for segment in every.values() if segment.rule is not None]
        states, frame = await self._membership.load(
            {"workspace_id": workspace.id, **query}, rules, workspace.currency, now, expected=expected
        )
        await self._deliver([event for state in states for event in state.pending])
        frame = replace(frame, members={sid: _members(states, sid) for sid in every})
        verdicts = SegmentResolver(every, frame)
        sensitive = sensitive_segments(every, sensitive_class_sets(workspace.scoring_settings))
        events: list[SegmentEvent] = []
        numbers: list[int] = []
        due = np.full(len(states), np.nan)
        for segment in targets:
            verdict = verdicts(segment.id, frame)
            due = np.fmin(due, verdict.next_change_at)
            for i in np.flatnonzero(verdict.inside != frame.members[segment.id]):
                event, number = _change(workspace.id, states[i], segment, reason, now, segment.id in sensitive)
                events.append(event)
                numbers.append(number)
        scheduled = {
            states[i].customer_id: datetime.fromtimestamp(float(due[i]), UTC)
            for i in np.flatnonzero(~np.isnan(due))
            if not math.isinf(float(due[i]))
        }
        await self._membership.change(workspace.id, events, numbers, scheduled)
        await self._publisher.publish_segment_events(events)
        return MembershipOutcome(len(states), events)

    async def apply(self, workspace_id: str, events: list[SegmentEvent], numbers: list[int]) -> None:
        """Changes decided elsewhere (by hand, a frozen rule): written, recorded and published alike."""
        await self._membership.change(workspace_id, events, numbers, {})
        await self._publisher.publish_segment_events(events)

    async def customer_deleted(self, workspace_id: str, deleted: MemberState, now: datetime) -> None:
        """A deleted customer leaves every segment it was in (its timeline stays)."""
        sensitive = await self._access.sensitive(workspace_id) if deleted.segments else frozenset()
        events = [
            SegmentEvent.numbered(
                workspace_id,
                deleted.customer_id,
                deleted.owner_id,
                segment_id,
                deleted.changes.get(segment_id, 0) + 1,
                MembershipReason.CUSTOMER_DELETED,
                0,
                now,
                sensitive=segment_id in sensitive,
            )
            for segment_id in sorted(deleted.segments)
        ]
        # Changes whose events were not yet recorded when it was deleted come first.
        events = [*deleted.pending, *events]
        await self._membership.record_only(events)
        await self._publisher.publish_segment_events(events)

    async def _deliver(self, pending: list[SegmentEvent]) -> None:
        if pending:
            numbers = [int(event.id.rsplit(":", 1)[1]) for event in pending]
            await self._membership.record(pending[0].workspace_id, pending, numbers)
            await self._publisher.publish_segment_events(pending)


class SegmentResolver:
    """A segment's verdict on the frame: a dynamic one by its rule (each evaluated once), a static one
    by its stored members. Rules are checked for cycles when saved."""

    def __init__(self, segments: dict[str, Segment], frame: SegmentFrame) -> None:
        self._segments = segments
        self._frame = frame
        self._done: dict[str, Verdict] = {}

    def __call__(self, segment_id: str, frame: SegmentFrame) -> Verdict:
        if segment_id not in self._done:
            segment = self._segments.get(segment_id)
            if segment is None or segment.rule is None or segment.kind is SegmentKind.STATIC:
                stored = frame.members.get(segment_id, np.zeros(len(frame), dtype=bool))
                self._done[segment_id] = Verdict(stored, np.full(len(frame), np.nan))
            else:
                self._done[segment_id] = evaluate(segment.rule, frame, self)
        return self._done[segment_id]


def _members(states: list[MemberState], segment_id: str) -> np.ndarray:
    return np.array([segment_id in state.segments for state in states], dtype=bool)


def _change(
    workspace_id: str, state: MemberState, segment: Segment, reason: MembershipReason, now: datetime, sensitive: bool
) -> tuple[SegmentEvent, int]:
    number = state.changes.get(segment.id, 0) + 1
    event = SegmentEvent.numbered(
        workspace_id,
        state.customer_id,
        state.owner_id,
        segment.id,
        number,
        reason,
        segment.rule_version,
        now,
        sensitive=sensitive,
    )
    return event, number
