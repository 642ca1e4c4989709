"""Every class set computed for a batch in one call, and when the next time-based change is due."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from scoring.age_band import AgeBandSettings, classify_age_band
from scoring.approach import classify_approach
from scoring.batch import DAY_SECONDS, CustomerBatch
from scoring.deal_status import DealStatusSettings, classify_deal_status
from scoring.hysteresis import Hysteresis, hold_demotions
from scoring.market_fit import MarketFitRule, classify_market_fit
from scoring.purchase_psychology import PsychologySettings, classify_purchase_psychology
from scoring.purchase_stage import PurchaseStageSettings, classify_purchase_stage
from scoring.result import ClassSetResult, FloatArray, IntArray
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
    hysteresis: dict[str, Hysteresis] = field(default_factory=lambda: dict(DEFAULT_HYSTERESIS))


# Class sets computed from a sensitive field (birth date, personality) are sensitive as a whole: their
# codes, dates and next changes would reveal the field to roles that may not read it.
ALWAYS_SENSITIVE: frozenset[str] = frozenset({"age_band", "approach"})


def sensitive_class_sets(settings: ScoringSettings) -> frozenset[str]:
    """The class sets that read a sensitive field under these settings (market fit when it checks age)."""
    rule = settings.market_fit
    uses_age = rule.min_age is not None or rule.max_age is not None
    return ALWAYS_SENSITIVE | ({"market_fit"} if uses_age else frozenset())


# The ordered class sets, where moving down waits for a margin or a grace period.
DEFAULT_HYSTERESIS: dict[str, Hysteresis] = {
    "spend_tier": Hysteresis(margin_percent=10.0),
    "purchase_stage": Hysteresis(grace_days=30.0),
    "deal_status": Hysteresis(grace_days=14.0),
}


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


def hold_demotions_of_ordered_sets(
    results: list[ClassSetResult],
    current: dict[str, IntArray],
    pending_since: dict[str, FloatArray],
    batch: CustomerBatch,
    settings: ScoringSettings,
) -> list[ClassSetResult]:
    """Apply each ordered set's hysteresis; ``current`` holds today's code index (-1: none yet).

    A held class gets the fact ``demotion_pending_since`` and, when a grace period runs,
    ``next_change_at`` so the customer is rescored when it ends.
    """
    held_results = []
    for result in results:
        rule = settings.hysteresis.get(result.key)
        if rule is None or result.key not in current:
            held_results.append(result)
            continue
        within = _within_margin(result.key, current[result.key], batch, settings, rule)
        held = hold_demotions(
            result.code_index,
            current[result.key],
            pending_since[result.key],
            within,
            batch.now,
            rule.grace_days * DAY_SECONDS,
        )
        facts = {**result.facts, "demotion_pending_since": held.demotion_pending_since}
        if "next_change_at" in facts:
            facts["next_change_at"] = np.fmin(facts["next_change_at"], held.demotion_due_at)
        else:
            facts["next_change_at"] = held.demotion_due_at
        held_results.append(replace(result, code_index=held.code_index, facts=facts))
    return held_results


def _within_margin(
    key: str, current: IntArray, batch: CustomerBatch, settings: ScoringSettings, rule: Hysteresis
) -> npt.NDArray[np.bool_]:
    if key != "spend_tier" or rule.margin_percent <= 0:
        return np.zeros(len(batch), dtype=bool)
    lower_by_code = np.concatenate(([0], np.asarray(settings.spend_tier.as_tuple(), dtype=np.int64)))
    floor = lower_by_code[np.clip(current, 0, None)] * (1 - rule.margin_percent / 100)
    return (current >= 0) & (batch.net_spend >= floor)


def next_transition_at(
    results: list[ClassSetResult], size: int, leaving_out: frozenset[str] = frozenset()
) -> FloatArray:
    """Per customer, the earliest moment a class changes with time alone (NaN: none pending), not
    counting the class sets in ``leaving_out``."""
    due = [
        result.facts["next_change_at"]
        for result in results
        if "next_change_at" in result.facts and result.key not in leaving_out
    ]
    if not due:
        return np.full(size, np.nan)
    return np.fmin.reduce(np.vstack(due).astype(np.float64), axis=0)  # type: ignore[no-any-return]
