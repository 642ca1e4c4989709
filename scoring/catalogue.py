"""Every class set computed for a batch in one call, and when the next time-based change is due."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scoring.age_band import AgeBandSettings, classify_age_band
from scoring.approach import classify_approach
from scoring.batch import CustomerBatch
from scoring.deal_status import DealStatusSettings, classify_deal_status
from scoring.purchase_psychology import PsychologySettings, classify_purchase_psychology
from scoring.purchase_stage import PurchaseStageSettings, classify_purchase_stage
from scoring.result import ClassSetResult, FloatArray
from scoring.spend_tier import SpendTierThresholds, spend_tier_class
from scoring.tenure import TenureSettings, classify_tenure


@dataclass(frozen=True, slots=True)
class ScoringSettings:
    spend_tier: SpendTierThresholds
    age_band: AgeBandSettings = field(default_factory=AgeBandSettings)
    tenure: TenureSettings = field(default_factory=TenureSettings)
    purchase_stage: PurchaseStageSettings = field(default_factory=PurchaseStageSettings)
    deal_status: DealStatusSettings = field(default_factory=DealStatusSettings)
    purchase_psychology: PsychologySettings = field(default_factory=PsychologySettings)


def classify_all(batch: CustomerBatch, settings: ScoringSettings) -> list[ClassSetResult]:
    return [
        spend_tier_class(batch.net_spend, settings.spend_tier),
        classify_age_band(batch, settings.age_band),
        classify_tenure(batch, settings.tenure),
        classify_purchase_stage(batch, settings.purchase_stage),
        classify_deal_status(batch, settings.deal_status),
        classify_purchase_psychology(batch, settings.purchase_psychology),
        classify_approach(batch),
    ]


def next_transition_at(results: list[ClassSetResult], size: int) -> FloatArray:
    """Per customer, the earliest moment a class changes with time alone (NaN: none pending)."""
    due = [result.facts["next_change_at"] for result in results if "next_change_at" in result.facts]
    if not due:
        return np.full(size, np.nan)
    return np.fmin.reduce(np.vstack(due).astype(np.float64), axis=0)  # type: ignore[no-any-return]
