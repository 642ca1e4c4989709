"""Ordered sets promote at once and demote past a margin or after a grace period (pure)."""

from __future__ import annotations

import math

import numpy as np

from scoring.batch import DAY_SECONDS
from scoring.hysteresis import hold_demotions

NOW = 1_800_000_000.0
GRACE = 30 * DAY_SECONDS


def _hold(computed: int, current: int, pending: float = math.nan, within: bool = False, grace: float = GRACE):  # type: ignore[no-untyped-def]
    held = hold_demotions(
        np.array([computed]), np.array([current]), np.array([pending]), np.array([within]), NOW, grace
    )
    return int(held.code_index[0]), float(held.demotion_pending_since[0]), float(held.demotion_due_at[0])


def test_promotion_and_first_classification_apply_at_once() -> None:
    assert _hold(3, 1)[0] == 3
    assert _hold(0, -1)[0] == 0


def test_within_the_margin_the_class_holds_without_a_clock() -> None:
    code, pending, due = _hold(2, 3, within=True)
    assert code == 3 and math.isnan(pending) and math.isnan(due)


def test_a_demotion_starts_the_grace_period() -> None:
    code, pending, due = _hold(2, 3)
    assert (code, pending, due) == (3, NOW, NOW + GRACE)


def test_the_demotion_applies_when_the_grace_period_has_run_out() -> None:
    assert _hold(2, 3, pending=NOW - GRACE + 1)[0] == 3
    code, pending, _ = _hold(2, 3, pending=NOW - GRACE)
    assert code == 2 and math.isnan(pending)


def test_without_a_grace_period_the_demotion_is_immediate() -> None:
    assert _hold(1, 3, grace=0)[0] == 1


def test_recovering_during_the_grace_period_clears_it() -> None:
    code, pending, _ = _hold(3, 3, pending=NOW - 5 * DAY_SECONDS)
    assert code == 3 and math.isnan(pending)
