"""Validation of order input: amounts, currencies, dates and items."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from domain.errors import ErrorCode
from domain.money import AMOUNT_TEXT, decimals_fit, is_known_currency, max_amount
from domain.orders.models import OrderStatus
from domain.validation import LabelText, NameText, PastTimestamp, ShortText

MAX_ITEMS = 200


def plain_amount(value: object) -> object:
    """Text must be an amount as people write it in ASCII digits; anything else is refused, not guessed."""
    if isinstance(value, str) and not AMOUNT_TEXT.fullmatch(value):
        raise PydanticCustomError(
            ErrorCode.INVALID_AMOUNT, "write amounts with ASCII digits and at most one decimal point"
        )
    return value


def fits_currency(amount: Decimal, info: ValidationInfo) -> Decimal:
    """Amounts carry no more decimals than the workspace currency has (VND: none, USD: two), and fit what
    is stored (integers in the minor unit)."""
    currency = (info.context or {})["currency"]
    if not decimals_fit(amount, currency):
        raise PydanticCustomError(
            ErrorCode.TOO_MANY_DECIMALS,
            "{currency} amounts have at most its minor-unit decimals",
            {"currency": currency},
        )
    if amount > max_amount(currency):
        raise PydanticCustomError(ErrorCode.OUT_OF_RANGE, "at most {limit}", {"limit": str(max_amount(currency))})
    return amount


Amount = Annotated[
    Decimal, BeforeValidator(plain_amount), Field(ge=0, allow_inf_nan=False), AfterValidator(fits_currency)
]


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
    refund_amount: Amount | None = None  # after status and total: its check reads them
    # When the order reached its status, from the source (a platform's export or notice); after placed_at.
    status_changed_at: PastTimestamp | None = None

    @field_validator("currency")
    @classmethod
    def known_currency(cls, value: str | None, info: ValidationInfo) -> str:
        code = (value or (info.context or {})["currency"]).upper()
        if not is_known_currency(code):
            raise PydanticCustomError(ErrorCode.UNKNOWN_CURRENCY, "unknown ISO 4217 currency '{code}'", {"code": code})
        workspace_currency = (info.context or {})["currency"]
        if code != workspace_currency:
            raise PydanticCustomError(
                ErrorCode.CURRENCY_MISMATCH,
                "this workspace keeps amounts in {expected}; got {code}",
                {"expected": workspace_currency, "code": code},
            )
        return code

    @field_validator("discount")
    @classmethod
    def within_total(cls, discount: Decimal, info: ValidationInfo) -> Decimal:
        total = info.data.get("total")
        if total is not None and discount > total:
            raise PydanticCustomError(ErrorCode.DISCOUNT_OVER_TOTAL, "the discount cannot be larger than the total")
        return discount

    @field_validator("refund_amount")
    @classmethod
    def refunded_within_total(cls, refund: Decimal | None, info: ValidationInfo) -> Decimal | None:
        """A history comes in with its refunds: the cumulative refunded amount of a refunded order (without
        one, the whole total was refunded, as with setOrderStatus)."""
        if refund is None:
            return None
        status, total = info.data.get("status"), info.data.get("total")
        if status is not None and status != OrderStatus.REFUNDED:
            raise PydanticCustomError(
                ErrorCode.NOT_ALLOWED,
                "a refund amount ({refund}) goes only with status refunded, not {status}",
                {"refund": str(refund), "status": str(status)},
            )
        if refund == 0:
            raise PydanticCustomError(ErrorCode.OUT_OF_RANGE, "a refund must be more than 0")
        if total is not None and refund > total:
            raise PydanticCustomError(
                ErrorCode.OUT_OF_RANGE,
                "the refund ({refund}) is larger than the order total ({total})",
                {"refund": str(refund), "total": str(total)},
            )
        return refund

    @field_validator("status_changed_at")
    @classmethod
    def not_before_placed(cls, moment: datetime | None, info: ValidationInfo) -> datetime | None:
        placed = info.data.get("placed_at")
        if moment is not None and placed is not None and moment < placed:
            raise PydanticCustomError(
                ErrorCode.OUT_OF_RANGE,
                "the status changed ({moment}) before the order was placed ({placed})",
                {"moment": moment.isoformat(), "placed": placed.isoformat()},
            )
        return moment

    def refunded_total(self) -> Decimal:
        if self.status != OrderStatus.REFUNDED:
            return Decimal(0)
        return self.total if self.refund_amount is None else self.refund_amount
