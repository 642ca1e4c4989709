"""Bulk paths (used by the demo loader): same rules as single writes, all-or-nothing, idempotent."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from devstack.demo import FAMILY_NAMES, load_demo
from domain.classes.catalogue import CLASS_SETS
from domain.config import AppConfig
from domain.errors import InvalidInput
from tests.conftest import Api, Workspace, run_worker

README = Path(__file__).resolve().parent.parent / "README.md"

COUNT = "{ customers { totalCount } }"


def _admin(api: Api, shop: Workspace) -> Any:
    return api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))


def test_one_bad_row_rejects_the_batch_and_names_the_row(api: Api, shop: Workspace) -> None:
    admin = _admin(api, shop)
    rows = [{"name": "An"}, {"name": "Bình", "email": "not-an-email"}, {"name": ""}]
    with pytest.raises(InvalidInput) as rejected:
        api.call(lambda: api.services.customers.create_many(admin, rows))
    assert [(e.field, e.code) for e in rejected.value.errors] == [
        ("rows.1.email", "INVALID_EMAIL"),
        ("rows.2.name", "INVALID_LENGTH"),
    ]
    assert api.ok(COUNT, None, shop.admin)["customers"]["totalCount"] == 0


def test_repeated_import_returns_the_stored_rows(api: Api, shop: Workspace) -> None:
    admin = _admin(api, shop)
    rows = [{"name": f"Khách {i}", "external_id": f"imp-{i}"} for i in range(5)]
    first = api.call(lambda: api.services.customers.create_many(admin, rows))
    again = api.call(
        lambda: api.services.customers.create_many(admin, [*rows, {"name": "Mới", "external_id": "imp-9"}])
    )
    assert [c.id for c in again[:5]] == [c.id for c in first]
    assert api.ok(COUNT, None, shop.admin)["customers"]["totalCount"] == 6


def test_orders_for_unknown_customers_reject_the_batch(api: Api, shop: Workspace) -> None:
    admin = _admin(api, shop)
    [customer] = api.call(lambda: api.services.customers.create_many(admin, [{"name": "An"}]))
    rows = [{"customer_id": customer.id, "total": 1000}, {"customer_id": "nope", "total": 1000}]
    with pytest.raises(InvalidInput) as rejected:
        api.call(lambda: api.services.orders.record_many(admin, rows))
    assert [(e.field, e.code) for e in rejected.value.errors] == [("rows.1.customerId", "UNKNOWN_CUSTOMER")]
    orders = api.ok("query($id: ID!) { customer(id: $id) { orders { id } } }", {"id": customer.id}, shop.admin)
    assert orders["customer"]["orders"] == []


def test_demo_data_loads_idempotently_and_shows_every_code_of_every_class_set(api: Api, config: AppConfig) -> None:
    first = api.call(lambda: load_demo(api.services, "crm_demo_test_key"))
    again = api.call(lambda: load_demo(api.services, "crm_demo_test_key"))
    assert again.customer_ids == first.customer_ids
    run_worker(config)
    query = "query($set: String!) { classDistribution(classSet: $set) { code count } }"
    missing = []
    for class_set in CLASS_SETS:
        rows = api.ok(query, {"set": class_set}, "crm_demo_test_key")["classDistribution"]
        missing += [f"{class_set}.{row['code']}" for row in rows if row["count"] == 0]
        assert sum(row["count"] for row in rows) == len(first.customer_ids)
    assert missing == []
    page = api.ok("{ customers(first: 100) { edges { node { name country } } } }", None, "crm_demo_test_key")
    vietnamese = [edge["node"]["name"] for edge in page["customers"]["edges"] if edge["node"]["country"] == "VN"]
    assert len(vietnamese) > 50  # family name first, then middle and given names; no honorifics
    assert all(name.split()[0] in FAMILY_NAMES and len(name.split()) == 3 for name in vietnamese), vietnamese[:5]
    # The README's showcase segment, read from the README, finds customers in the demo.
    rule = json.loads(re.search(r"RULE='(.*?)'", README.read_text(encoding="utf-8"), re.DOTALL).group(1))  # type: ignore[union-attr]
    preview = "query($r: SegmentRuleInput!) { previewSegment(rule: $r) { count sample { name city } } }"
    found = api.ok(preview, {"r": rule}, "crm_demo_test_key")["previewSegment"]
    assert found["count"] > 0 and {c["city"] for c in found["sample"]} <= {"Hồ Chí Minh", "Hà Nội"}
    # Enough decided leads for the conversion model: it trains and leads show a learned probability.
    assert api.ok("mutation { trainConversionModel { queued } }", None, "crm_demo_test_key")
    run_worker(config)
    model = api.ok("{ conversionModel { status card { won lost } } }", None, "crm_demo_test_key")["conversionModel"]
    assert model["status"] == "TRAINED" and min(model["card"]["won"], model["card"]["lost"]) >= 30, model
