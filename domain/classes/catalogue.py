"""The class sets the CRM computes: codes in order, labels in vi/zh/en, colours and default thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.errors import FieldError, InvalidInput
from scoring.spend_tier import SPEND_TIER_CODES, SpendTierThresholds

LANGUAGES: tuple[str, ...] = ("vi", "zh", "en")


@dataclass(frozen=True, slots=True)
class ClassCode:
    code: str
    labels: dict[str, str]
    color: str | None = None

    def label(self, lang: str) -> str:
        return self.labels.get(lang, self.labels["en"])


@dataclass(frozen=True, slots=True)
class ClassSetDefinition:
    key: str
    codes: tuple[ClassCode, ...]
    names: dict[str, str] = field(default_factory=dict)

    def code(self, code: str) -> ClassCode:
        for candidate in self.codes:
            if candidate.code == code:
                return candidate
        raise KeyError(code)


SPEND_TIER = ClassSetDefinition(
    key="spend_tier",
    names={"vi": "Hạng chi tiêu", "zh": "消费等级", "en": "Spend tier"},
    codes=(
        ClassCode("none", {"vi": "Chưa chi tiêu", "zh": "未消费", "en": "No spend"}, "#9E9E9E"),
        ClassCode("new", {"vi": "Khách hàng mới", "zh": "新客户", "en": "New"}, "#4CAF50"),
        ClassCode("platinum", {"vi": "Bạch kim (Platinum)", "zh": "铂金", "en": "Platinum"}, "#90A4AE"),
        ClassCode("diamond", {"vi": "Kim cương (Diamond)", "zh": "钻石", "en": "Diamond"}, "#29B6F6"),
        ClassCode("luxurious", {"vi": "Thượng lưu (Luxurious)", "zh": "奢华", "en": "Luxurious"}, "#AB47BC"),
    ),
)

# Net spend in minor units of VND, the currency of the first shops; stored per workspace at creation.
DEFAULT_SPEND_TIER_THRESHOLDS_VND = SpendTierThresholds(
    new=1, platinum=5_000_000, diamond=20_000_000, luxurious=50_000_000
)

CLASS_SETS: dict[str, ClassSetDefinition] = {SPEND_TIER.key: SPEND_TIER}

assert tuple(c.code for c in SPEND_TIER.codes) == SPEND_TIER_CODES


def class_set(key: str, *, field_name: str = "classSet") -> ClassSetDefinition:
    """The definition for ``key``, or a typed error naming the input field that held it."""
    try:
        return CLASS_SETS[key]
    except KeyError:
        known = ", ".join(CLASS_SETS)
        raise InvalidInput(
            [FieldError(field_name, "UNKNOWN_CLASS_SET", f"unknown class set {key!r}; known: {known}")]
        ) from None
