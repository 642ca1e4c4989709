"""The workspace's conversion model as the API shows it: status, data gate and model card."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from domain.customers.models import LeadVerdict as DomainVerdict
from domain.customers.models import Verdict
from domain.money import from_minor
from domain.rescoring.conversion import ConversionStatus
from domain.timestamps import aware
from scoring.conversion_data import MIN_LOST, MIN_WON

VerdictEnum = strawberry.enum(Verdict, name="LeadVerdictKind", description="Sales' conclusion on a lead")


@strawberry.type(description="Sales' verdict on a lead; counts as a label when the conversion model trains")
class LeadVerdict:
    verdict: VerdictEnum  # type: ignore[valid-type]
    at: datetime
    by: strawberry.ID = strawberry.field(description="The user who gave it")

    @classmethod
    def of(cls, verdict: DomainVerdict) -> LeadVerdict:
        return cls(verdict=verdict.verdict, at=verdict.at, by=strawberry.ID(verdict.by))


@strawberry.enum(description="Whether the workspace has a conversion model")
class ConversionModelStatus(Enum):
    TRAINED = "trained"
    UNUSABLE = "unusable"  # a model is stored but cannot be applied (see problem): RULES only
    NOT_ENOUGH_DATA = "not_enough_data"  # the last attempt found too few won or lost leads: RULES only
    NOT_TRIED_YET = "not_tried_yet"


@strawberry.type(description="Predicted against observed, for one band of predicted probability")
class CalibrationBand:
    low: float
    high: float
    count: int
    predicted: float = strawberry.field(description="Mean predicted probability in the band")
    observed: float = strawberry.field(description="Share of the band's leads that were won")


@strawberry.type(description="How the model was trained and how well it did in 5-fold cross-validation")
class ConversionModelCard:
    won: int
    lost: int
    verdicts: int = strawberry.field(description="Examples labelled by a sales verdict")
    window_days: int = strawberry.field(description="A lead is won when it buys within this many days")
    min_won: int
    min_lost: int
    fields: list[str] | None = strawberry.field(description="The columns the model reads")
    sensitive_fields: list[str] | None = strawberry.field(description="Sensitive fields an admin allowed")
    cv_auc: float | None
    cv_brier: float | None
    base_rate: float | None = strawberry.field(description="Share of the examples that were won")
    calibration: list[CalibrationBand] | None
    order_value: Decimal | None = strawberry.field(description="Average order of a won lead: a call's stake")

    @classmethod
    def of(cls, card: dict[str, Any], currency: str) -> ConversionModelCard:
        bands = card.get("calibration")
        order_value = card.get("order_value_minor")
        return cls(
            won=card.get("won", 0),
            lost=card.get("lost", 0),
            verdicts=card.get("verdicts", 0),
            window_days=card.get("window_days", 0),
            min_won=card.get("min_won", MIN_WON),
            min_lost=card.get("min_lost", MIN_LOST),
            fields=card.get("fields"),
            sensitive_fields=card.get("sensitive_fields"),
            cv_auc=card.get("cv_auc"),
            cv_brier=card.get("cv_brier"),
            base_rate=card.get("base_rate"),
            calibration=[CalibrationBand(**band) for band in bands] if bands is not None else None,
            order_value=from_minor(order_value, currency) if order_value is not None else None,
        )


@strawberry.type(name="ConversionModel", description="The workspace's learned conversion model")
class ConversionModelView:
    status: ConversionModelStatus
    trained_at: datetime | None
    checked_at: datetime | None = strawberry.field(description="The last training attempt")
    card: ConversionModelCard | None = strawberry.field(description="The model in force's card")
    last_attempt: ConversionModelCard | None = strawberry.field(
        description="The last attempt's counts (with its metrics when it trained)"
    )
    problem: str | None = strawberry.field(
        description="Why the stored model is not applied (status UNUSABLE): leads are on RULES until the next "
        "training replaces it"
    )

    @classmethod
    def of(cls, found: ConversionStatus, currency: str) -> ConversionModelView:
        model, check = found.model, found.check
        return cls(
            status=_status(found),
            trained_at=model.trained_at if model else None,
            checked_at=aware(check.get("checked_at")) if check else None,
            card=ConversionModelCard.of(model.card, currency) if model else None,
            last_attempt=ConversionModelCard.of(check, currency) if check else None,
            problem=found.problem,
        )


def _status(found: ConversionStatus) -> ConversionModelStatus:
    if found.model:
        return ConversionModelStatus.UNUSABLE if found.problem else ConversionModelStatus.TRAINED
    return ConversionModelStatus.NOT_ENOUGH_DATA if found.check else ConversionModelStatus.NOT_TRIED_YET
