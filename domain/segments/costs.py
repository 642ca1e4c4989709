"""What a segment preview costs, from its rule, before the customers are read.

A preview reads every customer the caller sees once, then MongoDB groups every order (or interaction)
of the workspace once per collection, with one accumulator per distinct aggregate leaf: the leaves,
not the nodes, are the work. Measured on the dev server with 500 customers: the read about as long as
a page of 100 customers with their classes, orders and history (cost ~3,100, ~1 s), each aggregate leaf
~230 ms more. The charge is in the units of the GraphQL query cost (objects fetched), so that the
per-key rate limit weighs both alike. A referenced segment adds its own leaves, and its evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.errors import DomainError, ErrorCode
from domain.segments.models import Segment, SegmentKind
from scoring.segment_rules import Rule, aggregate_leaves, referenced_segments

PREVIEW_BASE_COST = 500  # the read of the customers in scope
AGGREGATE_LEAF_COST = 500  # an accumulator over every order or interaction of the workspace
SEGMENT_COST = 50  # a referenced segment evaluated on the same frame (its leaves are counted as leaves)
# About nineteen aggregate leaves: a rule of the full 60 nodes, all aggregates, is refused.
PREVIEW_BUDGET = 10_000


class PreviewTooCostly(DomainError):
    code = ErrorCode.QUERY_TOO_COSTLY


def evaluated_segments(rule: Rule, segments: Mapping[str, Segment]) -> set[str]:
    """The segments a preview of ``rule`` evaluates: those it references and, through the dynamic ones'
    rules, those they reference (a static list is read from its stored members)."""
    found: set[str] = set()
    todo = set(referenced_segments(rule))
    while todo:
        segment_id = todo.pop()
        found.add(segment_id)
        segment = segments.get(segment_id)
        if segment is not None and segment.kind is SegmentKind.DYNAMIC and segment.rule is not None:
            todo |= referenced_segments(segment.rule) - found
    return found


def preview_cost(rule: Rule, segments: Mapping[str, Segment]) -> int:
    """With ``segments`` empty, the cost of the rule alone: never more than with them."""
    evaluated = evaluated_segments(rule, segments)
    rules = [rule, *_dynamic_rules(evaluated, segments)]
    return PREVIEW_BASE_COST + AGGREGATE_LEAF_COST * len(aggregate_leaves(rules)) + SEGMENT_COST * len(evaluated)


def _dynamic_rules(ids: set[str], segments: Mapping[str, Segment]) -> list[Rule]:
    found = [segments[i] for i in sorted(ids) if i in segments]
    return [s.rule for s in found if s.kind is SegmentKind.DYNAMIC and s.rule is not None]


def require_within_budget(cost: int, budget: int = PREVIEW_BUDGET) -> None:
    if cost > budget:
        raise PreviewTooCostly(
            f"this preview costs {cost:,}, over the budget of {budget:,} per request ({PREVIEW_BASE_COST} to "
            f"read the customers, {AGGREGATE_LEAF_COST} per distinct order or interaction condition, "
            f"{SEGMENT_COST} per segment it reads); preview fewer conditions at a time",
            field="rule",
        )
