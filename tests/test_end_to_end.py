"""The whole stack as a user runs it: a live uvicorn, a real RQ worker process, a websocket client."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
from pymongo import AsyncMongoClient
from websockets.asyncio.client import connect

from devstack.processes import ManagedProcess, free_port, start_api, start_worker
from domain.config import AppConfig
from domain.db import Database
from domain.queueing import RqRescoreQueue
from domain.services import build_services
from tests.conftest import process_env

DELIVERY_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class LiveStack:
    base: str
    token: str
    worker: ManagedProcess
    logs: Path


def _create_workspace(config: AppConfig, token: str) -> None:
    async def create() -> None:
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(config.mongodb_uri, tz_aware=True)
        try:
            db = Database.connect(mongo, config.mongodb_db)
            await db.ensure_indexes()
            services = build_services(db, RqRescoreQueue(redis.Redis.from_url(config.redis_url), config.rq_queue, 60))
            await services.workspaces.create("E2E shop", admin_token=token)
        finally:
            await mongo.close()

    asyncio.run(create())


@pytest.fixture
def live_stack(config: AppConfig, tmp_path: Path) -> Iterator[LiveStack]:
    token = "crm_e2e_" + os.urandom(8).hex()
    _create_workspace(config, token)
    env = process_env(config)
    api, base = start_api(env, free_port(), tmp_path / "api.log")
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        yield LiveStack(base, token, worker, tmp_path)
    finally:
        worker.stop()
        api.stop()


def _graphql(stack: LiveStack, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx2.post(
        f"{stack.base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {stack.token}"},
        timeout=10,
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def _wait_for_subscriptions(stack: LiveStack, count: int) -> None:
    """The API reports its registered subscriptions on /readyz: a handshake, not a guess."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while httpx2.get(f"{stack.base}/readyz", timeout=5).json()["subscriptions"] < count:
        assert time.monotonic() < deadline, "the subscription never registered"
        time.sleep(0.02)


async def _next_message(ws: Any, wanted: str) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), DELIVERY_TIMEOUT_SECONDS))
        if message["type"] == wanted:
            return message  # type: ignore[no-any-return]
        assert message["type"] in ("ping", "pong"), message


def test_paid_orders_reach_a_subscriber_as_a_spend_tier_change(live_stack: LiveStack) -> None:
    created = _graphql(live_stack, 'mutation { createCustomer(input: {name: "Lê Thu Hà"}) { customer { id } } }')
    customer_id = created["createCustomer"]["customer"]["id"]

    async def scenario() -> tuple[dict[str, Any], float]:
        ws_url = live_stack.base.replace("http://", "ws://") + "/graphql"
        async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {live_stack.token}"}})
            )
            await _next_message(ws, "connection_ack")
            query = (
                'subscription($id: ID!) { customerClassChanged(customerId: $id, classSet: "spend_tier") '
                '{ id customerId classSet previous current at settingsVersion evidence(lang: "vi") evidenceData } }'
            )
            await ws.send(
                json.dumps(
                    {
                        "id": "s1",
                        "type": "subscribe",
                        "payload": {"query": query, "variables": {"id": customer_id}},
                    }
                )
            )
            await asyncio.to_thread(_wait_for_subscriptions, live_stack, 1)  # registered before the change
            started = time.monotonic()
            for number in range(3):
                order = {
                    "customerId": customer_id,
                    "total": "2500000",
                    "status": "PAID",
                    "externalId": f"e2e-{number}",
                }
                await asyncio.to_thread(
                    _graphql,
                    live_stack,
                    "mutation($o: OrderInput!) { recordOrder(input: $o) { order { id } } }",
                    {"o": order},
                )
            while True:
                message = await _next_message(ws, "next")
                event = message["payload"]["data"]["customerClassChanged"]
                if event["current"] == "platinum":
                    return event, time.monotonic() - started

    event, seconds = asyncio.run(scenario())
    assert event["customerId"] == customer_id and event["classSet"] == "spend_tier"
    assert event["previous"] in (None, "none", "new")
    assert event["settingsVersion"] == 1
    # Two or three of the orders may be in when the worker scores: either way past platinum's threshold.
    assert event["evidenceData"]["net_spend_minor"] in (5_000_000, 7_500_000)
    assert event["evidence"].endswith("≥ ngưỡng Bạch kim (Platinum) 5.000.000 VND")
    assert seconds < DELIVERY_TIMEOUT_SECONDS
    customer = _graphql(
        live_stack,
        "query($id: ID!) { customer(id: $id) { classes { classSet code } stats { netSpend } } }",
        {"id": customer_id},
    )["customer"]
    classes = {c["classSet"]: c["code"] for c in customer["classes"]}
    assert classes["spend_tier"] == "platinum"
    assert (classes["purchase_stage"], classes["deal_status"]) == ("repeat", "quality")
    assert customer["stats"] == {"netSpend": "7500000"}
    assert live_stack.worker.alive()


def test_clients_that_hang_up_mid_request_leave_no_traceback(live_stack: LiveStack, tmp_path: Path) -> None:
    host, port = live_stack.base.removeprefix("http://").split(":")
    for sent in (b"", b'{"query": "{ cust'):
        with socket.create_connection((host, int(port))) as raw:
            raw.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
                b"Content-Length: 500\r\n\r\n" + sent
            )
    body = b'{"query": "{ customers(first: 100) { edges { node { name } } } }"}'
    with socket.create_connection((host, int(port))) as raw:  # hangs up before the answer
        raw.sendall(b"POST /graphql HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
    assert _graphql(live_stack, "{ __typename }") == {"__typename": "Query"}  # still serving
    assert "Traceback" not in (live_stack.logs / "api.log").read_text()
