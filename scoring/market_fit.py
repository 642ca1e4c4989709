"""Market fit: inside or outside the shop's target market, by a field rule the admin sets, or by a segment
(its membership as of the customer's last evaluation; a change of membership rescores the customer)."""

from __future__ import annotations

from typing import Annotated, Self

import numpy as np
from pydantic import Field, model_validator

from scoring.age_band import next_birthday_reaching
from scoring.batch import CustomerBatch
from scoring.result import ClassSetResult, IntArray
from scoring.spec import (
    ClassSetSpec,
    Code,
    Evidence,
    Params,
    ScoringContext,
    Sentence,
    ShortText,
    increasing,
    known_countries,
    known_legal_types,
    unless_missing,
)

AgeLimit = Annotated[int, Field(ge=0, le=120)]


class MarketFitRule(Params):
    """Every non-empty condition must hold; an empty rule puts everyone in the target market."""

    countries: Annotated[tuple[str, ...], Field(max_length=250)] = ()
    cities: Annotated[tuple[ShortText, ...], Field(max_length=500)] = ()
    legal_types: Annotated[tuple[str, ...], Field(max_length=2)] = ()
    min_age: AgeLimit | None = None
    max_age: AgeLimit | None = None
    segment: ShortText | None = None  # and a member of this segment (the shop's own definition)

    @model_validator(mode="after")
    def known_values(self) -> Self:
        known_countries(self.countries)
        known_legal_types(self.legal_types)
        if self.min_age is not None and self.max_age is not None:
            increasing([self.min_age, self.max_age], "min_age must be below max_age")
        return self

    @property
    def uses_age(self) -> bool:
        return self.min_age is not None or self.max_age is not None


def classify_market_fit(batch: CustomerBatch, age: IntArray, rule: MarketFitRule) -> ClassSetResult:
    """``age`` is -1 when unknown; an unknown age fails an age condition (we cannot say it fits)."""
    failed = np.full(len(batch), "", dtype=object)
    conditions = [
        ("country", np.isin(batch.country, rule.countries) if rule.countries else None),
        ("city", np.isin(batch.city, rule.cities) if rule.cities else None),
        ("legal_type", np.isin(batch.legal_type, rule.legal_types) if rule.legal_types else None),
        ("min_age", (age >= rule.min_age) if rule.min_age is not None else None),
        ("max_age", (age >= 0) & (age <= rule.max_age) if rule.max_age is not None else None),
        ("segment", _members(batch, rule.segment) if rule.segment is not None else None),
    ]
    # Record the first condition each customer fails, checking in reverse so the first wins.
    for name, holds in reversed(conditions):
        if holds is not None:
            failed = np.where(holds, failed, name)
    code_index = np.where(failed == "", 0, 1).astype(np.int64)
    # The fit changes on the birthday that reaches min_age or passes max_age.
    turning = sorted(a for a in (rule.min_age, None if rule.max_age is None else rule.max_age + 1) if a is not None)
    return SPEC.result(
        code_index,
        {
            "failed_condition": failed,
            "country": batch.country,
            "city": batch.city,
            "next_change_at": next_birthday_reaching(batch, age, np.asarray(turning, dtype=np.int64)),
        },
    )


def _members(batch: CustomerBatch, segment_id: str) -> np.ndarray:
    return np.isin(np.arange(len(batch)), batch.segment_row[batch.segment == segment_id])


def _classify(batch: CustomerBatch, rule: MarketFitRule, context: ScoringContext) -> ClassSetResult:
    return classify_market_fit(batch, context.earlier["age_band"].facts["age"], rule)


SPEC = ClassSetSpec(
    key="market_fit",
    names=Sentence(vi="Phân khúc thị trường", zh="市场细分", en="Market fit"),
    codes=(
        Code("in_target", "Khách hàng mục tiêu", "目标市场内", "In target market", "#43A047"),
        Code("out_of_target", "Ngoài thị trường mục tiêu", "目标市场外", "Outside target market", "#9E9E9E"),
    ),
    classify=_classify,
    params=MarketFitRule,
    # By default the target market is the workspace's own country.
    defaults=lambda country: MarketFitRule(countries=(country,)),
    evidence=Evidence(
        sentences={
            "failed": Sentence(
                vi="không đạt điều kiện thị trường mục tiêu về {failed_condition} "
                "(quốc gia {country}, thành phố {city})",
                zh="不符合目标市场规则：{failed_condition}（国家 {country}，城市 {city}）",
                en="does not meet the target rule on {failed_condition} (country {country}, city {city})",
            ),
            "met": Sentence(
                vi="đạt điều kiện thị trường mục tiêu", zh="符合目标市场规则", en="meets the target-market rule"
            ),
        },
        case=unless_missing("failed_condition", missing="met", present="failed"),
    ),
    # A rule that checks an age reads the birth date.
    personal_when=lambda rule: bool(rule.uses_age),
    time_scheduled=True,
)
MARKET_FIT_CODES = SPEC.code_names
