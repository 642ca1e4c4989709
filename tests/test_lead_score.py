"""The lead score (pure): factors add up to the score, engagement fades with its half-life, caps and the
floor, tiers and when they change with time alone, and the sentence that names the top three."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.classes.evidence import render_evidence
from scoring.batch import DAY_SECONDS, CustomerBatch, empty_batch
from scoring.lead import (
    ENGAGEMENT_KINDS,
    LeadParams,
    _first_tier_change,
    classify_lead_tier,
    factors_from_facts,
    lead_scores,
    next_tier_change,
    tier_of,
)
from scoring.rfm_bounds import NO_BOUNDS
from scoring.spec import ScoringContext

NOW = 1_800_000_000.0
PARAMS = LeadParams(target_countries=("VN",), categories=("Váy", "shoes"))
KINDS = (*ENGAGEMENT_KINDS, "complaint", "unsubscribe")


def batch_of(touches: Sequence[Sequence[tuple[str, float]]], **fields: object) -> CustomerBatch:
    """One customer per list of (kind, days ago) touches."""
    base = empty_batch(len(touches), NOW)
    rows = [row for row, items in enumerate(touches) for _ in items]
    return dataclasses.replace(
        base,
        country=np.full(len(touches), "VN", dtype=object),
        touch_row=np.asarray(rows, dtype=np.int64),
        touch_kind=np.asarray([kind for items in touches for kind, _ in items], dtype=object),
        touch_at=np.asarray([NOW - days * DAY_SECONDS for items in touches for _, days in items], dtype=np.float64),
        **fields,  # type: ignore[arg-type]
    )


def score_of(batch: CustomerBatch, params: LeadParams = PARAMS) -> list[int]:
    return [int(value) for value in lead_scores(batch, params)[0]]


def points_of(batch: CustomerBatch, params: LeadParams = PARAMS) -> dict[str, list[int]]:
    return {name: [int(v) for v in values] for name, values in lead_scores(batch, params)[1].items()}


@st.composite
def touched_batches(draw: st.DrawFn) -> CustomerBatch:
    size = draw(st.integers(1, 20))
    touches = draw(
        st.lists(
            st.lists(st.tuples(st.sampled_from(KINDS), st.floats(0, 700)), max_size=40), min_size=size, max_size=size
        )
    )
    return batch_of(
        touches,
        unpaid_open_orders=np.asarray(draw(st.lists(st.integers(0, 3), min_size=size, max_size=size))),
        created_at=np.full(size, NOW - draw(st.integers(0, 3000)) * DAY_SECONDS),
        last_paid_at=np.full(size, np.nan),
    )


@settings(max_examples=150, deadline=None)
@given(touched_batches())
def test_the_factors_add_up_to_the_score_exactly_and_it_stays_within_0_and_100(batch: CustomerBatch) -> None:
    score, points, _ = lead_scores(batch, PARAMS)
    assert np.array_equal(sum(points.values(), start=np.zeros_like(score)), score)
    assert ((score >= 0) & (score <= 100)).all()
    result = classify_lead_tier(batch, PARAMS, ScoringContext(NO_BOUNDS))
    for i in range(len(batch)):
        facts = result.facts_at(i)
        assert sum(p for _, _, _, p in factors_from_facts(facts)) == facts["score"]  # as stored and read back


@settings(max_examples=100, deadline=None)
@given(touched_batches())
def test_only_leads_that_can_change_tier_need_evaluating(batch: CustomerBatch) -> None:
    """Cold leads without fading complaints are skipped: evaluating everyone finds the same moments."""
    score, _, inputs = lead_scores(batch, PARAMS)
    tier = tier_of(score, PARAMS)
    np.testing.assert_array_equal(next_tier_change(inputs, tier), _first_tier_change(inputs, tier))


def test_engagement_fades_by_half_every_half_life() -> None:
    fresh, month_old, two_months_old = score_of(batch_of([[("meeting", 0)], [("meeting", 30)], [("meeting", 60)]]))
    region = PARAMS.region_points
    assert (fresh - region, month_old - region, two_months_old - region) == (8, 4, 2)


def test_a_group_over_its_cap_gives_the_excess_back_and_a_negative_total_is_floored() -> None:
    busy = [("meeting", 0)] * 10  # 80 points of engagement
    points = points_of(batch_of([busy, [("complaint", 0)] * 5]), PARAMS.model_copy(update={"target_countries": ()}))
    engagement = sum(points[kind][0] for kind in ENGAGEMENT_KINDS)
    assert (engagement, points["engagement_cap"][0]) == (80, PARAMS.engagement_cap - 80)
    assert points["complaints"][1] == -50 and points["floor"][1] == 50


def test_fit_counts_region_legal_type_and_interests_matching_what_the_shop_sells() -> None:
    batch = batch_of(
        [[], []],
        interest_row=np.asarray([0, 0, 0, 1], dtype=np.int64),
        interest=np.asarray(["váy", "shoes", "books", "books"], dtype=object),
        city=np.asarray(["Hà Nội", "Huế"], dtype=object),
    )
    points = points_of(batch, PARAMS.model_copy(update={"target_cities": ("Hà Nội",)}))
    assert (points["interests"], points["target_region"]) == ([10, 0], [15, 0])


def test_intent_an_open_quote_closes_when_paid_and_repeated_visits_need_the_window() -> None:
    quote, paid_after = [("quote", 5)], NOW - 2 * DAY_SECONDS
    points = points_of(
        batch_of(
            [quote, quote, [("visit", 1), ("visit", 3), ("website_visit", 10)], [("visit", 1), ("visit", 20)]],
            last_paid_at=np.asarray([np.nan, paid_after, np.nan, np.nan]),
        )
    )
    assert points["open_quote"] == [15, 0, 0, 0]
    assert points["repeat_visits"] == [0, 0, 10, 0]


def test_silence_and_an_unsubscribe_take_points_off_until_the_customer_engages_again() -> None:
    old = NOW - 400 * DAY_SECONDS
    points = points_of(
        batch_of(
            [[], [("call", 2)], [("unsubscribe", 5)], [("unsubscribe", 5), ("message", 1)]],
            created_at=np.full(4, old),
        )
    )
    assert points["silence"] == [-15, 0, -15, 0]  # an unsubscribe is no sign of life
    assert points["unsubscribed"] == [0, 0, -30, 0]


def test_tiers_follow_the_thresholds_and_the_next_change_is_when_fading_crosses_one() -> None:
    assert list(tier_of(np.asarray([0, 29, 30, 59, 60, 100], dtype=np.int64), PARAMS)) == [0, 0, 1, 1, 2, 2]
    # 15 (region) + 16 (two meetings today) = 31: warm, until the meetings fade under 15 points.
    batch = batch_of([[("meeting", 0), ("meeting", 0)]], created_at=np.full(1, NOW))
    result = classify_lead_tier(batch, PARAMS, ScoringContext(NO_BOUNDS))
    assert result.code(0) == "warm"
    next_at = float(result.facts["next_change_at"][0])
    days = (next_at - NOW) / DAY_SECONDS
    assert 1 <= days <= 30

    def tier_at(at: float) -> str:
        later = dataclasses.replace(batch, now=at)
        return classify_lead_tier(later, PARAMS, ScoringContext(NO_BOUNDS)).code(0)

    assert (tier_at(next_at - DAY_SECONDS), tier_at(next_at)) == ("warm", "cold")


def test_rescoring_later_the_same_day_finds_the_same_facts_so_nothing_is_written() -> None:
    start_of_day = np.floor(NOW / DAY_SECONDS) * DAY_SECONDS
    touches: list[list[tuple[str, float]]] = [
        [("meeting", 0.2), ("call", 3.7)],
        [("quote", 12.5), ("complaint", 40)],
        [("visit", 1)] * 3,
    ]
    results = []
    for now in (start_of_day + 60, start_of_day + 23 * 3600):
        batch = dataclasses.replace(batch_of(touches, created_at=np.full(3, NOW - 100 * DAY_SECONDS)), now=now)
        result = classify_lead_tier(batch, PARAMS, ScoringContext(NO_BOUNDS))
        results.append([result.facts_at(i) for i in range(3)])
    assert results[0] == results[1]


def test_an_open_quote_ending_is_scheduled_to_the_moment() -> None:
    params = PARAMS.model_copy(update={"warm_from": 25, "hot_from": 60})
    batch = batch_of([[("quote", 10)]], created_at=np.full(1, NOW))  # 15 + 6 + 15 = 36: warm
    result = classify_lead_tier(batch, params, ScoringContext(NO_BOUNDS))
    assert result.code(0) == "warm"
    quote_ends = NOW + (params.quote_open_days - 10) * DAY_SECONDS
    assert abs(float(result.facts["next_change_at"][0]) - quote_ends) <= 1


def test_the_sentence_names_the_top_three_factors_in_each_language() -> None:
    batch = batch_of([[("meeting", 3), ("quote", 1), ("visit", 0), ("email_open", 0)]], created_at=np.full(1, NOW))
    result = classify_lead_tier(batch, PARAMS, ScoringContext(NO_BOUNDS))
    evidence = {**result.facts_at(0), "code": result.code(0)}
    assert (evidence["top1"], evidence["top2"], evidence["top3"]) == ("target_region", "open_quote", "quote")
    english = render_evidence("lead_tier", evidence, "en")
    assert english == f"lead score {evidence['score']}/100, top factors: the target region, an open quote and quotes"
    assert "báo giá đang mở" in render_evidence("lead_tier", evidence, "vi")
    assert "未成交的报价" in render_evidence("lead_tier", evidence, "zh")


def test_settings_are_checked() -> None:
    for bad in ({"warm_from": 70, "hot_from": 60}, {"fit_cap": 50, "engagement_cap": 40, "intent_cap": 20}):
        try:
            LeadParams(**bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")
