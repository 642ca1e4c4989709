"""All MongoDB access for orders, including the per-customer aggregates the scorer reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument

from domain.customers.models import CustomerStats
from domain.db import Database, Document, insert_idempotent, insert_many_idempotent
from domain.orders.models import PAID_STATUSES, Order, OrderStatus


class OrderRepository:
    def __init__(self, db: Database) -> None:
        self._orders = db.orders

    async def insert(self, document: Document) -> tuple[Order, bool]:
        """Insert; when the external id is already recorded, return that order and False."""
        stored, created = await insert_idempotent(self._orders, document)
        return Order.from_document(stored), created

    async def insert_many(self, documents: list[Document]) -> tuple[list[Order], list[str]]:
        stored, created = await insert_many_idempotent(self._orders, documents)
        return [Order.from_document(document) for document in stored], created

    async def get(self, workspace_id: str, order_id: str) -> Order | None:
        document = await self._orders.find_one({"_id": order_id, "workspace_id": workspace_id})
        return Order.from_document(document) if document else None

    async def for_customer(self, workspace_id: str, customer_id: str, limit: int) -> list[Order]:
        cursor = (
            self._orders.find({"workspace_id": workspace_id, "customer_id": customer_id})
            .sort("placed_at", -1)
            .limit(limit)
        )
        return [Order.from_document(document) async for document in cursor]

    async def change_status(self, order: Order, status: OrderStatus, refund_minor: int) -> Order | None:
        """Compare-and-set on the current status, so two racing changes cannot both apply."""
        document = await self._orders.find_one_and_update(
            {
                "_id": order.id,
                "workspace_id": order.workspace_id,
                "status": order.status.value,
                "refund_minor": order.refund_minor,
            },
            {"$set": {"status": status.value, "refund_minor": refund_minor, "updated_at": datetime.now(UTC)}},
            return_document=ReturnDocument.AFTER,
        )
        return Order.from_document(document) if document else None

    async def detach_customer(self, workspace_id: str, customer_id: str) -> None:
        await self._orders.update_many(
            {"workspace_id": workspace_id, "customer_id": customer_id},
            {"$set": {"customer_deleted_at": datetime.now(UTC)}},
        )

    async def stats_for(self, workspace_id: str, customer_ids: Sequence[str]) -> dict[str, CustomerStats]:
        """Order counts and net spend (paid minus refunded) per customer, in one aggregation."""
        paid = [status.value for status in PAID_STATUSES]
        is_paid: dict[str, Any] = {"$in": ["$status", paid]}
        not_cancelled: dict[str, Any] = {"$ne": ["$status", OrderStatus.CANCELLED.value]}
        pipeline: list[dict[str, Any]] = [
            {"$match": {"workspace_id": workspace_id, "customer_id": {"$in": list(customer_ids)}}},
            {
                "$group": {
                    "_id": "$customer_id",
                    "order_count": {"$sum": 1},
                    "paid_order_count": {
                        "$sum": {"$cond": [{"$and": [is_paid, {"$lt": ["$refund_minor", "$total_minor"]}]}, 1, 0]}
                    },
                    "net_spend_minor": {
                        "$sum": {"$cond": [is_paid, {"$subtract": ["$total_minor", "$refund_minor"]}, 0]}
                    },
                    "first_order_at": {"$min": {"$cond": [not_cancelled, "$placed_at", None]}},
                    "last_order_at": {"$max": {"$cond": [not_cancelled, "$placed_at", None]}},
                }
            },
        ]
        cursor = await self._orders.aggregate(pipeline)
        return {row["_id"]: CustomerStats.from_document(row) async for row in cursor}
