"""Purchase stage from paid orders: prospect, first-time, repeat, loyal (enough orders in a window)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from scoring.batch import DAY_SECONDS, CustomerBatch
from scoring.hysteresis import Hysteresis
from scoring.result import ClassSetResult, first_true
from scoring.spec import ClassSetSpec, Code, Evidence, Params, Sentence


class PurchaseStageSettings(Params):
    loyal_orders: Annotated[int, Field(ge=2, le=1000)] = 5
    window_days: Annotated[int, Field(ge=1, le=3650)] = 365


def classify_purchase_stage(batch: CustomerBatch, settings: PurchaseStageSettings) -> ClassSetResult:
    paid = batch.paid_order_count
    code_index = first_true([paid == 0, paid == 1, batch.paid_in_window < settings.loyal_orders], default=3)
    window_ends = batch.loyal_anchor_at + settings.window_days * DAY_SECONDS
    return SPEC.result(
        code_index,
        {
            "paid_orders": paid,
            "paid_in_window": batch.paid_in_window,
            "loyal_orders": np.full(len(batch), settings.loyal_orders, dtype=np.int64),
            "window_days": np.full(len(batch), settings.window_days, dtype=np.int64),
            "next_change_at": np.where(code_index == 3, window_ends, np.nan),
        },
    )


SPEC = ClassSetSpec(
    key="purchase_stage",
    names=Sentence(vi="Số lần mua hàng", zh="购买阶段", en="Purchase stage"),
    codes=(
        Code("prospect", "Khách hàng tiềm năng", "潜在买家", "Prospect", "#B0BEC5"),
        Code("first_time", "Khách hàng thực sự (mua lần đầu)", "首次购买", "First-time buyer", "#4FC3F7"),
        Code("repeat", "Khách hàng mua lại", "回头客", "Repeat buyer", "#4DB6AC"),
        Code("loyal", "Khách hàng trung thành", "忠实客户", "Loyal", "#FFD54F"),
    ),
    classify=lambda batch, settings, context: classify_purchase_stage(batch, settings),
    params=PurchaseStageSettings,
    evidence=Evidence(
        sentences={
            "known": Sentence(
                vi="{paid_orders} đơn đã thanh toán, {paid_in_window} đơn trong {window_days} ngày qua "
                "(trung thành từ {loyal_orders} đơn)",
                zh="已付款订单 {paid_orders} 笔，近 {window_days} 天 {paid_in_window} 笔"
                "（{loyal_orders} 笔起为忠实客户）",
                en="{paid_orders} paid orders, {paid_in_window} in the last {window_days} days "
                "(loyal from {loyal_orders})",
            )
        }
    ),
    hysteresis=Hysteresis(grace_days=30.0),
    time_scheduled=True,
)
PURCHASE_STAGE_CODES = SPEC.code_names
