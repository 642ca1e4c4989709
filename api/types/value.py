"""A customer's predicted future value, and the workspace's models it comes from."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.types.classes import CustomerClass
from domain.money import from_minor
from domain.timestamps import aware
from scoring.future_value import MIN_BUYERS, MIN_REPEAT_BUYERS, FutureValueModel


@strawberry.type(description="Predicted from the workspace's BG/NBD and Gamma-Gamma models, as of their fit")
class FutureValue:
    p_alive: float | None = strawberry.field(description="Probability the customer still buys from the shop")
    expected_purchases_90d: float | None
    expected_purchases_365d: float | None
    expected_order_value: Decimal | None
    clv_12m: Decimal | None = strawberry.field(description="Next 12 months' value, discounted 1% a month")
    currency: str
    future_value_class: CustomerClass = strawberry.field(
        description="The future_value class: high, medium or low among the buyers; or unknown"
    )

    @strawberry.field(
        description="The future_value class (not value_class)", deprecation_reason="Use futureValueClass."
    )
    def value_class(self) -> CustomerClass:
        return self.future_value_class

    @classmethod
    def from_class(cls, value_class: CustomerClass, currency: str) -> FutureValue:
        facts = value_class.evidence_data

        def money(name: str) -> Decimal | None:
            value = facts.get(name)
            return from_minor(int(value), currency) if isinstance(value, int) else None

        def number(name: str) -> float | None:
            value = facts.get(name)
            return float(value) if isinstance(value, int | float) else None

        return cls(
            p_alive=number("alive_share"),
            expected_purchases_90d=number("purchases_90d"),
            expected_purchases_365d=number("purchases_365d"),
            expected_order_value=money("order_value_minor"),
            clv_12m=money("clv_12m_minor"),
            currency=currency,
            future_value_class=value_class,
        )


@strawberry.enum(description="Whether the workspace has future-value models")
class FutureValueStatus(Enum):
    FITTED = "fitted"
    NOT_ENOUGH_DATA = "not_enough_data"  # the last attempt found too few buyers; the data gate is in the model
    NOT_TRIED_YET = "not_tried_yet"


@strawberry.type(name="FutureValueModel", description="The workspace's fitted BG/NBD and Gamma-Gamma models")
class FutureValueModelInfo:
    status: FutureValueStatus
    fitted_at: datetime | None
    checked_at: datetime | None = strawberry.field(description="The last fitting attempt")
    buyers: int | None = strawberry.field(description="Buyers in the last attempt")
    repeat_buyers: int | None
    min_buyers: int = strawberry.field(description="Fewer buyers than this and nothing is fitted")
    min_repeat_buyers: int
    parameters: dict[str, Any] | None = strawberry.field(
        graphql_type=JSON | None, description="bg_nbd (r, alpha, a, b), gamma_gamma (p, q, gamma)"
    )
    medium_from: Decimal | None = strawberry.field(description="12-month value from which a buyer is medium")
    high_from: Decimal | None

    @classmethod
    def of(cls, model: FutureValueModel | None, check: dict[str, Any] | None, currency: str) -> FutureValueModelInfo:
        status = (
            FutureValueStatus.FITTED
            if model
            else FutureValueStatus.NOT_ENOUGH_DATA
            if check
            else FutureValueStatus.NOT_TRIED_YET
        )
        return cls(
            status=status,
            fitted_at=datetime.fromtimestamp(model.fitted_at, UTC) if model else None,
            checked_at=aware(check.get("checked_at")) if check else None,
            buyers=check.get("buyers") if check else None,
            repeat_buyers=check.get("repeat_buyers") if check else None,
            min_buyers=MIN_BUYERS,
            min_repeat_buyers=MIN_REPEAT_BUYERS,
            parameters={"bg_nbd": asdict(model.bg_nbd), "gamma_gamma": asdict(model.gamma_gamma)} if model else None,
            medium_from=from_minor(round(model.medium_from), currency) if model else None,
            high_from=from_minor(round(model.high_from), currency) if model else None,
        )
