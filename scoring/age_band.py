"""Age band from the birth date; the band changes on a birthday, which is when the next rescore is due."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult, first_true

AGE_BAND_CODES: tuple[str, ...] = ("unknown", "under_18", "young", "adult", "senior")


@dataclass(frozen=True, slots=True)
class AgeBandSettings:
    young_from: int = 18
    adult_from: int = 26
    senior_from: int = 46


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
    return ClassSetResult(
        "age_band",
        AGE_BAND_CODES,
        code_index,
        {"age": age, "next_change_at": next_birthday_reaching(batch, age, bounds)},
    )


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
