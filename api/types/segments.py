"""Segments as the API shows them, and the typed rule input a client builds them with."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import RequestContext
from api.types.enums import InteractionKindEnum, OrderStatusEnum
from domain.customers.filters import CustomerFilter as DomainFilter
from domain.customers.ordering import CustomerOrder
from domain.segments.models import MembershipChange, MembershipReason, SegmentKind
from domain.segments.models import Segment as DomainSegment
from domain.segments.models import SegmentEvent as DomainEvent
from scoring.segment_rules import (
    Anniversary,
    DateField,
    FieldOp,
    OrderDatedBy,
    OrderMeasure,
    ProfileField,
    ScoreField,
)

if TYPE_CHECKING:
    from api.types.customer import Customer, CustomerConnection

SegmentKindEnum = strawberry.enum(SegmentKind, name="SegmentKind")
MembershipChangeEnum = strawberry.enum(MembershipChange, name="MembershipChange")
MembershipReasonEnum = strawberry.enum(MembershipReason, name="MembershipReason")
ProfileFieldEnum = strawberry.enum(ProfileField, name="SegmentProfileField")
FieldOpEnum = strawberry.enum(FieldOp, name="SegmentFieldOp")
DateFieldEnum = strawberry.enum(DateField, name="SegmentDateField")
AnniversaryEnum = strawberry.enum(Anniversary, name="SegmentAnniversary")
ScoreFieldEnum = strawberry.enum(ScoreField, name="SegmentScore")
OrderMeasureEnum = strawberry.enum(OrderMeasure, name="SegmentOrderMeasure")
OrderDatedByEnum = strawberry.enum(
    OrderDatedBy, name="OrderDatedBy", description="Which moment of an order a window is about"
)


@strawberry.input(description="A profile field EQUALS / IN / CONTAINS / MATCHES a value, or EXISTS")
class FieldConditionInput:
    field: ProfileFieldEnum  # type: ignore[valid-type]
    op: FieldOpEnum  # type: ignore[valid-type]
    value: str | None = None
    values: list[str] | None = None


@strawberry.input(description="One of withinLastDays, olderThanDays, after/before, anniversary (birthDate)")
class DateConditionInput:
    field: DateFieldEnum  # type: ignore[valid-type]
    within_last_days: int | None = None
    older_than_days: int | None = None
    after: datetime | None = None
    before: datetime | None = None
    anniversary: AnniversaryEnum | None = None  # type: ignore[valid-type]


@strawberry.input(description="The customer's code of a class set is one of codes")
class ClassConditionInput:
    class_set: str
    codes: list[str]


@strawberry.input(description="A stored score within min..max (inclusive); money in the workspace's currency")
class ScoreConditionInput:
    score: ScoreFieldEnum  # type: ignore[valid-type]
    min: Decimal | None = None
    max: Decimal | None = None


@strawberry.input(
    description="An aggregate of the customer's orders (net of refunds) within min..max: COUNT, SUM, AVG, MIN, MAX "
    "or ITEMS (quantity of items, of category when given), over orders with these statuses (default PAID and "
    "DELIVERED), placed within the last withinLastDays (or after/before moments; datedBy STATUS_CHANGED: that "
    "reached their status then, as in refunded in the last 30 days), with an item of category"
)
class OrderConditionInput:
    measure: OrderMeasureEnum  # type: ignore[valid-type]
    min: Decimal | None = None
    max: Decimal | None = None
    statuses: list[OrderStatusEnum] | None = None  # type: ignore[valid-type]
    within_last_days: int | None = None
    after: datetime | None = None
    before: datetime | None = None
    category: str | None = None
    dated_by: OrderDatedByEnum | None = None  # type: ignore[valid-type]


@strawberry.input(description="How many interactions of these kinds, within the last withinLastDays, in min..max")
class InteractionConditionInput:
    kinds: list[InteractionKindEnum]  # type: ignore[valid-type]
    min: Decimal | None = None
    max: Decimal | None = None
    within_last_days: int | None = None


@strawberry.input(
    description="A rule node: exactly one of all, any, not, field, date, class, score, orders, interactions, "
    "segment. Nest at most 6 levels and 60 nodes."
)
class SegmentRuleInput:
    all: list[SegmentRuleInput] | None = None
    any: list[SegmentRuleInput] | None = None
    not_: SegmentRuleInput | None = strawberry.field(default=None, name="not")
    field: FieldConditionInput | None = None
    date: DateConditionInput | None = None
    class_: ClassConditionInput | None = strawberry.field(default=None, name="class")
    score: ScoreConditionInput | None = None
    orders: OrderConditionInput | None = None
    interactions: InteractionConditionInput | None = None
    segment: strawberry.ID | None = strawberry.field(default=None, description="Members of another segment")

    def to_raw(self) -> dict[str, Any]:
        """The stored shape (snake_case names, enum values); validated by the domain."""
        return _raw(self)  # type: ignore[no-any-return]


def _raw(value: Any) -> Any:
    if isinstance(value, list):
        return [_raw(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "__strawberry_definition__"):
        return {name.rstrip("_"): _raw(item) for name, item in vars(value).items() if item is not None}
    return value


@strawberry.input
class SegmentInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Given: change that segment")
    name: str
    external_id: str | None = strawberry.field(
        default=None,
        description="Your id for a new segment, unique in the workspace: saving it again with the same content "
        "(a retry after a timeout) returns the segment and run the first save made; other content is "
        "DUPLICATE_EXTERNAL_ID",
    )
    kind: SegmentKindEnum = SegmentKind.DYNAMIC  # type: ignore[valid-type]
    rule: SegmentRuleInput | None = strawberry.field(
        default=None, description="Required for DYNAMIC; for STATIC, freezes today's matches as the members"
    )


@strawberry.type(description="A customer group: by rule (DYNAMIC) or by hand (STATIC)")
class Segment:
    id: strawberry.ID
    name: str
    kind: SegmentKindEnum  # type: ignore[valid-type]
    rule: dict[str, Any] | None = strawberry.field(
        graphql_type=JSON | None, description="The rule as stored (the SegmentRuleInput shape)"
    )
    rule_version: int
    created_at: datetime
    updated_at: datetime
    recompute_run_id: strawberry.ID | None = strawberry.field(
        description="The scoring run that applied the current rule to the workspace"
    )

    @strawberry.field(description="Members among the customers the caller sees")
    async def count(self, info: Info[RequestContext, None]) -> int:
        return await info.context.loaders.segment_counts.load(str(self.id))

    @strawberry.field(description="Members among the customers the caller sees, in creation order; first <= 100")
    async def members(
        self, info: Info[RequestContext, None], first: int = 20, after: str | None = None
    ) -> Annotated[CustomerConnection, strawberry.lazy("api.types.customer")]:
        from api.types.customer import customer_connection

        return await customer_connection(info, DomainFilter(segment_id=str(self.id)), first, after, CustomerOrder())

    @classmethod
    def from_domain(cls, segment: DomainSegment) -> Segment:
        return cls(
            id=strawberry.ID(segment.id),
            name=segment.name,
            kind=segment.kind,
            rule=segment.rule.stored() if segment.rule else None,
            rule_version=segment.rule_version,
            created_at=segment.created_at,
            updated_at=segment.updated_at,
            recompute_run_id=strawberry.ID(segment.recompute_run_id) if segment.recompute_run_id else None,
        )


@strawberry.type(description="A customer joining or leaving a segment; id is stable across re-deliveries")
class SegmentMembershipEvent:
    id: strawberry.ID
    segment_id: strawberry.ID
    customer_id: strawberry.ID
    change: MembershipChangeEnum  # type: ignore[valid-type]
    reason: MembershipReasonEnum  # type: ignore[valid-type]
    rule_version: int
    at: datetime

    @classmethod
    def from_domain(cls, event: DomainEvent) -> SegmentMembershipEvent:
        return cls(
            id=strawberry.ID(event.id),
            segment_id=strawberry.ID(event.segment_id),
            customer_id=strawberry.ID(event.customer_id),
            change=event.change,
            reason=event.reason,
            rule_version=event.rule_version,
            at=event.at,
        )


@strawberry.type(description="Who a rule takes in, among the customers the caller sees")
class SegmentPreview:
    count: int
    total: int = strawberry.field(description="Customers the rule was evaluated on")
    share: float = strawberry.field(description="count / total")
    sample: list[Annotated[Customer, strawberry.lazy("api.types.customer")]] = strawberry.field(
        description="Up to 10 of them"
    )
    cost: int = strawberry.field(
        default=0,
        description="What the preview was charged to the key's rate limit, besides the query's own cost: 500 to "
        "read the customers, 500 per distinct order or interaction condition, 50 per segment it reads (a "
        "request may spend at most 10,000: more is QUERY_TOO_COSTLY, refused before anything is read)",
    )


@strawberry.type(description="What changing a segment's rule would do, before saving")
class SegmentChangePreview:
    entering: SegmentPreview
    leaving: SegmentPreview
    staying: int
    cost: int = strawberry.field(default=0, description="Charged as for previewSegment")
