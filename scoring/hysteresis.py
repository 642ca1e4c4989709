"""Ordered class sets promote at once and demote only past a margin or after a grace period."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from scoring.result import FloatArray, IntArray

BoolArray = npt.NDArray[np.bool_]


class Hysteresis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Spend-based sets: stay while within this much below the current tier...
    margin_percent: Annotated[float, Field(ge=0, le=50)] = 0.0
    # ...then stay this long before the demotion takes effect.
    grace_days: Annotated[float, Field(ge=0, le=365)] = 0.0


@dataclass(frozen=True, slots=True)
class HeldCodes:
    code_index: IntArray
    demotion_pending_since: FloatArray  # NaN: no demotion waiting
    demotion_due_at: FloatArray  # NaN: nothing due


def hold_demotions(
    computed: IntArray,
    current: IntArray,
    pending_since: FloatArray,
    within_margin: BoolArray,
    now: float,
    grace_seconds: float,
) -> HeldCodes:
    """``current`` is -1 where the customer has no class yet; ``pending_since`` is NaN where no demotion
    was waiting. A customer within the margin keeps the class without a clock; otherwise the first
    demotion starts the grace period, and the demotion applies once it has run out."""
    demoting = (current >= 0) & (computed < current)
    held_by_margin = demoting & within_margin
    waiting = demoting & ~within_margin
    started = np.where(np.isnan(pending_since), now, pending_since)
    expired = waiting & (now - started >= grace_seconds)
    holding = waiting & ~expired
    code_index = np.where(held_by_margin | holding, current, computed).astype(np.int64)
    pending = np.where(holding, started, np.nan)
    return HeldCodes(code_index, pending, np.where(holding, started + grace_seconds, np.nan))
