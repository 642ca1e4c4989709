"""Where a workspace's trained conversion model is kept, and how a rescore gets it back.

The model is a skops file (``ConversionScorer.to_bytes``): loading one builds only types named in
advance, so whoever can write the database (or the dev stack's snapshot of it) cannot run code on the
workers through it. Files live in the GridFS bucket ``conversion_models``, so a model may be any size;
one small document per workspace in the ``conversion_models`` collection points at the file in force,
with the library versions that wrote it. A new model is uploaded whole, then the pointer is switched in
one write, then older files are deleted: a rescore never finds a half-written model, and one that read
the previous pointer just before a switch and finds its file gone reads the pointer again.

A model is applied only by the scikit-learn version that saved it (another version may give the same
attributes another meaning); otherwise, or when its file is refused, the lead tier stays on rules as if
there were no model, and ``problem`` says why. Documents of the old format (a pickle inside the pointer
document) are never read: such a workspace is on rules until its next training replaces them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import Any

from bson import ObjectId
from gridfs import AsyncGridFSBucket
from gridfs.errors import CorruptGridFile, NoFile
from pymongo.errors import DuplicateKeyError

from domain.db import Database
from domain.timestamps import aware
from domain.workspaces.models import Workspace
from scoring.conversion_data import ConversionScorer

log = logging.getLogger(__name__)

FORMAT = "skops"
# Recorded beside every model; the first must match for it to be applied.
LIBRARIES = ("scikit-learn", "numpy", "scipy", "skops")
OLD_FORMAT = (
    "stored in the old format, which is no longer read (loading it could run code); the next training replaces it"
)
MISSING = "the model file is missing; the next training stores it again"


def installed_libraries() -> dict[str, str]:
    return {name: metadata.version(name) for name in LIBRARIES}


@dataclass(frozen=True, slots=True)
class StoredModel:
    """What a workspace's pointer document says about its model in force."""

    file_id: ObjectId | None  # None: a document of the old format
    trained_at: datetime | None
    libraries: dict[str, str]
    refused: str | None  # why a worker refused the file

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> StoredModel:
        return cls(
            document.get("file_id"),
            aware(document.get("trained_at")),
            dict(document.get("libraries") or {}),
            document.get("refused"),
        )

    def problem(self, installed: Mapping[str, str]) -> str | None:
        """Why this model is not applied here (None: it is)."""
        if self.file_id is None:
            return OLD_FORMAT
        if self.refused:
            return self.refused
        saved, here = self.libraries.get("scikit-learn"), installed["scikit-learn"]
        if saved != here:
            return f"saved by scikit-learn {saved}, this installation has {here}; the next training replaces it"
        return None


class ConversionModelRepository:
    def __init__(self, db: Database) -> None:
        self._pointers = db.conversion_models
        self._files = AsyncGridFSBucket(db.db, bucket_name="conversion_models")
        self._installed = installed_libraries()
        # The model each workspace had when last loaded (None: not applicable), so a rescore reads and
        # loads it once per training, not once per batch. Held by the services built at start-up.
        self._loaded: dict[str, tuple[datetime, ConversionScorer | None]] = {}

    async def save(self, workspace_id: str, trained_at: datetime, scorer: ConversionScorer) -> bool:
        """Stored before the workspace document names ``trained_at``, so a rescore that sees it finds it;
        False when a model trained later is already in force (and this one is not kept)."""
        data = await asyncio.to_thread(scorer.to_bytes)  # a second or so of CPU for a large model
        record = {"trained_at": trained_at, "format": FORMAT, "libraries": self._installed}
        file_id = await self._files.upload_from_stream(workspace_id, data, metadata=record)
        try:
            # Compare-and-set on the training moment: a newer model already in force (a training that
            # finished first) stays, and this one's file goes.
            await self._pointers.replace_one(
                {"_id": workspace_id, "trained_at": {"$lt": trained_at}},
                {"_id": workspace_id, "file_id": file_id, **record},
                upsert=True,
            )
        except DuplicateKeyError:
            await self._files.delete(file_id)
            return False
        await self._delete_files(workspace_id, trained_before=trained_at)
        return True

    async def scorer_for(self, workspace: Workspace) -> ConversionScorer | None:
        info = workspace.conversion
        if info is None:
            return None
        loaded = self._loaded.get(workspace.id)
        if loaded is not None and loaded[0] == info.trained_at:
            return loaded[1]
        for _ in range(2):  # a file deleted under us was replaced: the pointer names the new one
            stored = await self._stored(workspace.id)
            if stored is None:
                return None
            problem = stored.problem(self._installed)
            if problem is not None or stored.file_id is None:
                log.warning("conversion model of workspace %s not applied: %s", workspace.id, problem)
                return self._remember(workspace.id, info.trained_at, None)
            try:
                data = await self._read(stored.file_id)
            except (NoFile, CorruptGridFile):
                continue
            return self._remember(workspace.id, info.trained_at, await self._scorer(workspace.id, stored, data))
        return None

    async def problem(self, workspace: Workspace) -> str | None:
        """Why the workspace's model in force is not applied (None: it is, or there is none)."""
        if workspace.conversion is None:
            return None
        stored = await self._stored(workspace.id)
        return MISSING if stored is None else stored.problem(self._installed)

    async def _stored(self, workspace_id: str) -> StoredModel | None:
        # An old-format document carries its pickle: never fetched.
        document = await self._pointers.find_one({"_id": workspace_id}, {"model": 0})
        return StoredModel.from_document(document) if document else None

    async def _read(self, file_id: ObjectId) -> bytes:
        async with await self._files.open_download_stream(file_id) as stream:
            data: bytes = await stream.read()
        return data

    async def _scorer(self, workspace_id: str, stored: StoredModel, data: bytes) -> ConversionScorer | None:
        from scoring.conversion import UntrustedModel  # scikit-learn: loaded only where a model is applied

        try:
            return await asyncio.to_thread(ConversionScorer.from_bytes, data)
        except UntrustedModel as refusal:
            log.error("conversion model of workspace %s refused: %s", workspace_id, refusal)
            await self._pointers.update_one(
                {"_id": workspace_id, "file_id": stored.file_id}, {"$set": {"refused": f"refused: {refusal}"}}
            )
            return None

    def _remember(
        self, workspace_id: str, trained_at: datetime, scorer: ConversionScorer | None
    ) -> ConversionScorer | None:
        self._loaded[workspace_id] = (trained_at, scorer)
        return scorer

    async def _delete_files(self, workspace_id: str, trained_before: datetime) -> None:
        """The files of models older than the one in force (and of trainings that died before pointing)."""
        cursor = self._files.find({"filename": workspace_id, "metadata.trained_at": {"$lt": trained_before}})
        async for old in cursor:
            await self._files.delete(old._id)
