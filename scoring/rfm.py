"""RFM groups: recency, frequency and monetary scores 1-5 by quintile within the workspace, named."""

from __future__ import annotations

import numpy as np

from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult, first_true
from scoring.rfm_bounds import (
    NO_BOUNDS,
    QUINTILES,
    RfmBounds,
    crossed_ranges,
    recency_days,
    recency_score_drops_at,
    rfm_bounds,
    rfm_scores,
)
from scoring.spec import ClassSetSpec, Code, Evidence, Sentence, unless_missing

__all__ = [
    "NO_BOUNDS",
    "QUINTILES",
    "RfmBounds",
    "classify_rfm",
    "crossed_ranges",
    "recency_days",
    "rfm_bounds",
    "rfm_scores",
]


def classify_rfm(batch: CustomerBatch, bounds: RfmBounds) -> ClassSetResult:
    r, f, m = rfm_scores(batch, bounds)
    never_paid = np.isnan(batch.last_paid_at) | (batch.paid_order_count == 0)
    groups = [
        ("prospect", never_paid),
        ("champions", (r >= 4) & (f >= 4) & (m >= 4)),
        ("cannot_lose", (r == 1) & (f >= 4) & (m >= 4)),
        ("loyal", (r >= 3) & (f >= 4)),
        ("at_risk", (r <= 2) & (f >= 3)),
        ("potential_loyalist", (r >= 4) & (f >= 2)),
        ("new", (r >= 4) & (f == 1)),
        ("promising", (r == 3) & (f == 1)),
        ("need_attention", r == 3),
        ("about_to_sleep", r == 2),
        ("lost", (f <= 2) & (m <= 2)),
    ]
    # What is left has not bought for long (R = 1), rarely, yet spent well: hibernating.
    codes = SPEC.code_names
    outcomes = np.array([codes.index(code) for code, _ in groups] + [codes.index("hibernating")], dtype=np.int64)
    code_index = outcomes[first_true([condition for _, condition in groups], default=len(groups))]
    days = np.where(never_paid, -1, np.nan_to_num(recency_days(batch), nan=-1)).astype(np.int64)
    return SPEC.result(
        code_index,
        {
            "recency_score": np.where(never_paid, -1, r),
            "frequency_score": np.where(never_paid, -1, f),
            "monetary_score": np.where(never_paid, -1, m),
            "recency_days": days,
            "next_change_at": np.where(never_paid, np.nan, recency_score_drops_at(batch, bounds)),
        },
    )


SPEC = ClassSetSpec(
    key="rfm_group",
    names=Sentence(vi="Nhóm RFM", zh="RFM分组", en="RFM group"),
    codes=(
        Code("champions", "Khách hàng xuất sắc", "冠军客户", "Champions", "#2E7D32"),
        Code("loyal", "Khách hàng trung thành", "忠诚客户", "Loyal", "#43A047"),
        Code("potential_loyalist", "Có thể thành trung thành", "潜在忠诚客户", "Potential loyalist", "#7CB342"),
        Code("new", "Khách hàng mới mua", "新客户", "New", "#29B6F6"),
        Code("promising", "Có triển vọng", "有潜力", "Promising", "#26C6DA"),
        Code("need_attention", "Cần quan tâm", "需要关注", "Need attention", "#FFCA28"),
        Code("about_to_sleep", "Sắp ngủ đông", "即将沉睡", "About to sleep", "#FFA726"),
        Code("at_risk", "Có nguy cơ rời bỏ", "有流失风险", "At risk", "#EF5350"),
        Code("cannot_lose", "Không thể để mất", "不能失去", "Cannot lose", "#C62828"),
        Code("hibernating", "Ngủ đông", "沉睡客户", "Hibernating", "#8D6E63"),
        Code("lost", "Đã mất", "已流失", "Lost", "#757575"),
        Code("prospect", "Chưa mua hàng", "未购买", "Prospect", "#BDBDBD"),
    ),
    classify=lambda batch, settings, context: classify_rfm(batch, context.bounds),
    evidence=Evidence(
        sentences={
            "known": Sentence(
                vi="R{recency_score} F{frequency_score} M{monetary_score}: mua lần cuối {recency_days} ngày trước",
                zh="R{recency_score} F{frequency_score} M{monetary_score}：最近一次购买在 {recency_days} 天前",
                en="R{recency_score} F{frequency_score} M{monetary_score}: last purchase {recency_days} days ago",
            ),
            "unknown": Sentence(vi="chưa có đơn đã thanh toán", zh="尚无已付款订单", en="no paid order yet"),
        },
        case=unless_missing("recency_score"),
    ),
    time_scheduled=True,
)
RFM_CODES = SPEC.code_names
