"""A segment preview costs what it makes the database do: charged per order or interaction aggregate and per
segment it reads, taken from the key's rate limit, refused over a per-request budget before anything is
read, and reading only the segments its rule references."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from domain.auth.principals import Role
from domain.clock import TravellingClock
from domain.config import AppConfig
from domain.segments.costs import AGGREGATE_LEAF_COST, PREVIEW_BASE_COST, PREVIEW_BUDGET, SEGMENT_COST
from tests.conftest import Api, CommandCounter, Workspace, add_key, create_customer, make_workspace, record_order

PREVIEW = "query($rule: SegmentRuleInput!) { previewSegment(rule: $rule) { count cost } }"
COUNT = "query($rule: SegmentRuleInput!) { previewSegment(rule: $rule) { count } }"
SAVE = """mutation($input: SegmentInput!) { saveSegment(input: $input) { segment { id } errors { code } } }"""
IN_HUE = {"field": {"field": "CITY", "op": "EQUALS", "value": "Huế"}}


def _spent(days: int) -> dict[str, Any]:
    return {"orders": {"measure": "SUM", "withinLastDays": days, "min": "1"}}


def _visits(days: int) -> dict[str, Any]:
    return {"interactions": {"kinds": ["VISIT"], "withinLastDays": days, "min": "1"}}


def _save(api: Api, token: str, name: str, rule: dict[str, Any] | None, kind: str = "DYNAMIC") -> str:
    data = api.ok(SAVE, {"input": {"name": name, "kind": kind, "rule": rule}}, token)["saveSegment"]
    return str(data["segment"]["id"])


def test_the_charge_follows_the_aggregates_and_segments_a_preview_reads(api: Api, shop: Workspace) -> None:
    _, viewer = add_key(api, shop, Role.VIEWER)
    customer = create_customer(api, shop.admin, name="Ở Huế", city="Huế")
    record_order(api, shop.admin, customer, "100000", status="PAID")

    def cost(rule: dict[str, Any]) -> int:
        return int(api.ok(PREVIEW, {"rule": rule}, viewer)["previewSegment"]["cost"])

    assert cost(IN_HUE) == PREVIEW_BASE_COST
    assert cost({"all": [IN_HUE, _spent(30), _visits(30)]}) == PREVIEW_BASE_COST + 2 * AGGREGATE_LEAF_COST
    # the same aggregate twice is read once
    assert cost({"any": [_spent(30), {"not": _spent(30)}]}) == PREVIEW_BASE_COST + AGGREGATE_LEAF_COST
    # a referenced segment: its evaluation, and its own aggregates (those the rule shares, once)
    buyers = _save(api, shop.admin, "Mua 90 ngày", {"all": [_spent(90), _spent(30)]})
    assert cost({"all": [_spent(30), {"segment": buyers}]}) == (
        PREVIEW_BASE_COST + 2 * AGGREGATE_LEAF_COST + SEGMENT_COST
    )
    on_top = _save(api, shop.admin, "Mua và ở Huế", {"all": [IN_HUE, {"segment": buyers}]})
    assert cost({"segment": on_top}) == PREVIEW_BASE_COST + 2 * AGGREGATE_LEAF_COST + 2 * SEGMENT_COST


def test_a_preview_over_the_budget_is_refused_before_anything_is_read(
    api: Api, shop: Workspace, commands: CommandCounter
) -> None:
    _, viewer = add_key(api, shop, Role.VIEWER)
    create_customer(api, shop.admin, name="Ở Huế", city="Huế")
    fifty_nine = {"any": [_spent(days) for days in range(1, 60)]}
    api.ok(COUNT, {"rule": IN_HUE}, viewer)  # the key is looked up once, then cached
    with commands.counting() as counted:
        body = api.gql(COUNT, {"rule": fifty_nine}, viewer)
    error = body["errors"][0]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "field": "rule"}
    assert (
        f"{PREVIEW_BUDGET:,}" in error["message"]
        and f"{PREVIEW_BASE_COST + 59 * AGGREGATE_LEAF_COST:,}" in error["message"]
    )
    assert counted.total == 0, counted.by_command
    # a segment that is over the budget through what it references: refused before the customers are read
    wide = [_save(api, shop.admin, f"Rộng {i}", {"any": [_spent(10 * i + d) for d in range(1, 8)]}) for i in range(3)]
    with commands.capturing() as sent:
        body = api.gql(COUNT, {"rule": {"any": [{"segment": s} for s in wide]}}, viewer)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert not [name for name, command in sent if command.get(name) in ("customers", "orders", "interactions")]


@pytest.fixture
def thrifty(config: AppConfig, clock: TravellingClock) -> Iterator[Api]:
    """An API whose keys may spend 3,000 and get back next to nothing while the test runs."""
    limited = config.model_copy(update={"rate_limit_capacity": 3000, "rate_limit_per_second": 0.001})
    with TestClient(create_app(limited, clock)) as client:
        yield Api(client)


def test_a_preview_is_taken_from_the_keys_rate_limit(thrifty: Api) -> None:
    shop = make_workspace(thrifty)
    create_customer(thrifty, shop.admin, name="Ở Huế", city="Huế")
    rule = {"all": [IN_HUE, _spent(30), _visits(30), _spent(60)]}  # 2,000
    assert thrifty.ok(COUNT, {"rule": rule}, shop.admin)["previewSegment"] == {"count": 0}
    refused = thrifty.gql(COUNT, {"rule": rule}, shop.admin)
    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert thrifty.ok("{ segments { id } }", None, shop.admin) == {"segments": []}  # cheap queries still run


def test_a_preview_reads_the_same_whatever_else_the_workspace_saved(
    api: Api, shop: Workspace, commands: CommandCounter
) -> None:
    _, viewer = add_key(api, shop, Role.VIEWER)
    customer = create_customer(api, shop.admin, name="Ở Huế", city="Huế")
    record_order(api, shop.admin, customer, "100000", status="PAID")
    listed = _save(api, shop.admin, "Danh sách", None, kind="STATIC")
    rule = {"all": [IN_HUE, {"segment": listed}]}
    api.ok(COUNT, {"rule": rule}, viewer)

    def preview_commands() -> int:
        with commands.counting() as counted:
            api.ok(COUNT, {"rule": rule}, viewer)
        return counted.total

    alone = preview_commands()
    for i in range(3):
        _save(api, shop.admin, f"Mua {i}", {"any": [_spent(30 + i), _visits(30 + i)]})
    for i in range(105):  # more than one reply of segments
        _save(api, shop.admin, f"Tay {i}", None, kind="STATIC")
    assert preview_commands() == alone
    # the workspace, the segment it references, the customers, the sample
    assert alone <= 4
