"""Faults really injected: MongoDB going away, a worker killed with SIGKILL, Redis restarted."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from starlette.testclient import TestClient

from api.app import create_app
from devstack.processes import ManagedProcess, free_port, start_mongo_dev_server, start_redis, start_worker
from domain.config import AppConfig
from tests.conftest import Api, create_customer, make_workspace, process_env, receive_within, record_order

needs_local_mongo = pytest.mark.skipif(
    bool(os.environ.get("MONGODB_URI")), reason="stops and restarts the MongoDB server, so only the local one"
)


def _wait_for(check: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def own_mongo(config: AppConfig, tmp_path: Path) -> Iterator[tuple[AppConfig, int, ManagedProcess]]:
    port = free_port()
    process, uri = start_mongo_dev_server(port, tmp_path / "mongo.log")
    # No cached keys: the test shows what the API says once the database forgot them.
    yield config.model_copy(update={"mongodb_uri": uri, "key_cache_seconds": 0}), port, process
    process.stop()


@needs_local_mongo
def test_mongodb_outage_gives_a_clear_error_and_the_api_recovers(
    own_mongo: tuple[AppConfig, int, ManagedProcess], tmp_path: Path
) -> None:
    config, port, mongo_process = own_mongo
    with TestClient(create_app(config)) as client:
        api = Api(client)
        shop = make_workspace(api)
        assert api.ok("{ customers { totalCount } }", None, shop.admin)

        mongo_process.kill()
        started = time.monotonic()
        body = api.gql("{ customers { totalCount } }", None, shop.admin)
        assert time.monotonic() - started < 15
        assert body["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE", "retryAfter": 5}
        assert "Traceback" not in str(body)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["mongodb"].startswith("unavailable")
        assert client.get("/healthz").status_code == 200

        restarted, _ = start_mongo_dev_server(port, tmp_path / "mongo-again.log")
        try:
            assert _wait_for(lambda: client.get("/readyz").status_code == 200, 20)
            # The in-memory server came back empty: the key is unknown now, which the API says plainly.
            after = api.gql("{ customers { totalCount } }", None, shop.admin)
            assert after["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        finally:
            restarted.stop()


RUN = "query($id: ID!) { scoringRun(id: $id) { status total processed failed } }"
HISTORY = "query($id: ID!) { customer(id: $id) { classHistory(first: 40) { id classSet previous current } } }"


def test_a_worker_killed_mid_run_loses_nothing_and_applies_nothing_twice(config: AppConfig, tmp_path: Path) -> None:
    config = config.model_copy(update={"scoring_batch_size": 2})
    with TestClient(create_app(config)) as client:
        api = Api(client)
        shop = make_workspace(api)
        admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
        rows = [{"name": f"Khách {i}"} for i in range(80)]
        customers = api.call(lambda: api.services.customers.create_many(admin, rows))
        orders = [{"customer_id": c.id, "total": 6_000_000, "status": "paid"} for c in customers[::3]]
        api.call(lambda: api.services.orders.record_many(admin, orders))
        start = "mutation { startScoringRun { run { id } } }"
        run_id = api.ok(start, None, shop.admin)["startScoringRun"]["run"]["id"]

        worker = start_worker(process_env(config), tmp_path / "worker-1.log")
        assert _wait_for(lambda: api.ok(RUN, {"id": run_id}, shop.admin)["scoringRun"]["processed"] >= 4, 60)
        worker.kill()  # SIGKILL: no clean-up, a batch may be half written
        halfway = api.ok(RUN, {"id": run_id}, shop.admin)["scoringRun"]
        assert halfway["status"] == "RUNNING" and halfway["processed"] < 80

        replacement = start_worker(process_env(config), tmp_path / "worker-2.log")
        try:
            api.ok("mutation($id: ID!) { resumeScoringRun(id: $id) { run { status } } }", {"id": run_id}, shop.admin)
            assert _wait_for(lambda: api.ok(RUN, {"id": run_id}, shop.admin)["scoringRun"]["status"] == "COMPLETED", 90)
        finally:
            replacement.stop()
        done = api.ok(RUN, {"id": run_id}, shop.admin)["scoringRun"]
        assert (done["total"], done["processed"], done["failed"]) == (80, 80, 0)
        for customer in customers:
            history = api.ok(HISTORY, {"id": customer.id}, shop.admin)["customer"]["classHistory"]
            transitions = [(e["classSet"], e["previous"], e["current"]) for e in history]
            assert len(transitions) == len(set(transitions)), transitions  # nothing applied twice
            assert {e["classSet"] for e in history} >= {"spend_tier", "age_band", "deal_status"}  # nothing lost


def test_the_batch_a_killed_worker_held_is_taken_over_without_waiting_for_the_long_timeout(
    config: AppConfig, tmp_path: Path
) -> None:
    config = config.model_copy(update={"scoring_batch_size": 2})
    # Beats every half second, dead after three: the same rule as the defaults (10 s, 45 s), sooner.
    env = {**process_env(config), "WORKER_HEARTBEAT_SECONDS": "0.5", "WORKER_DEAD_AFTER_SECONDS": "3"}
    with TestClient(create_app(config)) as client:
        api = Api(client)
        shop = make_workspace(api)
        admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
        customers = api.call(lambda: api.services.customers.create_many(admin, [{"name": f"K {i}"} for i in range(60)]))
        orders = [{"customer_id": c.id, "total": 6_000_000, "status": "paid"} for c in customers[::3]]
        api.call(lambda: api.services.orders.record_many(admin, orders))
        run_id = api.ok("mutation { startScoringRun { run { id } } }", None, shop.admin)["startScoringRun"]["run"]["id"]
        worker = start_worker(env, tmp_path / "worker-1.log")
        mongo: MongoClient[dict[str, object]] = MongoClient(config.mongodb_uri)
        batches = mongo[config.mongodb_db]["scoring_run_batches"]
        assert _wait_for(lambda: batches.count_documents({"run_id": run_id, "status": "done"}) >= 2, 60)
        assert _wait_for(lambda: batches.count_documents({"run_id": run_id, "running_on": {"$type": "string"}}), 60)
        worker.kill()  # in the middle of a batch: its job is lost with it
        mongo.close()
        replacement = start_worker(env, tmp_path / "worker-2.log")
        try:  # nobody resumes the run: the sweeper sees the dead worker's batch and queues it again
            assert _wait_for(lambda: api.ok(RUN, {"id": run_id}, shop.admin)["scoringRun"]["status"] == "COMPLETED", 90)
        finally:
            replacement.stop()
        done = api.ok(RUN, {"id": run_id}, shop.admin)["scoringRun"]
        assert (done["total"], done["processed"], done["failed"]) == (60, 60, 0)


@pytest.mark.timeout(300)
def test_the_import_a_killed_worker_held_is_taken_over_without_waiting_for_its_lease(
    config: AppConfig, tmp_path: Path
) -> None:
    env = {**process_env(config), "WORKER_HEARTBEAT_SECONDS": "0.5", "WORKER_DEAD_AFTER_SECONDS": "3"}
    rows = 1500  # three batches: the kill lands between the first and the last
    body = "external_id,name\n" + "".join(f"KH-{n},Khách {n}\n" for n in range(rows))
    with TestClient(create_app(config)) as client:
        api = Api(client)
        shop = make_workspace(api)
        upload = client.post(
            "/import/customers.csv", content=body.encode(),
            headers={"Authorization": f"Bearer {shop.admin}", "Content-Type": "text/csv"},
        )  # fmt: skip
        import_id = upload.json()["id"]
        job = "query($id: ID!) { importJob(id: $id) { status rowsDone imported failed } }"

        def state() -> dict[str, Any]:
            return api.ok(job, {"id": import_id}, shop.admin)["importJob"]  # type: ignore[no-any-return]

        worker = start_worker(env, tmp_path / "worker-1.log")
        assert _wait_for(lambda: 0 < state()["rowsDone"] < rows, 60)
        worker.kill()  # mid-import, holding its ten-minute lease
        replacement = start_worker(env, tmp_path / "worker-2.log")
        try:  # the sweeper sees the lease's worker is dead, releases it and queues the import again
            # (behind the rescore of what was imported so far, which a loaded machine takes a while over)
            assert _wait_for(lambda: state()["status"] == "completed", 180), state()
        finally:
            replacement.stop()
        assert (state()["imported"], state()["failed"]) == (rows, 0)
        stored: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
        try:  # counted in MongoDB: the workspace's maintained count may lag a batch the kill cut short
            assert stored[config.mongodb_db]["customers"].count_documents({"workspace_id": shop.id}) == rows
        finally:
            stored.close()


def test_redis_restart_reconnects_the_api_the_worker_and_subscriptions(config: AppConfig, tmp_path: Path) -> None:
    port = free_port()
    redis_process, redis_url = start_redis(port, tmp_path / "redis.log")
    config = config.model_copy(update={"redis_url": redis_url})
    worker = start_worker(process_env(config), tmp_path / "worker.log")
    try:
        with TestClient(create_app(config)) as client:
            api = Api(client)
            shop = make_workspace(api)
            query = 'subscription { customerClassChanged(classSet: "spend_tier") { id current } }'
            with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
                ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
                assert ws.receive_json()["type"] == "connection_ack"
                ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
                api.hub_listening(1)
                customer_id = create_customer(api, shop.admin)  # the only customer of this new workspace
                first = receive_within(ws, 60)["payload"]["data"]["customerClassChanged"]
                assert first["current"] == "none"

                # The worker is paused so that it cannot publish before the API listens again: an event
                # published while nobody subscribes is gone (a resumable subscription would replay it).
                os.kill(worker.process.pid, signal.SIGSTOP)
                redis_process.stop()  # the queue and the pub/sub go away...
                assert _wait_for(lambda: client.get("/readyz").json()["events"] is False, 30)
                record_order(api, shop.admin, customer_id, "6000000", status="PAID")  # ...while a write happens
                redis_process, _ = start_redis(port, tmp_path / "redis-again.log")
                assert _wait_for(lambda: client.get("/readyz").json()["events"] is True, 30)
                os.kill(worker.process.pid, signal.SIGCONT)  # it reconnects and its sweeper finds the work

                event = receive_within(ws, 60)["payload"]["data"]["customerClassChanged"]
                while event["id"] == first["id"]:  # a re-delivery of the first change: same id, dropped
                    event = receive_within(ws, 60)["payload"]["data"]["customerClassChanged"]
                assert event["current"] == "platinum"
    finally:
        worker.stop()
        redis_process.stop()


def test_while_redis_is_down_writes_succeed_and_only_the_first_waits_for_it(config: AppConfig, tmp_path: Path) -> None:
    redis_process, redis_url = start_redis(free_port(), tmp_path / "redis.log")
    config = config.model_copy(update={"redis_url": redis_url})
    with TestClient(create_app(config)) as client:
        api = Api(client)
        shop = make_workspace(api)
        customer_id = create_customer(api, shop.admin)
        queue, limiter = client.app.state.rescore_queue, client.app.state.rate_limiter  # type: ignore[attr-defined]
        assert queue.breaker.available and limiter.breaker.available
        redis_process.stop()
        orders = [record_order(api, shop.admin, customer_id, "100000", status="PAID") for _ in range(5)]
        # every write answered; after the first failure, Redis is skipped for a few seconds instead of being
        # retried on every request (the dirty flag in MongoDB keeps the rescore owed)
        assert len({order["id"] for order in orders}) == 5
        assert not queue.breaker.available and not limiter.breaker.available
        stored = _customer_document(config, customer_id)
        assert stored["scoring"]["dirty"] is True


def _customer_document(config: AppConfig, customer_id: str) -> dict[str, Any]:
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri, tz_aware=True)
    try:
        document = client[config.mongodb_db]["customers"].find_one({"_id": customer_id})
    finally:
        client.close()
    assert document is not None
    return document


OUTAGE = {"code": "SERVICE_UNAVAILABLE", "retryAfter": 5}


@needs_local_mongo
def test_an_outage_has_one_shape_whether_the_key_check_or_the_query_meets_it(
    own_mongo: tuple[AppConfig, int, ManagedProcess],
) -> None:
    config, _port, mongo_process = own_mongo
    with TestClient(create_app(config.model_copy(update={"key_cache_seconds": 60}))) as client:
        api = Api(client)
        shop = make_workspace(api)
        assert api.ok("{ customers { totalCount } }", None, shop.admin)  # the admin key is cached now
        mongo_process.kill()
        in_query = api.gql("{ customers { totalCount } }", None, shop.admin)
        in_key_check = api.gql("{ customers { totalCount } }", None, "crm_a_key_never_seen_before")
    assert [error["extensions"] for error in in_query["errors"]] == [OUTAGE]
    assert [error["extensions"] for error in in_key_check["errors"]] == [OUTAGE]


@needs_local_mongo
def test_plain_routes_answer_an_outage_as_a_retryable_json_error(
    own_mongo: tuple[AppConfig, int, ManagedProcess],
) -> None:
    config, _port, mongo_process = own_mongo
    cached = config.model_copy(update={"key_cache_seconds": 60})
    allow_list = cached.model_copy(update={"persisted_queries": "allowlist"})
    with TestClient(create_app(cached)) as client, TestClient(create_app(allow_list)) as strict:
        api = Api(client)
        shop = make_workspace(api)
        assert api.ok("{ customers { totalCount } }", None, shop.admin)  # the admin key is cached now
        mongo_process.kill()
        for token in (shop.admin, "crm_a_key_never_seen_before"):  # the outage met after or in the key check
            headers = {"Authorization": f"Bearer {token}"}
            answers = {
                "export": client.get("/export/customers.csv", headers=headers),
                "import": client.post("/import/customers.csv", content=b"name\nLan\n", headers=headers),
            }
            for route, response in answers.items():
                assert response.status_code == 503, (route, token, response.text)
                assert response.headers["retry-after"] == "5"
                assert [error["extensions"] for error in response.json()["errors"]] == [OUTAGE]
            # In allow-list mode the document is looked up in MongoDB before anything runs.
            graphql = strict.post("/graphql", json={"query": "{ customers { totalCount } }"}, headers=headers)
            assert graphql.status_code == 200, graphql.text  # as GraphQL answers an outage met while running
            assert [error["extensions"] for error in graphql.json()["errors"]] == [OUTAGE], graphql.text


@needs_local_mongo
def test_an_export_cut_by_an_outage_ends_without_looking_complete_and_says_why_in_the_log(
    own_mongo: tuple[AppConfig, int, ManagedProcess], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config, _port, mongo_process = own_mongo
    with TestClient(create_app(config), raise_server_exceptions=False) as client:
        api = Api(client)
        shop = make_workspace(api)
        for name in ("Lan", "Minh", "Hoa"):
            create_customer(api, shop.admin, name=name)
        customers = api.services.customers
        pages = customers.export_pages

        async def one_page_then_the_outage(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            async for page in pages(*args, **{**kwargs, "batch": 1}):
                yield page
                mongo_process.kill()  # MongoDB goes away while the file is being sent

        monkeypatch.setattr(customers, "export_pages", one_page_then_the_outage)
        with caplog.at_level(logging.WARNING, logger="api.export"):
            response = client.get("/export/customers.csv", headers={"Authorization": f"Bearer {shop.admin}"})
    assert response.status_code == 200  # sent before the outage
    assert "Lan" in response.text and "Minh" not in response.text
    [record] = [r for r in caplog.records if r.name == "api.export"]
    assert "export cut" in record.getMessage() and "unreachable" in record.getMessage()


@needs_local_mongo
def test_an_outage_met_before_a_websocket_operation_runs_is_answered_on_that_operation(
    own_mongo: tuple[AppConfig, int, ManagedProcess],
) -> None:
    config, _port, mongo_process = own_mongo
    strict = config.model_copy(update={"key_cache_seconds": 60, "persisted_queries": "allowlist"})
    with TestClient(create_app(strict)) as client:
        shop = make_workspace(Api(client))
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            mongo_process.kill()  # the allow-list is in MongoDB
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ customers { totalCount } }"}})
            message = receive_within(ws, 30)
            assert message["type"] == "error" and [e["extensions"] for e in message["payload"]] == [OUTAGE], message
            ws.send_json({"type": "ping"})
            assert receive_within(ws, 10) == {"type": "pong"}  # the connection itself stays up
