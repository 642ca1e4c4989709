"""How a list of customers is ordered, and where a page of it starts (keyset pagination).

Every order ends with the customer id, so positions are total and a cursor stays correct while
customers are added, changed or deleted: the next page starts strictly after the last (value, id) seen.
Customers without a value (never scored, never ordered) come last in descending order, first in
ascending order, as MongoDB sorts a missing value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.auth.principals import Permission, Principal
from domain.errors import Forbidden
from scoring.catalogue import ScoringSettings, sensitive_class_sets
from scoring.future_value_class import SPEC as FUTURE_VALUE
from scoring.lead import SPEC as LEAD


class OrderField(StrEnum):
    CREATED = "created"
    CHANGED = "changed"  # the moment of the last change a client sees (offline sync)
    LEAD_SCORE = "lead_score"
    CONVERSION = "conversion"
    CALL_VALUE = "call_value"
    CLV = "clv"
    NET_SPEND = "net_spend"
    LAST_ORDER_AT = "last_order_at"


# The stored field each order reads (every one has a (workspace_id, field, _id) index).
SORT_PATHS: dict[OrderField, str] = {
    OrderField.CHANGED: "changed_at",
    OrderField.LEAD_SCORE: f"classes.{LEAD.key}.evidence.score",
    OrderField.CONVERSION: f"classes.{LEAD.key}.evidence.probability",
    OrderField.CALL_VALUE: f"classes.{LEAD.key}.evidence.call_value_minor",
    OrderField.CLV: f"classes.{FUTURE_VALUE.key}.evidence.clv_12m_minor",
    OrderField.NET_SPEND: "stats.net_spend_minor",
    OrderField.LAST_ORDER_AT: "stats.last_order_at",
}
# The change moment that leaves out changes read from personal details (see domain.db.STAMP_CHANGED).
PUBLIC_CHANGED_AT = "public_changed_at"


def changed_path(principal: Principal) -> str:
    """Which change moment a caller's sync reads: a birthday must not move what others see."""
    return SORT_PATHS[OrderField.CHANGED] if principal.can(Permission.READ_SENSITIVE) else PUBLIC_CHANGED_AT


# The class set whose evidence an order reads, kept in the projection even when evidence is not asked.
EVIDENCE_OF: dict[OrderField, str] = {
    OrderField.LEAD_SCORE: LEAD.key,
    OrderField.CONVERSION: LEAD.key,
    OrderField.CALL_VALUE: LEAD.key,
    OrderField.CLV: FUTURE_VALUE.key,
}

type SortValue = int | float | datetime | None


@dataclass(frozen=True, slots=True)
class CustomerOrder:
    field: OrderField = OrderField.CREATED
    descending: bool = False
    public: bool = False  # for a role without personal details: CHANGED reads the public change moment

    @property
    def path(self) -> str | None:
        if self.field is OrderField.CHANGED and self.public:
            return PUBLIC_CHANGED_AT
        return SORT_PATHS.get(self.field)

    def sort(self) -> list[tuple[str, int]]:
        direction = -1 if self.descending else 1
        return ([(self.path, direction)] if self.path else []) + [("_id", direction)]

    def value_of(self, document: dict[str, Any]) -> SortValue:
        if self.path is None:
            return None
        value: Any = document
        for part in self.path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value if isinstance(value, int | float | datetime) else None

    def after(self, position: PagePosition) -> dict[str, Any]:
        """The condition for customers strictly after ``position`` in this order."""
        beyond = "$lt" if self.descending else "$gt"
        if self.path is None:
            return {"_id": {beyond: position.customer_id}}
        path, value = self.path, position.value
        tie = {path: value, "_id": {beyond: position.customer_id}}
        missing = {path: None}
        if value is None:
            # Among the customers without a value; ascending, every customer with one comes after them.
            within = {"$and": [missing, {"_id": {beyond: position.customer_id}}]}
            return within if self.descending else {"$or": [within, {path: {"$ne": None}}]}
        later = [{path: {beyond: value}}, tie]
        return {"$or": [*later, missing] if self.descending else later}


@dataclass(frozen=True, slots=True)
class PagePosition:
    """The last customer of a page, by its id and its value in the list's order."""

    order: OrderField
    customer_id: str
    value: SortValue = None


def readable_order(
    principal: Principal, order: CustomerOrder, settings: ScoringSettings, field: str = "orderBy"
) -> dict[str, Any]:
    """A list in an order read from a class set's evidence ranks customers by that class set: a role that
    may not read personal details gets FORBIDDEN when the class set is read from them under the
    workspace's settings (the lead tier of a model learned from age), and otherwise a condition leaving
    out the customers whose stored class still is (scored under earlier settings, until rescored)."""
    key = EVIDENCE_OF.get(order.field)
    if key is None or principal.can(Permission.READ_SENSITIVE):
        return {}
    if key in sensitive_class_sets(settings):
        raise Forbidden(
            f"{order.field.name} ranks customers by {key}, derived from personal details this role may not read",
            field=field,
        )
    return {f"classes.{key}.sensitive": {"$ne": True}}
