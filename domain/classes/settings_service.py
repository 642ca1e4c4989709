"""Changing a class set's settings: validate, store a new version (with history), rescore in a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.auth.principals import Permission, Principal
from domain.classes.catalogue import class_set
from domain.classes.settings import current_params, validated_update
from domain.clock import Clock
from domain.errors import Conflict, ErrorCode, InvalidInput, NotFound
from domain.runs.models import ScoringRun
from domain.runs.service import ScoringRunService
from domain.segments.sensitivity import SegmentAccess
from domain.workspaces.models import ClassSettings, Workspace
from domain.workspaces.repository import WorkspaceRepository


@dataclass(frozen=True, slots=True)
class ClassSetUpdate:
    class_set: str
    params: dict[str, Any] | None = None
    labels: dict[str, dict[str, str]] | None = None
    colors: dict[str, str] | None = None
    hysteresis: dict[str, Any] | None = None


class ClassSettingsService:
    def __init__(
        self, workspaces: WorkspaceRepository, runs: ScoringRunService, clock: Clock, segments: SegmentAccess
    ) -> None:
        self._segments = segments
        self._clock = clock
        self._workspaces = workspaces
        self._runs = runs

    async def update(
        self, principal: Principal, change: ClassSetUpdate, *, dry_run: bool = False
    ) -> tuple[Workspace, ScoringRun | None]:
        """Returns the workspace with its new settings and, when classes can change, the run rescoring it.

        A change that changes nothing stores no new version. ``dry_run`` saves nothing: the workspace comes
        back as it would be, with a dry scoring run reporting who would move from which code to which."""
        principal.require(Permission.MANAGE_SETTINGS)
        class_set(change.class_set)
        workspace = await self._workspaces.get(principal.workspace_id)
        if workspace is None:
            raise NotFound("workspace no longer exists")
        current = workspace.class_settings
        stored = current.sets.get(change.class_set) or {}
        in_force = current_params(change.class_set, workspace.scoring_settings)
        hysteresis_in_force = in_force.pop("hysteresis", None)
        updated = validated_update(
            change.class_set, stored, in_force, change.params, change.labels, change.colors, change.hysteresis
        )
        await self._check_target_market(workspace.id, change.class_set, updated)
        # Compared with what is in force, so that restating a default is no change either.
        rescores = updated.get("params", in_force) != in_force or (
            updated.get("hysteresis", hysteresis_in_force) != hysteresis_in_force
        )
        relabels = any(updated.get(part) != stored.get(part) for part in ("labels", "colors"))
        if dry_run:
            override = {"class_set": change.class_set, "settings": updated}
            run = (
                await self._runs.start(
                    principal, dry_run=True, class_sets=[change.class_set], settings_override=override
                )
                if rescores
                else None
            )
            return workspace.with_class_set(change.class_set, updated), run
        if not rescores and not relabels:
            return workspace, None
        settings = ClassSettings(current.version + 1, {**current.sets, change.class_set: updated})
        saved = await self._workspaces.save_class_settings(
            workspace.id, current.version, settings, change.class_set, principal.user_id, self._clock.now()
        )
        if not saved:
            raise Conflict(
                "the settings changed while this request ran; read them again", code=ErrorCode.VERSION_CONFLICT
            )
        run = None
        if rescores:
            run = await self._runs.start(principal, dry_run=False, class_sets=[change.class_set])
        refreshed = await self._workspaces.get(workspace.id)
        assert refreshed is not None
        return refreshed, run

    async def _check_target_market(self, workspace_id: str, key: str, updated: dict[str, Any]) -> None:
        """A segment read from personal details cannot be the target market: market_fit is shown to every
        role, so it would show them who is in it (an age range in market_fit's own rule is sensitive
        instead, and hidden from those roles)."""
        target = (updated.get("params") or {}).get("segment") if key == "market_fit" else None
        if target is not None and target in await self._segments.sensitive(workspace_id):
            raise InvalidInput.one(
                "params.segment",
                ErrorCode.NOT_ALLOWED,
                "this segment is read from personal details; as the target market it would show them to every "
                "role through market_fit: use market_fit's own age range instead",
            )
