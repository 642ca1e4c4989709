"""The class sets the CRM computes: codes in order, labels in vi/zh/en, colours and default thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.errors import FieldError, InvalidInput
from scoring.age_band import AGE_BAND_CODES
from scoring.approach import APPROACH_CODES
from scoring.deal_status import DEAL_STATUS_CODES
from scoring.market_fit import MARKET_FIT_CODES
from scoring.purchase_psychology import PSYCHOLOGY_CODES
from scoring.purchase_stage import PURCHASE_STAGE_CODES
from scoring.rfm import RFM_CODES
from scoring.spend_tier import SPEND_TIER_CODES, SpendTierThresholds
from scoring.tenure import TENURE_CODES
from scoring.value_class import VALUE_CLASS_CODES

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

AGE_BAND = ClassSetDefinition(
    key="age_band",
    names={"vi": "Độ tuổi", "zh": "年龄段", "en": "Age band"},
    codes=(
        ClassCode("unknown", {"vi": "Chưa rõ tuổi", "zh": "年龄未知", "en": "Unknown"}, "#BDBDBD"),
        ClassCode("under_18", {"vi": "Dưới 18 tuổi", "zh": "18岁以下", "en": "Under 18"}, "#FFB74D"),
        ClassCode("young", {"vi": "Thanh niên (18-25)", "zh": "青年 (18-25岁)", "en": "Young (18-25)"}, "#4DB6AC"),
        ClassCode("adult", {"vi": "Trưởng thành (26-45)", "zh": "成年 (26-45岁)", "en": "Adult (26-45)"}, "#7986CB"),
        ClassCode(
            "senior", {"vi": "Trung niên trở lên (46+)", "zh": "中老年 (46岁以上)", "en": "Senior (46+)"}, "#A1887F"
        ),
    ),
)

TENURE = ClassSetDefinition(
    key="tenure",
    names={"vi": "Thời gian gắn bó", "zh": "客户时长", "en": "Tenure"},
    codes=(
        ClassCode(
            "new", {"vi": "Mới gắn bó (dưới 3 tháng)", "zh": "新客户 (3个月内)", "en": "New (< 3 months)"}, "#81C784"
        ),
        ClassCode("established", {"vi": "Đã gắn bó", "zh": "稳定客户", "en": "Established"}, "#64B5F6"),
        ClassCode(
            "long_term",
            {"vi": "Gắn bó lâu năm (trên 2 năm)", "zh": "长期客户 (2年以上)", "en": "Long-term (> 2 years)"},
            "#9575CD",
        ),
    ),
)

PURCHASE_STAGE = ClassSetDefinition(
    key="purchase_stage",
    names={"vi": "Số lần mua hàng", "zh": "购买阶段", "en": "Purchase stage"},
    codes=(
        ClassCode("prospect", {"vi": "Khách hàng tiềm năng", "zh": "潜在买家", "en": "Prospect"}, "#B0BEC5"),
        ClassCode(
            "first_time",
            {"vi": "Khách hàng thực sự (mua lần đầu)", "zh": "首次购买", "en": "First-time buyer"},
            "#4FC3F7",
        ),
        ClassCode("repeat", {"vi": "Khách hàng mua lại", "zh": "回头客", "en": "Repeat buyer"}, "#4DB6AC"),
        ClassCode("loyal", {"vi": "Khách hàng trung thành", "zh": "忠实客户", "en": "Loyal"}, "#FFD54F"),
    ),
)

DEAL_STATUS = ClassSetDefinition(
    key="deal_status",
    names={"vi": "Trạng thái giao dịch", "zh": "成交状态", "en": "Deal status"},
    codes=(
        ClassCode("potential", {"vi": "Khách hàng tiềm năng", "zh": "潜在客户", "en": "Potential"}, "#CFD8DC"),
        ClassCode("intent", {"vi": "Khách hàng có ý định mua", "zh": "意向客户", "en": "Intent"}, "#90CAF9"),
        ClassCode(
            "quasi", {"vi": "Đã đặt hàng, chưa thanh toán", "zh": "准客户", "en": "Quasi (ordered, unpaid)"}, "#FFE082"
        ),
        ClassCode("ordinary", {"vi": "Khách hàng thông thường", "zh": "普通客户", "en": "Ordinary"}, "#A5D6A7"),
        ClassCode("quality", {"vi": "Khách hàng chất lượng", "zh": "优质客户", "en": "Quality"}, "#4DB6AC"),
        ClassCode("key", {"vi": "Khách hàng trọng điểm", "zh": "重点客户", "en": "Key account"}, "#F06292"),
    ),
)

PURCHASE_PSYCHOLOGY = ClassSetDefinition(
    key="purchase_psychology",
    names={"vi": "Tâm lý mua hàng", "zh": "购买心理", "en": "Purchase psychology"},
    codes=(
        ClassCode("appearance", {"vi": "Chú trọng vẻ ngoài", "zh": "注重外观", "en": "Appearance-focused"}, "#F48FB1"),
        ClassCode("promotion", {"vi": "Thích khuyến mãi", "zh": "促销驱动", "en": "Promotion-driven"}, "#FFB74D"),
        ClassCode("service", {"vi": "Chú trọng dịch vụ", "zh": "注重服务", "en": "Service-focused"}, "#4DD0E1"),
        ClassCode("novelty", {"vi": "Thích cái mới", "zh": "追求新品", "en": "Novelty-seeking"}, "#BA68C8"),
        ClassCode("random", {"vi": "Khách vãng lai", "zh": "随机客户", "en": "Random walk-in"}, "#BDBDBD"),
        ClassCode("undetermined", {"vi": "Chưa xác định", "zh": "未确定", "en": "Undetermined"}, "#E0E0E0"),
    ),
)

RFM_GROUP = ClassSetDefinition(
    key="rfm_group",
    names={"vi": "Nhóm RFM", "zh": "RFM分组", "en": "RFM group"},
    codes=(
        ClassCode("champions", {"vi": "Khách hàng xuất sắc", "zh": "冠军客户", "en": "Champions"}, "#2E7D32"),
        ClassCode("loyal", {"vi": "Khách hàng trung thành", "zh": "忠诚客户", "en": "Loyal"}, "#43A047"),
        ClassCode(
            "potential_loyalist",
            {"vi": "Có thể thành trung thành", "zh": "潜在忠诚客户", "en": "Potential loyalist"},
            "#7CB342",
        ),
        ClassCode("new", {"vi": "Khách hàng mới mua", "zh": "新客户", "en": "New"}, "#29B6F6"),
        ClassCode("promising", {"vi": "Có triển vọng", "zh": "有潜力", "en": "Promising"}, "#26C6DA"),
        ClassCode("need_attention", {"vi": "Cần quan tâm", "zh": "需要关注", "en": "Need attention"}, "#FFCA28"),
        ClassCode("about_to_sleep", {"vi": "Sắp ngủ đông", "zh": "即将沉睡", "en": "About to sleep"}, "#FFA726"),
        ClassCode("at_risk", {"vi": "Có nguy cơ rời bỏ", "zh": "有流失风险", "en": "At risk"}, "#EF5350"),
        ClassCode("cannot_lose", {"vi": "Không thể để mất", "zh": "不能失去", "en": "Cannot lose"}, "#C62828"),
        ClassCode("hibernating", {"vi": "Ngủ đông", "zh": "沉睡客户", "en": "Hibernating"}, "#8D6E63"),
        ClassCode("lost", {"vi": "Đã mất", "zh": "已流失", "en": "Lost"}, "#757575"),
        ClassCode("prospect", {"vi": "Chưa mua hàng", "zh": "未购买", "en": "Prospect"}, "#BDBDBD"),
    ),
)

VALUE_CLASS = ClassSetDefinition(
    key="value_class",
    names={"vi": "Giá trị mang lại", "zh": "客户价值", "en": "Value class"},
    codes=(
        ClassCode("loyal", {"vi": "Khách hàng trung thành", "zh": "忠诚客户", "en": "Loyal"}, "#43A047"),
        ClassCode(
            "high_potential", {"vi": "Khách hàng tiềm năng cao", "zh": "高潜力客户", "en": "High potential"}, "#29B6F6"
        ),
        ClassCode("low_value", {"vi": "Khách hàng giá trị thấp", "zh": "低价值客户", "en": "Low value"}, "#BDBDBD"),
        ClassCode("negative", {"vi": "Khách hàng tiêu cực", "zh": "负面客户", "en": "Negative"}, "#E53935"),
    ),
)

MARKET_FIT = ClassSetDefinition(
    key="market_fit",
    names={"vi": "Phân khúc thị trường", "zh": "市场细分", "en": "Market fit"},
    codes=(
        ClassCode("in_target", {"vi": "Khách hàng mục tiêu", "zh": "目标市场内", "en": "In target market"}, "#43A047"),
        ClassCode(
            "out_of_target",
            {"vi": "Ngoài thị trường mục tiêu", "zh": "目标市场外", "en": "Outside target market"},
            "#9E9E9E",
        ),
    ),
)

APPROACH = ClassSetDefinition(
    key="approach",
    names={"vi": "Cách tiếp cận", "zh": "沟通方式", "en": "Approach"},
    codes=(
        ClassCode(
            "warm",
            {"vi": "Thân thiện, tình cảm (nhóm 2, 7, 9)", "zh": "热情型 (2/7/9型)", "en": "Warm (types 2, 7, 9)"},
            "#FF8A65",
        ),
        ClassCode(
            "direct",
            {"vi": "Đi thẳng vào việc (nhóm 1, 3, 8)", "zh": "直接型 (1/3/8型)", "en": "Direct (types 1, 3, 8)"},
            "#7986CB",
        ),
        ClassCode(
            "analytical",
            {"vi": "Lý trí, cần số liệu (nhóm 5)", "zh": "理性型 (5型)", "en": "Analytical (type 5)"},
            "#4DB6AC",
        ),
        ClassCode("other", {"vi": "Khác / chưa rõ", "zh": "其他", "en": "Other"}, "#BDBDBD"),
    ),
)

CLASS_SETS: dict[str, ClassSetDefinition] = {
    definition.key: definition
    for definition in (
        SPEND_TIER,
        AGE_BAND,
        TENURE,
        PURCHASE_STAGE,
        DEAL_STATUS,
        RFM_GROUP,
        VALUE_CLASS,
        PURCHASE_PSYCHOLOGY,
        MARKET_FIT,
        APPROACH,
    )
}

_SCORING_CODES = {
    "spend_tier": SPEND_TIER_CODES,
    "age_band": AGE_BAND_CODES,
    "tenure": TENURE_CODES,
    "purchase_stage": PURCHASE_STAGE_CODES,
    "deal_status": DEAL_STATUS_CODES,
    "purchase_psychology": PSYCHOLOGY_CODES,
    "rfm_group": RFM_CODES,
    "value_class": VALUE_CLASS_CODES,
    "market_fit": MARKET_FIT_CODES,
    "approach": APPROACH_CODES,
}
# The labels here and the codes the scoring functions return must never drift apart.
assert all(tuple(c.code for c in CLASS_SETS[key].codes) == codes for key, codes in _SCORING_CODES.items())


def class_set(key: str, *, field_name: str = "classSet") -> ClassSetDefinition:
    """The definition for ``key``, or a typed error naming the input field that held it."""
    try:
        return CLASS_SETS[key]
    except KeyError:
        known = ", ".join(CLASS_SETS)
        raise InvalidInput(
            [FieldError(field_name, "UNKNOWN_CLASS_SET", f"unknown class set {key!r}; known: {known}")]
        ) from None
