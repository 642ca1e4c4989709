"""Segments: preview a rule, save and delete, static lists by hand, what a rule change would do, and
joins and leaves live."""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from api.event_hub import HubEvent
from api.resolvers.common import CREATED, CrmInfo, respond
from api.resolvers.customers import DeletePayload
from api.types.customer import Customer
from api.types.errors import UserError
from api.types.runs import ScoringRun
from api.types.segments import (
    Segment,
    SegmentChangePreview,
    SegmentInput,
    SegmentMembershipEvent,
    SegmentPreview,
    SegmentRuleInput,
)
from domain.customers.filters import CustomerFilter
from domain.errors import ErrorCode
from domain.segments.models import SegmentEvent, SegmentKind
from domain.segments.service import Charge, Preview, Saved


@strawberry.type
class SegmentPayload:
    segment: Segment | None = None
    run: ScoringRun | None = strawberry.field(default=None, description="The run applying a new or changed rule")
    created: bool | None = strawberry.field(default=None, description=CREATED)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MembershipPayload:
    changed: int = strawberry.field(default=0, description="Customers who joined (or left)")
    errors: list[UserError] = strawberry.field(default_factory=list)


def _charge(info: CrmInfo) -> Charge:
    """A preview's cost, known once its rule is read, taken from the key's rate limit like a query's."""
    context = info.context

    async def charge(cost: int) -> None:
        context.query_cost = (context.query_cost or 0) + cost  # for the request's log line and metrics
        if context.rate_limiter is None:
            return
        decision = await context.rate_limiter.take(context.principal.key_id, cost)
        if not decision.allowed:
            retry_after = math.ceil(decision.retry_after_seconds)
            raise GraphQLError(
                f"rate limit reached for this key; retry in {retry_after} s",
                extensions={"code": ErrorCode.RATE_LIMITED, "retryAfter": retry_after, "cost": cost},
            )

    return charge


async def _preview(info: CrmInfo, found: Preview) -> SegmentPreview:
    context = info.context
    workspace = await context.workspace()
    sample = []
    if found.sample_ids:
        page = await context.services.customers.page(
            context.principal, CustomerFilter(ids=found.sample_ids), len(found.sample_ids), None
        )
        sample = [Customer.from_domain(customer, workspace) for customer in page.customers]
    share = round(found.share, 4)
    return SegmentPreview(count=found.count, total=found.total, share=share, sample=sample, cost=found.cost)


@strawberry.type
class SegmentQuery:
    @strawberry.field(description="The workspace's segments")
    async def segments(self, info: CrmInfo) -> list[Segment]:
        context = info.context
        return [Segment.from_domain(s) for s in await context.services.segments.all(context.principal)]

    @strawberry.field
    async def segment(self, info: CrmInfo, id: strawberry.ID) -> Segment | None:
        context = info.context
        found = await context.services.segments.get(context.principal, str(id))
        return Segment.from_domain(found) if found else None

    @strawberry.field(description="How many customers a rule takes in now, their share and a sample; nothing saved")
    async def preview_segment(self, info: CrmInfo, rule: SegmentRuleInput) -> SegmentPreview:
        context = info.context
        found = await context.services.segments.preview(context.principal, rule.to_raw(), _charge(info))
        return await _preview(info, found)

    @strawberry.field(description="Who would enter and who would leave if the segment's rule changed; nothing saved")
    async def segment_change_preview(
        self, info: CrmInfo, id: strawberry.ID, rule: SegmentRuleInput
    ) -> SegmentChangePreview:
        context = info.context
        found = await context.services.segments.change_preview(context.principal, str(id), rule.to_raw(), _charge(info))
        return SegmentChangePreview(
            entering=await _preview(info, found.entering),
            leaving=await _preview(info, found.leaving),
            staying=found.staying,
            cost=found.cost,
        )


@strawberry.type
class SegmentMutation:
    @strawberry.mutation(
        description="Create a segment, or change one (with id). A new or changed DYNAMIC rule is applied to the "
        "workspace by the returned run; a STATIC segment given a rule takes today's matches (ops, admin)."
    )
    async def save_segment(self, info: CrmInfo, input: SegmentInput) -> SegmentPayload:
        context = info.context

        async def saved() -> tuple[Saved, ScoringRun | None]:
            done = await context.services.segments.save(
                context.principal,
                str(input.id) if input.id is not None else None,
                input.name,
                SegmentKind(input.kind),
                input.rule.to_raw() if input.rule is not None else None,
                input.external_id,
            )
            run = await context.services.scoring_runs.get(context.principal, done.run_id) if done.run_id else None
            return done, ScoringRun.from_domain(run) if run else None

        return await respond(
            SegmentPayload,
            saved(),
            lambda done: SegmentPayload(
                segment=Segment.from_domain(done[0].segment), run=done[1], created=done[0].created
            ),
        )

    @strawberry.mutation(description="Delete a segment no other segment's rule uses (ops, admin)")
    async def delete_segment(self, info: CrmInfo, id: strawberry.ID) -> DeletePayload:
        context = info.context
        return await respond(
            DeletePayload,
            context.services.segments.delete(context.principal, str(id)),
            lambda _: DeletePayload(deleted_id=id),
        )

    @strawberry.mutation(description="Add customers to a STATIC segment (ops, admin; at most 500 at a time)")
    async def add_to_segment(
        self, info: CrmInfo, segment_id: strawberry.ID, customer_ids: list[strawberry.ID]
    ) -> MembershipPayload:
        context = info.context
        return await respond(
            MembershipPayload,
            context.services.segments.add(context.principal, str(segment_id), [str(c) for c in customer_ids]),
            lambda changed: MembershipPayload(changed=changed),
        )

    @strawberry.mutation(description="Remove customers from a STATIC segment (ops, admin)")
    async def remove_from_segment(
        self, info: CrmInfo, segment_id: strawberry.ID, customer_ids: list[strawberry.ID]
    ) -> MembershipPayload:
        context = info.context
        return await respond(
            MembershipPayload,
            context.services.segments.remove(context.principal, str(segment_id), [str(c) for c in customer_ids]),
            lambda changed: MembershipPayload(changed=changed),
        )


@strawberry.type
class SegmentSubscription:
    @strawberry.subscription(
        description="Customers joining and leaving segments (one, or all), within the caller's scope. Delivery is "
        "at least once: the id is stable, so a client drops one it has seen."
    )
    async def segment_membership_changed(
        self, info: CrmInfo, segment_id: strawberry.ID | None = None
    ) -> AsyncGenerator[SegmentMembershipEvent]:
        context = info.context
        principal = context.principal
        if segment_id is not None:
            # One read from personal details this role may not read: refused now, not silently empty.
            await context.services.segments.get(principal, str(segment_id))

        def accepts(event: HubEvent) -> bool:
            return (
                isinstance(event, SegmentEvent)
                and event.visible_to(principal)
                and (segment_id is None or event.segment_id == str(segment_id))
            )

        async with context.hub.listen(principal.workspace_id, principal.key_id, accepts) as events:
            async for event in events:
                if isinstance(event, SegmentEvent):
                    yield SegmentMembershipEvent.from_domain(event)
