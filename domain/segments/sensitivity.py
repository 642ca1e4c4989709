"""Which segments read a personal detail: those whose rule (or the rule a static list was frozen from)
reads one, directly or through any segment it references, under the workspace's settings at the time
of asking. Such a segment is sensitive as a whole: its rule, members, counts and events would reveal the
detail to a role that may not read it.

``SegmentAccess`` answers it for a caller: the segments it may not read, read from MongoDB only for a
role without READ_SENSITIVE.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.auth.principals import Permission, Principal
from domain.errors import Forbidden
from domain.segments.models import Segment
from domain.segments.repository import SegmentRepository
from domain.workspaces.repository import WorkspaceRepository
from scoring.catalogue import ScoringSettings, sensitive_class_sets
from scoring.segment_rules import reads_personal_details, referenced_segments

HIDDEN_MESSAGE = "this segment is read from personal details this role may not read"


def sensitive_segments(segments: Mapping[str, Segment], sensitive_sets: frozenset[str]) -> frozenset[str]:
    """The ids among ``segments`` that read a personal detail. A reference to a segment not among them
    counts as one: only a static list frozen from a rule can hold one (a segment a dynamic rule uses is
    never deleted), and what the deleted segment read is no longer known."""
    decided: dict[str, bool] = {}

    def sensitive(segment_id: str, trail: frozenset[str]) -> bool:
        if segment_id not in segments:
            return True
        if segment_id not in decided:
            rule = segments[segment_id].defining_rule
            # Cycles are refused when saved; the trail keeps a stored one (an old bug, a race) finite.
            decided[segment_id] = rule is not None and (
                reads_personal_details(rule, sensitive_sets)
                or any(sensitive(ref, trail | {segment_id}) for ref in referenced_segments(rule) - trail)
            )
        return decided[segment_id]

    return frozenset(segment_id for segment_id in segments if sensitive(segment_id, frozenset()))


def hidden_from(principal: Principal, segments: Mapping[str, Segment], settings: ScoringSettings) -> frozenset[str]:
    """The segments among ``segments`` the caller may not read."""
    if principal.can(Permission.READ_SENSITIVE):
        return frozenset()
    return sensitive_segments(segments, sensitive_class_sets(settings))


class SegmentAccess:
    def __init__(self, segments: SegmentRepository, workspaces: WorkspaceRepository | None) -> None:
        self._segments = segments
        self._workspaces = workspaces

    async def sensitive(self, workspace_id: str) -> frozenset[str]:
        """Every segment of the workspace that reads a personal detail now (two reads)."""
        every = {segment.id: segment for segment in await self._segments.all(workspace_id)}
        if not every:
            return frozenset()
        return sensitive_segments(every, sensitive_class_sets(await self._settings(workspace_id)))

    async def hidden(self, principal: Principal) -> frozenset[str]:
        """The workspace's segments the caller may not read (nothing read for a role that may read all)."""
        if principal.can(Permission.READ_SENSITIVE):
            return frozenset()
        return await self.sensitive(principal.workspace_id)

    async def require_readable(self, principal: Principal, segment_id: str, field: str) -> None:
        if segment_id in await self.hidden(principal):
            raise Forbidden(HIDDEN_MESSAGE, field=field)

    async def _settings(self, workspace_id: str) -> ScoringSettings:
        workspace = await self._workspaces.get(workspace_id) if self._workspaces else None
        # Without the workspace (a bare evaluator in a test), the class sets' defaults decide.
        return workspace.scoring_settings if workspace else ScoringSettings()
