from __future__ import annotations

import base64
import binascii

from domain.errors import ErrorCode, InvalidInput

_PREFIX = "customer:"


def encode_cursor(customer_id: str) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{customer_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded.startswith(_PREFIX) or len(decoded) > 100:
        raise InvalidInput.one("after", ErrorCode.INVALID_CURSOR, "not a cursor returned by this API")
    return decoded.removeprefix(_PREFIX)
