from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from api.context import RequestContext
from api.pagination import decode_cursor, encode_cursor
from api.selection import wants_evidence
from api.types.classes import ClassChange, CustomerClass
from api.types.conversion import LeadVerdict
from api.types.enums import GenderEnum, IncomeBandEnum, LegalTypeEnum
from api.types.lead import Lead
from api.types.segments import Segment, SegmentMembershipEvent
from api.types.value import FutureValue
from domain.customers.filters import CustomerFilter as DomainFilter
from domain.customers.models import Customer as DomainCustomer
from domain.customers.ordering import CustomerOrder
from domain.money import from_minor
from domain.workspaces.models import Workspace
from scoring.future_value_class import SPEC as FUTURE_VALUE_SPEC

if TYPE_CHECKING:
    from api.types.interaction import Interaction
    from api.types.order import Order


@strawberry.type
class User:
    id: strawberry.ID
    name: str

    @classmethod
    async def load(cls, info: Info[RequestContext, None], user_id: str | None) -> User | None:
        """Through the request's DataLoader, so a page of customers reads its users in one query."""
        user = await info.context.loaders.users.load(user_id) if user_id else None
        return cls(id=strawberry.ID(user.id), name=user.name) if user else None


@strawberry.type
class Personality:
    type: int = strawberry.field(description="Enneagram-like type 1-9, entered by sales")
    entered_at: datetime
    entered_by_id: strawberry.Private[str]

    @strawberry.field
    async def entered_by(self, info: Info[RequestContext, None]) -> User | None:
        return await User.load(info, self.entered_by_id)


@strawberry.type
class CustomAttribute:
    key: str
    value: str
    sensitive: bool


@strawberry.type
class CustomerStats:
    order_count: int
    paid_order_count: int
    net_spend: Decimal = strawberry.field(description="Paid minus refunded, in the workspace currency")
    currency: str
    first_order_at: datetime | None
    last_order_at: datetime | None


@strawberry.type(description="A segment a customer is in")
class CustomerSegment:
    segment: Segment
    since: datetime


@strawberry.type
class Customer:
    id: strawberry.ID
    external_id: str | None
    name: str
    email: str | None
    phone: str | None = strawberry.field(description="E.164")
    legal_type: LegalTypeEnum  # type: ignore[valid-type]
    company_name: str | None
    tax_id: str | None
    birth_date: date | None
    customer_since: date | None = strawberry.field(
        description="When the shop first had this customer (set when migrating); tenure and silence count from it"
    )
    gender: GenderEnum | None  # type: ignore[valid-type]
    city: str | None
    region: str | None
    country: str | None
    income_band: IncomeBandEnum | None  # type: ignore[valid-type]
    occupation: str | None
    interests: list[str]
    lifestyle: list[str]
    tags: list[str]
    needs: list[str] = strawberry.field(description="Product categories the customer needs")
    personality: Personality | None
    attributes: list[CustomAttribute]
    created_at: datetime
    updated_at: datetime
    changed_at: datetime | None = strawberry.field(
        description="The last change a client sees (profile, classes, stats, segments): what offline sync orders by"
    )
    classes: list[CustomerClass]
    stats: CustomerStats
    next_class_change_at: datetime | None = strawberry.field(
        description="When a class next changes with time alone (a birthday, a tenure boundary, a grace period)"
    )
    domain: strawberry.Private[DomainCustomer]
    workspace: strawberry.Private[Workspace]

    @strawberry.field(description="Lead potential: score, tier and factors; null until the customer is scored")
    def lead(self) -> Lead | None:
        return Lead.of(self.classes)

    @strawberry.field(description="The segments the customer is in now, and since when")
    async def segments(self, info: Info[RequestContext, None]) -> list[CustomerSegment]:
        since = self.domain.segment_since
        found = await info.context.loaders.segments.load_many(list(since))
        return [
            CustomerSegment(segment=Segment.from_domain(segment), since=since[segment.id])
            for segment in found
            if segment is not None
        ]

    @strawberry.field(description="Segment joins and leaves, newest first")
    async def segment_history(self, info: Info[RequestContext, None], first: int = 50) -> list[SegmentMembershipEvent]:
        events = await info.context.loaders.segment_history.load((self.domain.id, min(max(first, 0), 100)))
        return [SegmentMembershipEvent.from_domain(event) for event in events]

    @strawberry.field(description="Sales' verdict on the lead, if one was given")
    def lead_verdict(self) -> LeadVerdict | None:
        return LeadVerdict.of(self.domain.lead_verdict) if self.domain.lead_verdict else None

    @strawberry.field(description="Predicted future value; null until the customer is scored")
    def value(self) -> FutureValue | None:
        value_class = next((c for c in self.classes if c.class_set == FUTURE_VALUE_SPEC.key), None)
        return FutureValue.from_class(value_class, self.workspace.currency) if value_class else None

    @strawberry.field
    async def owner(self, info: Info[RequestContext, None]) -> User | None:
        return await User.load(info, self.domain.owner_id)

    @strawberry.field(description="Class changes from the ledger, newest first")
    async def class_history(
        self, info: Info[RequestContext, None], class_set: str | None = None, first: int = 50
    ) -> list[ClassChange]:
        events = await info.context.loaders.class_history.load((self.domain.id, class_set, first))
        return [ClassChange.from_domain(event, self.workspace) for event in events]

    @strawberry.field(description="Newest first")
    async def orders(
        self, info: Info[RequestContext, None], first: int = 20
    ) -> list[Annotated[Order, strawberry.lazy("api.types.order")]]:
        from api.types.order import Order

        orders = await info.context.loaders.orders.load((self.domain.id, first))
        return [Order.from_domain(order) for order in orders]

    @strawberry.field(description="Newest first")
    async def interactions(
        self, info: Info[RequestContext, None], first: int = 20
    ) -> list[Annotated[Interaction, strawberry.lazy("api.types.interaction")]]:
        from api.types.interaction import Interaction

        items = await info.context.loaders.interactions.load((self.domain.id, first))
        return [Interaction.from_domain(item) for item in items]

    @classmethod
    def from_domain(cls, c: DomainCustomer, workspace: Workspace) -> Customer:
        """``workspace`` is the request's: labels, colours and the currency come from it."""
        return cls(
            id=strawberry.ID(c.id),
            external_id=c.external_id,
            name=c.name,
            email=c.email,
            phone=c.phone,
            legal_type=c.legal_type,
            company_name=c.company_name,
            tax_id=c.tax_id,
            birth_date=c.birth_date,
            customer_since=c.customer_since,
            gender=c.gender,
            city=c.city,
            region=c.region,
            country=c.country,
            income_band=c.income_band,
            occupation=c.occupation,
            interests=c.interests,
            lifestyle=c.lifestyle,
            tags=c.tags,
            needs=c.needs,
            personality=(
                Personality(
                    type=c.personality.type,
                    entered_at=c.personality.entered_at,
                    entered_by_id=c.personality.entered_by,
                )
                if c.personality
                else None
            ),
            attributes=[
                CustomAttribute(key=k, value=v, sensitive=k in c.sensitive_attributes)
                for k, v in sorted(c.attributes.items())
            ],
            created_at=c.created_at,
            updated_at=c.updated_at,
            changed_at=c.changed_at,
            classes=[CustomerClass.from_domain(assigned, workspace) for assigned in c.classes],
            stats=CustomerStats(
                order_count=c.stats.order_count,
                paid_order_count=c.stats.paid_order_count,
                net_spend=from_minor(c.stats.net_spend_minor, workspace.currency),
                currency=workspace.currency,
                first_order_at=c.stats.first_order_at,
                last_order_at=c.stats.last_order_at,
            ),
            next_class_change_at=c.next_class_change_at,
            domain=c,
            workspace=workspace,
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class CustomerEdge:
    cursor: str
    node: Customer


@strawberry.type
class CustomerConnection:
    edges: list[CustomerEdge]
    page_info: PageInfo
    filter: strawberry.Private[DomainFilter | None]

    @strawberry.field(description="Customers the list holds in all (counted only when asked for)")
    async def total_count(self, info: Info[RequestContext, None]) -> int:
        context = info.context
        return await context.services.customers.count(context.principal, self.filter, await context.workspace())


async def customer_connection(
    info: Info[RequestContext, None], spec: DomainFilter | None, first: int, after: str | None, order: CustomerOrder
) -> CustomerConnection:
    """A page of the customers ``spec`` selects among those the caller sees, in ``order``."""
    context = info.context
    page = await context.services.customers.page(
        context.principal,
        spec,
        first,
        decode_cursor(after, order.field),
        order=order,
        with_evidence=wants_evidence(info),
    )
    workspace = await context.workspace()
    edges = [
        CustomerEdge(cursor=encode_cursor(position), node=Customer.from_domain(c, workspace))
        for c, position in zip(page.customers, page.positions, strict=True)
    ]
    return CustomerConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None),
        filter=spec,
    )
