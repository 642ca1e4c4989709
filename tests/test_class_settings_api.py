"""Changing class-set settings: validated, versioned, rescored by a run, labels and colours per workspace."""

from __future__ import annotations

from typing import Any

import pytest

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, record_order, run_worker

UPDATE = """
mutation($input: ClassSetUpdateInput!) {
  updateClassSet(input: $input) {
    classSet { key settingsVersion settings codes { code color label(lang: "vi") } }
    run { id status classSets settingsVersion }
    errors { field code message }
  }
}"""
CLASSES = """query($id: ID!) { customer(id: $id) {
  classes { classSet code label(lang: "vi") color settingsVersion }
  classHistory(classSet: "spend_tier") { current settingsVersion }
} }"""
VERSION = "{ classSets { key settingsVersion settings } }"


def _tier(api: Api, token: str, customer_id: str) -> dict[str, Any]:
    customer = api.ok(CLASSES, {"id": customer_id}, token)["customer"]
    [tier] = [c for c in customer["classes"] if c["classSet"] == "spend_tier"]
    return {**tier, "history": customer["classHistory"]}


def test_new_thresholds_start_a_run_that_reclassifies_with_the_new_version(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    customer_id = create_customer(api, shop.admin)
    record_order(api, shop.admin, customer_id, "6000000", status="PAID")
    run_worker(config)
    assert _tier(api, shop.admin, customer_id)["code"] == "platinum"

    change = {"classSet": "spend_tier", "params": {"platinum": 7_000_000}, "hysteresis": {"marginPercent": 0}}
    payload = api.ok(UPDATE, {"input": change}, shop.admin)["updateClassSet"]
    assert payload["classSet"]["settingsVersion"] == 2
    assert payload["classSet"]["settings"]["platinum"] == 7_000_000
    assert payload["classSet"]["settings"]["diamond"] == 20_000_000  # merged over the current values
    assert payload["run"]["classSets"] == ["spend_tier"] and payload["run"]["settingsVersion"] == 2
    run_worker(config)
    tier = _tier(api, shop.admin, customer_id)
    assert (tier["code"], tier["settingsVersion"]) == ("new", 2)
    assert tier["history"][0] == {"current": "new", "settingsVersion": 2}
    run = api.ok("query($id: ID!) { scoringRun(id: $id) { status processed changed } }", {"id": payload["run"]["id"]},
                 shop.admin)["scoringRun"]  # fmt: skip
    assert run == {"status": "COMPLETED", "processed": 1, "changed": 1}


def test_labels_and_colours_are_the_workspaces_own(api: Api, shop: Workspace, config: AppConfig) -> None:
    customer_id = create_customer(api, shop.admin)
    run_worker(config)
    labels = [{"code": "none", "vi": "Khách chưa mua", "zh": "未购", "en": "Not yet"}]
    payload = api.ok(
        UPDATE,
        {"input": {"classSet": "spend_tier", "labels": labels, "colors": [{"code": "none", "color": "#123456"}]}},
        shop.admin,
    )["updateClassSet"]
    assert payload["run"] is None  # nothing to rescore for a label
    tier = _tier(api, shop.admin, customer_id)
    assert (tier["label"], tier["color"]) == ("Khách chưa mua", "#123456")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"classSet": "spend_tier", "params": {"platinum": 30_000_000}}, "params", "NOT_INCREASING"),
        ({"classSet": "spend_tier", "params": {"gold": 1}}, "params.gold", "UNKNOWN_FIELD"),
        ({"classSet": "spend_tier", "params": {"new": 0}}, "params.new", "OUT_OF_RANGE"),
        ({"classSet": "age_band", "params": {"adult_from": 10}}, "params", "NOT_INCREASING"),
        ({"classSet": "deal_status", "params": {"key_orders": 2}}, "params", "NOT_INCREASING"),
        ({"classSet": "purchase_psychology", "params": {"novelty_item_share": 1.5}}, "params.novelty_item_share",
         "OUT_OF_RANGE"),
        ({"classSet": "market_fit", "params": {"countries": ["XX"]}}, "params", "UNKNOWN_COUNTRY"),
        ({"classSet": "market_fit", "params": {"legal_types": ["robot"]}}, "params", "INVALID_CHOICE"),
        ({"classSet": "market_fit", "params": {"cities": ["Hà\u202eNội"]}}, "params.cities.0", "INVALID_CHARACTERS"),
        ({"classSet": "spend_tier", "params": {"new": "many"}}, "params.new", "INVALID_VALUE"),
        ({"classSet": "approach", "params": {"x": 1}}, "params", "NOT_ALLOWED"),
        ({"classSet": "age_band", "hysteresis": {"graceDays": 3}}, "hysteresis", "NOT_ALLOWED"),
        ({"classSet": "spend_tier", "hysteresis": {"marginPercent": 80}}, "hysteresis.marginPercent", "OUT_OF_RANGE"),
        ({"classSet": "spend_tier", "labels": [{"code": "gold", "vi": "a", "zh": "b", "en": "c"}]}, "labels.gold",
         "UNKNOWN_CLASS_CODE"),
        ({"classSet": "spend_tier", "labels": [{"code": "new", "vi": "a", "zh": " ", "en": "c"}]}, "labels.new",
         "LABELS_REQUIRED"),
        ({"classSet": "spend_tier", "colors": [{"code": "new", "color": "green"}]}, "colors.new", "INVALID_COLOR"),
        ({"classSet": "zodiac", "params": {}}, "classSet", "UNKNOWN_CLASS_SET"),
    ],
)  # fmt: skip
def test_invalid_settings_are_rejected_and_change_nothing(
    api: Api, shop: Workspace, change: dict[str, Any], field: str, code: str
) -> None:
    before = api.ok(VERSION, None, shop.admin)
    errors = api.gql(UPDATE, {"input": change}, shop.admin)["data"]["updateClassSet"]["errors"]
    assert (field, code) in {(e["field"], e["code"]) for e in errors}, errors
    assert api.ok(VERSION, None, shop.admin) == before


@pytest.mark.parametrize("role", [Role.OPS, Role.SALES, Role.VIEWER])
def test_only_admins_change_settings(api: Api, shop: Workspace, role: Role) -> None:
    _, token = add_key(api, shop, role)
    body = api.gql(UPDATE, {"input": {"classSet": "spend_tier", "params": {"platinum": 6_000_000}}}, token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_change_that_changes_nothing_stores_no_new_version(api: Api, shop: Workspace) -> None:
    before = {s["key"]: s for s in api.ok(VERSION, None, shop.admin)["classSets"]}["spend_tier"]
    same = {"classSet": "spend_tier", "params": {"platinum": before["settings"]["platinum"]}}
    payload = api.ok(UPDATE, {"input": same}, shop.admin)["updateClassSet"]
    assert payload["run"] is None
    assert payload["classSet"]["settingsVersion"] == before["settingsVersion"]


def test_labels_are_bounded_in_number_and_text(api: Api, shop: Workspace) -> None:
    many = [{"code": f"c{i}", "vi": "a", "zh": "a", "en": "a"} for i in range(40)]
    errors = api.gql(UPDATE, {"input": {"classSet": "spend_tier", "labels": many}}, shop.admin)["data"][
        "updateClassSet"
    ]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("labels", "TOO_MANY_ITEMS")]
    sneaky = [{"code": "new", "vi": "Mới\u202e", "zh": "新", "en": "New"}]
    errors = api.gql(UPDATE, {"input": {"classSet": "spend_tier", "labels": sneaky}}, shop.admin)["data"][
        "updateClassSet"
    ]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("labels.new", "INVALID_CHARACTERS")]


DRY = """mutation($input: ClassSetUpdateInput!) {
  updateClassSet(input: $input, dryRun: true) {
    classSet { settingsVersion settings } run { id status dryRun } errors { code } } }"""
RUN = "query($id: ID!) { scoringRun(id: $id) { status dryRun transitions { classSet from to count } } }"


def test_a_settings_change_can_be_tried_first_and_saves_nothing(api: Api, shop: Workspace, config: AppConfig) -> None:
    customers = [create_customer(api, shop.admin, name=f"Khách {i}") for i in range(3)]
    for customer_id, total in zip(customers, ("6000000", "8000000", "30000000"), strict=True):
        record_order(api, shop.admin, customer_id, total, status="PAID")
    run_worker(config)
    version = {s["key"]: s for s in api.ok(VERSION, None, shop.admin)["classSets"]}["spend_tier"]["settingsVersion"]
    tried = api.ok(DRY, {"input": {"classSet": "spend_tier", "params": {"platinum": 7_000_000}}}, shop.admin)
    payload = tried["updateClassSet"]
    assert payload["classSet"]["settings"]["platinum"] == 7_000_000  # as proposed...
    assert payload["run"]["dryRun"] is True
    run_worker(config)
    run = api.ok(RUN, {"id": payload["run"]["id"]}, shop.admin)["scoringRun"]
    assert run["status"] == "COMPLETED"
    assert run["transitions"] == [{"classSet": "spend_tier", "from": "platinum", "to": "new", "count": 1}]
    saved = {s["key"]: s for s in api.ok(VERSION, None, shop.admin)["classSets"]}["spend_tier"]
    assert (saved["settingsVersion"], saved["settings"]["platinum"]) == (version, 5_000_000)  # ...not saved
    assert _tier(api, shop.admin, customers[0])["code"] == "platinum"
