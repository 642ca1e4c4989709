"""A segment whose rule reads a personal detail (directly, or through any segment it references) is
sensitive as a whole: roles that may not read personal details (ops, viewer) see neither it nor its
members, counts or events, cannot build on it, change it or filter by it; sensitivity follows the
workspace's settings when read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, receive_within, run_worker

SAVE = """mutation($input: SegmentInput!) { saveSegment(input: $input) {
  segment { id } errors { field code message } } }"""
SEGMENTS = "{ segments { id name } }"
SEGMENT = "query($id: ID!) { segment(id: $id) { name rule count members { edges { node { id } } } } }"
MEMBERS = "query($id: ID!) { customers(filter: {segmentId: $id}) { totalCount edges { node { id } } } }"
DISTRIBUTION = """query($id: ID!) { classDistribution(classSet: "spend_tier", filter: {segmentId: $id}) {
  count } }"""
CUSTOMER = """query($id: ID!) { customer(id: $id) { segments { segment { id } } segmentHistory { segmentId } } }"""
PREVIEW = "query($rule: SegmentRuleInput!) { previewSegment(rule: $rule) { count } }"
DELETE = "mutation($id: ID!) { deleteSegment(id: $id) { deletedId errors { field code } } }"
ADD = """mutation($s: ID!, $c: [ID!]!) { addToSegment(segmentId: $s, customerIds: $c) {
  changed errors { field code } } }"""
UPDATE = "mutation($input: ClassSetUpdateInput!) { updateClassSet(input: $input) { errors { code } } }"

AGED_30_40 = {"score": {"score": "AGE", "min": "30", "max": "40"}}
IN_HANOI = {"field": {"field": "CITY", "op": "EQUALS", "value": "Hà Nội"}}


def _born(years_ago: int) -> str:
    return f"{datetime.now(UTC).year - years_ago}-01-15"


def _save(api: Api, token: str, name: str, rule: dict[str, Any] | None, **more: Any) -> str:
    data = api.ok(SAVE, {"input": {"name": name, "rule": rule, **more}}, token)["saveSegment"]
    return str(data["segment"]["id"])


def _refusal(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]  # type: ignore[no-any-return]


def _payload_errors(body: dict[str, Any], mutation: str) -> list[tuple[str, str]]:
    errors = body["data"][mutation]["errors"]
    return [(error["field"], error["code"]) for error in errors]


@pytest.fixture
def personal(api: Api, shop: Workspace, config: AppConfig) -> dict[str, str]:
    """An admin's segment by age, one that builds on it, one by city; a customer of 35 in Hà Nội."""
    customer = create_customer(api, shop.admin, name="Chị Ba Mươi Lăm", city="Hà Nội", birthDate=_born(35))
    aged = _save(api, shop.admin, "30-40 tuổi", AGED_30_40)
    built_on = _save(api, shop.admin, "Hà Nội 30-40", {"all": [IN_HANOI, {"segment": aged}]})
    city = _save(api, shop.admin, "Hà Nội", IN_HANOI)
    run_worker(config)
    return {"customer": customer, "aged": aged, "built_on": built_on, "city": city}


@pytest.mark.parametrize("role", [Role.OPS, Role.VIEWER])
def test_a_segment_by_age_is_invisible_to_roles_that_may_not_read_age(
    api: Api, shop: Workspace, personal: dict[str, str], role: Role
) -> None:
    _, token = add_key(api, shop, role)
    aged, built_on, city, customer = personal["aged"], personal["built_on"], personal["city"], personal["customer"]
    # the admin sees all three, the customer in each
    assert {s["id"] for s in api.ok(SEGMENTS, None, shop.admin)["segments"]} == {aged, built_on, city}
    assert api.ok(MEMBERS, {"id": aged}, shop.admin)["customers"]["totalCount"] == 1
    admin_view = api.ok(CUSTOMER, {"id": customer}, shop.admin)["customer"]
    assert {s["segment"]["id"] for s in admin_view["segments"]} == {aged, built_on, city}

    # the role: not listed, not readable by id (its rule, count and members), not as a filter
    assert [s["id"] for s in api.ok(SEGMENTS, None, token)["segments"]] == [city]
    for segment_id in (aged, built_on):  # built_on reads age through the segment it references
        assert _refusal(api.gql(SEGMENT, {"id": segment_id}, token)) == {"code": "FORBIDDEN", "field": "id"}
        assert _refusal(api.gql(MEMBERS, {"id": segment_id}, token)) == {
            "code": "FORBIDDEN",
            "field": "filter.segmentId",
        }
        assert _refusal(api.gql(DISTRIBUTION, {"id": segment_id}, token))["code"] == "FORBIDDEN"
    assert api.ok(SEGMENT, {"id": city}, token)["segment"]["count"] == 1
    # nor on the customer: its segments and timeline name the city segment only
    seen = api.ok(CUSTOMER, {"id": customer}, token)["customer"]
    assert [s["segment"]["id"] for s in seen["segments"]] == [city]
    assert {e["segmentId"] for e in seen["segmentHistory"]} == {city}
    # nor as a leaf of a preview, one customer at a time
    by_name = {"all": [{"field": {"field": "NAME", "op": "EQUALS", "value": "Chị Ba Mươi Lăm"}}, {"segment": aged}]}
    assert _refusal(api.gql(PREVIEW, {"rule": by_name}, token)) == {"code": "FORBIDDEN", "field": "rule.all[1].segment"}
    assert api.ok(PREVIEW, {"rule": by_name}, shop.admin)["previewSegment"]["count"] == 1
    # nor as an export's filter: refused before the file starts
    headers = {"Authorization": f"Bearer {token}"}
    refused = api.client.get("/export/customers.csv", params={"segmentId": aged}, headers=headers)
    assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    exported = api.client.get("/export/customers.csv", params={"segmentId": city}, headers=headers)
    assert exported.status_code == 200 and "Chị Ba Mươi Lăm" in exported.text


def test_ops_cannot_build_on_overwrite_or_delete_a_segment_by_age(
    api: Api, shop: Workspace, config: AppConfig, personal: dict[str, str]
) -> None:
    _, ops = add_key(api, shop, Role.OPS)
    aged, built_on = personal["aged"], personal["built_on"]
    building = api.gql(SAVE, {"input": {"name": "Của ops", "rule": {"not": {"segment": built_on}}}}, ops)
    assert _payload_errors(building, "saveSegment") == [("rule.not.segment", "FORBIDDEN")]
    overwriting = api.gql(SAVE, {"input": {"id": aged, "name": "Mọi người", "rule": IN_HANOI}}, ops)
    assert _refusal(overwriting) == {"code": "FORBIDDEN", "field": "id"}
    assert _refusal(api.gql(DELETE, {"id": aged}, ops)) == {"code": "FORBIDDEN", "field": "id"}
    # deleting the city segment is refused because a segment uses it: that one is not named to ops
    used = api.ok(SAVE, {"input": {"name": "Tuổi ở Hà Nội", "rule": {"all": [AGED_30_40, {"segment": personal["city"]}]}}},
                  shop.admin)  # fmt: skip
    assert used["saveSegment"]["errors"] == []
    refused = api.gql(DELETE, {"id": personal["city"]}, ops)["data"]["deleteSegment"]["errors"]
    assert refused[0]["code"] == "SEGMENT_IN_USE" and "Tuổi" not in str(refused)
    assert {s["id"] for s in api.ok(SEGMENTS, None, shop.admin)["segments"]} >= {aged, built_on}
    stored = api.ok(SEGMENT, {"id": aged}, shop.admin)["segment"]
    assert stored["name"] == "30-40 tuổi" and stored["rule"] == {"score": {"score": "age", "min": "30", "max": "40"}}


def test_a_static_list_frozen_from_age_is_sensitive_too(
    api: Api, shop: Workspace, config: AppConfig, personal: dict[str, str]
) -> None:
    _, ops = add_key(api, shop, Role.OPS)
    frozen = _save(api, shop.admin, "Đông lạnh 30-40", AGED_30_40, kind="STATIC")
    assert api.ok(MEMBERS, {"id": frozen}, shop.admin)["customers"]["totalCount"] == 1
    assert frozen not in {s["id"] for s in api.ok(SEGMENTS, None, ops)["segments"]}
    other = create_customer(api, shop.admin, name="Người khác")
    assert _refusal(api.gql(ADD, {"s": frozen, "c": [other]}, ops)) == {"code": "FORBIDDEN", "field": "segmentId"}
    by_hand = _save(api, ops, "Danh sách tay", None, kind="STATIC")
    assert api.ok(ADD, {"s": by_hand, "c": [other]}, ops)["addToSegment"]["changed"] == 1


def test_a_segment_on_market_fit_turns_sensitive_when_market_fit_reads_age(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _, viewer = add_key(api, shop, Role.VIEWER)
    create_customer(api, shop.admin, name="Khách", birthDate=_born(35))
    in_target = _save(
        api,
        shop.admin,
        "Đúng thị trường",
        {"class": {"classSet": "market_fit", "codes": ["in_target", "out_of_target"]}},
    )
    run_worker(config)
    assert api.ok(SEGMENT, {"id": in_target}, viewer)["segment"]["count"] == 1
    api.ok(UPDATE, {"input": {"classSet": "market_fit", "params": {"min_age": 30}}}, shop.admin)
    assert _refusal(api.gql(SEGMENT, {"id": in_target}, viewer)) == {"code": "FORBIDDEN", "field": "id"}
    api.ok(UPDATE, {"input": {"classSet": "market_fit", "params": {"min_age": None}}}, shop.admin)
    assert api.ok(SEGMENT, {"id": in_target}, viewer)["segment"]["name"] == "Đúng thị trường"


def test_a_viewer_subscription_carries_no_joins_of_a_segment_by_age(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _, viewer = add_key(api, shop, Role.VIEWER)
    aged = _save(api, shop.admin, "30-40 tuổi", AGED_30_40)
    city = _save(api, shop.admin, "Hà Nội", IN_HANOI)
    run_worker(config)
    query = "subscription { segmentMembershipChanged { segmentId customerId change } }"
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {viewer}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        one = "subscription($s: ID) { segmentMembershipChanged(segmentId: $s) { segmentId } }"
        ws.send_json({"id": "0", "type": "subscribe", "payload": {"query": one, "variables": {"s": aged}}})
        refused = ws.receive_json()
        assert refused["payload"]["errors"][0]["extensions"] == {"code": "FORBIDDEN", "field": "id"}
        assert ws.receive_json() == {"id": "0", "type": "complete"}
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        api.hub_listening(1)
        # joins both (the age segment first: segments are evaluated in id order)
        create_customer(api, shop.admin, name="Chị Ba Mươi Lăm", city="Hà Nội", birthDate=_born(35))
        run_worker(config)
        received = receive_within(ws, 10)["payload"]["data"]["segmentMembershipChanged"]
    assert (received["segmentId"], received["change"]) == (city, "JOINED")
    assert aged < city
