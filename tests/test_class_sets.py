"""Pure scoring of every class set: table-driven boundaries, without I/O."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from domain.classes.catalogue import CLASS_SETS
from domain.classes.evidence import render_evidence
from scoring.age_band import AgeBandSettings, classify_age_band
from scoring.approach import classify_approach
from scoring.batch import DAY_SECONDS, CustomerBatch, empty_batch
from scoring.catalogue import ScoringSettings, classify_all, next_transition_at
from scoring.deal_status import DealStatusSettings, classify_deal_status
from scoring.market_fit import MarketFitRule, classify_market_fit
from scoring.purchase_psychology import PsychologySettings, classify_purchase_psychology
from scoring.purchase_stage import PurchaseStageSettings, classify_purchase_stage
from scoring.rfm import NO_BOUNDS, RfmBounds, classify_rfm, crossed_ranges, rfm_bounds, rfm_scores
from scoring.spend_tier import SpendTierThresholds
from scoring.tenure import TenureSettings, classify_tenure
from scoring.value_class import ValueClassSettings, classify_value_class

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def one(**fields: Any) -> CustomerBatch:
    """A batch of one customer with the given fields (everything else empty)."""
    batch = empty_batch(1, NOW.timestamp())
    arrays = {name: np.array([value], dtype=getattr(batch, name).dtype) for name, value in fields.items()}
    return dataclasses.replace(batch, **arrays)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("birth", "code", "age"),
    [
        (None, "unknown", None),
        ((2008, 6, 16), "under_18", 17),  # turns 18 tomorrow
        ((2008, 6, 15), "young", 18),  # 18 today
        ((2000, 6, 16), "young", 25),
        ((2000, 6, 15), "adult", 26),
        ((1980, 6, 16), "adult", 45),
        ((1980, 6, 15), "senior", 46),
        ((1930, 1, 1), "senior", 96),
    ],
)
def test_age_band(birth: tuple[int, int, int] | None, code: str, age: int | None) -> None:
    year, month, day = birth or (0, 0, 0)
    result = classify_age_band(one(birth_year=year, birth_month=month, birth_day=day), AgeBandSettings())
    assert (result.code(0), result.facts_at(0)["age"]) == (code, age)


def test_age_band_is_due_again_on_the_birthday_that_changes_it() -> None:
    result = classify_age_band(one(birth_year=2008, birth_month=6, birth_day=16), AgeBandSettings())
    due = result.facts_at(0)["next_change_at"]
    assert datetime.fromtimestamp(due, UTC) == datetime(2026, 6, 16, tzinfo=UTC)  # type: ignore[arg-type]
    senior = classify_age_band(one(birth_year=1950, birth_month=1, birth_day=1), AgeBandSettings())
    assert senior.facts_at(0)["next_change_at"] is None


@pytest.mark.parametrize(
    ("days", "code"), [(0, "new"), (89, "new"), (90, "established"), (729, "established"), (730, "long_term")]
)
def test_tenure_since_first_paid_order(days: int, code: str) -> None:
    first_paid = NOW.timestamp() - days * DAY_SECONDS
    result = classify_tenure(one(first_paid_at=first_paid, created_at=NOW.timestamp()), TenureSettings())
    assert (result.code(0), result.facts_at(0)["tenure_days"]) == (code, days)


def test_tenure_counts_from_signup_without_orders() -> None:
    result = classify_tenure(one(created_at=NOW.timestamp() - 100 * DAY_SECONDS), TenureSettings())
    assert result.code(0) == "established"


@pytest.mark.parametrize(
    ("paid", "in_window", "code"),
    [(0, 0, "prospect"), (1, 1, "first_time"), (2, 2, "repeat"), (4, 4, "repeat"), (5, 5, "loyal"), (9, 4, "repeat")],
)
def test_purchase_stage(paid: int, in_window: int, code: str) -> None:
    result = classify_purchase_stage(one(paid_order_count=paid, paid_in_window=in_window), PurchaseStageSettings())
    assert result.code(0) == code


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "potential"),
        ({"intent_signals": 1}, "intent"),
        ({"intent_signals": 1, "unpaid_open_orders": 1}, "quasi"),
        ({"paid_order_count": 1, "unpaid_open_orders": 1}, "ordinary"),
        ({"paid_order_count": 3}, "quality"),
        ({"paid_order_count": 1, "net_spend": 5_000_000}, "quality"),
        ({"paid_order_count": 10}, "key"),
        ({"paid_order_count": 2, "net_spend": 20_000_000}, "key"),
    ],
)
def test_deal_status(fields: dict[str, int], code: str) -> None:
    assert classify_deal_status(one(**fields), DealStatusSettings()).code(0) == code


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "undetermined"),
        ({"paid_order_count": 1}, "random"),
        ({"paid_order_count": 1, "interaction_count": 2}, "undetermined"),
        ({"paid_order_count": 2, "gross_spend": 100, "discount_spend": 30}, "promotion"),
        ({"paid_order_count": 2, "gross_spend": 100, "discount_spend": 29}, "undetermined"),
        ({"paid_order_count": 2, "item_count": 4, "new_product_items": 2}, "novelty"),
        ({"paid_order_count": 2, "item_count": 4, "premium_items": 2}, "appearance"),
        ({"paid_order_count": 2, "service_ratings": 2, "interaction_count": 2}, "service"),
    ],
)
def test_purchase_psychology(fields: dict[str, int], code: str) -> None:
    assert classify_purchase_psychology(one(**fields), PsychologySettings()).code(0) == code


@pytest.mark.parametrize(
    ("personality", "code"),
    [(0, "other"), (1, "direct"), (2, "warm"), (3, "direct"), (4, "other"), (5, "analytical"), (6, "other"),
     (7, "warm"), (8, "direct"), (9, "warm")],
)  # fmt: skip
def test_approach(personality: int, code: str) -> None:
    assert classify_approach(one(personality_type=personality)).code(0) == code


def test_every_code_of_every_set_has_labels_in_three_languages_and_evidence() -> None:
    settings = ScoringSettings(spend_tier=SpendTierThresholds(1, 5_000_000, 20_000_000, 50_000_000))
    results = classify_all(empty_batch(3, NOW.timestamp()), settings)
    assert {result.key for result in results} == set(CLASS_SETS)
    for result in results:
        definition = CLASS_SETS[result.key]
        assert tuple(code.code for code in definition.codes) == result.codes
        for code in definition.codes:
            assert set(code.labels) == {"vi", "zh", "en"} and all(code.labels.values())
        evidence = {**result.facts_at(0), "code": result.code(0), "currency": "VND"}
        for lang in ("vi", "zh", "en"):
            assert render_evidence(result.key, evidence, lang), (result.key, lang)


def test_next_transition_is_the_earliest_due_change() -> None:
    settings = ScoringSettings(spend_tier=SpendTierThresholds(1, 5_000_000, 20_000_000, 50_000_000))
    batch = one(birth_year=2008, birth_month=6, birth_day=20, created_at=NOW.timestamp() - 80 * DAY_SECONDS)
    due = next_transition_at(classify_all(batch, settings), 1)[0]
    # Tenure becomes "established" in 10 days (90 after signup); the 18th birthday comes first, in 5.
    assert datetime.fromtimestamp(due, UTC) == datetime(2026, 6, 20, tzinfo=UTC)


BOUNDS = RfmBounds(recency_days=(10, 30, 90, 180), frequency=(1, 2, 3, 5), monetary=(1_000, 5_000, 20_000, 50_000))


def rfm_customer(days: int, orders: int, spend: int, **fields: Any) -> CustomerBatch:
    return one(last_paid_at=NOW.timestamp() - days * DAY_SECONDS, paid_order_count=orders, net_spend=spend, **fields)


@pytest.mark.parametrize(
    ("days", "orders", "spend", "scores"),
    [(10, 1, 1_000, (5, 1, 1)), (11, 2, 1_001, (4, 2, 2)), (90, 3, 20_000, (3, 3, 3)), (180, 5, 50_000, (2, 4, 4)),
     (181, 6, 50_001, (1, 5, 5))],
)  # fmt: skip
def test_rfm_scores_by_quintile(days: int, orders: int, spend: int, scores: tuple[int, int, int]) -> None:
    r, f, m = rfm_scores(rfm_customer(days, orders, spend), BOUNDS)
    assert (int(r[0]), int(f[0]), int(m[0])) == scores


def test_rfm_bounds_are_quintiles_of_paying_customers() -> None:
    recency = np.array([np.nan, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], dtype=np.float64)
    bounds = rfm_bounds(recency, np.arange(11), np.arange(11) * 100)
    assert bounds.recency_days == pytest.approx((2.8, 4.6, 6.4, 8.2))
    assert rfm_bounds(np.array([np.nan]), np.array([0]), np.array([0])) == NO_BOUNDS


@pytest.mark.parametrize(
    ("days", "orders", "spend", "group"),
    [
        (5, 6, 60_000, "champions"),
        (200, 6, 60_000, "cannot_lose"),
        (60, 6, 4_000, "loyal"),
        (150, 4, 4_000, "at_risk"),
        (5, 2, 2_000, "potential_loyalist"),
        (5, 1, 500, "new"),
        (60, 1, 500, "promising"),
        (60, 2, 500, "need_attention"),
        (150, 1, 500, "about_to_sleep"),
        (400, 1, 500, "lost"),
        (400, 2, 30_000, "hibernating"),
    ],
)
def test_rfm_groups(days: int, orders: int, spend: int, group: str) -> None:
    assert classify_rfm(rfm_customer(days, orders, spend), BOUNDS).code(0) == group


def test_rfm_group_of_a_customer_who_never_paid_is_prospect() -> None:
    result = classify_rfm(one(), BOUNDS)
    assert (result.code(0), result.facts_at(0)["recency_score"]) == ("prospect", None)


@pytest.mark.parametrize(
    ("customer", "code"),
    [
        (rfm_customer(5, 6, 60_000, complaints=2), "negative"),
        (rfm_customer(60, 6, 60_000), "loyal"),
        (rfm_customer(5, 1, 30_000), "high_potential"),
        (one(intent_signals=1), "high_potential"),
        (one(), "low_value"),
        (rfm_customer(400, 1, 500), "low_value"),
    ],
)
def test_value_class(customer: CustomerBatch, code: str) -> None:
    result = classify_value_class(customer, rfm_scores(customer, BOUNDS), ValueClassSettings())
    assert result.code(0) == code


@pytest.mark.parametrize(
    ("rule", "fields", "age", "code", "failed"),
    [
        (MarketFitRule(), {}, -1, "in_target", None),
        (MarketFitRule(countries=("VN",)), {"country": "VN"}, -1, "in_target", None),
        (MarketFitRule(countries=("VN",)), {"country": "CN"}, -1, "out_of_target", "country"),
        (MarketFitRule(countries=("VN",), legal_types=("company",)), {"country": "CN"}, -1, "out_of_target", "country"),
        (MarketFitRule(legal_types=("company",)), {"legal_type": "individual"}, 30, "out_of_target", "legal_type"),
        (MarketFitRule(min_age=18, max_age=45), {}, 30, "in_target", None),
        (MarketFitRule(min_age=18), {}, -1, "out_of_target", "min_age"),
        (MarketFitRule(max_age=45), {}, 46, "out_of_target", "max_age"),
        (MarketFitRule(cities=("Hà Nội",)), {"city": "Huế"}, 30, "out_of_target", "city"),
    ],
)
def test_market_fit(rule: MarketFitRule, fields: dict[str, str], age: int, code: str, failed: str | None) -> None:
    result = classify_market_fit(one(**fields), np.array([age]), rule)
    assert (result.code(0), result.facts_at(0)["failed_condition"]) == (code, failed)


def test_the_recency_score_drops_on_the_first_day_past_the_next_bound() -> None:
    result = classify_rfm(rfm_customer(25, 2, 2_000), BOUNDS)  # 25 days: the next bound is 30
    due = result.facts["next_change_at"][0]
    assert (due - (NOW.timestamp() - 25 * DAY_SECONDS)) / DAY_SECONDS == 31
    later = dataclasses.replace(rfm_customer(31, 2, 2_000), now=NOW.timestamp())
    assert rfm_scores(later, BOUNDS)[0][0] == rfm_scores(rfm_customer(25, 2, 2_000), BOUNDS)[0][0] - 1
    assert np.isnan(classify_rfm(rfm_customer(400, 2, 2_000), BOUNDS).facts["next_change_at"][0])  # already 1
    assert np.isnan(classify_rfm(one(), BOUNDS).facts["next_change_at"][0])  # never paid


def test_a_loyal_customer_stops_being_loyal_when_the_window_passes_its_oldest_counted_order() -> None:
    settings = PurchaseStageSettings(loyal_orders=5, window_days=365)
    anchor = NOW.timestamp() - 300 * DAY_SECONDS
    loyal = classify_purchase_stage(one(paid_order_count=7, paid_in_window=5, loyal_anchor_at=anchor), settings)
    assert loyal.code(0) == "loyal"
    assert loyal.facts["next_change_at"][0] == anchor + 365 * DAY_SECONDS
    repeat = classify_purchase_stage(one(paid_order_count=7, paid_in_window=4), settings)
    assert repeat.code(0) == "repeat" and np.isnan(repeat.facts["next_change_at"][0])


def test_crossed_ranges_are_the_values_whose_score_moves() -> None:
    assert crossed_ranges((1, 2, 3, 5), (1, 3, 3, 4)) == [(2, 3), (4, 5)]
    old, new = (1.0, 2.0, 3.0, 5.0), (1.0, 3.0, 3.0, 4.0)
    values = np.arange(0, 8)
    moved = np.searchsorted(old, values, side="left") != np.searchsorted(new, values, side="left")
    inside = np.zeros(len(values), dtype=bool)
    for low, high in crossed_ranges(old, new):
        inside |= (values > low) & (values <= high)
    assert (moved == inside).all()
