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


def spend_tier_evidence(net_spend_minor: int, currency: str, code: str, lower: int, upper: int) -> dict[str, Any]:
    return {
        "net_spend_minor": net_spend_minor,
        "currency": currency,
        "code": code,
        "threshold_minor": lower,
        "next_threshold_minor": upper if upper >= 0 else None,
    }


def render_evidence(class_set: str, evidence: dict[str, Any], lang: str) -> str:
    if class_set == "spend_tier" and "net_spend_minor" in evidence:
        return _render_spend_tier(evidence, lang)
    return ", ".join(f"{key}={value}" for key, value in sorted(evidence.items()))


def _render_spend_tier(evidence: dict[str, Any], lang: str) -> str:
    lang = lang if lang in ("en", "vi", "zh") else "en"
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
