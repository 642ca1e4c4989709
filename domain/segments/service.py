"""Segment use cases: preview a rule, save and delete segments, static lists by hand, what a rule change
would do, and a segment's members and timeline.

Viewers read; ops and admins define; a sales key sees only its own customers in any segment. A saved
or changed dynamic rule is applied to the whole workspace by a scoring run that evaluates that segment
in batches (progress, resume and cancel as for any run); from then on every rescore keeps it current.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from domain.auth.principals import Permission, Principal
from domain.clock import Clock
from domain.customers.repository import CustomerRepository
from domain.db import new_id
from domain.errors import Conflict, ErrorCode, InvalidInput, NotFound
from domain.runs.service import ScoringRunService
from domain.segments.membership import SegmentEvaluator, SegmentResolver
from domain.segments.models import (
    MembershipReason,
    Segment,
    SegmentEvent,
    SegmentKind,
)
from domain.segments.repository import MembershipRepository, SegmentRepository
from domain.segments.rule_checks import checked_rule
from domain.workspaces.models import Workspace
from domain.workspaces.repository import WorkspaceRepository
from scoring.catalogue import sensitive_class_sets
from scoring.segment_rules import Rule, referenced_segments
from scoring.segments import evaluate
from scoring.spec import ShortText

MAX_SEGMENTS = 200
MAX_MANUAL_IDS = 500
SAMPLE_SIZE = 10


@dataclass(frozen=True, slots=True)
class Preview:
    count: int
    total: int
    sample_ids: list[str]

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class _Evaluation:
    inside: np.ndarray
    members: np.ndarray  # the segment's members now (all False when none asked)
    ids: list[str]


@dataclass(frozen=True, slots=True)
class ChangePreview:
    entering: Preview
    leaving: Preview
    staying: int


class SegmentService:
    def __init__(
        self,
        segments: SegmentRepository,
        membership: MembershipRepository,
        evaluator: SegmentEvaluator,
        customers: CustomerRepository,
        workspaces: WorkspaceRepository,
        runs: ScoringRunService,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._segments = segments
        self._membership = membership
        self._evaluator = evaluator
        self._customers = customers
        self._workspaces = workspaces
        self._runs = runs

    async def preview(self, principal: Principal, raw_rule: object) -> Preview:
        """Who the rule takes in now, among the customers the caller sees; nothing is saved."""
        principal.require(Permission.READ)
        workspace, every = await self._context(principal)
        rule = checked_rule(principal, raw_rule, every, sensitive_class_sets(workspace.scoring_settings))
        result = await self._verdict(principal, workspace, every, rule)
        chosen = [result.ids[i] for i in np.flatnonzero(result.inside)]
        return Preview(len(chosen), len(result.ids), chosen[:SAMPLE_SIZE])

    async def change_preview(self, principal: Principal, segment_id: str, raw_rule: object) -> ChangePreview:
        """Who would enter and who would leave if the segment's rule became this one; nothing is saved."""
        principal.require(Permission.READ)
        workspace, every = await self._context(principal)
        self._require_segment(every, segment_id)
        rule = checked_rule(principal, raw_rule, every, sensitive_class_sets(workspace.scoring_settings), segment_id)
        result = await self._verdict(principal, workspace, every, rule, members_of=segment_id)
        inside, now_in, ids = result.inside, result.members, result.ids
        entering = [ids[i] for i in np.flatnonzero(inside & ~now_in)]
        leaving = [ids[i] for i in np.flatnonzero(~inside & now_in)]
        return ChangePreview(
            Preview(len(entering), len(ids), entering[:SAMPLE_SIZE]),
            Preview(len(leaving), len(ids), leaving[:SAMPLE_SIZE]),
            int((inside & now_in).sum()),
        )

    async def save(
        self,
        principal: Principal,
        segment_id: str | None,
        name: str,
        kind: SegmentKind,
        raw_rule: object | None,
    ) -> tuple[Segment, str | None]:
        """Create or change a segment; returns it and the run applying a new or changed dynamic rule.

        A STATIC segment given a rule is frozen from it now: today's matches become its members."""
        principal.require(Permission.DEFINE_SEGMENTS)
        workspace, every = await self._context(principal)
        name = _checked_name(name)
        existing = every.get(segment_id) if segment_id else None
        if segment_id and existing is None:
            raise NotFound(f"no segment {segment_id!r}", field="id")
        if existing is None and len(every) >= MAX_SEGMENTS:
            raise InvalidInput.one(None, ErrorCode.TOO_MANY_ITEMS, f"a workspace has at most {MAX_SEGMENTS} segments")
        if kind is SegmentKind.DYNAMIC and raw_rule is None:
            raise InvalidInput.one("rule", ErrorCode.REQUIRED, "a dynamic segment needs a rule")
        sid = existing.id if existing else new_id()
        sensitive = sensitive_class_sets(workspace.scoring_settings)
        rule = checked_rule(principal, raw_rule, every, sensitive, sid) if raw_rule is not None else None
        if existing is not None and existing.kind is not kind:
            raise InvalidInput.one("kind", ErrorCode.NOT_ALLOWED, "a segment keeps its kind; make a new one")
        now = self._clock.now()
        changed_rule = rule is not None and (existing is None or existing.rule != rule)
        version = (existing.rule_version if existing else 0) + (1 if changed_rule or existing is None else 0)
        stored_rule = rule.stored() if rule is not None and kind is SegmentKind.DYNAMIC else None
        if existing is None:
            await self._segments.insert(
                {
                    "_id": sid,
                    "workspace_id": workspace.id,
                    "name": name,
                    "kind": kind.value,
                    "rule": stored_rule,
                    "rule_version": version,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        else:
            fields: dict[str, Any] = {"name": name, "updated_at": now, "rule_version": version}
            if kind is SegmentKind.DYNAMIC:
                fields["rule"] = stored_rule
            await self._segments.update(workspace.id, sid, fields)
        await self._refresh_dynamic_list(workspace.id)
        run_id = None
        if kind is SegmentKind.DYNAMIC and changed_rule:
            reason = MembershipReason.RULE if existing is None else MembershipReason.DEFINITION_CHANGE
            run = await self._runs.start(principal, segment_id=sid, segment_reason=reason)
            run_id = run.id
            await self._segments.update(workspace.id, sid, {"recompute_run_id": run_id})
        elif kind is SegmentKind.STATIC and rule is not None:
            await self._freeze(principal, workspace, every, sid, rule, version, now)
        saved = await self._segments.get(workspace.id, sid)
        assert saved is not None
        return saved, run_id

    async def delete(self, principal: Principal, segment_id: str) -> None:
        principal.require(Permission.DEFINE_SEGMENTS)
        _, every = await self._context(principal)
        self._require_segment(every, segment_id)
        users = sorted(s.name for s in every.values() if s.rule and segment_id in referenced_segments(s.rule))
        if users:
            raise Conflict(f"used by the rules of {', '.join(users)}", field="id", code=ErrorCode.SEGMENT_IN_USE)
        await self._segments.delete(principal.workspace_id, segment_id)
        await self._membership.forget_segment(principal.workspace_id, segment_id)
        await self._refresh_dynamic_list(principal.workspace_id)

    async def add(self, principal: Principal, segment_id: str, customer_ids: Sequence[str]) -> int:
        return await self._manual(principal, segment_id, customer_ids, joins=True)

    async def remove(self, principal: Principal, segment_id: str, customer_ids: Sequence[str]) -> int:
        return await self._manual(principal, segment_id, customer_ids, joins=False)

    async def get(self, principal: Principal, segment_id: str) -> Segment | None:
        principal.require(Permission.READ)
        return await self._segments.get(principal.workspace_id, segment_id)

    async def all(self, principal: Principal) -> list[Segment]:
        principal.require(Permission.READ)
        return await self._segments.all(principal.workspace_id)

    async def count(self, principal: Principal, segment_id: str) -> int:
        principal.require(Permission.READ)
        return await self._membership.count(principal.scope, segment_id)

    async def counts(self, principal: Principal, segment_ids: list[str]) -> dict[str, int]:
        principal.require(Permission.READ)
        return await self._membership.counts(principal.scope, segment_ids)

    async def history(self, principal: Principal, customer_ids: list[str], limit: int) -> dict[str, list[SegmentEvent]]:
        """Joins and leaves, newest first, of customers the caller has already been shown."""
        principal.require(Permission.READ)
        return await self._membership.history(principal.workspace_id, customer_ids, limit)

    async def by_ids(self, principal: Principal, segment_ids: list[str]) -> dict[str, Segment]:
        principal.require(Permission.READ)
        return await self._segments.by_ids(principal.workspace_id, segment_ids)

    async def _manual(self, principal: Principal, segment_id: str, customer_ids: Sequence[str], *, joins: bool) -> int:
        principal.require(Permission.DEFINE_SEGMENTS)
        workspace, every = await self._context(principal)
        segment = self._require_segment(every, segment_id)
        if segment.kind is not SegmentKind.STATIC:
            raise InvalidInput.one("segmentId", ErrorCode.NOT_STATIC, "members are added by hand to static segments")
        if len(customer_ids) > MAX_MANUAL_IDS:
            raise InvalidInput.one("customerIds", ErrorCode.TOO_MANY_ITEMS, f"at most {MAX_MANUAL_IDS} at a time")
        wanted = list(dict.fromkeys(customer_ids))
        found = await self._customers.existing_ids(principal.scope, wanted)
        missing = [cid for cid in wanted if cid not in found]
        if missing:
            raise InvalidInput.one("customerIds", ErrorCode.UNKNOWN_CUSTOMER, f"no customers {missing[:5]}")
        states, _ = await self._membership.load(
            {**principal.scope.query(), "_id": {"$in": wanted}}, [], workspace.currency, self._clock.now()
        )
        return await self._apply(workspace, segment, [s for s in states if (segment.id in s.segments) != joins],
                                 MembershipReason.MANUAL)  # fmt: skip

    async def _freeze(
        self,
        principal: Principal,
        workspace: Workspace,
        every: dict[str, Segment],
        segment_id: str,
        rule: Rule,
        version: int,
        now: datetime,
    ) -> None:
        """A static list takes today's matches of the rule (within the caller's scope) as its members."""
        result = await self._verdict(principal, workspace, every, rule, members_of=segment_id)
        segment = Segment(segment_id, workspace.id, "", SegmentKind.STATIC, None, version, now, now)
        joining = {result.ids[i] for i in np.flatnonzero(result.inside & ~result.members)}
        states, _ = await self._membership.load(
            {**principal.scope.query(), "_id": {"$in": sorted(joining)}}, [], workspace.currency, now
        )
        await self._apply(workspace, segment, states, MembershipReason.RULE)

    async def _apply(
        self, workspace: Workspace, segment: Segment, states: Sequence[Any], reason: MembershipReason
    ) -> int:
        """Each customer's next membership change in the segment (those that must move were picked)."""
        now = self._clock.now()
        numbers = [state.changes.get(segment.id, 0) + 1 for state in states]
        events = [
            SegmentEvent.numbered(
                workspace.id, state.customer_id, state.owner_id, segment.id, number, reason, segment.rule_version, now
            )
            for state, number in zip(states, numbers, strict=True)
        ]
        await self._evaluator.apply(workspace.id, events, numbers)
        return len(events)

    async def _verdict(
        self,
        principal: Principal,
        workspace: Workspace,
        every: dict[str, Segment],
        rule: Rule,
        members_of: str | None = None,
    ) -> _Evaluation:
        """The rule over every customer the caller sees, with ``members_of``'s current members."""
        rules = [rule, *(s.rule for s in every.values() if s.rule is not None)]
        states, frame = await self._membership.load(
            principal.scope.query(), rules, workspace.currency, self._clock.now(), expected=10_000
        )
        members = {sid: np.array([sid in s.segments for s in states], dtype=bool) for sid in every}
        frame = replace(frame, members=members)
        verdict = evaluate(rule, frame, SegmentResolver(every, frame))
        current = members.get(members_of or "", np.zeros(len(states), dtype=bool))
        return _Evaluation(verdict.inside, current, [state.customer_id for state in states])

    async def _context(self, principal: Principal) -> tuple[Workspace, dict[str, Segment]]:
        workspace = await self._workspaces.get(principal.workspace_id)
        if workspace is None:
            raise NotFound("workspace no longer exists")
        return workspace, {segment.id: segment for segment in await self._segments.all(workspace.id)}

    async def _refresh_dynamic_list(self, workspace_id: str) -> None:
        segments = await self._segments.all(workspace_id)
        dynamic = [s.id for s in segments if s.kind is SegmentKind.DYNAMIC]
        await self._workspaces.set_dynamic_segments(workspace_id, dynamic)

    @staticmethod
    def _require_segment(every: dict[str, Segment], segment_id: str) -> Segment:
        segment = every.get(segment_id)
        if segment is None:
            raise NotFound(f"no segment {segment_id!r}", field="segmentId")
        return segment


def _checked_name(name: str) -> str:
    try:
        return str(TypeAdapter(ShortText).validate_python(name))
    except ValidationError:
        raise InvalidInput.one("name", ErrorCode.INVALID_LENGTH, "a name of 1 to 60 characters") from None
