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


@pytest.mark.timeout(600)  # the demo loaded and scored, its model trained, then every README example
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
    run_worker(config)  # the customers rescored with the model
    empty = _run_readme_examples(api, "crm_demo_test_key", config)
    assert empty == [], "\n".join(empty)


EXAMPLE = re.compile(r"^gql '(.*)'\s*(?:#.*)?$", re.MULTILINE)
PLACEHOLDER = re.compile(r"<(customer|segment|run|key|import) id>")


def _run_readme_examples(api: Api, key: str, config: AppConfig) -> list[str]:
    """Every `gql '...'` example of the README, in order, against the demo: ids it names come from the
    demo (a customer with orders) or from an earlier example's answer (the segment it saved, the run it
    started, the key it made). Returns the examples that failed or found nothing."""
    found: dict[str, str] = {}
    wanting: list[str] = []
    # The customer examples name: the demo's most likely buyer (a lead with reasons for and against).
    best = """{ customers(first: 50, orderBy: {field: CONVERSION, direction: DESC}) { edges { node { id
      lead { reasonsFor reasonsAgainst } } } } }"""
    leads = [edge["node"] for edge in api.ok(best, None, key)["customers"]["edges"]]
    explained = [lead["id"] for lead in leads if lead["lead"]["reasonsFor"] or lead["lead"]["reasonsAgainst"]]
    best_lead = (explained or [leads[0]["id"]])[0]
    for text in EXAMPLE.findall(README.read_text(encoding="utf-8")):
        names = set(PLACEHOLDER.findall(text))
        if names - {"customer", *found}:
            continue  # an id no earlier example gave (an import's, say)
        for name in names:
            text = text.replace(f"<{name} id>", found.get(name, best_lead))
        body = json.loads(text)
        answer = api.gql(body["query"], body.get("variables"), key)
        last_run = found.get("run")
        _remember_ids(answer.get("data") or {}, found)
        if found.get("run") != last_run:
            run_worker(config)  # the run it started is done before the next example reads it
        problems = answer.get("errors") or list(_empty_parts(answer.get("data"), "data"))
        if problems:
            wanting.append(f"{body['query'][:70]}: {problems}")
    return wanting


def _remember_ids(data: Any, found: dict[str, str]) -> None:
    if isinstance(data, dict):
        for name, value in data.items():
            if name in ("segment", "run", "key") and isinstance(value, dict) and value.get("id"):
                found[name] = value["id"]
            _remember_ids(value, found)
    elif isinstance(data, list):
        for value in data:
            _remember_ids(value, found)


def _empty_parts(data: Any, path: str, depth: int = 0) -> Any:
    """Where an answer is empty: a field asked for answered null, an empty list (other than those rightly
    empty on a fresh demo), or a payload's errors other than a run's that has finished already."""
    if data is None and depth <= 1:
        yield path
    elif isinstance(data, dict):
        for name, value in data.items():
            if name == "errors":
                yield from ([f"{path}.errors: {value}"] if {e.get("code") for e in value or []} - FINISHED else [])
            elif not (name in OPTIONAL_LISTS and not value):
                yield from _empty_parts(value, f"{path}.{name}", depth + 1)
    elif isinstance(data, list):
        if not data:
            yield path
        for index, value in enumerate(data[:1]):
            yield from _empty_parts(value, f"{path}[{index}]", depth + 1)


# Rightly empty on a fresh demo: no deletions yet, no sensitive field learned from, a full run that
# changes nothing; cancelling or resuming a run that has finished.
# The demo's model, learned from 80 verdicts, names no reasons for most leads yet: reasons are optional.
OPTIONAL_LISTS = frozenset({"deletedCustomers", "sensitiveFields", "transitions", "reasonsFor", "reasonsAgainst"})
FINISHED = frozenset({"NOT_RUNNING", "ALREADY_COMPLETED"})
