"""Customers as CSV rows, with their classes, scores and stats: for spreadsheets and other tools.

Streamed a page at a time (no whole result in memory), within the caller's scope, sensitive fields
left empty for roles that may not read them, like every other read. Every cell is quoted, and one that
a spreadsheet would run as a formula starts with an apostrophe (``domain.csv_cells``); our import
reads the file back as it was written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from domain.classes.catalogue import CLASS_SETS
from domain.csv_cells import as_text
from domain.customers.models import Customer
from domain.money import from_minor

BASE_COLUMNS = (
    "id",
    "external_id",
    "name",
    "legal_type",
    "company_name",
    "phone",
    "email",
    "city",
    "region",
    "country",
    "gender",
    "birth_date",
    "customer_since",
    "income_band",
    "tags",
    "interests",
    "owner_id",
    "created_at",
    "changed_at",
    "orders",
    "paid_orders",
    "net_spend",
    "first_order_at",
    "last_order_at",
    "lead_score",
    "conversion_probability",
    "clv_12m",
)


def header() -> list[str]:
    return [*BASE_COLUMNS, *CLASS_SETS]


def row(customer: Customer, currency: str) -> list[str]:
    classes = {assigned.class_set: assigned for assigned in customer.classes}
    lead = classes.get("lead_tier")
    value = classes.get("future_value")
    stats = customer.stats
    fields: dict[str, Any] = {
        "id": customer.id,
        "external_id": customer.external_id,
        "name": customer.name,
        "legal_type": customer.legal_type.value,
        "company_name": customer.company_name,
        "phone": customer.phone,
        "email": customer.email,
        "city": customer.city,
        "region": customer.region,
        "country": customer.country,
        "gender": customer.gender.value if customer.gender else None,
        "birth_date": customer.birth_date.isoformat() if customer.birth_date else None,
        "customer_since": customer.customer_since.isoformat() if customer.customer_since else None,
        "income_band": customer.income_band.value if customer.income_band else None,
        "tags": "|".join(customer.tags),
        "interests": "|".join(customer.interests),
        "owner_id": customer.owner_id,
        "created_at": customer.created_at.isoformat(),
        "changed_at": customer.changed_at.isoformat() if customer.changed_at else None,
        "orders": stats.order_count,
        "paid_orders": stats.paid_order_count,
        "net_spend": from_minor(stats.net_spend_minor, currency),
        "first_order_at": stats.first_order_at.isoformat() if stats.first_order_at else None,
        "last_order_at": stats.last_order_at.isoformat() if stats.last_order_at else None,
        "lead_score": lead.evidence.get("score") if lead else None,
        "conversion_probability": lead.evidence.get("probability") if lead else None,
        "clv_12m": _money(value.evidence.get("clv_12m_minor") if value else None, currency),
    }
    return [_text(fields[name]) for name in BASE_COLUMNS] + [
        classes[key].code if key in classes else "" for key in CLASS_SETS
    ]


async def csv_chunks(pages: AsyncIterator[list[Customer]], currency: str) -> AsyncIterator[str]:
    """The file, a page of customers at a time: a byte-order mark (so that spreadsheet programs read
    Vietnamese and Chinese text as UTF-8), the header, then the rows."""
    yield "\ufeff" + _csv([header()])
    async for customers in pages:
        yield _csv([row(customer, currency) for customer in customers])


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL).writerows([[as_text(value) for value in values] for values in rows])
    return buffer.getvalue()


def _money(minor: object, currency: str) -> str | None:
    return str(from_minor(round(minor), currency)) if isinstance(minor, int | float) else None


def _text(value: object) -> str:
    return "" if value is None else str(value)
