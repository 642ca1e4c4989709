"""The Decimal scalar for amounts, stricter than strawberry's: only ASCII digits with one optional point.

Python's Decimal also reads "1_000", Arabic-Indic digits, exponents and "NaN". Text that is not a plain
amount is handed to the domain as it came, so that the caller gets a typed field error (INVALID_AMOUNT)
in the mutation's payload rather than a bare coercion failure.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from strawberry.schema.types.base_scalars import DecimalDefinition
from strawberry.types.scalar import ScalarDefinition

from domain.money import AMOUNT_TEXT


def _parse(value: object) -> object:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return Decimal(value)
    text = value if isinstance(value, str) else str(value)
    return Decimal(text) if AMOUNT_TEXT.fullmatch(text) else text


STRICT_DECIMAL: ScalarDefinition = dataclasses.replace(DecimalDefinition, parse_value=_parse)
