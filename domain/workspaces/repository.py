from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from domain.clock import Clock
from domain.db import Database, new_id
from domain.workspaces.models import CachedRfmBounds, ClassSettings, ModelKind, User, Workspace


class WorkspaceRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._clock = clock
        self._workspaces = db.workspaces
        self._users = db.users
        self._history = db.settings_history

    async def insert(
        self, name: str, currency: str, country: str, settings: ClassSettings, workspace_id: str | None = None
    ) -> Workspace:
        document = {
            "_id": workspace_id or new_id(),
            "name": name,
            "currency": currency,
            "country": country,
            "class_settings": settings.to_document(),
            "created_at": self._clock.now(),
            "customer_count": 0,
        }
        await self._workspaces.insert_one(document)
        return Workspace.from_document(document)

    async def get(self, workspace_id: str) -> Workspace | None:
        document = await self._workspaces.find_one({"_id": workspace_id})
        return Workspace.from_document(document) if document else None

    async def save_rfm_bounds(
        self, workspace_id: str, cached: CachedRfmBounds, expected_version: int, changes_seen: int
    ) -> bool:
        """Store the bounds if nobody stored others since ``expected_version``; the workspace stops being
        stale only if no rescore counted a change since ``changes_seen`` was read."""
        result = await self._workspaces.update_one(
            {"_id": workspace_id, "rfm_bounds.version": _zero_or_missing(expected_version)},
            {"$set": {"rfm_bounds": cached.to_document()}},
        )
        if result.modified_count != 1:
            return False
        await self._workspaces.update_one(
            {"_id": workspace_id, "rfm_changes": _zero_or_missing(changes_seen)}, {"$set": {"rfm_stale": False}}
        )
        return True

    async def count_customers(self, workspace_id: str, change: int) -> None:
        """Keep the workspace's customer count (an unfiltered list's total) as customers come and go."""
        if change:
            await self._workspaces.update_one({"_id": workspace_id}, {"$inc": {"customer_count": change}})

    async def set_customer_count(self, workspace_id: str, count: int) -> None:
        """The exact count, from a full listing (a scoring run's planning), correcting any drift."""
        await self._workspaces.update_one({"_id": workspace_id}, {"$set": {"customer_count": count}})

    async def note_rfm_changes(self, workspace_id: str, count: int) -> int:
        """Count customers whose RFM inputs changed (the bounds are then stale); returns the bounds version."""
        document = await self._workspaces.find_one_and_update(
            {"_id": workspace_id},
            {"$inc": {"rfm_changes": count}, "$set": {"rfm_stale": True}},
            projection={"rfm_bounds.version": 1},
            return_document=ReturnDocument.AFTER,
        )
        return _bounds_version(document)

    async def rfm_version(self, workspace_id: str) -> int:
        return _bounds_version(await self._workspaces.find_one({"_id": workspace_id}, {"rfm_bounds.version": 1}))

    async def set_order_status_words(self, workspace_id: str, words: list[tuple[str, str]]) -> bool:
        stored = [{"word": word, "status": status} for word, status in words]
        result = await self._workspaces.update_one({"_id": workspace_id}, {"$set": {"order_status_words": stored}})
        return result.matched_count == 1

    async def set_dynamic_segments(self, workspace_id: str, segment_ids: list[str]) -> None:
        await self._workspaces.update_one({"_id": workspace_id}, {"$set": {"dynamic_segments": segment_ids}})

    async def save_model_attempt(
        self, workspace_id: str, kind: ModelKind, check: dict[str, Any], model: dict[str, Any] | None
    ) -> None:
        """The last attempt to fit the workspace's ``kind`` of model (``check`` says when and whether it was
        ``fitted``), and the new model (None: below its data gate, the previous model stays)."""
        update: dict[str, Any] = {f"{kind}_check": check}
        if model is not None:
            update[kind] = model
        await self._workspaces.update_one({"_id": workspace_id}, {"$set": update})

    async def model_check(self, workspace_id: str, kind: ModelKind) -> dict[str, Any] | None:
        document = await self._workspaces.find_one({"_id": workspace_id}, {f"{kind}_check": 1})
        return (document or {}).get(f"{kind}_check")

    async def needing_model(self, kind: ModelKind, fitted_before: datetime, thin_checked_before: datetime) -> list[str]:
        """Never tried, fitted long ago, or too thin to fit when last tried a while ago."""
        check = f"{kind}_check"
        cursor = self._workspaces.find(
            {
                "$or": [
                    {check: None},
                    {f"{check}.checked_at": {"$lt": fitted_before}},
                    {f"{check}.fitted": False, f"{check}.checked_at": {"$lt": thin_checked_before}},
                ]
            },
            {"_id": 1},
        )
        return [document["_id"] async for document in cursor]

    async def needing_rfm_refresh(self, computed_before: datetime) -> list[str]:
        cursor = self._workspaces.find(
            {"$or": [{"rfm_stale": True}, {"rfm_bounds.computed_at": {"$lt": computed_before}}]}, {"_id": 1}
        )
        return [document["_id"] async for document in cursor]

    async def save_class_settings(
        self,
        workspace_id: str,
        expected_version: int,
        settings: ClassSettings,
        class_set: str,
        user_id: str,
        at: datetime,
    ) -> bool:
        """Store the new version only if nobody saved another one since ``expected_version`` was read;
        every version is also kept in ``settings_history``."""
        result = await self._workspaces.update_one(
            {"_id": workspace_id, "class_settings.version": expected_version},
            {"$set": {"class_settings": settings.to_document()}},
        )
        if result.modified_count != 1:
            return False
        await self._history.insert_one(
            {
                "_id": f"{workspace_id}:{settings.version}",
                "workspace_id": workspace_id,
                "version": settings.version,
                "class_set": class_set,
                "settings": settings.to_document(),
                "changed_by": user_id,
                "at": at,
            }
        )
        return True

    async def insert_user(self, workspace_id: str, name: str) -> User:
        user = User(id=new_id(), workspace_id=workspace_id, name=name)
        await self._users.insert_one(
            {"_id": user.id, "workspace_id": workspace_id, "name": name, "created_at": self._clock.now()}
        )
        return user

    async def users_by_ids(self, workspace_id: str, user_ids: Iterable[str]) -> dict[str, User]:
        cursor = self._users.find({"workspace_id": workspace_id, "_id": {"$in": list(user_ids)}})
        return {document["_id"]: User(document["_id"], workspace_id, document["name"]) async for document in cursor}

    async def list_users(self, workspace_id: str) -> list[User]:
        cursor = self._users.find({"workspace_id": workspace_id}).sort("_id", 1)
        return [User(document["_id"], workspace_id, document["name"]) async for document in cursor]


def _zero_or_missing(value: int) -> Any:
    return value if value else {"$in": [0, None]}


def _bounds_version(document: dict[str, Any] | None) -> int:
    return int(((document or {}).get("rfm_bounds") or {}).get("version") or 0)
