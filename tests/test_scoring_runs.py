"""Bulk scoring runs: exact counts, dry runs, cancel and resume, crash recovery, progress, permissions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rq import Queue

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, record_order, run_worker
from workers.runtime import WorkerRuntime

RUN_FIELDS = """id status total processed changed failed dryRun classSets settingsVersion eta startedAt finishedAt
transitions { classSet from to count }"""
START = f"""mutation($input: ScoringRunInput) {{
  startScoringRun(input: $input) {{ run {{ {RUN_FIELDS} }} errors {{ field code message }} }}
}}"""
GET = f"query($id: ID!) {{ scoringRun(id: $id) {{ {RUN_FIELDS} }} }}"
CANCEL = "mutation($id: ID!) { cancelScoringRun(id: $id) { run { status } errors { code } } }"
RESUME = "mutation($id: ID!) { resumeScoringRun(id: $id) { run { status } errors { code } } }"
EVENTS = "query($id: ID!) { customer(id: $id) { classHistory(first: 200) { id classSet } } }"


@pytest.fixture
def config(config: AppConfig) -> AppConfig:
    return config.model_copy(update={"scoring_batch_size": 3})  # several batches from a handful of customers


@pytest.fixture
def runtime(config: AppConfig) -> Iterator[WorkerRuntime]:
    runtime = WorkerRuntime.open(config)
    yield runtime
    runtime.close()


def _customers(api: Api, shop: Workspace, count: int) -> list[str]:
    ids = [create_customer(api, shop.admin, name=f"Khách {i}") for i in range(count)]
    for number, customer_id in enumerate(ids[::2]):
        record_order(api, shop.admin, customer_id, "6000000", status="PAID", externalId=f"o{number}")
    return ids


def _start(api: Api, token: str, **options: Any) -> dict[str, Any]:
    payload = api.ok(START, {"input": options}, token)["startScoringRun"]
    return payload["run"]  # type: ignore[no-any-return]


def _run(api: Api, token: str, run_id: str) -> dict[str, Any]:
    return api.ok(GET, {"id": run_id}, token)["scoringRun"]  # type: ignore[no-any-return]


def test_a_run_scores_every_customer_once_with_exact_counts(api: Api, shop: Workspace, config: AppConfig) -> None:
    ids = _customers(api, shop, 8)
    run_worker(config)  # every customer scored once already
    run = _start(api, shop.admin)
    assert (run["status"], run["total"], run["processed"], run["dryRun"]) == ("RUNNING", 8, 0, False)
    run_worker(config)
    done = _run(api, shop.admin, run["id"])
    assert (done["status"], done["total"], done["processed"], done["failed"]) == ("COMPLETED", 8, 8, 0)
    assert done["changed"] == 0 and done["transitions"] == []  # nothing moved since the last rescore
    assert done["finishedAt"] is not None and done["eta"] is None
    histories = [api.ok(EVENTS, {"id": cid}, shop.admin)["customer"]["classHistory"] for cid in ids]
    assert all(len(history) == len({e["id"] for e in history}) for history in histories)


def test_dry_run_reports_transitions_and_writes_nothing(
    api: Api, shop: Workspace, config: AppConfig, redis_client: Any, runtime: WorkerRuntime
) -> None:
    ids = _customers(api, shop, 4)
    Queue(config.rq_queue, connection=redis_client).empty()  # type: ignore[no-untyped-call]
    run = _start(api, shop.admin, dryRun=True, classSets=["spend_tier"])
    for number in range(2):
        runtime.run(runtime.run_batches.run_batch(run["id"], number))
    done = _run(api, shop.admin, run["id"])
    assert (done["status"], done["processed"], done["changed"], done["classSets"]) == (
        "COMPLETED",
        4,
        4,
        ["spend_tier"],
    )
    assert {(t["classSet"], t["from"], t["to"], t["count"]) for t in done["transitions"]} == {
        ("spend_tier", None, "platinum", 2),
        ("spend_tier", None, "none", 2),
    }
    for customer_id in ids:
        customer = api.ok("query($id: ID!) { customer(id: $id) { classes { code } } }", {"id": customer_id}, shop.admin)
        assert customer["customer"]["classes"] == []
        assert api.ok(EVENTS, {"id": customer_id}, shop.admin)["customer"]["classHistory"] == []


def test_a_run_interrupted_mid_way_and_resumed_ends_with_exact_counts(
    api: Api, shop: Workspace, config: AppConfig, redis_client: Any, runtime: WorkerRuntime
) -> None:
    ids = _customers(api, shop, 8)  # batches of 3: [0-2], [3-5], [6-7]
    queue = Queue(config.rq_queue, connection=redis_client)
    queue.empty()  # type: ignore[no-untyped-call]
    run = _start(api, shop.admin)
    queue.empty()  # type: ignore[no-untyped-call]  # the worker holding the run's jobs dies...
    runtime.run(runtime.run_batches.run_batch(run["id"], 0))  # ...after finishing batch 0
    runtime.run(runtime.rescoring.rescore(shop.id, ids[3:6]))  # ...and writing batch 1 without recording it
    halfway = _run(api, shop.admin, run["id"])
    assert (halfway["status"], halfway["processed"]) == ("RUNNING", 3)
    assert api.ok(RESUME, {"id": run["id"]}, shop.admin)["resumeScoringRun"]["run"]["status"] == "RUNNING"
    run_worker(config)
    done = _run(api, shop.admin, run["id"])
    assert (done["status"], done["total"], done["processed"], done["failed"]) == ("COMPLETED", 8, 8, 0)
    for customer_id in ids:  # nobody was changed twice: one event per class set
        history = api.ok(EVENTS, {"id": customer_id}, shop.admin)["customer"]["classHistory"]
        assert len(history) == len({e["classSet"] for e in history})


def test_cancel_stops_the_remaining_batches_and_resume_finishes_them(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _customers(api, shop, 5)
    run_worker(config)
    run = _start(api, shop.admin)
    assert api.ok(CANCEL, {"id": run["id"]}, shop.admin)["cancelScoringRun"]["run"]["status"] == "CANCELLED"
    run_worker(config)
    cancelled = _run(api, shop.admin, run["id"])
    assert (cancelled["status"], cancelled["processed"]) == ("CANCELLED", 0)
    again = api.gql(CANCEL, {"id": run["id"]}, shop.admin)["data"]["cancelScoringRun"]["errors"]
    assert again == [{"code": "NOT_RUNNING"}]
    api.ok(RESUME, {"id": run["id"]}, shop.admin)
    run_worker(config)
    assert _run(api, shop.admin, run["id"])["processed"] == 5
    assert api.gql(RESUME, {"id": run["id"]}, shop.admin)["data"]["resumeScoringRun"]["errors"] == [
        {"code": "ALREADY_COMPLETED"}
    ]


def test_runs_are_for_ops_and_admin(api: Api, shop: Workspace) -> None:
    _, ops = add_key(api, shop, Role.OPS)
    _, sales = add_key(api, shop, Role.SALES)
    _, viewer = add_key(api, shop, Role.VIEWER)
    run = _start(api, ops)
    for token in (sales, viewer):
        assert api.gql(START, {}, token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert api.gql(CANCEL, {"id": run["id"]}, token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert _run(api, viewer, run["id"])["id"] == run["id"]
    bad = api.gql(START, {"input": {"classSets": ["zodiac"]}}, ops)
    assert bad["data"]["startScoringRun"]["errors"][0]["code"] == "UNKNOWN_CLASS_SET"


def test_progress_is_pushed_until_the_run_completes(api: Api, shop: Workspace, config: AppConfig) -> None:
    _customers(api, shop, 7)
    run_worker(config)
    run = _start(api, shop.admin)
    query = "subscription($id: ID!) { scoringRunProgress(id: $id) { status processed total } }"
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "p", "type": "subscribe", "payload": {"query": query, "variables": {"id": run["id"]}}})
        updates = [ws.receive_json()["payload"]["data"]["scoringRunProgress"]]
        run_worker(config)  # meanwhile the subscription keeps reading the run and queues updates
        while (message := ws.receive_json())["type"] == "next":
            updates.append(message["payload"]["data"]["scoringRunProgress"])
    assert message["type"] == "complete"
    assert updates[0] == {"status": "RUNNING", "processed": 0, "total": 7}
    assert updates[-1] == {"status": "COMPLETED", "processed": 7, "total": 7}
    assert [u["processed"] for u in updates] == sorted(u["processed"] for u in updates)
