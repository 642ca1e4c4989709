"""All MongoDB access for orders, including the per-customer aggregates the scorer reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument, UpdateOne

from domain.clock import Clock
from domain.customers.models import CustomerStats
from domain.db import Database, Document, insert_idempotent, insert_many_idempotent, latest_per_customer, new_id
from domain.money import AmountBeyondLimit, decimal_sum, exact_minor
from domain.orders.models import PAID_STATUSES, Order, OrderStatus
from domain.orders.moves import Move
from domain.rescoring.features import NEW_PRODUCT_DAYS, PREMIUM_CATEGORIES, OrderFeatures, OrderFeaturesRead
from domain.timestamps import aware


class OrderRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._orders = db.orders
        self._clock = clock

    async def insert(self, document: Document) -> tuple[Order, bool]:
        """Insert; a retry of the same request returns the order recorded then, and False. The request's
        fingerprint holds its customer, which the caller was allowed to write to."""
        stored, created = await insert_idempotent(self._orders, document, {"workspace_id": document["workspace_id"]})
        return Order.from_document(stored), created

    async def insert_many(self, workspace_id: str, documents: list[Document]) -> tuple[list[Order], list[str]]:
        stored, created = await insert_many_idempotent(self._orders, documents, {"workspace_id": workspace_id})
        return [Order.from_document(document) for document in stored], created

    async def by_external_ids(self, workspace_id: str, external_ids: Sequence[str]) -> dict[str, Order]:
        """The orders the shop names by its own ids, one read (a batch's ids at most)."""
        cursor = self._orders.find({"workspace_id": workspace_id, "external_id": {"$in": sorted(set(external_ids))}})
        return {document["external_id"]: Order.from_document(document) async for document in cursor}

    async def get(self, workspace_id: str, order_id: str) -> Order | None:
        document = await self._orders.find_one({"_id": order_id, "workspace_id": workspace_id})
        return Order.from_document(document) if document else None

    async def latest_for_customers(
        self, workspace_id: str, customer_ids: list[str], limit: int
    ) -> dict[str, list[Order]]:
        rows = await latest_per_customer(
            self._orders, {"workspace_id": workspace_id}, customer_ids, {"placed_at": -1, "_id": -1}, limit
        )
        return {customer_id: [Order.from_document(row) for row in found] for customer_id, found in rows.items()}

    async def change_status(self, order: Order, status: OrderStatus, refund_minor: int) -> Order | None:
        """Compare-and-set on the current status, so two racing changes cannot both apply."""
        now = self._clock.now()
        document = await self._orders.find_one_and_update(
            {
                "_id": order.id,
                "workspace_id": order.workspace_id,
                "status": order.status.value,
                "refund_minor": order.refund_minor,
            },
            {
                "$set": {
                    "status": status.value,
                    "refund_minor": refund_minor,
                    "updated_at": now,
                    "status_changed_at": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return Order.from_document(document) if document else None

    async def apply_moves(self, moves: Sequence[Move]) -> set[str]:
        """Each order to its new state in one write, each a compare-and-set on the state it was decided
        from; returns the ids of the orders that changed meanwhile (decide again from a fresh read)."""
        if not moves:
            return set()
        writer, now = new_id(), self._clock.now()
        result = await self._orders.bulk_write([_move(move, writer, now) for move in moves], ordered=False)
        ids = [move.order.id for move in moves]
        if result.matched_count == len(moves):
            return set()
        # bulk_write only counts: the writer mark tells which compare-and-sets were ours.
        cursor = self._orders.find({"_id": {"$in": ids}, "moved_by": writer}, {"_id": 1})
        return set(ids) - {document["_id"] async for document in cursor}

    async def detach_customer(self, workspace_id: str, customer_id: str) -> None:
        await self._orders.update_many(
            {"workspace_id": workspace_id, "customer_id": customer_id},
            {"$set": {"customer_deleted_at": self._clock.now()}},
        )

    async def features_for(
        self, workspace_id: str, customer_ids: Sequence[str], window_start: datetime, loyal_orders: int
    ) -> OrderFeaturesRead:
        """Per customer: stats (net spend = paid minus refunded) and what scoring reads, in two aggregations."""
        match = {"$match": {"workspace_id": workspace_id, "customer_id": {"$in": list(customer_ids)}}}
        # One reply per aggregation where it fits, not pages of 101 customers.
        size = max(len(customer_ids), 1)
        orders = await self._orders.aggregate(
            [match, {"$group": _ORDER_GROUP(window_start, loyal_orders)}], batchSize=size
        )
        rows = {row["_id"]: row async for row in orders}
        items = await self._orders.aggregate(
            [match, {"$match": {"status": {"$in": _PAID}}}, *_ITEM_STAGES], batchSize=size
        )
        item_rows = {row["_id"]: row async for row in items}
        features: dict[str, OrderFeatures] = {}
        unscorable: dict[str, str] = {}
        for customer_id, row in rows.items():
            try:
                features[customer_id] = _features(row, item_rows.get(customer_id, {}), loyal_orders)
            except AmountBeyondLimit as error:
                unscorable[customer_id] = f"orders: {error}"
        return OrderFeaturesRead(features, unscorable)


def _move(move: Move, writer: str, now: datetime) -> UpdateOne:
    order = move.order
    moved: dict[str, Any] = {
        "status": move.status.value,
        "refund_minor": move.refund_minor,
        "status_changed_at": move.source_at or now,
        "updated_at": now,
        "moved_by": writer,
    }
    if move.source_at is not None:
        moved["status_source_at"] = move.source_at
    as_read = {
        "_id": order.id,
        "workspace_id": order.workspace_id,
        "status": order.status.value,
        "refund_minor": order.refund_minor,
        # None also matches an order no source has given a moment for (the field is missing).
        "status_source_at": order.status_source_at,
    }
    return UpdateOne(as_read, {"$set": moved})


_PAID = [status.value for status in PAID_STATUSES]
_IS_PAID: dict[str, Any] = {"$in": ["$status", _PAID]}
_NOT_CANCELLED: dict[str, Any] = {"$ne": ["$status", OrderStatus.CANCELLED.value]}


def _ORDER_GROUP(window_start: datetime, loyal_orders: int) -> dict[str, Any]:
    def paid_sum(value: Any) -> dict[str, Any]:
        return decimal_sum({"$cond": [_IS_PAID, value, 0]})

    # A fully refunded order was paid once but is not a purchase the customer kept.
    kept: dict[str, Any] = {"$and": [_IS_PAID, {"$lt": ["$refund_minor", "$total_minor"]}]}
    kept_in_window: dict[str, Any] = {"$and": [kept, {"$gte": ["$placed_at", window_start]}]}
    return {
        "_id": "$customer_id",
        "order_count": {"$sum": 1},
        "paid_order_count": {"$sum": {"$cond": [kept, 1, 0]}},
        "net_spend_minor": paid_sum({"$subtract": ["$total_minor", "$refund_minor"]}),
        "gross_spend_minor": paid_sum({"$add": ["$total_minor", "$discount_minor"]}),
        "discount_minor": paid_sum("$discount_minor"),
        "paid_in_window": {"$sum": {"$cond": [kept_in_window, 1, 0]}},
        # $maxN leaves nulls out: the most recent kept orders in the window, at most loyal_orders of them.
        "recent_in_window": {"$maxN": {"n": loyal_orders, "input": {"$cond": [kept_in_window, "$placed_at", None]}}},
        "unpaid_open_orders": {"$sum": {"$cond": [{"$eq": ["$status", OrderStatus.PLACED.value]}, 1, 0]}},
        "first_order_at": {"$min": {"$cond": [_NOT_CANCELLED, "$placed_at", None]}},
        "last_order_at": {"$max": {"$cond": [_NOT_CANCELLED, "$placed_at", None]}},
        "first_paid_at": {"$min": {"$cond": [_IS_PAID, "$placed_at", None]}},
        "last_paid_at": {"$max": {"$cond": [_IS_PAID, "$placed_at", None]}},
    }


_ITEM_STAGES: list[dict[str, Any]] = [
    {"$unwind": "$items"},
    {
        "$group": {
            "_id": "$customer_id",
            "item_count": {"$sum": "$items.quantity"},
            "premium_items": {
                "$sum": {"$cond": [{"$in": ["$items.category", list(PREMIUM_CATEGORIES)]}, "$items.quantity", 0]}
            },
            "new_product_items": {
                "$sum": {
                    "$cond": [
                        {
                            "$and": [
                                {"$ne": [{"$ifNull": ["$items.product_launched_at", None]}, None]},
                                {
                                    "$gte": [
                                        "$items.product_launched_at",
                                        {
                                            "$dateSubtract": {
                                                "startDate": "$placed_at",
                                                "unit": "day",
                                                "amount": NEW_PRODUCT_DAYS,
                                            }
                                        },
                                    ]
                                },
                            ]
                        },
                        "$items.quantity",
                        0,
                    ]
                }
            },
        }
    },
]


def _features(row: dict[str, Any], items: dict[str, Any], loyal_orders: int) -> OrderFeatures:
    first_paid, last_paid = row.get("first_paid_at"), row.get("last_paid_at")
    recent = [aware(placed) for placed in row.get("recent_in_window") or [] if placed is not None]
    money = {key: exact_minor(row.get(key, 0)) for key in ("net_spend_minor", "gross_spend_minor", "discount_minor")}
    return OrderFeatures(
        stats=CustomerStats.from_document({**row, "net_spend_minor": money["net_spend_minor"]}),
        paid_in_window=row.get("paid_in_window", 0),
        loyal_anchor_at=min(recent) if len(recent) >= loyal_orders else None,
        unpaid_open_orders=row.get("unpaid_open_orders", 0),
        gross_spend_minor=money["gross_spend_minor"],
        discount_minor=money["discount_minor"],
        first_paid_at=aware(first_paid) if first_paid else None,
        last_paid_at=aware(last_paid) if last_paid else None,
        item_count=items.get("item_count", 0),
        new_product_items=items.get("new_product_items", 0),
        premium_items=items.get("premium_items", 0),
    )
