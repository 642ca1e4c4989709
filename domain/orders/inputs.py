"""Validation of order input: amounts, currencies, dates and items."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from domain.money import decimals_fit, is_known_currency
from domain.orders.models import OrderStatus
from domain.validation import LabelText, NameText, PastTimestamp, ShortText

MAX_ITEMS = 200
MAX_AMOUNT = Decimal("1e15")


def fits_currency(amount: Decimal, info: ValidationInfo) -> Decimal:
    """Amounts may carry no more decimals than the workspace currency has (VND: none, USD: two)."""
    currency = (info.context or {})["currency"]
    if not decimals_fit(amount, currency):
        raise PydanticCustomError(
            "TOO_MANY_DECIMALS",
            "{currency} amounts have at most its minor-unit decimals",
            {"currency": currency},
        )
    return amount


Amount = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False), AfterValidator(fits_currency)]


class OrderItemInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: ShortText
    name: NameText | None = None
    category: LabelText | None = None
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    unit_price: Amount
    product_launched_at: PastTimestamp | None = None


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: ShortText
    external_id: ShortText | None = None
    status: OrderStatus = OrderStatus.PLACED
    currency: str | None = None
    total: Amount
    discount: Amount = Decimal(0)
    placed_at: PastTimestamp | None = None
    channel: LabelText | None = None
    items: Annotated[list[OrderItemInput], Field(max_length=MAX_ITEMS)] = []

    @field_validator("currency")
    @classmethod
    def known_currency(cls, value: str | None, info: ValidationInfo) -> str:
        code = (value or (info.context or {})["currency"]).upper()
        if not is_known_currency(code):
            raise PydanticCustomError("UNKNOWN_CURRENCY", "unknown ISO 4217 currency '{code}'", {"code": code})
        workspace_currency = (info.context or {})["currency"]
        if code != workspace_currency:
            raise PydanticCustomError(
                "CURRENCY_MISMATCH",
                "this workspace keeps amounts in {expected}; got {code}",
                {"expected": workspace_currency, "code": code},
            )
        return code

    @field_validator("status")
    @classmethod
    def not_refunded_on_entry(cls, value: OrderStatus) -> OrderStatus:
        if value == OrderStatus.REFUNDED:
            raise PydanticCustomError(
                "INVALID_STATUS", "record the order first, then refund it with setOrderStatus and an amount"
            )
        return value
