"""Amounts are stored as integers in the currency's minor unit, so sums in MongoDB are exact."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from babel.numbers import format_decimal, get_currency_precision, list_currencies
from bson.decimal128 import Decimal128

LOCALES = {"vi": "vi_VN", "zh": "zh_CN", "en": "en"}
# How amounts are written in requests: ASCII digits, one optional decimal point, no exponent or "_" (a
# sign is read so that a negative amount is refused as out of range rather than as unreadable).
AMOUNT_TEXT = re.compile(r"-?[0-9]{1,24}(\.[0-9]{1,24})?", re.ASCII)
# The largest amount of one order, in minor units.
MAX_MINOR = 10**15
# The largest net spend of one customer, in minor units: far below 64-bit integers (9.2 x 10^18), so a
# customer's stats always store, and sums over a workspace's customers in numpy stay exact. Orders are
# summed in MongoDB as decimals (exact whatever their number); a customer whose total goes beyond this
# is set aside, as any customer whose data cannot be scored.
MAX_CUSTOMER_MINOR = 10**17


class AmountBeyondLimit(ValueError):
    """A sum of a customer's money that no stored figure can hold."""


def exact_minor(value: object) -> int:
    """A money sum from MongoDB (summed as a decimal, see ``decimal_sum``) as an integer of minor units,
    refused beyond ``MAX_CUSTOMER_MINOR`` either way."""
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    amount = int(value) if isinstance(value, int | Decimal) else 0
    if abs(amount) > MAX_CUSTOMER_MINOR:
        raise AmountBeyondLimit(f"a total of {amount} minor units is over the limit of {MAX_CUSTOMER_MINOR}")
    return amount


def decimal_sum(value: object) -> dict[str, object]:
    """A ``$sum`` of money that cannot overflow: 64-bit integer sums fail on some servers and silently turn
    into inexact doubles on MongoDB; decimals hold 34 digits."""
    return {"$sum": {"$toDecimal": value}}


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_known_currency(code: str) -> bool:
    return code in known_currencies()


def minor_digits(currency: str) -> int:
    return int(get_currency_precision(currency))


def decimals_fit(amount: Decimal, currency: str) -> bool:
    """True when ``amount`` has no more decimals than the currency allows (VND: none, USD: two).

    Read from the exact digits: ``normalize()`` would first round to the context's 28 digits."""
    _, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):
        return False  # NaN or infinity
    if not any(digits):
        return True
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing_zeros) <= minor_digits(currency)


def max_amount(currency: str) -> Decimal:
    return from_minor(MAX_MINOR, currency)


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(minor_digits(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_digits(currency))


def format_amount(minor: int, currency: str, lang: str = "en") -> str:
    """Human form used in evidence: ``23,400,000 VND`` (``23.400.000 VND`` in Vietnamese)."""
    digits = minor_digits(currency)
    value = from_minor(minor, currency)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return f"{format_decimal(value, format=pattern, locale=LOCALES.get(lang, 'en'))} {currency}"
