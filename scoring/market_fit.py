"""Market fit: inside or outside the shop's target market, by a field rule the admin sets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.age_band import next_birthday_reaching
from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult, IntArray

MARKET_FIT_CODES: tuple[str, ...] = ("in_target", "out_of_target")


@dataclass(frozen=True, slots=True)
class MarketFitRule:
    """Every non-empty condition must hold; an empty rule puts everyone in the target market."""

    countries: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    legal_types: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None


def classify_market_fit(batch: CustomerBatch, age: IntArray, rule: MarketFitRule) -> ClassSetResult:
    """``age`` is -1 when unknown; an unknown age fails an age condition (we cannot say it fits)."""
    failed = np.full(len(batch), "", dtype=object)
    conditions = [
        ("country", np.isin(batch.country, rule.countries) if rule.countries else None),
        ("city", np.isin(batch.city, rule.cities) if rule.cities else None),
        ("legal_type", np.isin(batch.legal_type, rule.legal_types) if rule.legal_types else None),
        ("min_age", (age >= rule.min_age) if rule.min_age is not None else None),
        ("max_age", (age >= 0) & (age <= rule.max_age) if rule.max_age is not None else None),
    ]
    # Record the first condition each customer fails, checking in reverse so the first wins.
    for name, holds in reversed(conditions):
        if holds is not None:
            failed = np.where(holds, failed, name)
    code_index = np.where(failed == "", 0, 1).astype(np.int64)
    # The fit changes on the birthday that reaches min_age or passes max_age.
    turning = sorted(a for a in (rule.min_age, None if rule.max_age is None else rule.max_age + 1) if a is not None)
    return ClassSetResult(
        "market_fit",
        MARKET_FIT_CODES,
        code_index,
        {
            "failed_condition": failed,
            "country": batch.country,
            "city": batch.city,
            "next_change_at": next_birthday_reaching(batch, age, np.asarray(turning, dtype=np.int64)),
        },
    )
