"""Purchase psychology: what drives the customer, read from what and how they buy."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult, first_true
from scoring.spec import ClassSetSpec, Code, Evidence, Params, Sentence

# The code each check below gives, in order of precedence; the last is for "none matched".
_PRECEDENCE = ("undetermined", "promotion", "novelty", "appearance", "service", "random", "undetermined")

Share = Annotated[float, Field(gt=0, le=1)]


class PsychologySettings(Params):
    promotion_discount_share: Share = 0.3
    novelty_item_share: Share = 0.5
    appearance_item_share: Share = 0.5
    service_ratings: Annotated[int, Field(ge=1, le=1000)] = 2


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
    outcomes = np.array([SPEC.code_names.index(code) for code in _PRECEDENCE], dtype=np.int64)
    return SPEC.result(
        outcomes[first_true(checks, default=len(checks))],
        {
            "discount_share": discount_share,
            "new_product_share": novelty_share,
            "premium_share": premium_share,
            "service_ratings": batch.service_ratings,
            "paid_orders": paid,
        },
    )


SPEC = ClassSetSpec(
    key="purchase_psychology",
    names=Sentence(vi="Tâm lý mua hàng", zh="购买心理", en="Purchase psychology"),
    codes=(
        Code("appearance", "Chú trọng vẻ ngoài", "注重外观", "Appearance-focused", "#F48FB1"),
        Code("promotion", "Thích khuyến mãi", "促销驱动", "Promotion-driven", "#FFB74D"),
        Code("service", "Chú trọng dịch vụ", "注重服务", "Service-focused", "#4DD0E1"),
        Code("novelty", "Thích cái mới", "追求新品", "Novelty-seeking", "#BA68C8"),
        Code("random", "Khách vãng lai", "随机客户", "Random walk-in", "#BDBDBD"),
        Code("undetermined", "Chưa xác định", "未确定", "Undetermined", "#E0E0E0"),
    ),
    classify=lambda batch, settings, context: classify_purchase_psychology(batch, settings),
    params=PsychologySettings,
    evidence=Evidence(
        sentences={
            "known": Sentence(
                vi="giảm giá chiếm {discount_share} chi tiêu, sản phẩm mới {new_product_share} và cao cấp/thiết kế "
                "{premium_share} số món, {service_ratings} đánh giá dịch vụ, {paid_orders} đơn đã thanh toán",
                zh="折扣占消费 {discount_share}，新品占 {new_product_share}，高端/设计款占 {premium_share}，"
                "服务评价 {service_ratings} 条，已付款订单 {paid_orders} 笔",
                en="discounts {discount_share} of spend, new products {new_product_share} and premium/design "
                "{premium_share} of items, {service_ratings} service ratings, {paid_orders} paid orders",
            )
        }
    ),
)
PSYCHOLOGY_CODES = SPEC.code_names
