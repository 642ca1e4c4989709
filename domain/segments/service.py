"""Segment use cases: preview a rule, save and delete segments, static lists by hand, what a rule change
would do, and a segment's members and timeline.

Viewers read; ops and admins define; a sales key sees only its own customers in any segment. A segment
read from a personal detail (see sensitivity.py) is not shown to, used by or changed by a role that may
not read it. A saved or changed dynamic rule is applied to the whole workspace by a scoring run that
evaluates that segment in batches (progress, resume and cancel as for any run); from then on every
rescore keeps it current. A save is written with the work it still owes (that run, or freezing a static
list) and then does it: whatever dies in between, the retried save or the sweeper finishes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from domain.auth.principals import CustomerScope, Permission, Principal
from domain.clock import Clock
from domain.customers.repository import CustomerRepository
from domain.db import fingerprint, new_id
from domain.errors import Conflict, DuplicateExternalId, ErrorCode, Forbidden, InvalidInput, NotFound
from domain.runs.service import ScoringRunService
from domain.segments.costs import preview_cost, require_within_budget
from domain.segments.membership import SegmentEvaluator, SegmentResolver
from domain.segments.models import (
    MembershipReason,
    PendingWork,
    Segment,
    SegmentEvent,
    SegmentKind,
)
from domain.segments.repository import MembershipRepository, SegmentRepository
from domain.segments.rule_checks import checked_rule, parsed_rule
from domain.segments.sensitivity import HIDDEN_MESSAGE, SegmentAccess, hidden_from, sensitive_segments
from domain.workspaces.models import Workspace
from domain.workspaces.repository import WorkspaceRepository
from scoring.catalogue import sensitive_class_sets
from scoring.segment_rules import Rule, referenced_segments
from scoring.segments import evaluate
from scoring.spec import ShortText

MAX_SEGMENTS = 200
MAX_MANUAL_IDS = 500
SAMPLE_SIZE = 10
FREEZE_CHUNK = 1000
# A save's unfinished work is the request's own for this long; after it, the sweeper's.
PENDING_GRACE = timedelta(minutes=1)

# Takes a preview's cost from the caller's allowance before the customers are read (raises to refuse).
type Charge = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Preview:
    count: int
    total: int
    sample_ids: list[str]
    cost: int = 0  # what it was charged

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
    cost: int = 0


@dataclass(frozen=True, slots=True)
class Saved:
    segment: Segment
    run_id: str | None  # the run applying its rule, when this save (or the one it retries) started one
    created: bool  # False: a retried create, answered with what the first one made


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
        self._access = SegmentAccess(segments, workspaces)

    async def preview(self, principal: Principal, raw_rule: object, charge: Charge | None = None) -> Preview:
        """Who the rule takes in now, among the customers the caller sees; nothing is saved. Only the
        segments the rule references (transitively) are read and evaluated."""
        principal.require(Permission.READ)
        rule = parsed_rule(raw_rule)
        require_within_budget(preview_cost(rule, {}))  # before any read
        workspace = await self._workspace(principal.workspace_id)
        segments = await self._segments.with_references(workspace.id, referenced_segments(rule))
        rule = self._checked(principal, workspace, rule, segments)
        cost = await self._charged(rule, segments, charge)
        result = await self._verdict(principal, workspace, segments, rule)
        chosen = [result.ids[i] for i in np.flatnonzero(result.inside)]
        return Preview(len(chosen), len(result.ids), chosen[:SAMPLE_SIZE], cost)

    async def change_preview(
        self, principal: Principal, segment_id: str, raw_rule: object, charge: Charge | None = None
    ) -> ChangePreview:
        """Who would enter and who would leave if the segment's rule became this one; nothing is saved."""
        principal.require(Permission.READ)
        rule = parsed_rule(raw_rule)
        require_within_budget(preview_cost(rule, {}))
        workspace = await self._workspace(principal.workspace_id)
        segments = await self._segments.with_references(workspace.id, referenced_segments(rule) | {segment_id})
        self._require_readable(principal, workspace, segments, segment_id, "id")
        rule = self._checked(principal, workspace, rule, segments, segment_id)
        cost = await self._charged(rule, segments, charge)
        result = await self._verdict(principal, workspace, segments, rule, members_of=segment_id)
        inside, now_in, ids = result.inside, result.members, result.ids
        entering = [ids[i] for i in np.flatnonzero(inside & ~now_in)]
        leaving = [ids[i] for i in np.flatnonzero(~inside & now_in)]
        return ChangePreview(
            Preview(len(entering), len(ids), entering[:SAMPLE_SIZE]),
            Preview(len(leaving), len(ids), leaving[:SAMPLE_SIZE]),
            int((inside & now_in).sum()),
            cost,
        )

    async def save(
        self,
        principal: Principal,
        segment_id: str | None,
        name: str,
        kind: SegmentKind,
        raw_rule: object | None,
        external_id: str | None = None,
    ) -> Saved:
        """Create or change a segment, with the run applying a new or changed dynamic rule. A STATIC
        segment given a rule is frozen from it now: today's matches become its members.

        Idempotent on ``external_id``: a create retried with the same content returns the segment and
        run the first made (finishing what it left undone); other content is DUPLICATE_EXTERNAL_ID."""
        principal.require(Permission.DEFINE_SEGMENTS)
        name = _checked_name(name)
        rule = parsed_rule(raw_rule) if raw_rule is not None else None
        if kind is SegmentKind.DYNAMIC and rule is None:
            raise InvalidInput.one("rule", ErrorCode.REQUIRED, "a dynamic segment needs a rule")
        workspace, every = await self._context(principal)
        existing = self._require_segment(every, segment_id, "id") if segment_id else None
        hidden = hidden_from(principal, every, workspace.scoring_settings)
        if existing is not None:
            self._require_readable(principal, workspace, every, existing.id, "id")
        sid = existing.id if existing else new_id()
        if rule is not None:
            sensitive_sets = sensitive_class_sets(workspace.scoring_settings)
            rule = checked_rule(principal, rule, every, sensitive_sets, hidden, sid)
        if existing is not None:
            _check_unchanged(existing, kind, external_id)
            dynamic = kind is SegmentKind.DYNAMIC
            _check_target_market(
                workspace,
                every,
                replace(existing, rule=rule if dynamic else None, frozen_rule=None if dynamic else rule),
            )
        content = fingerprint({"name": name, "kind": kind.value, "rule": rule.stored() if rule else None})
        retried = next((s for s in every.values() if external_id and s.external_id == external_id), None)
        if existing is None and retried is not None:
            return await self._again(workspace, retried, content, hidden)
        if existing is None and len(every) >= MAX_SEGMENTS:
            raise InvalidInput.one(None, ErrorCode.TOO_MANY_ITEMS, f"a workspace has at most {MAX_SEGMENTS} segments")
        now = self._clock.now()
        changed_rule = rule is not None and (existing is None or existing.defining_rule != rule)
        version = (existing.rule_version if existing else 0) + (1 if changed_rule or existing is None else 0)
        pending = _owed(kind, rule, changed_rule, existing is None, now)
        fields: dict[str, Any] = {"name": name, "updated_at": now, "rule_version": version}
        if rule is not None:
            fields["rule" if kind is SegmentKind.DYNAMIC else "frozen_rule"] = rule.stored()
        if pending is not None:
            fields["pending"] = pending.to_document()
        if existing is not None:
            changed = await self._segments.update(workspace.id, sid, fields)
            if changed is None:
                raise NotFound(f"no segment {sid!r}", field="id")
            return await self._finished(workspace, changed, created=False)
        document = {"_id": sid, "workspace_id": workspace.id, "kind": kind.value, "created_at": now, **fields}
        if external_id is not None:
            document |= {"external_id": external_id, "request_hash": content}
        try:
            stored, created = await self._segments.insert(document)
        except DuplicateExternalId as error:
            raise error.field_errors("externalId") from None
        return await self._finished(workspace, stored, created=created)

    async def finish_stalled_saves(self, now: datetime) -> int:
        """For the sweeper: saves that wrote their segment but not the work it owes (their request died
        mid-way, and was not retried) get it done; returns how many."""
        stalled = await self._segments.pending_since(now - PENDING_GRACE)
        for segment in stalled:
            workspace = await self._workspaces.get(segment.workspace_id)
            if workspace is not None:
                await self._finish(workspace, segment)
        return len(stalled)

    async def delete(self, principal: Principal, segment_id: str) -> None:
        principal.require(Permission.DEFINE_SEGMENTS)
        workspace, every = await self._context(principal)
        self._require_segment(every, segment_id, "id")
        self._require_readable(principal, workspace, every, segment_id, "id")
        users = [s for s in every.values() if s.rule and segment_id in referenced_segments(s.rule)]
        if users:
            hidden = hidden_from(principal, every, workspace.scoring_settings)
            named = sorted(s.name for s in users if s.id not in hidden)
            unnamed = len(users) - len(named)
            message = ", ".join(named + ([f"{unnamed} read from personal details"] if unnamed else []))
            raise Conflict(f"used by the rules of {message}", field="id", code=ErrorCode.SEGMENT_IN_USE)
        await self._segments.delete(principal.workspace_id, segment_id)
        await self._membership.forget_segment(principal.workspace_id, segment_id)
        await self._refresh_dynamic_list(principal.workspace_id)

    async def add(self, principal: Principal, segment_id: str, customer_ids: Sequence[str]) -> int:
        return await self._manual(principal, segment_id, customer_ids, joins=True)

    async def remove(self, principal: Principal, segment_id: str, customer_ids: Sequence[str]) -> int:
        return await self._manual(principal, segment_id, customer_ids, joins=False)

    async def get(self, principal: Principal, segment_id: str) -> Segment | None:
        principal.require(Permission.READ)
        segment = await self._segments.get(principal.workspace_id, segment_id)
        if segment is not None:
            await self._access.require_readable(principal, segment.id, "id")
        return segment

    async def all(self, principal: Principal) -> list[Segment]:
        """The segments the caller may read; those read from personal details are not listed to others."""
        principal.require(Permission.READ)
        every = await self._segments.all(principal.workspace_id)
        if principal.can(Permission.READ_SENSITIVE) or not every:
            return every
        workspace = await self._workspace(principal.workspace_id)
        hidden = hidden_from(principal, {s.id: s for s in every}, workspace.scoring_settings)
        return [segment for segment in every if segment.id not in hidden]

    async def count(self, principal: Principal, segment_id: str) -> int:
        principal.require(Permission.READ)
        await self._access.require_readable(principal, segment_id, "segmentId")
        return await self._membership.count(principal.scope, segment_id)

    async def counts(self, principal: Principal, segment_ids: list[str]) -> dict[str, int]:
        """Of segments the caller was shown (so, may read)."""
        principal.require(Permission.READ)
        return await self._membership.counts(principal.scope, segment_ids)

    async def history(self, principal: Principal, customer_ids: list[str], limit: int) -> dict[str, list[SegmentEvent]]:
        """Joins and leaves, newest first, of customers the caller has already been shown; a role that may
        not read personal details gets none of a segment read from one, nor any decided while it was."""
        principal.require(Permission.READ)
        hiding = None if principal.can(Permission.READ_SENSITIVE) else await self._access.hidden(principal)
        return await self._membership.history(principal.workspace_id, customer_ids, limit, hiding)

    async def by_ids(self, principal: Principal, segment_ids: list[str]) -> dict[str, Segment]:
        """Those the caller may read (a customer's segments)."""
        principal.require(Permission.READ)
        found = await self._segments.by_ids(principal.workspace_id, segment_ids)
        hidden = await self._access.hidden(principal) if found else frozenset()
        return {segment_id: segment for segment_id, segment in found.items() if segment_id not in hidden}

    async def _manual(self, principal: Principal, segment_id: str, customer_ids: Sequence[str], *, joins: bool) -> int:
        principal.require(Permission.DEFINE_SEGMENTS)
        workspace, every = await self._context(principal)
        segment = self._require_segment(every, segment_id, "segmentId")
        self._require_readable(principal, workspace, every, segment_id, "segmentId")
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
        moving = [s for s in states if (segment.id in s.segments) != joins]
        sensitive = segment.id in sensitive_segments(every, sensitive_class_sets(workspace.scoring_settings))
        return await self._apply(workspace, segment, moving, MembershipReason.MANUAL, sensitive)

    async def _again(self, workspace: Workspace, stored: Segment, content: str, hidden: frozenset[str]) -> Saved:
        """A create retried: the segment it made, its unfinished work done; other content is refused."""
        if stored.request_hash != content or stored.id in hidden:
            raise DuplicateExternalId().field_errors("externalId")
        saved = await self._finished(workspace, stored, created=False)
        return replace(saved, run_id=saved.run_id or saved.segment.recompute_run_id)

    async def _finished(self, workspace: Workspace, segment: Segment, *, created: bool) -> Saved:
        run_id = await self._finish(workspace, segment)
        stored = await self._segments.get(workspace.id, segment.id)
        if stored is None:
            raise NotFound(f"no segment {segment.id!r}", field="id")
        return Saved(stored, run_id, created)

    async def _finish(self, workspace: Workspace, segment: Segment) -> str | None:
        """The work the segment's last save owes, done (each step may run twice); returns the run."""
        owed = segment.pending
        if owed is None:
            return None
        await self._refresh_dynamic_list(workspace.id)
        if owed.reason is not None:
            await self._runs.start_segment_run(workspace.id, owed.id, segment.id, owed.reason.value)
        elif segment.frozen_rule is not None:
            await self._freeze(workspace, segment, segment.frozen_rule)
        await self._segments.settle(workspace.id, segment.id, owed.id, owed.run_id)
        return owed.run_id

    async def _freeze(self, workspace: Workspace, segment: Segment, rule: Rule) -> None:
        """A static list takes today's matches of the rule as its members (only those not in yet: doing it
        again adds nobody). Those who define segments see the whole workspace."""
        segments = await self._segments.with_references(workspace.id, referenced_segments(rule))
        scope = CustomerScope(workspace.id)
        result = await self._evaluate(scope, False, workspace, segments, rule, segment.id)
        joining = sorted({result.ids[i] for i in np.flatnonzero(result.inside & ~result.members)})
        settings = workspace.scoring_settings
        sensitive = segment.id in sensitive_segments({**segments, segment.id: segment}, sensitive_class_sets(settings))
        # A chunk of members at a time: no command holds a list that grows with the workspace.
        for start in range(0, len(joining), FREEZE_CHUNK):
            chunk = joining[start : start + FREEZE_CHUNK]
            states, _ = await self._membership.load(
                {**scope.query(), "_id": {"$in": chunk}}, [], workspace.currency, self._clock.now()
            )
            await self._apply(workspace, segment, states, MembershipReason.RULE, sensitive)

    async def _apply(
        self, workspace: Workspace, segment: Segment, states: Sequence[Any], reason: MembershipReason, sensitive: bool
    ) -> int:
        """Each customer's next membership change in the segment (those that must move were picked)."""
        now = self._clock.now()
        numbers = [state.changes.get(segment.id, 0) + 1 for state in states]
        events = [
            SegmentEvent.numbered(
                workspace.id,
                state.customer_id,
                state.owner_id,
                segment.id,
                number,
                reason,
                segment.rule_version,
                now,
                sensitive=sensitive,
            )
            for state, number in zip(states, numbers, strict=True)
        ]
        await self._evaluator.apply(workspace.id, events, numbers)
        return len(events)

    def _checked(
        self,
        principal: Principal,
        workspace: Workspace,
        rule: Rule,
        segments: Mapping[str, Segment],
        segment_id: str | None = None,
    ) -> Rule:
        settings = workspace.scoring_settings
        hidden = hidden_from(principal, segments, settings)
        return checked_rule(principal, rule, segments, sensitive_class_sets(settings), hidden, segment_id)

    @staticmethod
    async def _charged(rule: Rule, segments: Mapping[str, Segment], charge: Charge | None) -> int:
        cost = preview_cost(rule, segments)
        require_within_budget(cost)
        if charge is not None:
            await charge(cost)
        return cost

    async def _verdict(
        self,
        principal: Principal,
        workspace: Workspace,
        segments: Mapping[str, Segment],
        rule: Rule,
        members_of: str | None = None,
    ) -> _Evaluation:
        hide = not principal.can(Permission.READ_SENSITIVE)
        return await self._evaluate(principal.scope, hide, workspace, segments, rule, members_of)

    async def _evaluate(
        self,
        scope: CustomerScope,
        hide_personal: bool,
        workspace: Workspace,
        segments: Mapping[str, Segment],
        rule: Rule,
        members_of: str | None,
    ) -> _Evaluation:
        """The rule over every customer of ``scope``, with ``members_of``'s current members; ``segments``
        hold those it references, transitively (no other is read or evaluated)."""
        rules = [rule, *(s.rule for s in segments.values() if s.kind is SegmentKind.DYNAMIC and s.rule is not None)]
        states, frame = await self._membership.load(
            scope.query(), rules, workspace.currency, self._clock.now(), expected=10_000, hide_personal=hide_personal
        )
        ids = {*segments, *([members_of] if members_of else [])}
        members = {sid: np.array([sid in s.segments for s in states], dtype=bool) for sid in ids}
        frame = replace(frame, members=members)
        verdict = evaluate(rule, frame, SegmentResolver(dict(segments), frame))
        current = members.get(members_of or "", np.zeros(len(states), dtype=bool))
        return _Evaluation(verdict.inside, current, [state.customer_id for state in states])

    async def _workspace(self, workspace_id: str) -> Workspace:
        workspace = await self._workspaces.get(workspace_id)
        if workspace is None:
            raise NotFound("workspace no longer exists")
        return workspace

    async def _context(self, principal: Principal) -> tuple[Workspace, dict[str, Segment]]:
        workspace = await self._workspace(principal.workspace_id)
        return workspace, {segment.id: segment for segment in await self._segments.all(workspace.id)}

    async def _refresh_dynamic_list(self, workspace_id: str) -> None:
        segments = await self._segments.all(workspace_id)
        dynamic = [s.id for s in segments if s.kind is SegmentKind.DYNAMIC]
        await self._workspaces.set_dynamic_segments(workspace_id, dynamic)

    @staticmethod
    def _require_segment(every: Mapping[str, Segment], segment_id: str, field: str) -> Segment:
        segment = every.get(segment_id)
        if segment is None:
            raise NotFound(f"no segment {segment_id!r}", field=field)
        return segment

    @staticmethod
    def _require_readable(
        principal: Principal, workspace: Workspace, segments: Mapping[str, Segment], segment_id: str, field: str
    ) -> None:
        """``segments`` hold the segment and those it references, transitively."""
        if segment_id not in segments:
            raise NotFound(f"no segment {segment_id!r}", field=field)
        if segment_id in hidden_from(principal, segments, workspace.scoring_settings):
            raise Forbidden(HIDDEN_MESSAGE, field=field)


def _owed(kind: SegmentKind, rule: Rule | None, changed_rule: bool, new: bool, now: datetime) -> PendingWork | None:
    """What a save must do once written: a run for a new or changed dynamic rule (its id chosen now), or
    freezing a static list given a rule."""
    if kind is SegmentKind.DYNAMIC and changed_rule:
        reason = MembershipReason.RULE if new else MembershipReason.DEFINITION_CHANGE
        return PendingWork(new_id(), now, reason)
    if kind is SegmentKind.STATIC and rule is not None:
        return PendingWork(new_id(), now)
    return None


def _check_unchanged(existing: Segment, kind: SegmentKind, external_id: str | None) -> None:
    if existing.kind is not kind:
        raise InvalidInput.one("kind", ErrorCode.NOT_ALLOWED, "a segment keeps its kind; make a new one")
    if external_id is not None and external_id != existing.external_id:
        raise InvalidInput.one("externalId", ErrorCode.NOT_ALLOWED, "a segment keeps the external id it was made with")


def _check_target_market(workspace: Workspace, every: Mapping[str, Segment], changed: Segment) -> None:
    """The market-fit target may not come to read personal details (see ClassSettingsService): market_fit is
    shown to every role, so it would show who is in it."""
    target = workspace.scoring_settings.market_fit.segment
    if target is None or changed.defining_rule is None:
        return
    sets = sensitive_class_sets(workspace.scoring_settings)
    if target in sensitive_segments({**every, changed.id: changed}, sets):
        raise InvalidInput.one(
            "rule",
            ErrorCode.NOT_ALLOWED,
            "this rule would make the target market (market_fit's segment) read personal details, which "
            "market_fit would then show to every role",
        )


def _checked_name(name: str) -> str:
    try:
        return str(TypeAdapter(ShortText).validate_python(name))
    except ValidationError:
        raise InvalidInput.one("name", ErrorCode.INVALID_LENGTH, "a name of 1 to 60 characters") from None
