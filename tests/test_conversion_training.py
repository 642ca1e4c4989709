"""Training the conversion model from a workspace's history (pure): labels, the columns as of the moment
an outcome was decided, the data gate, the model card, and what a rescore takes from the model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from scoring.batch import DAY_SECONDS, CustomerBatch, empty_batch
from scoring.conversion_data import LOST, MIN_LOST, MIN_WON, UNLABELLED, WON, conversion_columns, conversion_labels
from scoring.conversion_training import LeadHistory, train_from_history
from scoring.lead import LeadParams

NOW = 1_790_000_000.0
DAY = DAY_SECONDS
NAN = np.nan


def _labels(contact: float, paid: float, verdict_at: float = NAN, good_fit: bool = False) -> tuple[int, float]:
    label, decided = conversion_labels(
        np.array([contact]), np.array([paid]), np.array([verdict_at]), np.array([good_fit]), NOW, 90
    )
    return int(label[0]), float(decided[0])


def test_a_first_paid_order_within_the_window_after_first_contact_is_won_at_that_moment() -> None:
    assert _labels(NOW - 200 * DAY, NOW - 150 * DAY) == (WON, NOW - 150 * DAY)


def test_no_paid_order_by_the_end_of_the_window_is_lost_at_the_window_end() -> None:
    assert _labels(NOW - 200 * DAY, NAN) == (LOST, NOW - 110 * DAY)
    # a purchase after the window came too late for this lead
    assert _labels(NOW - 200 * DAY, NOW - 10 * DAY) == (LOST, NOW - 110 * DAY)


def test_a_lead_inside_its_window_and_a_buyer_from_before_first_contact_are_not_examples() -> None:
    assert _labels(NOW - 30 * DAY, NAN)[0] == UNLABELLED
    assert _labels(NOW - 200 * DAY, NOW - 300 * DAY)[0] == UNLABELLED


def test_a_sales_verdict_decides_by_itself() -> None:
    assert _labels(NOW - 30 * DAY, NAN, NOW - 5 * DAY, good_fit=True) == (WON, NOW - 5 * DAY)
    assert _labels(NOW - 200 * DAY, NOW - 150 * DAY, NOW - 160 * DAY, good_fit=False) == (LOST, NOW - 160 * DAY)


def _with_touches(batch: CustomerBatch, touches: list[tuple[int, str, float]]) -> CustomerBatch:
    return replace(
        batch,
        touch_row=np.array([row for row, _, _ in touches], dtype=np.int64),
        touch_kind=np.array([kind for _, kind, _ in touches], dtype=object),
        touch_at=np.array([at for _, _, at in touches], dtype=np.float64),
    )


def test_columns_count_only_the_touches_of_the_thirty_days_before_the_moment() -> None:
    batch = _with_touches(
        empty_batch(1, NOW),
        [(0, "quote", NOW - 101 * DAY), (0, "quote", NOW - 80 * DAY), (0, "quote", NOW - 50 * DAY), (0, "quote", NOW)],
    )
    columns = conversion_columns(batch, np.array([NOW - 70 * DAY]))
    # the quote 80 days ago is within 30 days before the moment; 101 is older, 50 and 0 came after it
    assert columns["quote_30d"].tolist() == [1.0]


def test_sensitive_fields_are_columns_only_when_allowed() -> None:
    batch = replace(empty_batch(2, NOW), gender=np.array(["female", ""], dtype=object))
    assert "gender" not in conversion_columns(batch, np.full(2, NOW))
    allowed = conversion_columns(batch, np.full(2, NOW), ["gender", "age"])
    assert allowed["gender"].tolist() == ["female", None]
    assert np.isnan(allowed["age"]).all()  # no birth dates entered


def _history(leads: int, seed: int = 1) -> LeadHistory:
    """Leads first contacted 100-400 days ago; those with quotes and meetings before deciding mostly buy."""
    rng = np.random.default_rng(seed)
    contact = NOW - rng.uniform(100, 400, leads) * DAY
    engaged = rng.random(leads) < 0.5
    bought = np.where(engaged, rng.random(leads) < 0.7, rng.random(leads) < 0.1)
    first_paid = np.where(bought, contact + rng.uniform(20, 80, leads) * DAY, NAN)
    touches = []
    for row in range(leads):
        decided = first_paid[row] if bought[row] else contact[row] + 90 * DAY
        touches.append((row, "email_open", contact[row]))
        if engaged[row]:
            touches += [(row, kind, decided - rng.uniform(1, 25) * DAY) for kind in ("quote", "meeting", "visit")]
    batch = _with_touches(replace(empty_batch(leads, NOW), created_at=contact), touches)
    return LeadHistory(
        batch,
        first_paid,
        np.where(bought, 2_000_000.0, NAN),
        np.full(leads, NAN),
        np.zeros(leads, dtype=bool),
    )


def test_below_the_data_gate_nothing_is_trained_and_the_card_says_how_many_examples_there_were() -> None:
    outcome = train_from_history(_history(40), LeadParams())
    assert outcome.scorer is None
    assert outcome.card["won"] < MIN_WON or outcome.card["lost"] < MIN_LOST
    assert outcome.card["won"] + outcome.card["lost"] == 40


def test_a_trained_model_ranks_engaged_leads_higher_and_reports_its_card() -> None:
    outcome = train_from_history(_history(400), LeadParams())
    assert outcome.scorer is not None
    card = outcome.card
    assert card["cv_auc"] > 0.75
    assert 0 < card["cv_brier"] < 0.25
    assert sum(band["count"] for band in card["calibration"]) == card["won"] + card["lost"] == 400
    assert "quote_30d" in card["fields"] and "gender" not in card["fields"]
    assert card["order_value_minor"] == 2_000_000

    # two fresh leads today: one asked for a quote and met sales this week, one only opened an email
    today = _with_touches(
        empty_batch(2, NOW),
        [
            (0, "quote", NOW - 2 * DAY),
            (0, "meeting", NOW - 3 * DAY),
            (0, "visit", NOW - 4 * DAY),
            (1, "email_open", NOW - 2 * DAY),
        ],
    )
    facts = outcome.scorer.facts(today)
    assert facts["probability"][0] > facts["probability"][1] + 0.3
    assert facts["call_value_minor"][0] == round(facts["probability"][0] * 2_000_000)
    assert facts["for1"][0] in {"quote_30d", "meeting_30d", "visit_30d"}
