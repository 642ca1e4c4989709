"""Orders with their line items, as shops export them: one row per line, the order's columns repeated (or
left blank) on its other lines, consecutive rows of one ``external_id`` making one order. A row without
item cells is an order without items, as before.

Problems are reported where they are: a bad quantity on the order's third line names that line and
``item_quantity``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic.alias_generators import to_snake

from domain.errors import ErrorCode

# (line, column, code, message)
type Problem = tuple[int, str | None, ErrorCode, str]

# The file's item columns and the API's item fields.
ITEM_FIELDS = {
    "item_sku": "sku",
    "item_name": "name",
    "item_category": "category",
    "item_quantity": "quantity",
    "item_unit_price": "unit_price",
    "item_launched_at": "product_launched_at",
}
ITEM_COLUMNS = {field: column for column, field in ITEM_FIELDS.items()}
# Where each item of a grouped order was read: its line per item.
ITEM_LINES = "__item_lines__"
# The lines of one order a batch may add beyond its size (the API's limit of items per order).
MAX_LINES_PER_ORDER = 200
_ITEM_PATH = re.compile(r"items\.(\d+)\.?(.*)")


def continues(batch: list[dict[str, Any]], row: dict[str, Any], beyond: int) -> bool:
    """Whether ``row`` is another line of the order the batch ends with (so the batch is not cut there)."""
    first = next((line for line in reversed(batch[-MAX_LINES_PER_ORDER:]) if line.get("external_id")), None)
    return first is not None and _another_line(first, row) and beyond < MAX_LINES_PER_ORDER


def with_order_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as orders: each row's item cells become an item of its order (the first row of its external
    id in the batch), whose other cells are the first row's."""
    orders: list[dict[str, Any]] = []
    for row in rows:
        item = {field: row.pop(column) for column, field in ITEM_FIELDS.items() if column in row}
        previous = orders[-1] if orders else None
        if previous is not None and _another_line(previous, row, item):
            previous["__bad__"] += row["__bad__"]
        else:
            previous = {**row, "items": [], ITEM_LINES: []}
            orders.append(previous)
        if item:
            previous["items"].append(item)
            previous[ITEM_LINES].append(row["__line__"])
    for order in orders:
        if not order["items"]:
            del order["items"], order[ITEM_LINES]
    return orders


def cell_of(line: int, item_lines: list[int], path: str) -> tuple[int, str | None]:
    """The line and column a validation error's path (after ``rows.N.``) points at."""
    found = _ITEM_PATH.match(path)
    if found and int(found.group(1)) < len(item_lines):
        field = to_snake(found.group(2))
        return item_lines[int(found.group(1))], ITEM_COLUMNS.get(field, "items")
    return line, to_snake(path) or None


def _another_line(previous: dict[str, Any], row: dict[str, Any], item: dict[str, Any] | None = None) -> bool:
    """A row with item cells and the previous row's external id, or none, is another line of its order."""
    has_item = bool(item) or any(column in row for column in ITEM_FIELDS)
    has_item = has_item or any(bad[1] in ITEM_FIELDS for bad in row["__bad__"])
    return (
        has_item and row.get("external_id") in (None, previous.get("external_id")) and bool(previous.get("external_id"))
    )
