"""Limits at the GraphQL edge: document size and shape, cost before execution, per-key rate limits."""

from __future__ import annotations

import functools
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from api.cost import operation_cost
from api.errors import DomainErrorMasker
from domain.errors import ErrorCode


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    max_depth: int = 12
    max_aliases: int = 15
    max_tokens: int = 3000
    max_cost: int = 20_000
    document_cache_size: int = 256
    introspection: bool = True


class QueryCost(SchemaExtension):
    """Rejects a query whose cost exceeds the cap or the caller's rate limit, before it runs, and reports
    the cost in ``extensions.cost``."""

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost
        self.cost: int | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            # The name the client sent: strawberry otherwise falls back to the first operation's.
            _require_operation_name(context.graphql_document, context._provided_operation_name)
            schema = context.schema._schema
            self.cost = operation_cost(schema, context.graphql_document, context.operation_name, context.variables)
            if hasattr(context.context, "query_cost"):
                context.context.query_cost = self.cost  # for the request's log line and metrics
            if self.cost > self.max_cost:
                raise GraphQLError(
                    f"query cost {self.cost} is over the limit of {self.max_cost}; ask for fewer items (first)",
                    extensions={"code": ErrorCode.QUERY_TOO_COSTLY, "cost": self.cost, "maxCost": self.max_cost},
                )
            await self._charge(context.context, self.cost)
        yield

    async def _charge(self, request: Any, cost: int) -> None:
        limiter = getattr(request, "rate_limiter", None)
        if limiter is None:
            return
        # A key has its own bucket; calls without a valid key share one per client address.
        principal = getattr(request, "authenticated", None)
        bucket = principal.key_id if principal is not None else f"address:{_client_address(request)}"
        decision = await limiter.take(bucket, max(cost, 1))
        if not decision.allowed:
            retry_after = math.ceil(decision.retry_after_seconds)
            raise GraphQLError(
                f"rate limit reached for this key; retry in {retry_after} s",
                extensions={"code": ErrorCode.RATE_LIMITED, "retryAfter": retry_after, "cost": cost},
            )

    def get_results(self) -> dict[str, Any]:
        return {} if self.cost is None else {"cost": {"requested": self.cost, "maximum": self.max_cost}}


def _require_operation_name(document: DocumentNode, operation_name: str | None) -> None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None and len(operations) > 1:
        raise GraphQLError(
            "the document holds several operations: say which to run with operationName",
            extensions={"code": ErrorCode.OPERATION_NAME_REQUIRED},
        )


def _client_address(request: Any) -> str:
    client = getattr(getattr(request, "request", None), "client", None)
    return getattr(client, "host", None) or "unknown"


def _shape_rules(limits: EdgeLimits) -> list[type[ASTValidationRule]]:
    return [depth_rule(limits.max_depth, None, None), alias_rule(limits.max_aliases)]


def document_validator(schema: GraphQLSchema, limits: EdgeLimits) -> Callable[[str], bool]:
    """Whether a document would pass parsing and validation as a request runs them (for what is worth
    keeping, before anything runs it)."""
    rules = (*specified_rules, *_shape_rules(limits))
    if not limits.introspection:
        rules = (*rules, NoSchemaIntrospectionCustomRule)

    def is_valid(query: str) -> bool:
        try:
            document = parse(query, max_tokens=limits.max_tokens)
        except GraphQLError:
            return False
        return not validate(schema, document, rules)

    return is_valid


def edge_extensions(limits: EdgeLimits) -> list[Callable[[], SchemaExtension]]:
    # The depth and alias rules are built once: strawberry's limiter extensions build new rule classes for
    # every request, which makes every request miss the validation cache (it is keyed by the rules).
    rules = _shape_rules(limits)
    extensions: list[Callable[[], SchemaExtension]] = [
        functools.partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        functools.partial(ParserCache, maxsize=limits.document_cache_size),
        functools.partial(ValidationCache, maxsize=limits.document_cache_size),
        functools.partial(AddValidationRules, rules),
        functools.partial(QueryCost, max_cost=limits.max_cost),
        functools.partial(DomainErrorMasker, hide_suggestions=not limits.introspection),
    ]
    if not limits.introspection:
        extensions.append(DisableIntrospection)
    return extensions
