from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.types.enums import OrderStatusEnum
from domain.money import from_minor
from domain.orders.models import Order as DomainOrder


@strawberry.type
class OrderItem:
    sku: str
    name: str | None
    category: str | None
    quantity: int
    unit_price: Decimal
    product_launched_at: datetime | None


@strawberry.type
class Order:
    id: strawberry.ID
    external_id: str | None
    customer_id: strawberry.ID
    status: OrderStatusEnum  # type: ignore[valid-type]
    currency: str
    total: Decimal
    discount: Decimal
    refunded_amount: Decimal
    placed_at: datetime
    status_changed_at: datetime = strawberry.field(
        description="When the order reached its status: the source's moment where one was given, else when "
        "the change was recorded here"
    )
    channel: str | None
    items: list[OrderItem]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, o: DomainOrder) -> Order:
        def money(minor: int) -> Decimal:
            return from_minor(minor, o.currency)

        return cls(
            id=strawberry.ID(o.id),
            external_id=o.external_id,
            customer_id=strawberry.ID(o.customer_id),
            status=o.status,
            currency=o.currency,
            total=money(o.total_minor),
            discount=money(o.discount_minor),
            refunded_amount=money(o.refund_minor),
            placed_at=o.placed_at,
            status_changed_at=o.status_changed_at or o.placed_at,
            channel=o.channel,
            items=[
                OrderItem(
                    sku=i.sku,
                    name=i.name,
                    category=i.category,
                    quantity=i.quantity,
                    unit_price=money(i.unit_price_minor),
                    product_launched_at=i.product_launched_at,
                )
                for i in o.items
            ],
            created_at=o.created_at,
            updated_at=o.updated_at,
        )
