from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domain.db import Database, Document, insert_idempotent, insert_many_idempotent, latest_per_customer
from domain.interactions.models import Interaction
from domain.rescoring.features import INTENT_KINDS, InteractionFeatures
from domain.timestamps import aware

# Touches a rescore reads per customer, most recent first.
MAX_TOUCHES = 1000


class InteractionRepository:
    def __init__(self, db: Database) -> None:
        self._interactions = db.interactions

    async def insert(self, document: Document) -> tuple[Interaction, bool]:
        """Insert; a retry of the same request returns the interaction recorded the first time, and False."""
        scope = {"workspace_id": document["workspace_id"]}
        stored, created = await insert_idempotent(self._interactions, document, scope)
        return Interaction.from_document(stored), created

    async def insert_many(self, workspace_id: str, documents: list[Document]) -> tuple[list[Interaction], int]:
        """Every row's interaction (in order) and how many were new."""
        stored, created = await insert_many_idempotent(self._interactions, documents, {"workspace_id": workspace_id})
        return [Interaction.from_document(document) for document in stored], len(created)

    async def latest_for_customers(
        self, workspace_id: str, customer_ids: list[str], limit: int
    ) -> dict[str, list[Interaction]]:
        rows = await latest_per_customer(
            self._interactions, {"workspace_id": workspace_id}, customer_ids, {"at": -1, "_id": -1}, limit
        )
        return {cid: [Interaction.from_document(row) for row in found] for cid, found in rows.items()}

    async def features_for(
        self, workspace_id: str, customer_ids: Sequence[str], touches_since: datetime
    ) -> dict[str, InteractionFeatures]:
        def count_if(condition: dict[str, Any]) -> dict[str, Any]:
            return {"$sum": {"$cond": [condition, 1, 0]}}

        cursor = await self._interactions.aggregate(
            [
                {"$match": {"workspace_id": workspace_id, "customer_id": {"$in": list(customer_ids)}}},
                {
                    "$group": {
                        "_id": "$customer_id",
                        "interaction_count": {"$sum": 1},
                        "intent_signals": count_if({"$in": ["$kind", list(INTENT_KINDS)]}),
                        "service_ratings": count_if({"$eq": ["$kind", "service_rating"]}),
                        "complaints": count_if({"$eq": ["$kind", "complaint"]}),
                        # The most recent touches only: one customer's reply stays small however many it
                        # has (the lead score caps what touches can add long before this many).
                        "touches": {
                            "$topN": {
                                "n": MAX_TOUCHES,
                                "sortBy": {"at": -1},
                                "output": {
                                    "$cond": [{"$gte": ["$at", touches_since]}, {"k": "$kind", "t": "$at"}, None]
                                },
                            }
                        },
                    }
                },
            ],
            batchSize=max(len(customer_ids), 1),  # one reply for the batch where it fits
        )
        return {
            row["_id"]: InteractionFeatures(
                row["interaction_count"],
                row["intent_signals"],
                row["service_ratings"],
                row["complaints"],
                # Touches before the window come out as null (they sort last).
                tuple((touch["k"], aware(touch["t"])) for touch in row.get("touches") or () if touch),
            )
            async for row in cursor
        }

    async def touches_in_workspace(self, workspace_id: str) -> dict[str, list[tuple[str, datetime]]]:
        """Every interaction of the workspace as (kind, when), by customer: what a conversion model learns from."""
        cursor = self._interactions.find(
            {"workspace_id": workspace_id}, {"_id": 0, "customer_id": 1, "kind": 1, "at": 1}, batch_size=50_000
        )
        touches: dict[str, list[tuple[str, datetime]]] = {}
        async for row in cursor:
            touches.setdefault(row["customer_id"], []).append((row["kind"], aware(row["at"])))
        return touches

    async def delete_for_customer(self, workspace_id: str, customer_id: str) -> None:
        await self._interactions.delete_many({"workspace_id": workspace_id, "customer_id": customer_id})
