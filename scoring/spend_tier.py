"""Spend tier from net spend (paid minus refunded), for a whole batch of customers at once."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.result import ClassSetResult

SPEND_TIER_CODES: tuple[str, ...] = ("none", "new", "platinum", "diamond", "luxurious")

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class SpendTierThresholds:
    """Lowest net spend, in minor units of the workspace currency, for each code after ``none``."""

    new: int
    platinum: int
    diamond: int
    luxurious: int

    def __post_init__(self) -> None:
        bounds = self.as_tuple()
        if bounds[0] < 1 or any(low >= high for low, high in itertools.pairwise(bounds)):
            raise ValueError("spend tier thresholds must be positive and strictly increasing")

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.new, self.platinum, self.diamond, self.luxurious)


@dataclass(frozen=True, slots=True)
class SpendTierResult:
    """Per customer: the code index into SPEND_TIER_CODES and the bounds that decided it.

    ``lower`` is the threshold the customer reached (0 for ``none``); ``upper`` the next one, or -1
    at the top tier.
    """

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


def spend_tier_class(net_spend: IntArray, thresholds: SpendTierThresholds) -> ClassSetResult:
    result = classify_spend_tier(net_spend, thresholds)
    return ClassSetResult(
        "spend_tier",
        SPEND_TIER_CODES,
        result.code_index,
        {"net_spend_minor": net_spend, "threshold_minor": result.lower, "next_threshold_minor": result.upper},
    )
