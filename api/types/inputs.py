"""GraphQL input types. They only carry data; validation happens in the domain."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types.unset import UNSET

from api.types.enums import (
    CustomerOrderFieldEnum,
    GenderEnum,
    IncomeBandEnum,
    InteractionKindEnum,
    LegalTypeEnum,
    OrderStatusEnum,
)
from domain.classes.settings_service import ClassSetUpdate
from domain.customers.filters import ClassCondition
from domain.customers.filters import CustomerFilter as DomainCustomerFilter
from domain.customers.ordering import CustomerOrder, OrderField


def input_to_dict(value: Any) -> Any:
    """Given fields only (UNSET dropped, explicit null kept), recursively, with snake_case keys."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: input_to_dict(getattr(value, item.name))
            for item in dataclasses.fields(value)
            if getattr(value, item.name) is not UNSET
        }
    if isinstance(value, list):
        return [input_to_dict(item) for item in value]
    return value


@strawberry.input
class AttributeInput:
    key: str
    value: str
    sensitive: bool = strawberry.field(default=False, description="Shown only to admin and sales")


@strawberry.input(description="A partial update: an absent field is untouched, an explicit null clears it.")
class CustomerUpdateInput:
    name: str | None = UNSET
    external_id: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    legal_type: LegalTypeEnum | None = UNSET  # type: ignore[valid-type]
    company_name: str | None = UNSET
    tax_id: str | None = UNSET
    birth_date: date | None = UNSET
    customer_since: date | None = strawberry.field(
        default=UNSET, description="When the shop first had this customer, if before it was created here"
    )
    gender: GenderEnum | None = UNSET  # type: ignore[valid-type]
    city: str | None = UNSET
    region: str | None = UNSET
    country: str | None = UNSET
    income_band: IncomeBandEnum | None = UNSET  # type: ignore[valid-type]
    occupation: str | None = UNSET
    interests: list[str] | None = UNSET
    lifestyle: list[str] | None = UNSET
    tags: list[str] | None = UNSET
    needs: list[str] | None = UNSET
    personality_type: int | None = UNSET
    owner_id: strawberry.ID | None = UNSET
    attributes: list[AttributeInput] | None = UNSET


@strawberry.input(description="A new customer. Only name is required.")
class CustomerInput(CustomerUpdateInput):
    name: str


@strawberry.input
class OrderItemInput:
    sku: str
    quantity: int
    unit_price: Decimal
    name: str | None = UNSET
    category: str | None = UNSET
    product_launched_at: datetime | None = UNSET


@strawberry.input(description="Recording the same externalId twice records one order and returns it.")
class OrderInput:
    customer_id: strawberry.ID
    total: Decimal
    external_id: str | None = UNSET
    status: OrderStatusEnum | None = UNSET  # type: ignore[valid-type]
    currency: str | None = UNSET
    discount: Decimal | None = UNSET
    placed_at: datetime | None = UNSET
    items: list[OrderItemInput] | None = UNSET
    channel: str | None = UNSET
    refund_amount: Decimal | None = strawberry.field(
        default=UNSET,
        description="With status REFUNDED: the cumulative refunded amount (default: the whole total)",
    )
    status_changed_at: datetime | None = strawberry.field(
        default=UNSET,
        description="When the order reached its status, from the source (default: placedAt for a new order, "
        "now for a change); an update older than the stored moment changes nothing (STALE_UPDATE)",
    )


@strawberry.input(
    description="An order's whole current state, by the shop's id: created, moved along the allowed status "
    "changes, or left as it is (the same state twice is one change)"
)
class OrderUpsertInput:
    external_id: str
    customer_id: strawberry.ID
    total: Decimal
    status: OrderStatusEnum | None = UNSET  # type: ignore[valid-type]
    refund_amount: Decimal | None = strawberry.field(
        default=UNSET, description="With status REFUNDED: the cumulative refunded amount (default: the whole total)"
    )
    currency: str | None = UNSET
    discount: Decimal | None = UNSET
    placed_at: datetime | None = UNSET
    items: list[OrderItemInput] | None = UNSET
    channel: str | None = UNSET
    status_changed_at: datetime | None = strawberry.field(
        default=UNSET,
        description="When the order reached its status, from the source (default: placedAt for a new order, "
        "now for a change); an update older than the stored moment changes nothing (STALE_UPDATE)",
    )


@strawberry.input
class InteractionInput:
    customer_id: strawberry.ID
    kind: InteractionKindEnum  # type: ignore[valid-type]
    external_id: str | None = UNSET
    at: datetime | None = UNSET
    rating: int | None = UNSET
    note: str | None = UNSET


@strawberry.input
class ClassFilter:
    class_set: str
    codes: list[str]


@strawberry.input
class CustomerFilter:
    text: str | None = strawberry.field(default=None, description="Matches name, email, phone; accents ignored")
    city: str | None = None
    region: str | None = None
    legal_type: LegalTypeEnum | None = None  # type: ignore[valid-type]
    tags: list[str] | None = strawberry.field(default=None, description="Customers having all of these")
    interests: list[str] | None = strawberry.field(default=None, description="Customers having all of these")
    owner_id: strawberry.ID | None = None
    class_: ClassFilter | None = strawberry.field(default=None, name="class")
    segment_id: strawberry.ID | None = strawberry.field(default=None, description="Members of this segment")
    updated_since: datetime | None = strawberry.field(
        default=None, description="Changed at or after this moment (offline sync: with orderBy CHANGED)"
    )

    def to_domain(self) -> DomainCustomerFilter:
        return DomainCustomerFilter(
            text=self.text,
            city=self.city,
            region=self.region,
            legal_type=self.legal_type,
            tags=list(self.tags or []),
            interests=list(self.interests or []),
            owner_id=self.owner_id,
            class_condition=ClassCondition(self.class_.class_set, list(self.class_.codes)) if self.class_ else None,
            segment_id=str(self.segment_id) if self.segment_id is not None else None,
            updated_since=self.updated_since,
        )


@strawberry.enum
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="Customers without a value (not scored, never ordered) come last when descending")
class CustomerOrderInput:
    field: CustomerOrderFieldEnum  # type: ignore[valid-type]
    direction: OrderDirection = OrderDirection.ASC

    def to_domain(self) -> CustomerOrder:
        return CustomerOrder(OrderField(self.field), descending=self.direction is OrderDirection.DESC)


@strawberry.input
class CodeLabelsInput:
    code: str
    vi: str
    zh: str
    en: str


@strawberry.input
class CodeColorInput:
    code: str
    color: str = strawberry.field(description="#RRGGBB")


@strawberry.input(description="For ordered sets: stay within this margin, then wait this long before demoting")
class HysteresisInput:
    margin_percent: float = 0.0
    grace_days: float = 0.0


@strawberry.input(description="params uses the names shown in classSets.settings and is merged over the current values")
class ClassSetUpdateInput:
    class_set: str
    params: JSON | None = None
    labels: list[CodeLabelsInput] | None = None
    colors: list[CodeColorInput] | None = None
    hysteresis: HysteresisInput | None = None

    def to_domain(self) -> ClassSetUpdate:
        return ClassSetUpdate(
            class_set=self.class_set,
            params=dict(self.params) if isinstance(self.params, dict) else self.params,  # type: ignore[arg-type]
            labels=None
            if self.labels is None
            else {item.code: {"vi": item.vi, "zh": item.zh, "en": item.en} for item in self.labels},
            colors=None if self.colors is None else {item.code: item.color for item in self.colors},
            hysteresis=None
            if self.hysteresis is None
            else {"margin_percent": self.hysteresis.margin_percent, "grace_days": self.hysteresis.grace_days},
        )
