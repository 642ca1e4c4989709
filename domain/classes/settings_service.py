"""Changing a class set's settings: validate, store a new version (with history), rescore in a run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.auth.principals import Permission, Principal
from domain.classes.settings import current_params, validated_update
from domain.errors import Conflict, NotFound
from domain.runs.models import ScoringRun
from domain.runs.service import ScoringRunService
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
    def __init__(self, workspaces: WorkspaceRepository, runs: ScoringRunService) -> None:
        self._workspaces = workspaces
        self._runs = runs

    async def update(self, principal: Principal, change: ClassSetUpdate) -> tuple[Workspace, ScoringRun | None]:
        """Returns the workspace with its new settings and, when classes can change, the run rescoring it."""
        principal.require(Permission.MANAGE_SETTINGS)
        workspace = await self._workspaces.get(principal.workspace_id)
        if workspace is None:
            raise NotFound("workspace no longer exists")
        current = workspace.class_settings
        updated = validated_update(
            change.class_set,
            current.sets.get(change.class_set) or {},
            _params_in_force(change.class_set, workspace),
            change.params,
            change.labels,
            change.colors,
            change.hysteresis,
        )
        settings = ClassSettings(current.version + 1, {**current.sets, change.class_set: updated})
        saved = await self._workspaces.save_class_settings(
            workspace.id, current.version, settings, change.class_set, principal.user_id, datetime.now(UTC)
        )
        if not saved:
            raise Conflict("the settings changed while this request ran; read them again", code="VERSION_CONFLICT")
        run = None
        if change.params is not None or change.hysteresis is not None:
            # Labels and colours are read at display time; thresholds need every customer rescored.
            run = await self._runs.start(principal, dry_run=False, class_sets=[change.class_set])
        refreshed = await self._workspaces.get(workspace.id)
        assert refreshed is not None
        return refreshed, run


def _params_in_force(key: str, workspace: Workspace) -> dict[str, Any]:
    shown = current_params(key, workspace.scoring_settings)
    shown.pop("hysteresis", None)
    return shown
