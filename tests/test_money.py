from __future__ import annotations

from decimal import Decimal

import pytest

from domain.money import decimals_fit, format_amount, from_minor, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "fits"),
    [
        ("1000", "VND", True),
        ("1000.0", "VND", True),
        ("1000.5", "VND", False),
        ("12.34", "USD", True),
        ("12.345", "USD", False),
        ("1E+3", "VND", True),
        ("7", "JPY", True),
        ("7.1", "JPY", False),
    ],
)
def test_amounts_fit_their_currency(amount: str, currency: str, fits: bool) -> None:
    assert decimals_fit(Decimal(amount), currency) is fits


def test_minor_units_round_trip() -> None:
    assert to_minor(Decimal("12.34"), "USD") == 1234
    assert from_minor(1234, "USD") == Decimal("12.34")
    assert to_minor(Decimal("23400000"), "VND") == 23_400_000


def test_amounts_are_formatted_per_language() -> None:
    assert format_amount(23_400_000, "VND", "vi") == "23.400.000 VND"
    assert format_amount(123_456, "USD", "en") == "1,234.56 USD"
