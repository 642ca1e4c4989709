"""The allow-list of GraphQL documents (persisted queries): in allow-list mode only these run.

Kept in MongoDB, the record of what a deployment's apps may send; registered by an operator
(``crm allow-query``). The automatic persisted-query cache (documents clients with a key sent, a budget
per workspace) lives in Redis (api/persisted.py).
"""

from __future__ import annotations

import hashlib

from domain.clock import Clock
from domain.db import Database


def document_hash(query: str) -> str:
    """The Apollo protocol's key: sha256 of the document's exact text, lowercase hex."""
    return hashlib.sha256(query.encode()).hexdigest()


class PersistedQueryService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._clock = clock
        self._documents = db.persisted_queries

    async def allow(self, queries: list[str]) -> list[str]:
        """Register documents (again is harmless, and renews them); their hashes. With an allow-list
        retention (ALLOW_LIST_RETENTION_DAYS), documents no release has registered for that long expire."""
        hashes = []
        for query in queries:
            key = document_hash(query)
            now = self._clock.now()
            await self._documents.update_one(
                {"_id": key},
                {"$setOnInsert": {"query": query, "added_at": now}, "$set": {"registered_at": now}},
                upsert=True,
            )
            hashes.append(key)
        return hashes

    async def allowed(self, key: str) -> str | None:
        document = await self._documents.find_one({"_id": key}, {"query": 1})
        return str(document["query"]) if document else None
