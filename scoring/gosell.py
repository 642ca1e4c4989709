"""GoSELL's customer-group builder (source article 002) in our rule language, one condition to one node.

GoSELL asks whether a customer must meet ALL the conditions or ANY of them, and offers conditions on
customer information (the date they registered, a customer tag) and on order information (orders
delivered, the area orders go to, the number of orders, the total spent, each with an operator: greater
than, less than, equal to). Each maps onto exactly one node, so a group built there can be rebuilt here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from scoring.segment_rules import Rule


class Match(StrEnum):
    ALL = "all"  # "thỏa tất cả các điều kiện"
    ANY = "any"  # "1 trong các điều kiện"


class Operator(StrEnum):
    GREATER = "greater"  # lớn hơn
    LESS = "less"  # nhỏ hơn
    EQUAL = "equal"  # bằng


class Condition(StrEnum):
    REGISTERED_BETWEEN = "registered_between"  # ngày đăng ký trên hệ thống
    CUSTOMER_TAG = "customer_tag"  # thẻ khách hàng
    DELIVERED_ORDERS = "delivered_orders"  # hàng được giao: has a delivered order
    ORDER_AREA = "order_area"  # khu vực được áp dụng: the customer's region
    ORDER_COUNT = "order_count"  # tổng số đơn hàng
    TOTAL_SPENT = "total_spent"  # tổng tiền khách hàng đã mua


@dataclass(frozen=True, slots=True)
class GoSellCondition:
    condition: Condition
    operator: Operator = Operator.EQUAL
    value: str | Decimal | None = None
    start: datetime | None = None
    end: datetime | None = None


def from_gosell(match: Match, conditions: list[GoSellCondition]) -> Rule:
    return Rule.model_validate({match.value: [_node(condition) for condition in conditions]})


def _node(c: GoSellCondition) -> dict[str, object]:
    if c.condition is Condition.REGISTERED_BETWEEN:
        return {"date": {"field": "created_at", "after": c.start, "before": c.end}}
    if c.condition is Condition.CUSTOMER_TAG:
        return {"field": {"field": "tags", "op": "contains", "value": str(c.value)}}
    if c.condition is Condition.ORDER_AREA:
        return {"field": {"field": "region", "op": "equals", "value": str(c.value)}}
    if c.condition is Condition.DELIVERED_ORDERS:
        return {"orders": {"measure": "count", "statuses": ["delivered"], "min": 1}}
    amount = Decimal(str(c.value))
    if c.condition is Condition.ORDER_COUNT:
        # GoSELL counts the orders a customer placed, whatever became of them.
        return {"score": {"score": "orders", **_bounds(c.operator, amount, whole=True)}}
    return {"score": {"score": "net_spend", **_bounds(c.operator, amount, whole=False)}}


def _bounds(operator: Operator, amount: Decimal, *, whole: bool) -> dict[str, Decimal]:
    """Strict comparisons as inclusive bounds: counts step by 1, money by 0.001 (finer than any currency's
    minor unit the shops here use, so no stored amount lies between)."""
    step = Decimal(1) if whole else Decimal("0.001")
    if operator is Operator.GREATER:
        return {"min": amount + step}
    if operator is Operator.LESS:
        return {"max": amount - step}
    return {"min": amount, "max": amount}
