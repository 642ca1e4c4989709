"""Value class (khách hàng trung thành / tiềm năng / giá trị thấp / tiêu cực) from RFM, complaints and churn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult, IntArray, first_true

VALUE_CLASS_CODES: tuple[str, ...] = ("loyal", "high_potential", "low_value", "negative")


@dataclass(frozen=True, slots=True)
class ValueClassSettings:
    negative_complaints: int = 2
    loyal_min_frequency_score: int = 4
    loyal_min_recency_score: int = 3
    potential_min_recency_score: int = 4
    potential_min_monetary_score: int = 3


def classify_value_class(
    batch: CustomerBatch, scores: tuple[IntArray, IntArray, IntArray], settings: ValueClassSettings
) -> ClassSetResult:
    r, f, m = scores
    paid = batch.paid_order_count > 0
    checks = [
        batch.complaints >= settings.negative_complaints,
        paid & (f >= settings.loyal_min_frequency_score) & (r >= settings.loyal_min_recency_score),
        (paid & (r >= settings.potential_min_recency_score) & (m >= settings.potential_min_monetary_score))
        | (~paid & (batch.intent_signals > 0)),
    ]
    outcomes = np.array([3, 0, 1, 2], dtype=np.int64)  # negative, loyal, high_potential, else low_value
    return ClassSetResult(
        "value_class",
        VALUE_CLASS_CODES,
        outcomes[first_true(checks, default=3)],
        {
            "complaints": batch.complaints,
            "recency_score": np.where(paid, r, -1),
            "frequency_score": np.where(paid, f, -1),
            "monetary_score": np.where(paid, m, -1),
            "intent_signals": batch.intent_signals,
        },
    )
