"""Where a workspace's trained conversion model is kept: one document per workspace, apart from the
workspace document that every request reads (a model is a few hundred kilobytes to a few megabytes)."""

from __future__ import annotations

import pickle
from datetime import datetime

from bson import Binary

from domain.db import Database
from domain.workspaces.models import Workspace
from scoring.conversion_data import ConversionScorer


class ConversionModelRepository:
    def __init__(self, db: Database) -> None:
        self._models = db.conversion_models
        # The model each workspace had when last loaded, so a rescore reads and unpickles it once per
        # training, not once per batch. Held by the services built at start-up, never process-global.
        self._loaded: dict[str, tuple[datetime, ConversionScorer]] = {}

    async def save(self, workspace_id: str, trained_at: datetime, scorer: ConversionScorer) -> None:
        """Stored before the workspace document names ``trained_at``, so a rescore that sees it finds it."""
        document = {"_id": workspace_id, "trained_at": trained_at, "model": Binary(pickle.dumps(scorer))}
        await self._models.replace_one({"_id": workspace_id}, document, upsert=True)

    async def scorer_for(self, workspace: Workspace) -> ConversionScorer | None:
        info = workspace.conversion
        if info is None:
            return None
        loaded = self._loaded.get(workspace.id)
        if loaded is not None and loaded[0] == info.trained_at:
            return loaded[1]
        document = await self._models.find_one({"_id": workspace.id})
        if document is None:
            return None
        # Only the training job writes these documents: reading one back trusts the database as much as
        # everything else stored in it does.
        scorer: ConversionScorer = pickle.loads(document["model"])
        self._loaded[workspace.id] = (info.trained_at, scorer)
        return scorer
