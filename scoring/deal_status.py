"""Deal status (潜在/意向/准/普通/优质/重点客户): from signals of interest to key accounts."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from scoring.batch import CustomerBatch
from scoring.hysteresis import Hysteresis
from scoring.result import ClassSetResult, first_true
from scoring.spec import ClassSetSpec, Code, Evidence, Params, Sentence, increasing


class DealStatusSettings(Params):
    quality_orders: Annotated[int, Field(ge=1, le=10_000)] = 3
    quality_spend: Annotated[int, Field(ge=1)] = 5_000_000
    key_orders: Annotated[int, Field(ge=1, le=10_000)] = 10
    key_spend: Annotated[int, Field(ge=1)] = 20_000_000

    @model_validator(mode="after")
    def ordered(self) -> Self:
        increasing([self.quality_orders, self.key_orders], "key accounts need more orders than quality ones")
        increasing([self.quality_spend, self.key_spend], "key accounts need more spend than quality ones")
        return self


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
    facts = {
        "paid_orders": paid,
        "net_spend_minor": spend,
        "open_orders": batch.unpaid_open_orders,
        "intent_signals": batch.intent_signals,
    }
    return SPEC.result(5 - priority, facts)


SPEC = ClassSetSpec(
    key="deal_status",
    names=Sentence(vi="Trạng thái giao dịch", zh="成交状态", en="Deal status"),
    codes=(
        Code("potential", "Khách hàng tiềm năng", "潜在客户", "Potential", "#CFD8DC"),
        Code("intent", "Khách hàng có ý định mua", "意向客户", "Intent", "#90CAF9"),
        Code("quasi", "Đã đặt hàng, chưa thanh toán", "准客户", "Quasi (ordered, unpaid)", "#FFE082"),
        Code("ordinary", "Khách hàng thông thường", "普通客户", "Ordinary", "#A5D6A7"),
        Code("quality", "Khách hàng chất lượng", "优质客户", "Quality", "#4DB6AC"),
        Code("key", "Khách hàng trọng điểm", "重点客户", "Key account", "#F06292"),
    ),
    classify=lambda batch, settings, context: classify_deal_status(batch, settings),
    params=DealStatusSettings,
    evidence=Evidence(
        sentences={
            "known": Sentence(
                vi="{paid_orders} đơn đã thanh toán, chi tiêu ròng {net_spend}, {open_orders} đơn chưa thanh toán, "
                "{intent_signals} tín hiệu quan tâm",
                zh="已付款订单 {paid_orders} 笔，净消费 {net_spend}，"
                "未付款订单 {open_orders} 笔，意向信号 {intent_signals} 个",
                en="{paid_orders} paid orders, net spend {net_spend}, {open_orders} unpaid orders, "
                "{intent_signals} interest signals",
            )
        }
    ),
    hysteresis=Hysteresis(grace_days=14.0),
    money_evidence=True,
)
DEAL_STATUS_CODES = SPEC.code_names
