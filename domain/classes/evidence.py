"""Evidence is stored as facts (numbers, codes) and rendered as a sentence in the reader's language."""

from __future__ import annotations

from typing import Any

from domain.classes.catalogue import CLASS_SETS
from domain.money import format_amount

_SPEND_TIER_TEXT = {
    "reached": {
        "en": "net spend {spend} ≥ {label} threshold {threshold}",
        "vi": "chi tiêu ròng {spend} ≥ ngưỡng {label} {threshold}",
        "zh": "净消费 {spend} ≥ {label}门槛 {threshold}",
    },
    "below": {
        "en": "net spend {spend} < {label} threshold {threshold}",
        "vi": "chi tiêu ròng {spend} < ngưỡng {label} {threshold}",
        "zh": "净消费 {spend} < {label}门槛 {threshold}",
    },
}


# Per class set: (fact that must be known, sentence when it is, sentence when it is not).
_TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "age_band": {
        "en": ("age {age}", "no birth date on file"),
        "vi": ("{age} tuổi", "chưa có ngày sinh"),
        "zh": ("{age}岁", "未填写出生日期"),
    },
    "tenure": {
        "en": ("customer for {tenure_days} days", ""),
        "vi": ("gắn bó {tenure_days} ngày", ""),
        "zh": ("成为客户 {tenure_days} 天", ""),
    },
    "purchase_stage": {
        "en": (
            "{paid_orders} paid orders, {paid_in_window} in the last {window_days} days (loyal from {loyal_orders})",
            "",
        ),
        "vi": (
            "{paid_orders} đơn đã thanh toán, {paid_in_window} đơn trong {window_days} ngày qua "
            "(trung thành từ {loyal_orders} đơn)",
            "",
        ),
        "zh": (
            "已付款订单 {paid_orders} 笔，近 {window_days} 天 {paid_in_window} 笔（{loyal_orders} 笔起为忠实客户）",
            "",
        ),
    },
    "deal_status": {
        "en": (
            "{paid_orders} paid orders, net spend {net_spend}, {open_orders} unpaid orders, "
            "{intent_signals} interest signals",
            "",
        ),
        "vi": (
            "{paid_orders} đơn đã thanh toán, chi tiêu ròng {net_spend}, {open_orders} đơn chưa thanh toán, "
            "{intent_signals} tín hiệu quan tâm",
            "",
        ),
        "zh": (
            "已付款订单 {paid_orders} 笔，净消费 {net_spend}，"
            "未付款订单 {open_orders} 笔，意向信号 {intent_signals} 个",
            "",
        ),
    },
    "purchase_psychology": {
        "en": (
            "discounts {discount_share} of spend, new products {new_product_share} and premium/design "
            "{premium_share} of items, {service_ratings} service ratings, {paid_orders} paid orders",
            "",
        ),
        "vi": (
            "giảm giá chiếm {discount_share} chi tiêu, sản phẩm mới {new_product_share} và cao cấp/thiết kế "
            "{premium_share} số món, {service_ratings} đánh giá dịch vụ, {paid_orders} đơn đã thanh toán",
            "",
        ),
        "zh": (
            "折扣占消费 {discount_share}，新品占 {new_product_share}，高端/设计款占 {premium_share}，"
            "服务评价 {service_ratings} 条，已付款订单 {paid_orders} 笔",
            "",
        ),
    },
    "rfm_group": {
        "en": (
            "R{recency_score} F{frequency_score} M{monetary_score}: last purchase {recency_days} days ago",
            "no paid order yet",
        ),
        "vi": (
            "R{recency_score} F{frequency_score} M{monetary_score}: mua lần cuối {recency_days} ngày trước",
            "chưa có đơn đã thanh toán",
        ),
        "zh": (
            "R{recency_score} F{frequency_score} M{monetary_score}：最近一次购买在 {recency_days} 天前",
            "尚无已付款订单",
        ),
    },
    "value_class": {
        "en": (
            "R{recency_score} F{frequency_score} M{monetary_score}, {complaints} complaints, "
            "{intent_signals} interest signals",
            "",
        ),
        "vi": (
            "R{recency_score} F{frequency_score} M{monetary_score}, {complaints} khiếu nại, "
            "{intent_signals} tín hiệu quan tâm",
            "",
        ),
        "zh": (
            "R{recency_score} F{frequency_score} M{monetary_score}，投诉 {complaints} 次，意向信号 {intent_signals} 个",
            "",
        ),
    },
    "market_fit": {
        "en": (
            "does not meet the target rule on {failed_condition} (country {country}, city {city})",
            "meets the target-market rule",
        ),
        "vi": (
            "không đạt điều kiện thị trường mục tiêu về {failed_condition} (quốc gia {country}, thành phố {city})",
            "đạt điều kiện thị trường mục tiêu",
        ),
        "zh": ("不符合目标市场规则：{failed_condition}（国家 {country}，城市 {city}）", "符合目标市场规则"),
    },
    "approach": {
        "en": ("personality type {personality_type}", "no personality type entered"),
        "vi": ("nhóm tính cách {personality_type}", "chưa nhập nhóm tính cách"),
        "zh": ("性格类型 {personality_type}", "未填写性格类型"),
    },
}
_REQUIRED_FACT = {
    "age_band": "age",
    "approach": "personality_type",
    "rfm_group": "recency_score",
    "market_fit": "failed_condition",
}


def render_evidence(class_set: str, evidence: dict[str, Any], lang: str) -> str:
    lang = lang if lang in ("en", "vi", "zh") else "en"
    if class_set == "spend_tier" and "net_spend_minor" in evidence:
        return _render_spend_tier(evidence, lang)
    templates = _TEMPLATES.get(class_set)
    if templates is None:
        return ", ".join(f"{key}={value}" for key, value in sorted(evidence.items()))
    known, unknown = templates[lang]
    required = _REQUIRED_FACT.get(class_set)
    if required is not None and evidence.get(required) is None:
        return unknown
    return known.format(**_display_facts(evidence, lang))


def _display_facts(evidence: dict[str, Any], lang: str) -> dict[str, str]:
    shown = {key: "–" if value is None else str(value) for key, value in evidence.items()}
    for key, value in evidence.items():
        if key.endswith("_share"):
            shown[key] = "–" if value is None else f"{round(float(value) * 100)}%"
    if "net_spend_minor" in evidence and "currency" in evidence:
        shown["net_spend"] = format_amount(int(evidence["net_spend_minor"]), evidence["currency"], lang)
    return shown


def _render_spend_tier(evidence: dict[str, Any], lang: str) -> str:
    definition = CLASS_SETS["spend_tier"]
    currency = evidence["currency"]
    codes = [code.code for code in definition.codes]
    if evidence["code"] == "none":
        # Below the first paid tier: name the threshold that was missed.
        kind, label_code, threshold = "below", codes[1], evidence["next_threshold_minor"]
    else:
        kind, label_code, threshold = "reached", evidence["code"], evidence["threshold_minor"]
    return _SPEND_TIER_TEXT[kind][lang].format(
        spend=format_amount(evidence["net_spend_minor"], currency, lang),
        label=definition.code(label_code).label(lang),
        threshold=format_amount(threshold, currency, lang),
    )
