"""Age band from the birth date; the band changes on a birthday, which is when the next rescore is due."""

from __future__ import annotations

from typing import Annotated, Self

import numpy as np
from pydantic import Field, model_validator

from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult, first_true
from scoring.spec import ClassSetSpec, Code, Evidence, Params, Sentence, increasing, unless_missing

Age = Annotated[int, Field(ge=1, le=120)]


class AgeBandSettings(Params):
    young_from: Age = 18
    adult_from: Age = 26
    senior_from: Age = 46

    @model_validator(mode="after")
    def ordered(self) -> Self:
        increasing([self.young_from, self.adult_from, self.senior_from], "bands must rise: young < adult < senior")
        return self


def classify_age_band(batch: CustomerBatch, settings: AgeBandSettings) -> ClassSetResult:
    known = batch.birth_year > 0
    today = np.datetime64(int(batch.now), "s").astype("datetime64[D]")
    year = today.astype("datetime64[Y]").astype(int) + 1970
    month = today.astype("datetime64[M]").astype(int) % 12 + 1
    day = (today - today.astype("datetime64[M]")).astype(int) + 1
    before_birthday = (month < batch.birth_month) | ((month == batch.birth_month) & (day < batch.birth_day))
    age = np.where(known, year - batch.birth_year - before_birthday, -1).astype(np.int64)
    bounds = np.array([settings.young_from, settings.adult_from, settings.senior_from])
    code_index = first_true(
        [~known, age < bounds[0], age < bounds[1], age < bounds[2]], default=len(AGE_BAND_CODES) - 1
    )
    return SPEC.result(code_index, {"age": age, "next_change_at": next_birthday_reaching(batch, age, bounds)})


def next_birthday_reaching(batch: CustomerBatch, age: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Epoch seconds of the birthday on which the customer next reaches one of ``ages``; NaN when they
    never will (or the age is unknown: -1)."""
    known = age >= 0
    if len(ages) == 0:
        return np.full(len(age), np.nan)
    later = ages[None, :] > age[:, None]
    has_next = known & later.any(axis=1)
    next_age = np.where(has_next, ages[np.argmax(later, axis=1)], 0)
    year = np.where(has_next, batch.birth_year + next_age, 1970)
    dates = (
        (year - 1970).astype("datetime64[Y]").astype("datetime64[M]")
        + np.maximum(batch.birth_month - 1, 0).astype("timedelta64[M]")
    ).astype("datetime64[D]") + np.maximum(batch.birth_day - 1, 0).astype("timedelta64[D]")
    seconds = dates.astype("datetime64[s]").astype(np.float64)
    return np.where(has_next, seconds, np.nan)


SPEC = ClassSetSpec(
    key="age_band",
    names=Sentence(vi="Độ tuổi", zh="年龄段", en="Age band"),
    codes=(
        Code("unknown", "Chưa rõ tuổi", "年龄未知", "Unknown", "#BDBDBD"),
        Code("under_18", "Dưới 18 tuổi", "18岁以下", "Under 18", "#FFB74D"),
        Code("young", "Thanh niên (18-25)", "青年 (18-25岁)", "Young (18-25)", "#4DB6AC"),
        Code("adult", "Trưởng thành (26-45)", "成年 (26-45岁)", "Adult (26-45)", "#7986CB"),
        Code("senior", "Trung niên trở lên (46+)", "中老年 (46岁以上)", "Senior (46+)", "#A1887F"),
    ),
    classify=lambda batch, settings, context: classify_age_band(batch, settings),
    params=AgeBandSettings,
    evidence=Evidence(
        sentences={
            "known": Sentence(vi="{age} tuổi", zh="{age}岁", en="age {age}"),
            "unknown": Sentence(vi="chưa có ngày sinh", zh="未填写出生日期", en="no birth date on file"),
        },
        case=unless_missing("age"),
    ),
    personal=True,
    time_scheduled=True,
)
AGE_BAND_CODES = SPEC.code_names
