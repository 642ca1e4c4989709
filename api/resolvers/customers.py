"""Customers: one, a page with filters, and their creation, update and deletion."""

from __future__ import annotations

import strawberry

from api.resolvers.common import CREATED, CrmInfo, respond
from api.selection import wants_evidence
from api.types.customer import Customer, CustomerConnection, customer_connection
from api.types.errors import UserError
from api.types.inputs import CustomerFilter, CustomerInput, CustomerOrderInput, CustomerUpdateInput, input_to_dict
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
