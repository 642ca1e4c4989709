"""Invariants of the pure classifiers, over generated batches (hypothesis)."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.batch import DAY_SECONDS, CustomerBatch, empty_batch
from scoring.catalogue import ScoringSettings, classify_all
from scoring.deal_status import DealStatusSettings, classify_deal_status
from scoring.hysteresis import hold_demotions
from scoring.rfm import RfmBounds, rfm_scores
from scoring.spend_tier import SpendTierThresholds, classify_spend_tier

NOW = 1_800_000_000.0
THRESHOLDS = SpendTierThresholds(1, 5_000_000, 20_000_000, 50_000_000)
counts = st.integers(min_value=0, max_value=500)
money = st.integers(min_value=-(10**9), max_value=10**12)


@st.composite
def batches(draw: st.DrawFn) -> CustomerBatch:
    size = draw(st.integers(min_value=1, max_value=30))

    def ints(strategy: st.SearchStrategy[int]) -> np.ndarray:
        return np.array(draw(st.lists(strategy, min_size=size, max_size=size)), dtype=np.int64)

    def times(nullable: bool) -> np.ndarray:
        days = draw(st.lists(st.one_of(st.none(), st.integers(0, 20_000)) if nullable else st.integers(0, 20_000),
                             min_size=size, max_size=size))  # fmt: skip
        return np.array([np.nan if d is None else NOW - d * DAY_SECONDS for d in days], dtype=np.float64)

    paid = ints(counts)
    births = draw(st.lists(st.one_of(st.none(), st.dates()), min_size=size, max_size=size))
    return dataclasses.replace(
        empty_batch(size, NOW),
        created_at=times(False),
        birth_year=np.array([b.year if b else 0 for b in births], dtype=np.int64),
        birth_month=np.array([b.month if b else 0 for b in births], dtype=np.int64),
        birth_day=np.array([b.day if b else 0 for b in births], dtype=np.int64),
        personality_type=ints(st.integers(0, 9)),
        paid_order_count=paid,
        paid_in_window=np.minimum(paid, ints(counts)),
        unpaid_open_orders=ints(counts),
        net_spend=ints(money),
        gross_spend=ints(st.integers(0, 10**12)),
        discount_spend=ints(st.integers(0, 10**11)),
        first_paid_at=times(True),
        last_paid_at=times(True),
        item_count=ints(counts),
        new_product_items=ints(counts),
        premium_items=ints(counts),
        interaction_count=ints(counts),
        intent_signals=ints(counts),
        service_ratings=ints(counts),
        complaints=ints(counts),
    )


@settings(max_examples=150, deadline=None)
@given(batches())
def test_every_customer_gets_exactly_one_known_code_per_class_set(batch: CustomerBatch) -> None:
    for result in classify_all(batch, ScoringSettings(spend_tier=THRESHOLDS)):
        assert result.code_index.shape == (len(batch),)
        assert ((result.code_index >= 0) & (result.code_index < len(result.codes))).all(), result.key
        for name, values in result.facts.items():
            assert len(values) == len(batch), (result.key, name)


@given(st.lists(money, min_size=1, max_size=50), st.integers(min_value=0, max_value=10**10))
def test_more_spend_never_lowers_the_spend_tier(spends: list[int], extra: int) -> None:
    before = classify_spend_tier(np.array(spends, dtype=np.int64), THRESHOLDS).code_index
    after = classify_spend_tier(np.array(spends, dtype=np.int64) + extra, THRESHOLDS).code_index
    assert (after >= before).all()


@given(batches(), st.integers(min_value=1, max_value=20))
def test_more_paid_orders_never_lower_the_deal_status(batch: CustomerBatch, extra: int) -> None:
    more = dataclasses.replace(batch, paid_order_count=batch.paid_order_count + extra)
    before = classify_deal_status(batch, DealStatusSettings()).code_index
    assert (classify_deal_status(more, DealStatusSettings()).code_index >= before).all()


@given(
    batches(),
    st.lists(st.floats(0, 5000, allow_nan=False), min_size=4, max_size=4),
    st.lists(st.floats(0, 500, allow_nan=False), min_size=4, max_size=4),
    st.lists(st.floats(-1e9, 1e12, allow_nan=False), min_size=4, max_size=4),
)
def test_rfm_scores_stay_within_one_to_five(
    batch: CustomerBatch, recency: list[float], frequency: list[float], monetary: list[float]
) -> None:
    bounds = RfmBounds(tuple(sorted(recency)), tuple(sorted(frequency)), tuple(sorted(monetary)))
    for scores in rfm_scores(batch, bounds):
        assert ((scores >= 1) & (scores <= 5)).all()


@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(-1, 5), st.booleans(), st.one_of(st.none(), st.floats(0, 60))),
             min_size=1, max_size=40),
    st.floats(0, 40),
)  # fmt: skip
def test_hysteresis_keeps_either_the_computed_or_the_current_code(
    rows: list[tuple[int, int, bool, float | None]], grace_days: float
) -> None:
    computed = np.array([r[0] for r in rows], dtype=np.int64)
    current = np.array([r[1] for r in rows], dtype=np.int64)
    pending = np.array([np.nan if r[3] is None else NOW - r[3] * DAY_SECONDS for r in rows])
    within = np.array([r[2] for r in rows])
    held = hold_demotions(computed, current, pending, within, NOW, grace_days * DAY_SECONDS)
    assert ((held.code_index == computed) | (held.code_index == current)).all()
    promoted = computed >= current
    assert (held.code_index[promoted] == computed[promoted]).all()  # promotions are never delayed
    fresh_demotion = (computed < current) & (np.isnan(pending) | within) & (grace_days > 0)
    assert (held.code_index[fresh_demotion] == current[fresh_demotion]).all()  # a demotion always waits first
