"""API keys: no key or a wrong key sees nothing; a key never reaches another workspace."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import (
    CREATE_CUSTOMER,
    RECORD_ORDER,
    Api,
    Workspace,
    add_key,
    create_customer,
    make_workspace,
    record_order,
    run_worker,
)

SPEND_TIER_CHANGES = 'subscription { customerClassChanged(classSet: "spend_tier") { customerId current } }'

READ_QUERIES = [
    ("customer", "query($id: ID!) { customer(id: $id) { id } }"),
    ("customers", "query { customers { totalCount } }"),
    ("order", "query($id: ID!) { order(id: $id) { id } }"),
]


@pytest.mark.parametrize("token", [None, "crm_wrong", "Basic abc", ""])
@pytest.mark.parametrize(("field", "query"), READ_QUERIES)
def test_reads_without_a_valid_key_are_unauthenticated(
    api: Api, shop: Workspace, token: str | None, field: str, query: str
) -> None:
    customer_id = create_customer(api, shop.admin)
    headers = {"Authorization": token} if token is not None and " " in token else None
    if headers:
        response = api.client.post("/graphql", json={"query": query, "variables": {"id": customer_id}}, headers=headers)
        body = response.json()
    else:
        body = api.gql(query, {"id": customer_id}, token or None)
    assert body["data"] is None or body["data"][field] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_mutations_without_a_key_write_nothing(api: Api, shop: Workspace) -> None:
    body = api.gql(CREATE_CUSTOMER, {"input": {"name": "X"}}, "crm_not_a_key")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert api.ok("{ customers { totalCount } }", None, shop.admin)["customers"]["totalCount"] == 0


def test_viewer_reads_but_cannot_write(api: Api, shop: Workspace) -> None:
    _, viewer = add_key(api, shop, Role.VIEWER)
    customer_id = create_customer(api, shop.admin)
    assert api.ok("query($id: ID!) { customer(id: $id) { id } }", {"id": customer_id}, viewer)["customer"]
    body = api.gql(CREATE_CUSTOMER, {"input": {"name": "X"}}, viewer)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = api.gql(RECORD_ORDER, {"input": {"customerId": customer_id, "total": "1"}}, viewer)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_sales_cannot_delete(api: Api, shop: Workspace) -> None:
    _, sales = add_key(api, shop, Role.SALES)
    customer_id = create_customer(api, sales)
    body = api.gql("mutation($id: ID!) { deleteCustomer(id: $id) { deletedId } }", {"id": customer_id}, sales)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


OTHER_WORKSPACE_CALLS: list[tuple[str, str, Any]] = [
    ("customer", "query($id: ID!) { customer(id: $id) { id } }", None),
    ("order", "query($oid: ID!) { order(id: $oid) { id } }", None),
    (
        "updateCustomer",
        'mutation($id: ID!) { updateCustomer(id: $id, input: {name: "hijack"}) { errors { code } } }',
        {"errors": [{"code": "NOT_FOUND"}]},
    ),
    (
        "deleteCustomer",
        "mutation($id: ID!) { deleteCustomer(id: $id) { errors { code } } }",
        {"errors": [{"code": "NOT_FOUND"}]},
    ),
    (
        "recordOrder",
        'mutation($id: ID!) { recordOrder(input: {customerId: $id, total: "5"}) { errors { code } } }',
        {"errors": [{"code": "UNKNOWN_CUSTOMER"}]},
    ),
    (
        "setOrderStatus",
        "mutation($oid: ID!) { setOrderStatus(id: $oid, status: CANCELLED) { errors { code } } }",
        {"errors": [{"code": "NOT_FOUND"}]},
    ),
    (
        "recordInteraction",
        "mutation($id: ID!) { recordInteraction(input: {customerId: $id, kind: CALL}) { errors { code } } }",
        {"errors": [{"code": "UNKNOWN_CUSTOMER"}]},
    ),
]


@pytest.mark.parametrize(("field", "query", "expected"), OTHER_WORKSPACE_CALLS)
def test_a_key_never_reaches_another_workspace(
    api: Api, shop: Workspace, field: str, query: str, expected: Any
) -> None:
    other = make_workspace(api, "Other shop")
    customer_id = create_customer(api, shop.admin, name="Bí mật")
    order = record_order(api, shop.admin, customer_id, "1000", status="PAID")
    variables = {"id": customer_id, "oid": order["id"]}
    used = {key: value for key, value in variables.items() if f"${key}" in query}
    body = api.gql(query, used, other.admin)
    assert "errors" not in body
    assert body["data"][field] == expected
    assert api.ok("{ customers { totalCount } }", None, other.admin)["customers"]["totalCount"] == 0
    still = api.ok("query($id: ID!) { customer(id: $id) { name orders { status } } }", {"id": customer_id}, shop.admin)[
        "customer"
    ]
    assert still == {"name": "Bí mật", "orders": [{"status": "PAID"}]}


def test_lists_and_filters_stay_inside_the_workspace(api: Api, shop: Workspace, config: AppConfig) -> None:
    other = make_workspace(api, "Other shop")
    mine = create_customer(api, shop.admin, name="Mine", tags=["vip"])
    create_customer(api, other.admin, name="Theirs", tags=["vip"])
    record_order(api, shop.admin, mine, "30000000", status="PAID")
    run_worker(config)
    query = "query($f: CustomerFilter) { customers(filter: $f) { totalCount edges { node { name } } } }"
    for filter in (
        {"tags": ["vip"]},
        {"text": "mi"},
        {"class": {"classSet": "spend_tier", "codes": ["diamond", "none"]}},
    ):
        names = [e["node"]["name"] for e in api.ok(query, {"f": filter}, shop.admin)["customers"]["edges"]]
        assert names == ["Mine"], filter


def test_websocket_without_a_valid_key_is_rejected(api: Api, shop: Workspace) -> None:
    for params in ({}, {"authorization": "Bearer crm_wrong"}):
        with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": params})
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 4403


def test_subscription_sees_only_its_own_workspace(api: Api, shop: Workspace, config: AppConfig) -> None:
    other = make_workspace(api, "Other shop")
    theirs = create_customer(api, other.admin, name="Theirs")
    mine = create_customer(api, shop.admin, name="Mine")
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": 'subscription { customerClassChanged(classSet: "spend_tier") { customerId current } }'
                },
            }
        )
        api.hub_listening(1)
        record_order(api, other.admin, theirs, "30000000", status="PAID")
        run_worker(config)  # the other shop's change is published first...
        record_order(api, shop.admin, mine, "6000000", status="PAID")
        run_worker(config)
        received = [ws.receive_json() for _ in range(2)]
    currents = [
        (
            m["payload"]["data"]["customerClassChanged"]["customerId"],
            m["payload"]["data"]["customerClassChanged"]["current"],
        )
        for m in received
    ]
    # ...yet only this shop's customers arrive: first their initial class, then the new tier.
    assert currents == [(mine, "none"), (mine, "platinum")]
