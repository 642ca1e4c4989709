"""A subscriber that reconnects with the last event id it saw first receives what it missed, in the
ledger's order, then the new changes: no gap, no duplicate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from domain.config import AppConfig
from tests.conftest import Api, create_customer, make_workspace, receive_within, record_order, run_worker

QUERY = (
    """subscription($after: ID) { customerClassChanged(after: $after) { id customerId classSet previous current } }"""
)


@pytest.fixture
def quick_api(config: AppConfig) -> Iterator[Api]:
    with TestClient(create_app(config.model_copy(update={"event_settle_seconds": 0.2}))) as client:
        yield Api(client)


def _subscribe(api: Api, token: str, after: str | None) -> Any:
    ws = api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
    socket = ws.__enter__()
    socket.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert socket.receive_json()["type"] == "connection_ack"
    socket.send_json({"id": "1", "type": "subscribe", "payload": {"query": QUERY, "variables": {"after": after}}})
    return ws, socket


def _ledger(api: Api, token: str, customer_ids: list[str]) -> list[str]:
    ids = []
    for customer_id in customer_ids:
        history = api.ok("query($id: ID!) { customer(id: $id) { classHistory(first: 100) { id } } }",
                         {"id": customer_id}, token)["customer"]["classHistory"]  # fmt: skip
        ids += [event["id"] for event in history]
    return ids


def test_a_reconnecting_subscriber_gets_what_it_missed_once_then_the_new_changes(
    quick_api: Api, config: AppConfig
) -> None:
    api = quick_api
    shop = make_workspace(api)
    ws, socket = _subscribe(api, shop.admin, "now")
    api.hub_listening(1)
    first = create_customer(api, shop.admin, name="Lan")
    run_worker(config)
    initial = set(_ledger(api, shop.admin, [first]))
    seen = [receive_within(socket, 20)["payload"]["data"]["customerClassChanged"]["id"] for _ in initial]
    assert set(seen) == initial
    ws.__exit__(None, None, None)  # the phone goes into a tunnel

    second = create_customer(api, shop.admin, name="Minh")
    record_order(api, shop.admin, first, "30000000", status="PAID")
    run_worker(config)
    missed = set(_ledger(api, shop.admin, [first, second])) - set(seen)
    assert len(missed) >= 5

    ws, socket = _subscribe(api, shop.admin, seen[-1])
    try:
        replayed = [receive_within(socket, 20)["payload"]["data"]["customerClassChanged"]["id"] for _ in missed]
        assert set(replayed) == missed and len(replayed) == len(set(replayed))
        record_order(api, shop.admin, second, "30000000", status="PAID")  # while connected again
        run_worker(config)
        live = receive_within(socket, 20)["payload"]["data"]["customerClassChanged"]
        assert live["customerId"] == second and live["id"] not in set(replayed) | set(seen)
    finally:
        ws.__exit__(None, None, None)


def test_an_unknown_event_id_is_refused(quick_api: Api) -> None:
    api = quick_api
    shop = make_workspace(api)
    ws, socket = _subscribe(api, shop.admin, "nobody:spend_tier:1")
    try:
        message = receive_within(socket, 10)
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    finally:
        ws.__exit__(None, None, None)
