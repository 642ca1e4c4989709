"""What each kind of import file holds: its columns, in the template's order, and how a cell becomes the
value the API takes. ``customer_external_id`` names the customer an order or interaction belongs to by
the shop's own id (a column ``customer_id`` with our id works too)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from domain.customers import export
from domain.imports.parsing import amount, day, moment, text_list


class ImportKind(StrEnum):
    CUSTOMERS = "customers"
    ORDERS = "orders"
    INTERACTIONS = "interactions"


def _lower(text: str) -> str:
    return text.strip().lower()


def _utc_moment(text: str) -> str:
    """Times without an offset are taken as UTC."""
    value = datetime.fromisoformat(moment(text))
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _whole(text: str) -> int:
    return int(text.strip())


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    read: Callable[[str], object] = str.strip
    example: str = ""


COLUMNS: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.CUSTOMERS: (
        Column("external_id", example="KH-0001"),
        Column("name", example="Nguyễn Thị Lan"),
        Column("phone", example="0912 345 678"),
        Column("email", example="lan@example.vn"),
        Column("legal_type", _lower, "individual"),
        Column("company_name"),
        Column("tax_id"),
        Column("birth_date", day, "15/03/1990"),
        Column("gender", _lower, "female"),
        Column("city", example="Hà Nội"),
        Column("region"),
        Column("country", example="VN"),
        Column("income_band", _lower),
        Column("occupation"),
        Column("tags", text_list, "vip|zalo"),
        Column("interests", text_list, "váy|giày"),
        Column("lifestyle", text_list),
        Column("needs", text_list),
    ),
    ImportKind.ORDERS: (
        Column("external_id", example="DH-1001"),
        Column("customer_external_id", example="KH-0001"),
        Column("status", _lower, "paid"),
        Column("total", amount, "1.500.000"),
        Column("discount", amount, "0"),
        Column("currency", example="VND"),
        Column("placed_at", _utc_moment, "31/10/2026 14:30"),
        Column("channel", example="shopee"),
    ),
    ImportKind.INTERACTIONS: (
        Column("external_id", example="TT-5001"),
        Column("customer_external_id", example="KH-0001"),
        Column("kind", _lower, "call"),
        Column("at", _utc_moment, "2026-10-31 09:00"),
        Column("rating", _whole),
        Column("note", example="Hỏi giá váy cưới"),
    ),
}
# Also accepted, though not in the templates: our own customer id.
EXTRA_COLUMNS = {ImportKind.ORDERS: (Column("customer_id"),), ImportKind.INTERACTIONS: (Column("customer_id"),)}
# A customer export imports back: its columns that we compute or assign (our id, the owner, stats,
# scores, classes) are left out, the profile columns are read like the template's.
IGNORED_COLUMNS = {
    ImportKind.CUSTOMERS: frozenset(export.header()) - {column.name for column in COLUMNS[ImportKind.CUSTOMERS]}
}


def template(kind: ImportKind) -> str:
    """The header and one example row, as a CSV a spreadsheet opens (UTF-8 with a byte-order mark)."""
    columns = COLUMNS[kind]
    return "\ufeff" + ",".join(c.name for c in columns) + "\n" + ",".join(_quoted(c.example) for c in columns) + "\n"


def _quoted(value: str) -> str:
    return f'"{value}"' if "," in value else value
