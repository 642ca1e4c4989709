"""Order and interaction leaves of segment rules compiled into one MongoDB ``$group`` per collection.

Built from typed nodes only: every value a client gave (statuses, kinds, a category, a moment) goes in
as a ``$literal``, so no text ever becomes an operator or a field path. One accumulator pair per leaf
(its value, and the earliest moment it counted, for windows that move with time): evaluating any
number of customers against any number of rules costs one command per collection. A ``$match`` in front
lets through only the documents some leaf counts (status, window, category, kind), so the ``$group`` reads
what it needs: on MongoDB an index can serve it, on the development server the conditions run on fewer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.money import decimal_sum
from domain.timestamps import aware
from scoring.segment_rules import OrderCondition, OrderDatedBy, OrderMeasure, Rule

NET = {"$subtract": ["$total_minor", {"$ifNull": ["$refund_minor", 0]}]}
# When an order reached its status; orders stored before the field existed reached it when placed.
STATUS_CHANGED_AT = {"$ifNull": ["$status_changed_at", "$placed_at"]}


def _dated(leaf: OrderCondition) -> Any:
    """The moment of an order the leaf's window (withinLastDays, after, before) is about."""
    return STATUS_CHANGED_AT if leaf.dated_by is OrderDatedBy.STATUS_CHANGED else "$placed_at"


def order_leaves(rules: list[Rule]) -> dict[str, OrderCondition]:
    return {node.key(): node.orders for rule in rules for node in rule.nodes() if node.orders is not None}


def interaction_leaves(rules: list[Rule]) -> dict[str, Any]:
    return {node.key(): node.interactions for rule in rules for node in rule.nodes() if node.interactions is not None}


def order_prefilter(leaves: dict[str, OrderCondition], now: datetime) -> dict[str, Any]:
    """A query every order some leaf counts passes (a superset: the accumulators still decide)."""
    return _any_of([_order_match(leaf, now) for leaf in leaves.values()])


def interaction_prefilter(leaves: dict[str, Any], now: datetime) -> dict[str, Any]:
    matches: list[dict[str, Any]] = []
    for leaf in leaves.values():
        match: dict[str, Any] = {"kind": {"$in": list(leaf.kinds)}}
        if leaf.within_last_days:
            match["at"] = {"$gte": _since(now, leaf.within_last_days)}
        matches.append(match)
    return _any_of(matches)


def _order_match(leaf: OrderCondition, now: datetime) -> dict[str, Any]:
    match: dict[str, Any] = {"status": {"$in": list(leaf.statuses)}}
    earliest = [aware(leaf.after)] if leaf.after is not None else []
    if leaf.within_last_days:
        earliest.append(_since(now, leaf.within_last_days))
    if leaf.dated_by is OrderDatedBy.STATUS_CHANGED:
        # An order placed long ago may have been refunded yesterday: only "before" bounds its placing too
        # (an order reaches a status after it was placed).
        earliest = []
    placed: dict[str, Any] = {"$gte": max(earliest)} if earliest else {}
    if leaf.before is not None:
        placed["$lt"] = aware(leaf.before)
    if placed:
        match["placed_at"] = placed
    if leaf.category is not None:
        match["items.category"] = leaf.category
    return match


def _any_of(matches: list[dict[str, Any]]) -> dict[str, Any]:
    if not matches:
        return {}
    return matches[0] if len(matches) == 1 else {"$or": matches}


def order_accumulators(leaves: dict[str, OrderCondition], now: datetime) -> dict[str, Any]:
    accumulators: dict[str, Any] = {}
    for key, leaf in leaves.items():
        conditions: list[Any] = [{"$in": ["$status", {"$literal": leaf.statuses}]}]
        moment = _dated(leaf)
        if leaf.within_last_days:
            conditions.append({"$gte": [moment, {"$literal": _since(now, leaf.within_last_days)}]})
        if leaf.after is not None:
            conditions.append({"$gte": [moment, {"$literal": leaf.after}]})
        if leaf.before is not None:
            conditions.append({"$lt": [moment, {"$literal": leaf.before}]})
        items = _items(leaf.category)
        if leaf.category is not None:
            conditions.append({"$gt": [items, 0]})
        counted = {"$and": conditions}
        measured = {
            OrderMeasure.COUNT: 1,
            OrderMeasure.ITEMS: items,
            OrderMeasure.SUM: NET,
            OrderMeasure.AVG: NET,
            OrderMeasure.MIN: NET,
            OrderMeasure.MAX: NET,
        }[leaf.measure]
        if leaf.measure in (OrderMeasure.MIN, OrderMeasure.MAX):
            operator = "$min" if leaf.measure is OrderMeasure.MIN else "$max"
            accumulators[f"v{key}"] = {operator: {"$cond": [counted, measured, None]}}
        elif leaf.measure in (OrderMeasure.SUM, OrderMeasure.AVG):
            accumulators[f"v{key}"] = decimal_sum({"$cond": [counted, measured, 0]})
        else:
            accumulators[f"v{key}"] = {"$sum": {"$cond": [counted, measured, 0]}}
        # An average is a sum over a count; the count is kept for every measure (0: nothing counted).
        accumulators[f"n{key}"] = {"$sum": {"$cond": [counted, 1, 0]}}
        accumulators[f"e{key}"] = {"$min": {"$cond": [counted, moment, None]}}
    return accumulators


def interaction_accumulators(leaves: dict[str, Any], now: datetime) -> dict[str, Any]:
    accumulators: dict[str, Any] = {}
    for key, leaf in leaves.items():
        conditions: list[Any] = [{"$in": ["$kind", {"$literal": leaf.kinds}]}]
        if leaf.within_last_days:
            conditions.append({"$gte": ["$at", {"$literal": _since(now, leaf.within_last_days)}]})
        counted = {"$and": conditions}
        accumulators[f"v{key}"] = {"$sum": {"$cond": [counted, 1, 0]}}
        accumulators[f"n{key}"] = {"$sum": {"$cond": [counted, 1, 0]}}
        accumulators[f"e{key}"] = {"$min": {"$cond": [counted, "$at", None]}}
    return accumulators


def _items(category: str | None) -> dict[str, Any]:
    """The quantity of the order's items (of ``category`` when given)."""
    quantity: Any = "$$item.quantity"
    if category is not None:
        quantity = {"$cond": [{"$eq": ["$$item.category", {"$literal": category}]}, "$$item.quantity", 0]}
    return {"$sum": {"$map": {"input": {"$ifNull": ["$items", []]}, "as": "item", "in": quantity}}}


def _since(now: datetime, days: int) -> datetime:
    return (now - timedelta(days=days)).astimezone(UTC)
