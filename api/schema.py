"""The GraphQL schema, code first. Importing this module does no I/O; ``schema.graphql`` is exported from it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable
from decimal import Decimal

import strawberry
from graphql.error import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info

from api.context import RequestContext
from api.edge import EdgeLimits, edge_extensions
from api.pagination import decode_cursor, encode_cursor
from api.selection import wants_evidence
from api.types.classes import ClassChange, ClassCount, ClassSet
from api.types.customer import Customer, CustomerConnection, CustomerEdge, PageInfo
from api.types.enums import OrderStatusEnum
from api.types.errors import UserError, user_errors
from api.types.inputs import (
    ClassSetUpdateInput,
    CustomerFilter,
    CustomerInput,
    CustomerUpdateInput,
    InteractionInput,
    OrderInput,
    input_to_dict,
)
from api.types.interaction import Interaction
from api.types.keys import ApiKey, ApiKeyInput, ApiKeyPayload
from api.types.order import Order
from api.types.runs import ScoringRun, ScoringRunInput
from api.types.scalars import STRICT_DECIMAL
from domain.classes.catalogue import CLASS_SETS
from domain.classes.catalogue import class_set as checked_class_set
from domain.classes.events import ClassChangeEvent
from domain.classes.service import require_readable_class_set
from domain.errors import Conflict, ErrorCode, InvalidInput, NotFound
from domain.orders.models import OrderStatus
from domain.runs.models import ACTIVE_STATUSES

CrmInfo = Info[RequestContext, None]


# Errors that belong in a payload's ``errors`` list; auth failures stay top-level GraphQL errors.
PAYLOAD_ERRORS = (InvalidInput, NotFound, Conflict)


CREATED = "True when this call created the record, false when it was there already (a retried request)"


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
class OrderPayload:
    order: Order | None = None
    created: bool | None = strawberry.field(default=None, description=CREATED)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InteractionPayload:
    interaction: Interaction | None = None
    created: bool | None = strawberry.field(default=None, description=CREATED)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ScoringRunPayload:
    run: ScoringRun | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ClassSetPayload:
    class_set: ClassSet | None = None
    run: ScoringRun | None = strawberry.field(default=None, description="The run rescoring the workspace, if any")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field
    async def customer(self, info: CrmInfo, id: strawberry.ID) -> Customer | None:
        context = info.context
        found = await context.services.customers.get(context.principal, str(id), with_evidence=wants_evidence(info))
        return Customer.from_domain(found, await context.workspace()) if found else None

    @strawberry.field(description="Relay-style list in creation order; first is at most 100")
    async def customers(
        self, info: CrmInfo, filter: CustomerFilter | None = None, first: int = 20, after: str | None = None
    ) -> CustomerConnection:
        context = info.context
        spec = filter.to_domain() if filter else None
        page = await context.services.customers.page(
            context.principal, spec, first, decode_cursor(after), with_evidence=wants_evidence(info)
        )
        workspace = await context.workspace()
        edges = [
            CustomerEdge(cursor=encode_cursor(c.id), node=Customer.from_domain(c, workspace)) for c in page.customers
        ]
        return CustomerConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None),
            filter=spec,
        )

    @strawberry.field(description="The class sets, their codes, labels, colours and the settings in force")
    async def class_sets(self, info: CrmInfo) -> list[ClassSet]:
        workspace = await info.context.workspace()
        return [ClassSet.from_workspace(key, workspace) for key in CLASS_SETS]

    @strawberry.field(description="Customers per code of a class set (for dashboards), optionally filtered")
    async def class_distribution(
        self, info: CrmInfo, class_set: str, filter: CustomerFilter | None = None
    ) -> list[ClassCount]:
        context = info.context
        counts = await context.services.customers.class_distribution(
            context.principal, class_set, filter.to_domain() if filter else None
        )
        workspace = await context.workspace()
        return [ClassCount(class_set=class_set, code=code, count=count, workspace=workspace) for code, count in counts]

    @strawberry.field(description="The workspace's API keys, without secrets (admin)")
    async def api_keys(self, info: CrmInfo) -> list[ApiKey]:
        context = info.context
        return [ApiKey.from_domain(key) for key in await context.services.keys.list(context.principal)]

    @strawberry.field
    async def scoring_run(self, info: CrmInfo, id: strawberry.ID) -> ScoringRun | None:
        context = info.context
        run = await context.services.scoring_runs.get(context.principal, str(id))
        return ScoringRun.from_domain(run) if run else None

    @strawberry.field(description="Newest first")
    async def scoring_runs(self, info: CrmInfo, first: int = 20) -> list[ScoringRun]:
        context = info.context
        return [
            ScoringRun.from_domain(run) for run in await context.services.scoring_runs.latest(context.principal, first)
        ]

    @strawberry.field
    async def order(self, info: CrmInfo, id: strawberry.ID) -> Order | None:
        context = info.context
        found = await context.services.orders.get(context.principal, str(id))
        return Order.from_domain(found) if found else None


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_customer(self, info: CrmInfo, input: CustomerInput) -> CustomerPayload:
        context = info.context
        created = await attempt(context.services.customers.create(context.principal, input_to_dict(input)))
        if isinstance(created, list):
            return CustomerPayload(errors=created)
        customer = Customer.from_domain(created.value, await context.workspace())
        return CustomerPayload(customer=customer, created=created.created)

    @strawberry.mutation
    async def update_customer(self, info: CrmInfo, id: strawberry.ID, input: CustomerUpdateInput) -> CustomerPayload:
        context = info.context
        updated = await attempt(context.services.customers.update(context.principal, str(id), input_to_dict(input)))
        if isinstance(updated, list):
            return CustomerPayload(errors=updated)
        return CustomerPayload(customer=Customer.from_domain(updated, await context.workspace()))

    @strawberry.mutation(description="Removes the customer and its interactions; its orders are kept, detached")
    async def delete_customer(self, info: CrmInfo, id: strawberry.ID) -> DeletePayload:
        context = info.context
        deleted = await attempt(context.services.customers.delete(context.principal, str(id)))
        if isinstance(deleted, list):
            return DeletePayload(errors=deleted)
        return DeletePayload(deleted_id=id)

    @strawberry.mutation
    async def record_order(self, info: CrmInfo, input: OrderInput) -> OrderPayload:
        context = info.context
        order = await attempt(context.services.orders.record(context.principal, input_to_dict(input)))
        if isinstance(order, list):
            return OrderPayload(errors=order)
        return OrderPayload(order=Order.from_domain(order.value), created=order.created)

    @strawberry.mutation
    async def set_order_status(
        self,
        info: CrmInfo,
        id: strawberry.ID,
        status: OrderStatusEnum,  # type: ignore[valid-type]
        refund_amount: Decimal | None = None,
    ) -> OrderPayload:
        context = info.context
        order = await attempt(
            context.services.orders.set_status(context.principal, str(id), OrderStatus(status), refund_amount)
        )
        if isinstance(order, list):
            return OrderPayload(errors=order)
        return OrderPayload(order=Order.from_domain(order))

    @strawberry.mutation
    async def record_interaction(self, info: CrmInfo, input: InteractionInput) -> InteractionPayload:
        context = info.context
        interaction = await attempt(context.services.interactions.record(context.principal, input_to_dict(input)))
        if isinstance(interaction, list):
            return InteractionPayload(errors=interaction)
        return InteractionPayload(interaction=Interaction.from_domain(interaction.value), created=interaction.created)

    @strawberry.mutation(
        description="Rescore the whole workspace in batches (ops, admin); dryRun reports, writes nothing"
    )
    async def start_scoring_run(self, info: CrmInfo, input: ScoringRunInput | None = None) -> ScoringRunPayload:
        context = info.context
        options = input or ScoringRunInput()
        run = await attempt(context.services.scoring_runs.start(context.principal, options.dry_run, options.class_sets))
        if isinstance(run, list):
            return ScoringRunPayload(errors=run)
        return ScoringRunPayload(run=ScoringRun.from_domain(run))

    @strawberry.mutation
    async def cancel_scoring_run(self, info: CrmInfo, id: strawberry.ID) -> ScoringRunPayload:
        context = info.context
        run = await attempt(context.services.scoring_runs.cancel(context.principal, str(id)))
        if isinstance(run, list):
            return ScoringRunPayload(errors=run)
        return ScoringRunPayload(run=ScoringRun.from_domain(run))

    @strawberry.mutation(description="A new user with a key of the given role (admin); the token is shown once")
    async def create_api_key(self, info: CrmInfo, input: ApiKeyInput) -> ApiKeyPayload:
        context = info.context
        issued = await attempt(context.services.keys.create(context.principal, input.user_name, input.role, input.name))
        if isinstance(issued, list):
            return ApiKeyPayload(errors=issued)
        return ApiKeyPayload(key=ApiKey.from_domain(issued.info), token=issued.token)

    @strawberry.mutation(description="A new secret for the same user and role; the old key stops at once (admin)")
    async def rotate_api_key(self, info: CrmInfo, id: strawberry.ID) -> ApiKeyPayload:
        context = info.context
        issued = await attempt(context.services.keys.rotate(context.principal, str(id)))
        if isinstance(issued, list):
            return ApiKeyPayload(errors=issued)
        return ApiKeyPayload(key=ApiKey.from_domain(issued.info), token=issued.token)

    @strawberry.mutation(description="The key stops working at once, open websockets included (admin)")
    async def revoke_api_key(self, info: CrmInfo, id: strawberry.ID) -> ApiKeyPayload:
        context = info.context
        revoked = await attempt(context.services.keys.revoke(context.principal, str(id)))
        if isinstance(revoked, list):
            return ApiKeyPayload(errors=revoked)
        return ApiKeyPayload(key=ApiKey.from_domain(revoked))

    @strawberry.mutation(
        description="Change a class set's settings (admin); a threshold change starts a run. With dryRun nothing "
        "is saved: classSet shows the proposed settings and run is a dry run reporting who would move."
    )
    async def update_class_set(
        self, info: CrmInfo, input: ClassSetUpdateInput, dry_run: bool = False
    ) -> ClassSetPayload:
        context = info.context
        if input.params is not None and not isinstance(input.params, dict):
            return ClassSetPayload(
                errors=[UserError(field="params", code=ErrorCode.INVALID_INPUT, message="an object")]
            )
        updated = await attempt(
            context.services.class_settings.update(context.principal, input.to_domain(), dry_run=dry_run)
        )
        if isinstance(updated, list):
            return ClassSetPayload(errors=updated)
        workspace, run = updated
        context.forget_workspace()
        return ClassSetPayload(
            class_set=ClassSet.from_workspace(input.class_set, workspace),
            run=ScoringRun.from_domain(run) if run else None,
        )

    @strawberry.mutation(description="Finish the batches not done yet (after a cancel or a lost worker)")
    async def resume_scoring_run(self, info: CrmInfo, id: strawberry.ID) -> ScoringRunPayload:
        context = info.context
        run = await attempt(context.services.scoring_runs.resume(context.principal, str(id)))
        if isinstance(run, list):
            return ScoringRunPayload(errors=run)
        return ScoringRunPayload(run=ScoringRun.from_domain(run))


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Class changes in the caller's workspace, optionally narrowed")
    async def customer_class_changed(
        self, info: CrmInfo, customer_id: strawberry.ID | None = None, class_set: str | None = None
    ) -> AsyncGenerator[ClassChange]:
        context = info.context
        principal = context.principal
        if class_set is not None:
            require_readable_class_set(principal, checked_class_set(class_set).key)

        def accepts(event: ClassChangeEvent) -> bool:
            return (
                event.visible_to(principal)
                and (customer_id is None or event.customer_id == customer_id)
                and (class_set is None or event.class_set == class_set)
            )

        workspace = await context.workspace()
        async with context.hub.listen(principal.workspace_id, principal.key_id, accepts) as events:
            async for event in events:
                yield ClassChange.from_domain(event, workspace)

    @strawberry.subscription(description="The run's counts each time a batch finishes, until it stops running")
    async def scoring_run_progress(self, info: CrmInfo, id: strawberry.ID) -> AsyncGenerator[ScoringRun]:
        context = info.context
        principal = context.principal
        last = None
        async with context.hub.watch_run(str(id), principal.key_id) as ticks:
            async for _ in ticks:
                run = await context.services.scoring_runs.get(principal, str(id))
                if run is None:
                    raise NotFound(f"no scoring run {id!r}", field="id")
                if (run.status, run.progress) != last:
                    last = (run.status, run.progress)
                    yield ScoringRun.from_domain(run)
                if run.status not in ACTIVE_STATUSES:
                    return


async def attempt[T](work: Awaitable[T]) -> T | list[UserError]:
    """Run a use case; the expected failures of its input come back as the payload's errors."""
    try:
        return await work
    except PAYLOAD_ERRORS as error:
        return user_errors(error)


class CrmSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logging happens in DomainErrorMasker, which logs only what it masks."""


def build_schema(limits: EdgeLimits) -> CrmSchema:
    return CrmSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=edge_extensions(limits),
        config=StrawberryConfig(scalar_map={Decimal: STRICT_DECIMAL}),
    )


# The schema with default limits: what schema.graphql is exported from (limits do not change the SDL).
schema = build_schema(EdgeLimits())
