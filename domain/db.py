"""The MongoDB collections and their indexes. Only repositories use this module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


def new_id() -> str:
    """Ids are ObjectId hex strings: time-ordered (a stable sort key for pagination) and URL-safe."""
    return str(ObjectId())


@dataclass(frozen=True, slots=True)
class Database:
    db: AsyncDatabase[Document]

    @classmethod
    def connect(cls, client: AsyncMongoClient[Document], name: str) -> Database:
        return cls(client[name])

    @property
    def workspaces(self) -> AsyncCollection[Document]:
        return self.db["workspaces"]

    @property
    def users(self) -> AsyncCollection[Document]:
        return self.db["users"]

    @property
    def api_keys(self) -> AsyncCollection[Document]:
        return self.db["api_keys"]

    @property
    def customers(self) -> AsyncCollection[Document]:
        return self.db["customers"]

    @property
    def orders(self) -> AsyncCollection[Document]:
        return self.db["orders"]

    @property
    def interactions(self) -> AsyncCollection[Document]:
        return self.db["interactions"]

    @property
    def class_events(self) -> AsyncCollection[Document]:
        return self.db["class_events"]

    async def ensure_indexes(self) -> None:
        """Idempotent; run by the API and the worker at start-up and by the CLI."""
        await self.api_keys.create_indexes([IndexModel([("token_hash", ASCENDING)], unique=True)])
        await self.users.create_indexes([IndexModel([("workspace_id", ASCENDING), ("name", ASCENDING)])])
        await self.customers.create_indexes(
            [
                _unique_external_id(),
                # The sweeper looks for dirty customers across workspaces; only dirty ones are indexed.
                IndexModel([("scoring.dirty", ASCENDING)], partialFilterExpression={"scoring.dirty": True}),
                IndexModel([("workspace_id", ASCENDING), ("owner_id", ASCENDING), ("_id", ASCENDING)]),
                IndexModel([("workspace_id", ASCENDING), ("classes.spend_tier.code", ASCENDING)]),
            ]
        )
        await self.orders.create_indexes(
            [
                _unique_external_id(),
                IndexModel([("workspace_id", ASCENDING), ("customer_id", ASCENDING)]),
            ]
        )
        await self.interactions.create_indexes(
            [
                _unique_external_id(),
                IndexModel([("workspace_id", ASCENDING), ("customer_id", ASCENDING), ("at", DESCENDING)]),
            ]
        )
        await self.class_events.create_indexes(
            [IndexModel([("workspace_id", ASCENDING), ("customer_id", ASCENDING), ("at", DESCENDING)])]
        )


def _unique_external_id() -> IndexModel:
    """External ids make retried creates idempotent; documents without one are not indexed."""
    return IndexModel(
        [("workspace_id", ASCENDING), ("external_id", ASCENDING)],
        unique=True,
        partialFilterExpression={"external_id": {"$type": "string"}},
    )
