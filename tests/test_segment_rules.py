"""The segment rule language and its evaluation, pure: every node kind and operator, nesting, the moments
time alone moves a customer, limits, rules that try to smuggle operators, and GoSELL's builder."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from scoring.batch import DAY_SECONDS
from scoring.gosell import Condition, GoSellCondition, Match, Operator, from_gosell
from scoring.segment_rules import MAX_DEPTH, MAX_NODES, RuleTooLarge, parse_rule, reads, referenced_segments
from scoring.segments import LeafValues, SegmentFrame, evaluate, fold

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC).timestamp()
NAN = np.nan


def _frame(**overrides: Any) -> SegmentFrame:
    """Three customers: Lan (Hà Nội, tags vip, born in November), Minh (TP HCM), Hoa (nothing entered)."""
    base: dict[str, Any] = {
        "now": NOW,
        "texts": {
            "name": np.array(["Nguyễn Thị Lan", "Trần Minh", "Hoa"], dtype=object),
            "city": np.array(["Hà Nội", "Hồ Chí Minh", ""], dtype=object),
            "email": np.array(["lan@x.vn", "", ""], dtype=object),
            "legal_type": np.array(["individual", "company", "individual"], dtype=object),
        },
        "lists": {"tags": [("VIP", "Zalo"), (), ("zalo",)], "interests": [(), (), ()]},
        "dates": {
            "created_at": np.array([NOW - 10 * DAY_SECONDS, NOW - 400 * DAY_SECONDS, NAN]),
            "birth_date": np.array([NAN, NAN, NAN]),
        },
        "birth_month": np.array([11, 3, 0]),
        "birth_day": np.array([23, 1, 0]),
        "numbers": {"lead_score": np.array([70.0, 20.0, NAN]), "net_spend": np.array([12e6, 3e6, 0.0])},
        "classes": {"value_class": np.array(["loyal", "negative", ""], dtype=object)},
    }
    return SegmentFrame(**{**base, **overrides})


def _in(rule: dict[str, Any], frame: SegmentFrame | None = None) -> list[bool]:
    return [bool(v) for v in evaluate(parse_rule(rule), frame or _frame()).inside]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "city", "op": "equals", "value": "ha noi"}, [True, False, False]),
        ({"field": "city", "op": "in", "values": ["Hồ Chí Minh", "Huế"]}, [False, True, False]),
        ({"field": "name", "op": "contains", "value": "minh"}, [False, True, False]),
        ({"field": "name", "op": "matches", "value": "nguyen la"}, [True, False, False]),
        ({"field": "email", "op": "exists"}, [True, False, False]),
        ({"field": "tags", "op": "contains", "value": "zalo"}, [True, False, True]),
        ({"field": "tags", "op": "in", "values": ["vip", "gold"]}, [True, False, False]),
        ({"field": "tags", "op": "exists"}, [True, False, True]),
    ],
)
def test_field_operators(condition: dict[str, Any], expected: list[bool]) -> None:
    assert _in({"field": condition}) == expected


def test_classes_scores_and_nesting() -> None:
    assert _in({"class": {"class_set": "value_class", "codes": ["loyal", "low_value"]}}) == [True, False, False]
    assert _in({"score": {"score": "lead_score", "min": 50}}) == [True, False, False]
    assert _in({"score": {"score": "net_spend", "max": "3000000"}}) == [False, True, True]
    rule = {
        "any": [
            {"all": [{"field": {"field": "tags", "op": "contains", "value": "zalo"}},
                     {"not": {"field": {"field": "city", "op": "exists"}}}]},
            {"class": {"class_set": "value_class", "codes": ["negative"]}},
        ]
    }  # fmt: skip
    assert _in(rule) == [False, True, True]


def test_dates_absolute_relative_and_birthdays_with_the_moment_they_change() -> None:
    recent = evaluate(parse_rule({"date": {"field": "created_at", "within_last_days": 30}}), _frame())
    assert recent.inside.tolist() == [True, False, False]
    assert recent.next_change_at[0] == NOW + 20 * DAY_SECONDS  # Lan leaves "the last 30 days" then
    older = evaluate(parse_rule({"date": {"field": "created_at", "older_than_days": 30}}), _frame())
    assert older.inside.tolist() == [False, True, False]
    assert older.next_change_at[0] == NOW + 20 * DAY_SECONDS  # and joins "older than 30 days"
    between = {"date": {"field": "created_at", "after": "2025-01-01T00:00:00Z", "before": "2026-01-01T00:00:00Z"}}
    assert _in(between) == [False, True, False]
    birthday = evaluate(parse_rule({"date": {"field": "birth_date", "anniversary": "this_month"}}), _frame())
    assert birthday.inside.tolist() == [True, False, False]
    assert birthday.next_change_at[0] == datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert _in({"date": {"field": "birth_date", "anniversary": "today"}}) == [True, False, False]


def test_an_order_window_ends_when_its_earliest_counted_order_leaves_it() -> None:
    rule = parse_rule({"orders": {"measure": "items", "category": "dress", "within_last_days": 90, "min": 2}})
    leaf = LeafValues(np.array([3.0, 1.0, NAN]), np.array([NOW - 80 * DAY_SECONDS, NOW - 5 * DAY_SECONDS, NAN]))
    verdict = evaluate(rule, _frame(leaves={rule.key(): leaf}))
    assert verdict.inside.tolist() == [True, False, False]
    assert verdict.next_change_at[0] == NOW + 10 * DAY_SECONDS
    average = parse_rule({"orders": {"measure": "avg", "max": 100}})
    assert _in(average.stored(), _frame(leaves={average.key(): LeafValues(np.array([50.0, 200.0, NAN]),
                                                                          np.full(3, NAN))})) == [True, False, False]  # fmt: skip
    none_is_zero = parse_rule({"interactions": {"kinds": ["visit"], "max": 0}})
    empty = LeafValues(np.full(3, NAN), np.full(3, NAN))
    assert _in(none_is_zero.stored(), _frame(leaves={none_is_zero.key(): empty})) == [True, True, True]


def test_segment_references_use_the_resolver_or_stored_membership() -> None:
    frame = _frame(members={"s1": np.array([False, True, True])})
    assert _in({"not": {"segment": "s1"}}, frame) == [True, False, False]
    assert referenced_segments(parse_rule({"all": [{"segment": "a"}, {"not": {"segment": "b"}}]})) == {"a", "b"}
    assert reads(parse_rule({"orders": {"measure": "count", "within_last_days": 9, "min": 1}})) == {"orders", "time"}


@pytest.mark.parametrize(
    "rule",
    [
        {"$where": "sleep(1000)"},
        {"field": {"field": "city", "op": "equals", "value": "x", "$ne": None}},
        {"field": {"field": "$city", "op": "equals", "value": "x"}},
        {"field": {"field": "city", "op": "$regex", "value": ".*"}},
        {"orders": {"measure": "$sum", "min": 1}},
        {"score": {"score": "lead_score", "min": {"$gt": 0}}},
        {"field": {"field": "city", "op": "equals"}},
        {"field": {"field": "city", "op": "in", "value": "x"}},
        {"score": {"score": "lead_score"}},
        {"score": {"score": "lead_score", "min": 5, "max": 1}},
        {"score": {"score": "lead_score", "min": "NaN"}},
        {"date": {"field": "created_at"}},
        {"date": {"field": "created_at", "anniversary": "today"}},
        {"all": []},
        {},
    ],
)
def test_malformed_or_smuggling_rules_are_refused(rule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_rule(rule)


def test_limits() -> None:
    deep: dict[str, Any] = {"field": {"field": "city", "op": "exists"}}
    for _ in range(MAX_DEPTH):
        deep = {"not": deep}
    with pytest.raises(RuleTooLarge):
        parse_rule(deep)
    wide = {"any": [{"field": {"field": "city", "op": "exists"}}] * MAX_NODES}
    with pytest.raises(RuleTooLarge):
        parse_rule(wide)


def test_fold_ignores_case_and_vietnamese_accents() -> None:
    assert fold("Đà Nẵng") == fold("da nang") == "da nang"


def test_gosell_builder_maps_one_to_one() -> None:
    # The article's builder: ALL of "registered in 2025", "tag VIP", "more than 5 orders", "spent at least
    # 10,000,000"; and ANY of "orders delivered", "area Hà Nội".
    every = from_gosell(
        Match.ALL,
        [
            GoSellCondition(Condition.REGISTERED_BETWEEN, start=datetime(2025, 1, 1, tzinfo=UTC),
                            end=datetime(2026, 1, 1, tzinfo=UTC)),
            GoSellCondition(Condition.CUSTOMER_TAG, value="VIP"),
            GoSellCondition(Condition.ORDER_COUNT, Operator.GREATER, Decimal(5)),
            GoSellCondition(Condition.TOTAL_SPENT, Operator.EQUAL, Decimal(10_000_000)),
        ],
    )  # fmt: skip
    assert [node.kind for node in every.children()] == ["date", "field", "score", "score"]
    assert every.stored()["all"][2] == {"score": {"score": "orders", "min": "6"}}
    assert every.stored()["all"][3] == {"score": {"score": "net_spend", "min": "10000000", "max": "10000000"}}
    anyone = from_gosell(
        Match.ANY,
        [GoSellCondition(Condition.DELIVERED_ORDERS), GoSellCondition(Condition.ORDER_AREA, value="Hà Nội")],
    )
    assert anyone.stored() == {
        "any": [
            {"orders": {"measure": "count", "statuses": ["delivered"], "min": "1"}},
            {"field": {"field": "region", "op": "equals", "value": "Hà Nội"}},
        ]
    }
    frame = _frame(
        texts={**_frame().texts, "region": np.array(["Hà Nội", "", ""], dtype=object)},
        numbers={**_frame().numbers, "orders": np.array([6.0, 5.0, 0.0])},
    )
    spent_more = from_gosell(Match.ALL, [GoSellCondition(Condition.TOTAL_SPENT, Operator.GREATER, Decimal(3_000_000))])
    assert evaluate(spent_more, frame).inside.tolist() == [True, False, False]
    delivered = anyone.children()[0]
    frame = _frame(
        texts=frame.texts,
        leaves={delivered.key(): LeafValues(np.array([0.0, 2.0, NAN]), np.full(3, NAN))},
    )
    assert evaluate(anyone, frame).inside.tolist() == [True, True, False]  # Hà Nội, or a delivered order
