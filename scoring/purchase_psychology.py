"""Purchase psychology: what drives the customer, read from what and how they buy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult, first_true

PSYCHOLOGY_CODES: tuple[str, ...] = ("appearance", "promotion", "service", "novelty", "random", "undetermined")

# The code each check below gives, in order of precedence; the last is for "none matched".
_PRECEDENCE = ("undetermined", "promotion", "novelty", "appearance", "service", "random", "undetermined")
_OUTCOMES = np.array([PSYCHOLOGY_CODES.index(code) for code in _PRECEDENCE], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class PsychologySettings:
    promotion_discount_share: float = 0.3
    novelty_item_share: float = 0.5
    appearance_item_share: float = 0.5
    service_ratings: int = 2


def classify_purchase_psychology(batch: CustomerBatch, settings: PsychologySettings) -> ClassSetResult:
    with np.errstate(divide="ignore", invalid="ignore"):
        discount_share = np.where(batch.gross_spend > 0, batch.discount_spend / batch.gross_spend, np.nan)
        novelty_share = np.where(batch.item_count > 0, batch.new_product_items / batch.item_count, np.nan)
        premium_share = np.where(batch.item_count > 0, batch.premium_items / batch.item_count, np.nan)
    paid = batch.paid_order_count
    # NaN compares False, so a share that cannot be computed never matches.
    checks = [
        paid == 0,
        discount_share >= settings.promotion_discount_share,
        novelty_share >= settings.novelty_item_share,
        premium_share >= settings.appearance_item_share,
        batch.service_ratings >= settings.service_ratings,
        (paid == 1) & (batch.interaction_count == 0),
    ]
    code_index = _OUTCOMES[first_true(checks, default=len(checks))]
    return ClassSetResult(
        "purchase_psychology",
        PSYCHOLOGY_CODES,
        code_index,
        {
            "discount_share": discount_share,
            "new_product_share": novelty_share,
            "premium_share": premium_share,
            "service_ratings": batch.service_ratings,
            "paid_orders": paid,
        },
    )
