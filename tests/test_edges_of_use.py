"""Edges a user reaches in ordinary use: page boundaries, repeated refunds, deletions, subscription filters."""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, record_order, run_worker

PAGE = """query($first: Int!, $after: String, $filter: CustomerFilter) {
  customers(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }"""
DELETE = "mutation($id: ID!) { deleteCustomer(id: $id) { deletedId } }"


def _page(api: Api, token: str, first: int, after: str | None = None, **filter: Any) -> dict[str, Any]:
    return api.ok(PAGE, {"first": first, "after": after, "filter": filter or None}, token)["customers"]  # type: ignore[no-any-return]


def _walk(api: Api, token: str, first: int, **filter: Any) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = _page(api, token, first, after, **filter)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


def test_page_boundaries(api: Api, shop: Workspace) -> None:
    created = [create_customer(api, shop.admin, name=f"Khách {i}") for i in range(6)]
    empty = _page(api, shop.admin, 0)
    assert (empty["edges"], empty["pageInfo"]["hasNextPage"], empty["totalCount"]) == ([], True, 6)
    negative = api.gql(PAGE, {"first": -1}, shop.admin)
    assert negative["errors"][0]["extensions"] == {"code": "OUT_OF_RANGE", "field": "first"}
    exact = _page(api, shop.admin, 3, _page(api, shop.admin, 3)["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in exact["edges"]] == created[3:] and exact["pageInfo"]["hasNextPage"] is False
    assert _walk(api, shop.admin, 2) == created  # an exact multiple of the page size
    assert _walk(api, shop.admin, 6) == created
    assert _walk(api, shop.admin, 100) == created


def test_a_cursor_at_a_deleted_customer_still_continues_after_it(api: Api, shop: Workspace) -> None:
    created = [create_customer(api, shop.admin, name=f"Khách {i}") for i in range(5)]
    first = _page(api, shop.admin, 2)
    api.ok(DELETE, {"id": created[1]}, shop.admin)  # the customer the cursor points at
    rest = _page(api, shop.admin, 10, first["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in rest["edges"]] == created[2:]


def test_filters_scope_and_pagination_together(api: Api, shop: Workspace) -> None:
    lan, lan_key = add_key(api, shop, Role.SALES, "Lan")
    minh, _ = add_key(api, shop, Role.SALES, "Minh")
    mine = [create_customer(api, shop.admin, name=f"Lan {i}", city="Huế", ownerId=lan) for i in range(5)]
    create_customer(api, shop.admin, name="Lan in Hà Nội", city="Hà Nội", ownerId=lan)
    for i in range(4):
        create_customer(api, shop.admin, name=f"Minh {i}", city="Huế", ownerId=minh)
    assert _walk(api, lan_key, 2, city="Huế") == mine
    assert _page(api, lan_key, 2, city="Huế")["totalCount"] == 5
    assert _walk(api, shop.admin, 3, city="Huế")[:5] == mine
    assert _page(api, lan_key, 10, ownerId=minh)["edges"] == []  # another owner's list stays closed


def test_a_refund_applied_twice_counts_once(api: Api, shop: Workspace, config: AppConfig) -> None:
    customer_id = create_customer(api, shop.admin)
    order = record_order(api, shop.admin, customer_id, "8000000", status="PAID")
    refund = """mutation($id: ID!) { setOrderStatus(id: $id, status: REFUNDED, refundAmount: "3000000") {
      order { refundedAmount } errors { code } } }"""
    for _ in range(2):
        assert api.ok(refund, {"id": order["id"]}, shop.admin)["setOrderStatus"]["order"]["refundedAmount"] == "3000000"
    run_worker(config)
    stats = api.ok("query($id: ID!) { customer(id: $id) { stats { netSpend } } }", {"id": customer_id}, shop.admin)
    assert stats["customer"]["stats"]["netSpend"] == "5000000"


def test_deleting_a_customer_removes_its_interactions(api: Api, shop: Workspace, config: AppConfig) -> None:
    customer_id = create_customer(api, shop.admin)
    kept = create_customer(api, shop.admin, name="Người khác")
    visit = "mutation($c: ID!) { recordInteraction(input: {customerId: $c, kind: VISIT}) { interaction { id } } }"
    for customer in (customer_id, customer_id, kept):
        api.ok(visit, {"c": customer}, shop.admin)
    api.ok(DELETE, {"id": customer_id}, shop.admin)
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        interactions = client[config.mongodb_db]["interactions"]
        assert interactions.count_documents({"customer_id": customer_id}) == 0
        assert interactions.count_documents({"customer_id": kept}) == 1
    finally:
        client.close()


def test_a_subscription_for_one_customer_receives_no_one_elses_changes(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    watched = create_customer(api, shop.admin, name="Được theo dõi")
    other = create_customer(api, shop.admin, name="Người khác")
    run_worker(config)
    query = "subscription($id: ID!) { customerClassChanged(customerId: $id) { customerId classSet current } }"
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"id": watched}}})
        api.hub_listening(1)
        record_order(api, shop.admin, other, "60000000", status="PAID")  # moves the other customer first
        run_worker(config)
        record_order(api, shop.admin, watched, "6000000", status="PAID")
        run_worker(config)
        event = ws.receive_json()["payload"]["data"]["customerClassChanged"]
    assert event["customerId"] == watched
