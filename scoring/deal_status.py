"""Deal status (潜在/意向/准/普通/优质/重点客户): from signals of interest to key accounts."""

from __future__ import annotations

from dataclasses import dataclass

from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult, first_true

DEAL_STATUS_CODES: tuple[str, ...] = ("potential", "intent", "quasi", "ordinary", "quality", "key")


@dataclass(frozen=True, slots=True)
class DealStatusSettings:
    quality_orders: int = 3
    quality_spend: int = 5_000_000
    key_orders: int = 10
    key_spend: int = 20_000_000


def classify_deal_status(batch: CustomerBatch, settings: DealStatusSettings) -> ClassSetResult:
    paid, spend = batch.paid_order_count, batch.net_spend
    # Highest status first; the index is then mapped back to the ascending code order.
    priority = first_true(
        [
            (paid >= settings.key_orders) | (spend >= settings.key_spend),
            (paid >= settings.quality_orders) | (spend >= settings.quality_spend),
            paid >= 1,
            batch.unpaid_open_orders > 0,
            batch.intent_signals > 0,
        ],
        default=5,
    )
    return ClassSetResult(
        "deal_status",
        DEAL_STATUS_CODES,
        5 - priority,
        {
            "paid_orders": paid,
            "net_spend_minor": spend,
            "open_orders": batch.unpaid_open_orders,
            "intent_signals": batch.intent_signals,
        },
    )
