"""Tenure: how long the customer has bought from the shop (since the first paid order, else signup)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.batch import DAY_SECONDS, CustomerBatch
from scoring.result import ClassSetResult

TENURE_CODES: tuple[str, ...] = ("new", "established", "long_term")


@dataclass(frozen=True, slots=True)
class TenureSettings:
    established_after_days: int = 90
    long_term_after_days: int = 730


def classify_tenure(batch: CustomerBatch, settings: TenureSettings) -> ClassSetResult:
    since = np.where(np.isnan(batch.first_paid_at), batch.created_at, batch.first_paid_at)
    days = np.floor((batch.now - since) / DAY_SECONDS).astype(np.int64)
    boundaries = np.array([settings.established_after_days, settings.long_term_after_days])
    code_index = np.searchsorted(boundaries, days, side="right").astype(np.int64)
    next_days = np.where(code_index < len(boundaries), boundaries[np.minimum(code_index, 1)], -1)
    next_change_at = np.where(next_days >= 0, since + next_days * DAY_SECONDS, np.nan)
    return ClassSetResult("tenure", TENURE_CODES, code_index, {"tenure_days": days, "next_change_at": next_change_at})
