"""Domain enums exposed to GraphQL under their upper-case names."""

from __future__ import annotations

import strawberry

from domain.customers.models import Gender, IncomeBand, LegalType, TombstoneReason
from domain.customers.ordering import OrderField
from domain.interactions.models import InteractionKind
from domain.orders.models import OrderStatus

LegalTypeEnum = strawberry.enum(LegalType, name="LegalType")
GenderEnum = strawberry.enum(Gender, name="Gender")
IncomeBandEnum = strawberry.enum(IncomeBand, name="IncomeBand")
OrderStatusEnum = strawberry.enum(OrderStatus, name="OrderStatus")
InteractionKindEnum = strawberry.enum(InteractionKind, name="InteractionKind")
TombstoneReasonEnum = strawberry.enum(TombstoneReason, name="TombstoneReason")
CustomerOrderFieldEnum = strawberry.enum(
    OrderField,
    name="CustomerOrderField",
    description="CREATED: creation order; CHANGED: the last change a client sees, oldest first, settled changes "
    "only (offline sync); LEAD_SCORE; CONVERSION: probability from the learned model (customers "
    "without one last when descending); CALL_VALUE: probability x expected order value; CLV: predicted 12-month "
    "value; NET_SPEND; LAST_ORDER_AT",
)
