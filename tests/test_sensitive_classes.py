"""Class sets read from sensitive fields are sensitive as a whole: no entry point reveals them to a role
that may not read birth dates or personality (ops, viewer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, run_worker

CUSTOMER = "query($id: ID!) { customer(id: $id) { nextClassChangeAt classes { classSet code since } } }"
HISTORY = "query($id: ID!, $set: String) { customer(id: $id) { classHistory(classSet: $set) { classSet } } }"
FILTER = 'query { customers(filter: {class: {classSet: "age_band", codes: ["under_18"]}}) { totalCount } }'
DISTRIBUTION = 'query { classDistribution(classSet: "approach") { code count } }'
MARKET = 'query { classDistribution(classSet: "market_fit") { code count } }'
MARKET_FILTER = 'query { customers(filter: {class: {classSet: "market_fit", codes: ["in_target"]}}) { totalCount } }'
UPDATE = "mutation($input: ClassSetUpdateInput!) { updateClassSet(input: $input) { errors { code } } }"


def _birthday_tomorrow(years: int) -> str:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    if (tomorrow.month, tomorrow.day) == (2, 29):
        tomorrow += timedelta(days=1)
    return tomorrow.replace(year=tomorrow.year - years).isoformat()


def _codes(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.mark.parametrize(("role", "sees"), [(Role.ADMIN, True), (Role.OPS, False), (Role.VIEWER, False)])
def test_age_band_and_approach_are_hidden_everywhere_from_roles_without_personal_details(
    api: Api, shop: Workspace, config: AppConfig, role: Role, sees: bool
) -> None:
    _, token = add_key(api, shop, role)
    customer_id = create_customer(api, shop.admin, birthDate=_birthday_tomorrow(18), personalityType=5)
    run_worker(config)
    customer = api.ok(CUSTOMER, {"id": customer_id}, token)["customer"]
    shown = {c["classSet"] for c in customer["classes"]}
    history = api.gql(HISTORY, {"id": customer_id, "set": None}, token)["data"]["customer"]["classHistory"]
    next_change = datetime.fromisoformat(customer["nextClassChangeAt"])
    birthday_is_next = next_change.date() == datetime.now(UTC).date() + timedelta(days=1)
    if sees:
        assert {"age_band", "approach"} <= shown and birthday_is_next
        assert {"age_band", "approach"} <= {e["classSet"] for e in history}
        assert api.ok(FILTER, None, token)["customers"]["totalCount"] == 1
        assert {r["code"]: r["count"] for r in api.ok(DISTRIBUTION, None, token)["classDistribution"]}[
            "analytical"
        ] == 1
        return
    assert not {"age_band", "approach"} & shown
    assert not birthday_is_next  # the next change shown is not the birthday
    assert not {"age_band", "approach"} & {e["classSet"] for e in history}
    assert _codes(api.gql(HISTORY, {"id": customer_id, "set": "age_band"}, token)) == ["FORBIDDEN"]
    assert _codes(api.gql(FILTER, None, token)) == ["FORBIDDEN"]
    assert _codes(api.gql(DISTRIBUTION, None, token)) == ["FORBIDDEN"]


def test_market_fit_by_age_becomes_sensitive_and_changes_on_the_birthday(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _, viewer = add_key(api, shop, Role.VIEWER)
    customer_id = create_customer(api, shop.admin, birthDate=_birthday_tomorrow(30))
    api.ok(UPDATE, {"input": {"classSet": "market_fit", "params": {"min_age": 30}}}, shop.admin)
    run_worker(config)  # the run the settings change started
    admin_view = api.ok(CUSTOMER, {"id": customer_id}, shop.admin)["customer"]
    assert {c["classSet"]: c["code"] for c in admin_view["classes"]}["market_fit"] == "out_of_target"
    assert datetime.fromisoformat(admin_view["nextClassChangeAt"]).date() == datetime.now(UTC).date() + timedelta(1)
    viewer_view = api.ok(CUSTOMER, {"id": customer_id}, viewer)["customer"]
    assert "market_fit" not in {c["classSet"] for c in viewer_view["classes"]}
    assert sum(row["count"] for row in api.ok(MARKET, None, viewer)["classDistribution"]) == 0
    assert api.ok(MARKET_FILTER, None, viewer)["customers"]["totalCount"] == 0
    assert sum(row["count"] for row in api.ok(MARKET, None, shop.admin)["classDistribution"]) == 1


def test_a_viewer_subscription_carries_no_sensitive_class_changes(api: Api, shop: Workspace, config: AppConfig) -> None:
    _, viewer = add_key(api, shop, Role.VIEWER)
    query = "subscription { customerClassChanged { classSet } }"
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {viewer}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {
                "id": "a",
                "type": "subscribe",
                "payload": {"query": 'subscription { customerClassChanged(classSet: "approach") { classSet } }'},
            }
        )
        refused = ws.receive_json()
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert ws.receive_json() == {"id": "a", "type": "complete"}
        ws.send_json({"id": "b", "type": "subscribe", "payload": {"query": query}})
        api.hub_listening(1)
        create_customer(api, shop.admin, birthDate="1990-01-01", personalityType=2)
        run_worker(config)
        received: set[str] = set()
        while len(received) < 8:  # the ten class sets but the two sensitive ones
            received.add(ws.receive_json()["payload"]["data"]["customerClassChanged"]["classSet"])
    assert not {"age_band", "approach"} & received
