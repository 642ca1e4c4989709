"""The GraphQL schema, code first, merged from one module per area (api/resolvers). Importing this module
does no I/O; ``schema.graphql`` is exported from it."""

from __future__ import annotations

import functools
from decimal import Decimal

import strawberry
from graphql.error import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from api.edge import EdgeLimits, edge_extensions
from api.resolvers.classes import ClassMutation, ClassQuery, ClassSubscription
from api.resolvers.customers import CustomerMutation, CustomerQuery, SyncQuery
from api.resolvers.imports import ImportMutation, ImportQuery
from api.resolvers.keys import KeyMutation, KeyQuery
from api.resolvers.leads import LeadMutation, LeadQuery
from api.resolvers.orders import OrderMutation, OrderQuery
from api.resolvers.segments import SegmentMutation, SegmentQuery, SegmentSubscription
from api.telemetry import ApiMetrics, Telemetry
from api.types.scalars import STRICT_DECIMAL

Query = merge_types(
    "Query", (CustomerQuery, SyncQuery, ClassQuery, KeyQuery, OrderQuery, LeadQuery, SegmentQuery, ImportQuery)
)
Mutation = merge_types(
    "Mutation",
    (CustomerMutation, OrderMutation, ClassMutation, KeyMutation, LeadMutation, SegmentMutation, ImportMutation),
)
Subscription = merge_types("Subscription", (ClassSubscription, SegmentSubscription))


class CrmSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logging happens in DomainErrorMasker, which logs only what it masks."""


def build_schema(limits: EdgeLimits, metrics: ApiMetrics | None = None) -> CrmSchema:
    return CrmSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[functools.partial(Telemetry, metrics=metrics), *edge_extensions(limits)],
        config=StrawberryConfig(scalar_map={Decimal: STRICT_DECIMAL}),
    )


# The schema with default limits: what schema.graphql is exported from (limits do not change the SDL).
schema = build_schema(EdgeLimits())
