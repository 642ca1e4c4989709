"""The segment rule language: a tree of typed nodes, validated once, never turned into a query operator
from client text.

A rule is exactly one of: ``all`` / ``any`` (a list of rules), ``not`` (a rule), or a leaf:

- ``field``: a profile field EQUALS / IN / CONTAINS / MATCHES a value, or EXISTS;
- ``date``: a date (created, birth date, first or last order) within the last N days, older than N days,
  between two moments, or with its anniversary this month or today (birthdays);
- ``class``: the customer's code of a class set is one of some codes;
- ``score``: a stored number (lead score, conversion probability, CLV, net spend, paid orders) in a range;
- ``orders``: COUNT, SUM, AVG, MIN or MAX of the net amount of the customer's orders (or ITEMS: their
  items of a category), of orders with some statuses, within a window, with a category, in a range;
- ``interactions``: how many interactions of some kinds within a window, in a range;
- ``segment``: membership of another segment (no cycles).

Limits: depth 6, 60 nodes, 50 values per list.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scoring.future_value_class import SPEC as FUTURE_VALUE
from scoring.lead import SPEC as LEAD
from scoring.spec import RefusedValue, ShortText

MAX_DEPTH = 6
MAX_NODES = 60
MAX_VALUES = 50
MAX_WINDOW_DAYS = 3650

Values = Annotated[list[ShortText], Field(min_length=1, max_length=MAX_VALUES)]
WindowDays = Annotated[int, Field(ge=1, le=MAX_WINDOW_DAYS)]


class RuleTooLarge(RefusedValue):
    pass


class ProfileField(StrEnum):
    NAME = "name"
    EMAIL = "email"
    PHONE = "phone"
    COMPANY_NAME = "company_name"
    CITY = "city"
    REGION = "region"
    COUNTRY = "country"
    LEGAL_TYPE = "legal_type"
    GENDER = "gender"
    INCOME_BAND = "income_band"
    OCCUPATION = "occupation"
    OWNER_ID = "owner_id"
    TAGS = "tags"
    INTERESTS = "interests"
    LIFESTYLE = "lifestyle"
    NEEDS = "needs"


LIST_FIELDS = frozenset({ProfileField.TAGS, ProfileField.INTERESTS, ProfileField.LIFESTYLE, ProfileField.NEEDS})
# Reading these in a rule reveals them through membership: only roles that may read them define such rules.
SENSITIVE_PROFILE_FIELDS = frozenset({ProfileField.INCOME_BAND})


class FieldOp(StrEnum):
    EQUALS = "equals"  # case-insensitive; a list field equals when one of its values does
    IN = "in"  # one of values
    CONTAINS = "contains"  # text: contains the value (case- and accent-insensitive); list: has the value
    MATCHES = "matches"  # every word of the value begins a word of the field, case and accents ignored
    EXISTS = "exists"  # has a value (not empty)


class DateField(StrEnum):
    CREATED_AT = "created_at"
    BIRTH_DATE = "birth_date"
    FIRST_ORDER_AT = "first_order_at"
    LAST_ORDER_AT = "last_order_at"


class Anniversary(StrEnum):
    THIS_MONTH = "this_month"
    TODAY = "today"


class ScoreField(StrEnum):
    LEAD_SCORE = "lead_score"
    CONVERSION = "conversion"
    CLV = "clv"  # money
    NET_SPEND = "net_spend"  # money
    PAID_ORDERS = "paid_orders"
    ORDERS = "orders"
    AGE = "age"  # whole years, from the birth date (a personal detail)


# Scores stored as a class set's evidence: as sensitive as that class set is under the workspace's settings.
SCORE_CLASS_SETS: dict[ScoreField, str] = {
    ScoreField.LEAD_SCORE: LEAD.key,
    ScoreField.CONVERSION: LEAD.key,
    ScoreField.CLV: FUTURE_VALUE.key,
}


class OrderMeasure(StrEnum):
    COUNT = "count"
    SUM = "sum"  # net amount: total less refunds
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    ITEMS = "items"  # quantity of items (of ``category`` when given)


class OrderDatedBy(StrEnum):
    """Which moment of an order a leaf's window is about."""

    PLACED = "placed"  # the sale (the default)
    STATUS_CHANGED = "status_changed"  # when it reached its status: "refunded in the last 30 days"


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldCondition(Node):
    field: ProfileField
    op: FieldOp
    value: ShortText | None = None
    values: Values | None = None

    @model_validator(mode="after")
    def operands(self) -> Self:
        if self.op is FieldOp.IN:
            if self.values is None or self.value is not None:
                raise RefusedValue("IN takes values, not value")
        elif self.op is FieldOp.EXISTS:
            if self.value is not None or self.values is not None:
                raise RefusedValue("EXISTS takes no value")
        elif self.value is None or self.values is not None:
            raise RefusedValue(f"{self.op.name} takes one value")
        return self


class DateCondition(Node):
    field: DateField
    within_last_days: WindowDays | None = None
    older_than_days: WindowDays | None = None
    after: datetime | None = None
    before: datetime | None = None
    anniversary: Anniversary | None = None

    @model_validator(mode="after")
    def one_kind(self) -> Self:
        kinds = [
            self.within_last_days is not None,
            self.older_than_days is not None,
            self.after is not None or self.before is not None,
            self.anniversary is not None,
        ]
        if sum(kinds) != 1:
            raise RefusedValue("give one of withinLastDays, olderThanDays, after/before, anniversary")
        if self.after and self.before and self.after >= self.before:
            raise RefusedValue("after must be before before")
        if self.anniversary is not None and self.field is not DateField.BIRTH_DATE:
            raise RefusedValue("anniversary is for birthDate")
        return self


class Range(Node):
    min: Decimal | None = None
    max: Decimal | None = None

    @model_validator(mode="after")
    def bounded(self) -> Self:
        if self.min is None and self.max is None:
            raise RefusedValue("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise RefusedValue("min must not be above max")
        for bound in (self.min, self.max):
            if bound is not None and not bound.is_finite():
                raise RefusedValue("bounds must be finite numbers")
        return self


class ClassCondition(Node):
    class_set: ShortText
    codes: Values


class ScoreCondition(Range):
    score: ScoreField


class OrderCondition(Range):
    measure: OrderMeasure
    statuses: Annotated[list[ShortText], Field(min_length=1, max_length=5)] = ["paid", "delivered"]
    within_last_days: WindowDays | None = None
    after: datetime | None = None  # placed at or after (e.g. this year: after 1 January)
    before: datetime | None = None  # placed before
    category: ShortText | None = None  # only orders with an item of this category (ITEMS: only those items)
    dated_by: OrderDatedBy | None = None  # None: placed (left out of the stored rule, as before it existed)


class InteractionCondition(Range):
    kinds: Annotated[list[ShortText], Field(min_length=1, max_length=20)]
    within_last_days: WindowDays | None = None


class Rule(Node):
    all: Annotated[list[Rule], Field(min_length=1, max_length=MAX_NODES)] | None = None
    any: Annotated[list[Rule], Field(min_length=1, max_length=MAX_NODES)] | None = None
    not_: Rule | None = Field(default=None, alias="not")
    field: FieldCondition | None = None
    date: DateCondition | None = None
    class_: ClassCondition | None = Field(default=None, alias="class")
    score: ScoreCondition | None = None
    orders: OrderCondition | None = None
    interactions: InteractionCondition | None = None
    segment: ShortText | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def exactly_one(self) -> Self:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise RefusedValue("a rule node is exactly one of all, any, not, field, date, class, score, "
                               "orders, interactions, segment")  # fmt: skip
        return self

    @property
    def kind(self) -> str:
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)

    def children(self) -> list[Rule]:
        if self.all is not None:
            return self.all
        if self.any is not None:
            return self.any
        return [self.not_] if self.not_ is not None else []

    def nodes(self) -> Iterator[Rule]:
        yield self
        for child in self.children():
            yield from child.nodes()

    def depth(self) -> int:
        return 1 + max((child.depth() for child in self.children()), default=0)

    def stored(self) -> dict[str, Any]:
        """The form kept in MongoDB (and read back with ``parse_rule``)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def key(self) -> str:
        """Stable per content: leaves that read the same aggregate share it."""
        return hashlib.sha256(json.dumps(self.stored(), sort_keys=True).encode()).hexdigest()[:16]


def parse_rule(document: object) -> Rule:
    """Validated and within the limits; raises pydantic's ValidationError or RuleTooLarge."""
    rule = Rule.model_validate(document)
    check_limits(rule)
    return rule


def check_limits(rule: Rule) -> None:
    if rule.depth() > MAX_DEPTH:
        raise RuleTooLarge(f"rules nest at most {MAX_DEPTH} levels")
    if sum(1 for _ in rule.nodes()) > MAX_NODES:
        raise RuleTooLarge(f"a rule has at most {MAX_NODES} nodes")


def referenced_segments(rule: Rule) -> set[str]:
    return {node.segment for node in rule.nodes() if node.segment is not None}


def reads(rule: Rule) -> set[str]:
    """What the rule depends on: profile, classes, scores, orders, interactions, segments, time."""
    found: set[str] = set()
    for node in rule.nodes():
        if node.field is not None:
            found.add("profile")
        elif node.date is not None:
            found |= {"time", "orders" if "order" in node.date.field else "profile"}
        elif node.class_ is not None or node.score is not None:
            found.add("scores")
        elif node.orders is not None:
            found |= {"orders", "time"} if node.orders.within_last_days else {"orders"}
        elif node.interactions is not None:
            found |= {"interactions", "time"} if node.interactions.within_last_days else {"interactions"}
        elif node.segment is not None:
            found.add("segments")
    return found


def personal_detail(node: Rule, sensitive_sets: frozenset[str]) -> tuple[str, str] | None:
    """When this node reads a personal detail itself (``sensitive_sets``: the class sets read from one
    under the workspace's settings): the part of the node that does (its input field) and why."""
    if node.field is not None and node.field.field in SENSITIVE_PROFILE_FIELDS:
        return "field.field", "a rule on a personal detail needs a role that may read it"
    if node.date is not None and node.date.field is DateField.BIRTH_DATE:
        return "date.field", "a rule on birth dates needs a role that may read them"
    if node.score is not None and node.score.score is ScoreField.AGE:
        return "score.score", "a rule on age needs a role that may read birth dates"
    if node.score is not None and SCORE_CLASS_SETS.get(node.score.score) in sensitive_sets:
        return "score.score", f"this score is part of {SCORE_CLASS_SETS[node.score.score]}, read from personal details"
    if node.class_ is not None and node.class_.class_set in sensitive_sets:
        return "class.classSet", "this class set is read from personal details"
    return None


def reads_personal_details(rule: Rule, sensitive_sets: frozenset[str]) -> bool:
    """Whether any node of the rule reads a personal detail (not counting the segments it references)."""
    return any(personal_detail(node, sensitive_sets) is not None for node in rule.nodes())


def aggregate_leaves(rules: list[Rule]) -> set[str]:
    """The distinct order and interaction aggregates the rules need (leaves with the same content share one)."""
    return {node.key() for rule in rules for node in rule.nodes() if node.orders or node.interactions}
