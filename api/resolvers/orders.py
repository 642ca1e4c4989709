"""Orders and interactions: what customers buy and every touch with them, the facts classes come from."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from api.resolvers.common import CREATED, CrmInfo, respond
from api.types.enums import OrderStatusEnum
from api.types.errors import UserError
from api.types.inputs import InteractionInput, OrderInput, OrderUpsertInput, input_to_dict
from api.types.interaction import Interaction
from api.types.order import Order
from domain.orders.models import OrderStatus


@strawberry.type
class OrderPayload:
    order: Order | None = None
    created: bool | None = strawberry.field(default=None, description=CREATED)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.enum(description="What an upsert did with the order")
class UpsertOutcomeEnum(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@strawberry.type
class OrderUpsertPayload:
    order: Order | None = None
    outcome: UpsertOutcomeEnum | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
    warnings: list[UserError] = strawberry.field(
        default_factory=list, description="Taken, but not as sent: STALE_UPDATE (older than the stored state)"
    )


@strawberry.type
class InteractionPayload:
    interaction: Interaction | None = None
    created: bool | None = strawberry.field(default=None, description=CREATED)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderQuery:
    @strawberry.field
    async def order(self, info: CrmInfo, id: strawberry.ID) -> Order | None:
        context = info.context
        found = await context.services.orders.get(context.principal, str(id))
        return Order.from_domain(found) if found else None


@strawberry.type
class OrderMutation:
    @strawberry.mutation
    async def record_order(self, info: CrmInfo, input: OrderInput) -> OrderPayload:
        context = info.context
        return await respond(
            OrderPayload,
            context.services.orders.record(context.principal, input_to_dict(input)),
            lambda order: OrderPayload(order=Order.from_domain(order.value), created=order.created),
        )

    @strawberry.mutation
    async def set_order_status(
        self,
        info: CrmInfo,
        id: strawberry.ID,
        status: OrderStatusEnum,  # type: ignore[valid-type]
        refund_amount: Decimal | None = None,
    ) -> OrderPayload:
        context = info.context
        return await respond(
            OrderPayload,
            context.services.orders.set_status(
                context.principal, str(id), OrderStatus(status), refund_amount=refund_amount
            ),
            lambda order: OrderPayload(order=Order.from_domain(order)),
        )

    @strawberry.mutation(
        description="An order's whole current state by its externalId (a platform's order-updated notice): "
        "what an orders import in upsert mode does with its row, with the same errors"
    )
    async def upsert_order(self, info: CrmInfo, input: OrderUpsertInput) -> OrderUpsertPayload:
        context = info.context
        return await respond(
            OrderUpsertPayload,
            context.services.orders.upsert(context.principal, input_to_dict(input)),
            lambda done: OrderUpsertPayload(
                order=Order.from_domain(done[0]),
                outcome=UpsertOutcomeEnum(done[1].value),
                warnings=[UserError(field=w.field, code=w.code, message=w.message) for w in done[2]],
            ),
        )

    @strawberry.mutation
    async def record_interaction(self, info: CrmInfo, input: InteractionInput) -> InteractionPayload:
        context = info.context
        return await respond(
            InteractionPayload,
            context.services.interactions.record(context.principal, input_to_dict(input)),
            lambda recorded: InteractionPayload(
                interaction=Interaction.from_domain(recorded.value), created=recorded.created
            ),
        )
