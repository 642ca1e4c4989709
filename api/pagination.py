"""Opaque cursors: the position of a page's last customer in its list's order (see domain.customers.ordering)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from domain.customers.ordering import OrderField, PagePosition
from domain.errors import ErrorCode, InvalidInput
from domain.timestamps import aware

_PREFIX = "customer:"  # creation order: the id alone (cursors handed out before other orders existed)
_ORDERED = "customers:"


def encode_cursor(position: PagePosition) -> str:
    if position.order is OrderField.CREATED:
        text = f"{_PREFIX}{position.customer_id}"
    else:
        value = position.value
        shown = {"d": value.isoformat()} if isinstance(value, datetime) else {"n": value}
        text = _ORDERED + json.dumps({"o": position.order.value, "id": position.customer_id, **shown})
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str | None, order: OrderField = OrderField.CREATED) -> PagePosition | None:
    if cursor is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if len(decoded) <= 300:
        if order is OrderField.CREATED and decoded.startswith(_PREFIX):
            return PagePosition(order, decoded.removeprefix(_PREFIX))
        if order is not OrderField.CREATED and decoded.startswith(_ORDERED):
            position = _ordered(decoded.removeprefix(_ORDERED), order)
            if position is not None:
                return position
    raise InvalidInput.one("after", ErrorCode.INVALID_CURSOR, "not a cursor of this list and order")


def _ordered(text: str, order: OrderField) -> PagePosition | None:
    try:
        data = json.loads(text)
        if data["o"] != order.value or not isinstance(data["id"], str):
            return None
        if "d" in data:
            return PagePosition(order, data["id"], aware(datetime.fromisoformat(data["d"])))
        value = data["n"]
        return PagePosition(order, data["id"], value) if value is None or isinstance(value, int | float) else None
    except (ValueError, KeyError, TypeError):
        return None
