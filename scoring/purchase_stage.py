"""Purchase stage from paid orders: prospect, first-time, repeat, loyal (enough orders in a window)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.batch import DAY_SECONDS, CustomerBatch
from scoring.result import ClassSetResult, first_true

PURCHASE_STAGE_CODES: tuple[str, ...] = ("prospect", "first_time", "repeat", "loyal")


@dataclass(frozen=True, slots=True)
class PurchaseStageSettings:
    loyal_orders: int = 5
    window_days: int = 365


def classify_purchase_stage(batch: CustomerBatch, settings: PurchaseStageSettings) -> ClassSetResult:
    paid = batch.paid_order_count
    code_index = first_true([paid == 0, paid == 1, batch.paid_in_window < settings.loyal_orders], default=3)
    window_ends = batch.loyal_anchor_at + settings.window_days * DAY_SECONDS
    return ClassSetResult(
        "purchase_stage",
        PURCHASE_STAGE_CODES,
        code_index,
        {
            "paid_orders": paid,
            "paid_in_window": batch.paid_in_window,
            "loyal_orders": np.full(len(batch), settings.loyal_orders, dtype=np.int64),
            "window_days": np.full(len(batch), settings.window_days, dtype=np.int64),
            "next_change_at": np.where(code_index == 3, window_ends, np.nan),
        },
    )
