"""How sales should approach the customer, from the personality group they entered (1-9)."""

from __future__ import annotations

import numpy as np

from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult

APPROACH_CODES: tuple[str, ...] = ("warm", "direct", "analytical", "other")

# Groups 2/7/9 answer small talk warmly; 1/3/8 want to get to business; 5 wants facts (source article 000).
_BY_TYPE = np.array([3, 1, 0, 1, 3, 2, 3, 0, 1, 0], dtype=np.int64)  # index = personality type, 0 = none


def classify_approach(batch: CustomerBatch) -> ClassSetResult:
    types = np.clip(batch.personality_type, 0, 9)
    return ClassSetResult(
        "approach",
        APPROACH_CODES,
        _BY_TYPE[types],
        {"personality_type": np.where(types > 0, types, -1).astype(np.int64)},
    )
