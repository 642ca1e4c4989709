"""Every class set computed for a batch in one call, and when the next time-based change is due."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scoring.age_band import AgeBandSettings, classify_age_band
from scoring.approach import classify_approach
from scoring.batch import CustomerBatch
from scoring.deal_status import DealStatusSettings, classify_deal_status
from scoring.market_fit import MarketFitRule, classify_market_fit
from scoring.purchase_psychology import PsychologySettings, classify_purchase_psychology
from scoring.purchase_stage import PurchaseStageSettings, classify_purchase_stage
from scoring.result import ClassSetResult, FloatArray
from scoring.rfm import NO_BOUNDS, RfmBounds, classify_rfm, rfm_scores
from scoring.spend_tier import SpendTierThresholds, spend_tier_class
from scoring.tenure import TenureSettings, classify_tenure
from scoring.value_class import ValueClassSettings, classify_value_class


@dataclass(frozen=True, slots=True)
class ScoringSettings:
    spend_tier: SpendTierThresholds
    age_band: AgeBandSettings = field(default_factory=AgeBandSettings)
    tenure: TenureSettings = field(default_factory=TenureSettings)
    purchase_stage: PurchaseStageSettings = field(default_factory=PurchaseStageSettings)
    deal_status: DealStatusSettings = field(default_factory=DealStatusSettings)
    purchase_psychology: PsychologySettings = field(default_factory=PsychologySettings)
    value_class: ValueClassSettings = field(default_factory=ValueClassSettings)
    market_fit: MarketFitRule = field(default_factory=MarketFitRule)


def classify_all(
    batch: CustomerBatch, settings: ScoringSettings, bounds: RfmBounds = NO_BOUNDS
) -> list[ClassSetResult]:
    """Every class set for every customer of the batch; ``bounds`` are the workspace's RFM quintiles."""
    age_band = classify_age_band(batch, settings.age_band)
    return [
        spend_tier_class(batch.net_spend, settings.spend_tier),
        age_band,
        classify_tenure(batch, settings.tenure),
        classify_purchase_stage(batch, settings.purchase_stage),
        classify_deal_status(batch, settings.deal_status),
        classify_rfm(batch, bounds),
        classify_value_class(batch, rfm_scores(batch, bounds), settings.value_class),
        classify_purchase_psychology(batch, settings.purchase_psychology),
        classify_market_fit(batch, age_band.facts["age"], settings.market_fit),
        classify_approach(batch),
    ]


def next_transition_at(results: list[ClassSetResult], size: int) -> FloatArray:
    """Per customer, the earliest moment a class changes with time alone (NaN: none pending)."""
    due = [result.facts["next_change_at"] for result in results if "next_change_at" in result.facts]
    if not due:
        return np.full(size, np.nan)
    return np.fmin.reduce(np.vstack(due).astype(np.float64), axis=0)  # type: ignore[no-any-return]
