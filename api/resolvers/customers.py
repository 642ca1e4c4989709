"""Customers: one, a page with filters, and their creation, update and deletion."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.pagination import decode_cursor, encode_cursor
from api.resolvers.common import CREATED, CrmInfo, respond
from api.selection import wants_evidence
from api.types.customer import Customer, CustomerConnection, customer_connection
from api.types.enums import TombstoneReasonEnum
from api.types.errors import UserError
from api.types.inputs import CustomerFilter, CustomerInput, CustomerOrderInput, CustomerUpdateInput, input_to_dict
from domain.customers.ordering import OrderField, PagePosition
from domain.customers.service import CREATION_ORDER


@strawberry.type
class CustomerPayload:
    customer: Customer | None = None
    created: bool | None = strawberry.field(default=None, description=CREATED)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerQuery:
    @strawberry.field
    async def customer(self, info: CrmInfo, id: strawberry.ID) -> Customer | None:
        context = info.context
        found = await context.services.customers.get(context.principal, str(id), with_evidence=wants_evidence(info))
        return Customer.from_domain(found, await context.workspace()) if found else None

    @strawberry.field(description="Relay-style list, in creation order unless orderBy says; first is at most 100")
    async def customers(
        self,
        info: CrmInfo,
        filter: CustomerFilter | None = None,
        first: int = 20,
        after: str | None = None,
        order_by: CustomerOrderInput | None = None,
    ) -> CustomerConnection:
        spec = filter.to_domain() if filter else None
        order = order_by.to_domain() if order_by else CREATION_ORDER
        return await customer_connection(info, spec, first, after, order)


@strawberry.type
class CustomerMutation:
    @strawberry.mutation
    async def create_customer(self, info: CrmInfo, input: CustomerInput) -> CustomerPayload:
        context = info.context
        workspace = await context.workspace()
        return await respond(
            CustomerPayload,
            context.services.customers.create(context.principal, input_to_dict(input)),
            lambda created: CustomerPayload(
                customer=Customer.from_domain(created.value, workspace), created=created.created
            ),
        )

    @strawberry.mutation
    async def update_customer(self, info: CrmInfo, id: strawberry.ID, input: CustomerUpdateInput) -> CustomerPayload:
        context = info.context
        workspace = await context.workspace()
        return await respond(
            CustomerPayload,
            context.services.customers.update(context.principal, str(id), input_to_dict(input)),
            lambda updated: CustomerPayload(customer=Customer.from_domain(updated, workspace)),
        )

    @strawberry.mutation(description="Removes the customer and its interactions; its orders are kept, detached")
    async def delete_customer(self, info: CrmInfo, id: strawberry.ID) -> DeletePayload:
        context = info.context
        return await respond(
            DeletePayload,
            context.services.customers.delete(context.principal, str(id)),
            lambda _: DeletePayload(deleted_id=id),
        )


@strawberry.type(
    description="A customer that left the caller's view since it last synced: deleted, or (for a sales key) "
    "moved to another owner; the client drops it and its personal data"
)
class DeletedCustomer:
    id: strawberry.ID
    deleted_at: datetime = strawberry.field(description="When it left the view (the database's clock)")
    reason: TombstoneReasonEnum  # type: ignore[valid-type]
    cursor: str


@strawberry.type
class SyncQuery:
    @strawberry.field(
        description="Tombstones for offline sync: customers deleted since a moment, oldest first, settled changes "
        "only (like customers ordered by CHANGED); pass the last cursor as after. first is at most 100."
    )
    async def deleted_customers(
        self, info: CrmInfo, since: datetime | None = None, first: int = 100, after: str | None = None
    ) -> list[DeletedCustomer]:
        context = info.context
        position = decode_cursor(after, OrderField.CHANGED)
        start = (position.value, position.customer_id) if position and isinstance(position.value, datetime) else None
        found = await context.services.customers.deleted_since(context.principal, since, start, first)
        return [
            DeletedCustomer(
                id=strawberry.ID(tombstone.customer_id),
                deleted_at=tombstone.at,
                reason=tombstone.reason,
                cursor=encode_cursor(PagePosition(OrderField.CHANGED, tombstone.id, tombstone.at)),
            )
            for tombstone in found
        ]
