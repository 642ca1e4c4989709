"""Amounts are stored as integers in the currency's minor unit, so sums in MongoDB are exact."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from babel.numbers import format_decimal, get_currency_precision, list_currencies

LOCALES = {"vi": "vi_VN", "zh": "zh_CN", "en": "en"}


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_known_currency(code: str) -> bool:
    return code in known_currencies()


def minor_digits(currency: str) -> int:
    return int(get_currency_precision(currency))


def decimals_fit(amount: Decimal, currency: str) -> bool:
    """True when ``amount`` has no more decimals than the currency allows (VND: none, USD: two)."""
    exponent = amount.normalize().as_tuple().exponent
    return not isinstance(exponent, int) or -exponent <= minor_digits(currency)


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
