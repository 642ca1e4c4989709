"""Tenure: how long the customer has bought from the shop (since the first paid order, else signup)."""

from __future__ import annotations

from typing import Annotated, Self

import numpy as np
from pydantic import Field, model_validator

from scoring.batch import DAY_SECONDS, CustomerBatch
from scoring.result import ClassSetResult
from scoring.spec import ClassSetSpec, Code, Evidence, Params, Sentence, increasing

Days = Annotated[int, Field(ge=1, le=36500)]


class TenureSettings(Params):
    established_after_days: Days = 90
    long_term_after_days: Days = 730

    @model_validator(mode="after")
    def ordered(self) -> Self:
        increasing([self.established_after_days, self.long_term_after_days], "established must come before long-term")
        return self


def classify_tenure(batch: CustomerBatch, settings: TenureSettings) -> ClassSetResult:
    since = np.where(np.isnan(batch.first_paid_at), batch.created_at, batch.first_paid_at)
    if batch.customer_since is not None:
        since = np.fmin(since, batch.customer_since)  # the shop's own records go back further
    days = np.floor((batch.now - since) / DAY_SECONDS).astype(np.int64)
    boundaries = np.array([settings.established_after_days, settings.long_term_after_days])
    code_index = np.searchsorted(boundaries, days, side="right").astype(np.int64)
    next_days = np.where(code_index < len(boundaries), boundaries[np.minimum(code_index, 1)], -1)
    next_change_at = np.where(next_days >= 0, since + next_days * DAY_SECONDS, np.nan)
    return SPEC.result(code_index, {"tenure_days": days, "next_change_at": next_change_at})


SPEC = ClassSetSpec(
    key="tenure",
    names=Sentence(vi="Thời gian gắn bó", zh="客户时长", en="Tenure"),
    codes=(
        Code("new", "Mới gắn bó (dưới 3 tháng)", "新客户 (3个月内)", "New (< 3 months)", "#81C784"),
        Code("established", "Đã gắn bó", "稳定客户", "Established", "#64B5F6"),
        Code("long_term", "Gắn bó lâu năm (trên 2 năm)", "长期客户 (2年以上)", "Long-term (> 2 years)", "#9575CD"),
    ),
    classify=lambda batch, settings, context: classify_tenure(batch, settings),
    params=TenureSettings,
    evidence=Evidence(
        sentences={
            "known": Sentence(
                vi="gắn bó {tenure_days} ngày", zh="成为客户 {tenure_days} 天", en="customer for {tenure_days} days"
            )
        }
    ),
    time_scheduled=True,
)
TENURE_CODES = SPEC.code_names
