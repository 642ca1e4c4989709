"""Orders as recorded from shops and marketplaces; amounts in minor units of their currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.timestamps import aware


class OrderStatus(StrEnum):
    PLACED = "placed"
    PAID = "paid"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


# Money has changed hands in these states (a delivered order was paid on delivery at the latest).
PAID_STATUSES = (OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.REFUNDED)

ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PLACED: frozenset({OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.DELIVERED, OrderStatus.REFUNDED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.REFUNDED}),
    # A further (larger) partial refund is allowed; nothing leaves cancelled.
    OrderStatus.REFUNDED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class OrderItem:
    sku: str
    name: str | None
    category: str | None
    quantity: int
    unit_price_minor: int
    product_launched_at: datetime | None


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    workspace_id: str
    customer_id: str
    status: OrderStatus
    currency: str
    total_minor: int
    discount_minor: int
    refund_minor: int
    placed_at: datetime
    created_at: datetime
    updated_at: datetime
    external_id: str | None = None
    channel: str | None = None
    items: list[OrderItem] = field(default_factory=list)
    # When the order reached its status (the source's moment where it gave one, else when it was recorded
    # here); the latest moment a source gave for it, which an older update cannot go back behind.
    status_changed_at: datetime | None = None
    status_source_at: datetime | None = None

    @classmethod
    def from_document(cls, d: dict[str, Any]) -> Order:
        return cls(
            id=d["_id"],
            workspace_id=d["workspace_id"],
            customer_id=d["customer_id"],
            status=OrderStatus(d["status"]),
            currency=d["currency"],
            total_minor=d["total_minor"],
            discount_minor=d.get("discount_minor", 0),
            refund_minor=d.get("refund_minor", 0),
            placed_at=aware(d["placed_at"]),
            created_at=aware(d["created_at"]),
            updated_at=aware(d["updated_at"]),
            external_id=d.get("external_id"),
            channel=d.get("channel"),
            status_changed_at=aware(d.get("status_changed_at") or d["placed_at"]),
            status_source_at=aware(d.get("status_source_at")),
            items=[
                OrderItem(
                    sku=item["sku"],
                    name=item.get("name"),
                    category=item.get("category"),
                    quantity=item["quantity"],
                    unit_price_minor=item["unit_price_minor"],
                    product_launched_at=aware(item["product_launched_at"]) if item.get("product_launched_at") else None,
                )
                for item in d.get("items", [])
            ],
        )
