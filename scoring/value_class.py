"""Value class (khách hàng trung thành / tiềm năng / giá trị thấp / tiêu cực) from RFM, complaints and churn."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult, IntArray, first_true
from scoring.rfm_bounds import rfm_scores
from scoring.spec import ClassSetSpec, Code, Evidence, Params, Sentence

Score = Annotated[int, Field(ge=1, le=5)]


class ValueClassSettings(Params):
    negative_complaints: Annotated[int, Field(ge=1, le=1000)] = 2
    loyal_min_frequency_score: Score = 4
    loyal_min_recency_score: Score = 3
    potential_min_recency_score: Score = 4
    potential_min_monetary_score: Score = 3


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
    return SPEC.result(
        outcomes[first_true(checks, default=3)],
        {
            "complaints": batch.complaints,
            "recency_score": np.where(paid, r, -1),
            "frequency_score": np.where(paid, f, -1),
            "monetary_score": np.where(paid, m, -1),
            "intent_signals": batch.intent_signals,
        },
    )


SPEC = ClassSetSpec(
    key="value_class",
    names=Sentence(vi="Giá trị mang lại", zh="客户价值", en="Value class"),
    codes=(
        Code("loyal", "Khách hàng trung thành", "忠诚客户", "Loyal", "#43A047"),
        Code("high_potential", "Khách hàng tiềm năng cao", "高潜力客户", "High potential", "#29B6F6"),
        Code("low_value", "Khách hàng giá trị thấp", "低价值客户", "Low value", "#BDBDBD"),
        Code("negative", "Khách hàng tiêu cực", "负面客户", "Negative", "#E53935"),
    ),
    classify=lambda batch, settings, context: classify_value_class(batch, rfm_scores(batch, context.bounds), settings),
    params=ValueClassSettings,
    evidence=Evidence(
        sentences={
            "known": Sentence(
                vi="R{recency_score} F{frequency_score} M{monetary_score}, {complaints} khiếu nại, "
                "{intent_signals} tín hiệu quan tâm",
                zh="R{recency_score} F{frequency_score} M{monetary_score}，"
                "投诉 {complaints} 次，意向信号 {intent_signals} 个",
                en="R{recency_score} F{frequency_score} M{monetary_score}, {complaints} complaints, "
                "{intent_signals} interest signals",
            )
        }
    ),
)
VALUE_CLASS_CODES = SPEC.code_names
