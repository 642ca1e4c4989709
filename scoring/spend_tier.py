"""Spend tier from net spend (paid minus refunded): none, new, platinum, diamond, luxurious."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Self

import numpy as np
from pydantic import Field, ValidationError, model_validator

from scoring.batch import CustomerBatch
from scoring.hysteresis import Hysteresis
from scoring.result import ClassSetResult, IntArray
from scoring.spec import ClassSetSpec, Code, Evidence, Margin, Params, ScoringContext, Sentence, increasing


class SpendTierThresholds(Params):
    """Lowest net spend for each tier after ``none``, in minor units of the workspace currency. The
    defaults are for VND, the currency of the first shops; a workspace in another currency sets its own."""

    new: Annotated[int, Field(ge=1)] = 1
    platinum: Annotated[int, Field(ge=1)] = 5_000_000
    diamond: Annotated[int, Field(ge=1)] = 20_000_000
    luxurious: Annotated[int, Field(ge=1, le=10**15)] = 50_000_000

    def __init__(self, *positional: int, **named: Any) -> None:
        """Also ``SpendTierThresholds(new, platinum, diamond, luxurious)``, refusing bad values with a plain
        ValueError; by name (how settings from clients are validated) errors name their fields."""
        if not positional:
            super().__init__(**named)
            return
        named.update(zip(("new", "platinum", "diamond", "luxurious"), positional, strict=False))
        try:
            super().__init__(**named)
        except ValidationError:
            raise ValueError("spend tier thresholds must be positive and strictly increasing") from None

    @model_validator(mode="after")
    def ordered(self) -> Self:
        increasing(list(self.as_tuple()), "tiers must rise: new < platinum < diamond < luxurious")
        return self

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.new, self.platinum, self.diamond, self.luxurious)


@dataclass(frozen=True, slots=True)
class SpendTierResult:
    """Per customer: the code index and the bounds that decided it. ``lower`` is the threshold the
    customer reached (0 for ``none``); ``upper`` the next one, or -1 at the top tier."""

    code_index: IntArray
    lower: IntArray
    upper: IntArray

    def codes(self) -> list[str]:
        return [SPEND_TIER_CODES[i] for i in self.code_index.tolist()]


def classify_spend_tier(net_spend: IntArray, thresholds: SpendTierThresholds) -> SpendTierResult:
    """Classify every customer of the batch; ``net_spend`` is in minor units and may be negative."""
    bounds = np.asarray(thresholds.as_tuple(), dtype=np.int64)
    code_index = np.searchsorted(bounds, net_spend, side="right").astype(np.int64)
    lower_by_code = np.concatenate(([0], bounds))
    upper_by_code = np.concatenate((bounds, [-1]))
    return SpendTierResult(code_index, lower_by_code[code_index], upper_by_code[code_index])


def _classify(batch: CustomerBatch, thresholds: SpendTierThresholds, context: ScoringContext) -> ClassSetResult:
    tiers = classify_spend_tier(batch.net_spend, thresholds)
    facts = {"net_spend_minor": batch.net_spend, "threshold_minor": tiers.lower, "next_threshold_minor": tiers.upper}
    return SPEC.result(tiers.code_index, facts)


def _floors(thresholds: SpendTierThresholds) -> IntArray:
    return np.concatenate(([0], np.asarray(thresholds.as_tuple(), dtype=np.int64)))


SPEC = ClassSetSpec(
    key="spend_tier",
    names=Sentence(vi="Hạng chi tiêu", zh="消费等级", en="Spend tier"),
    codes=(
        Code("none", "Chưa chi tiêu", "未消费", "No spend", "#9E9E9E"),
        Code("new", "Khách hàng mới", "新客户", "New", "#4CAF50"),
        Code("platinum", "Bạch kim (Platinum)", "铂金", "Platinum", "#90A4AE"),
        Code("diamond", "Kim cương (Diamond)", "钻石", "Diamond", "#29B6F6"),
        Code("luxurious", "Thượng lưu (Luxurious)", "奢华", "Luxurious", "#AB47BC"),
    ),
    classify=_classify,
    params=SpendTierThresholds,
    evidence=Evidence(
        sentences={
            "reached": Sentence(
                vi="chi tiêu ròng {net_spend} ≥ ngưỡng {label} {threshold}",
                zh="净消费 {net_spend} ≥ {label}门槛 {threshold}",
                en="net spend {net_spend} ≥ {label} threshold {threshold}",
            ),
            # Below the first paid tier: the threshold that was missed.
            "below": Sentence(
                vi="chi tiêu ròng {net_spend} < ngưỡng {labels[new]} {next_threshold}",
                zh="净消费 {net_spend} < {labels[new]}门槛 {next_threshold}",
                en="net spend {net_spend} < {labels[new]} threshold {next_threshold}",
            ),
        },
        case=lambda facts: "below" if facts.get("code") == "none" else "reached",
    ),
    hysteresis=Hysteresis(margin_percent=10.0),
    margin=Margin(value=lambda batch: batch.net_spend, floors=_floors),
    money_evidence=True,
)

SPEND_TIER_CODES = SPEC.code_names
