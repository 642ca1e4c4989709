"""How sales should approach the customer, from the personality group they entered (1-9)."""

from __future__ import annotations

import numpy as np

from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult
from scoring.spec import ClassSetSpec, Code, Evidence, Sentence, unless_missing

# Groups 2/7/9 answer small talk warmly; 1/3/8 want to get to business; 5 wants facts (source article 000).
_BY_TYPE = np.array([3, 1, 0, 1, 3, 2, 3, 0, 1, 0], dtype=np.int64)  # index = personality type, 0 = none


def classify_approach(batch: CustomerBatch) -> ClassSetResult:
    types = np.clip(batch.personality_type, 0, 9)
    return SPEC.result(_BY_TYPE[types], {"personality_type": np.where(types > 0, types, -1).astype(np.int64)})


SPEC = ClassSetSpec(
    key="approach",
    names=Sentence(vi="Cách tiếp cận", zh="沟通方式", en="Approach"),
    codes=(
        Code("warm", "Thân thiện, tình cảm (nhóm 2, 7, 9)", "热情型 (2/7/9型)", "Warm (types 2, 7, 9)", "#FF8A65"),
        Code("direct", "Đi thẳng vào việc (nhóm 1, 3, 8)", "直接型 (1/3/8型)", "Direct (types 1, 3, 8)", "#7986CB"),
        Code("analytical", "Lý trí, cần số liệu (nhóm 5)", "理性型 (5型)", "Analytical (type 5)", "#4DB6AC"),
        Code("other", "Khác / chưa rõ", "其他", "Other", "#BDBDBD"),
    ),
    classify=lambda batch, settings, context: classify_approach(batch),
    evidence=Evidence(
        sentences={
            "known": Sentence(
                vi="nhóm tính cách {personality_type}",
                zh="性格类型 {personality_type}",
                en="personality type {personality_type}",
            ),
            "unknown": Sentence(vi="chưa nhập nhóm tính cách", zh="未填写性格类型", en="no personality type entered"),
        },
        case=unless_missing("personality_type"),
    ),
    personal=True,
)
APPROACH_CODES = SPEC.code_names
