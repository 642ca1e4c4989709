"""Future value class: high, medium or low by the customer's predicted 12-month value among the
workspace's buyers (BG/NBD + Gamma-Gamma, see scoring/future_value.py); unknown for a customer who never
bought or a workspace whose history is still too thin to fit."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from scoring.batch import CustomerBatch
from scoring.future_value import histories, predict
from scoring.result import ClassSetResult, Fact
from scoring.spec import ClassSetSpec, Code, Evidence, NoParams, ScoringContext, Sentence


def classify_future_value(batch: CustomerBatch, params: NoParams, context: ScoringContext) -> ClassSetResult:
    n = len(batch)
    model = context.future_value
    # As of the fit: values stay put between fits (a refit rescores the workspace), not drifting daily.
    h = histories(
        batch.paid_order_count.astype(np.float64),
        batch.first_paid_at,
        batch.last_paid_at,
        batch.net_spend.astype(np.float64),
        model.fitted_at if model else batch.now,
    )
    if model is None:
        nan, none = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
        facts = {"alive_share": nan, "purchases_90d": nan, "purchases_365d": nan}
        facts |= {"order_value_minor": none, "clv_12m_minor": none, "buyer": h.bought.astype(np.int64)}
        return SPEC.result(np.zeros(n, dtype=np.int64), facts)
    predicted = predict(model, h)
    clv = predicted.clv_12m
    code_index = np.where(
        ~h.bought, 0, np.where(clv >= model.high_from, 3, np.where(clv >= model.medium_from, 2, 1))
    ).astype(np.int64)

    def minor(values: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(values), -1, np.rint(np.nan_to_num(values))).astype(np.int64)

    return SPEC.result(
        code_index,
        {
            "alive_share": predicted.p_alive,
            "purchases_90d": predicted.purchases_90d,
            "purchases_365d": predicted.purchases_365d,
            "order_value_minor": minor(predicted.order_value),
            "clv_12m_minor": minor(clv),
            "buyer": h.bought.astype(np.int64),
        },
    )


def _case(facts: Mapping[str, Fact]) -> str:
    if facts.get("clv_12m_minor") is not None:
        return "known"
    # A customer who never bought reads the same with or without models: a fit rescores buyers only.
    return "no_purchase" if facts.get("buyer") == 0 else "no_model"


SPEC = ClassSetSpec(
    key="future_value",
    names=Sentence(vi="Giá trị tương lai", zh="未来价值", en="Future value"),
    codes=(
        Code("unknown", "Chưa đủ dữ liệu", "数据不足", "Not enough data", "#B0BEC5"),
        Code("low", "Tiềm năng lợi nhuận thấp", "未来价值低", "Low future value", "#A1887F"),
        Code("medium", "Tiềm năng lợi nhuận trung bình", "未来价值中等", "Medium future value", "#4FC3F7"),
        Code("high", "Tiềm năng lợi nhuận cao", "未来价值高", "High future value", "#43A047"),
    ),
    classify=classify_future_value,
    evidence=Evidence(
        sentences={
            "known": Sentence(
                vi="dự kiến mang lại {clv_12m} trong 12 tháng, khả năng còn mua {alive_share}",
                zh="预计未来12个月贡献 {clv_12m}，仍活跃的概率 {alive_share}",
                en="expected to bring {clv_12m} in 12 months, {alive_share} likely still active",
            ),
            "no_purchase": Sentence(vi="chưa có đơn đã thanh toán", zh="尚无已付款订单", en="no paid order yet"),
            "no_model": Sentence(
                vi="cửa hàng chưa đủ lịch sử mua hàng để dự đoán",
                zh="店铺购买记录尚不足以预测",
                en="the shop's purchase history is too short to predict yet",
            ),
        },
        case=_case,
    ),
    money_evidence=True,
)
