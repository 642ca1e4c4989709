"""Bulk scoring runs: exact counts, dry runs, cancel and resume, crash recovery, progress, permissions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rq import Queue
from starlette.testclient import TestClient

from api.app import create_app
from domain.auth.principals import Role
from domain.config import AppConfig
from domain.ports import SilentNotifier
from domain.runs.repository import ScoringRunRepository
from domain.runs.service import RunBatchExecutor
from domain.segments.membership import SegmentEvaluator
from domain.segments.repository import MembershipRepository, SegmentRepository
from domain.workspaces.repository import WorkspaceRepository
from tests.conftest import (
    Api,
    CommandCounter,
    Workspace,
    add_key,
    corrupt,
    create_customer,
    make_workspace,
    record_order,
    run_worker,
)
from tests.test_exactly_once import assert_clean_chains
from workers.runtime import WorkerRuntime

RUN_FIELDS = """id status total processed changed failed failedBatches dryRun classSets settingsVersion eta startedAt finishedAt
transitions { classSet from to count }"""
START = f"""mutation($input: ScoringRunInput) {{
  startScoringRun(input: $input) {{ run {{ {RUN_FIELDS} }} errors {{ field code message }} }}
}}"""
GET = f"query($id: ID!) {{ scoringRun(id: $id) {{ {RUN_FIELDS} }} }}"
CANCEL = "mutation($id: ID!) { cancelScoringRun(id: $id) { run { status } errors { code } } }"
RESUME = "mutation($id: ID!) { resumeScoringRun(id: $id) { run { status } errors { code } } }"
EVENTS = "query($id: ID!) { customer(id: $id) { classHistory(first: 200) { id classSet previous current version } } }"


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
    run = _start(api, shop.admin)  # returns at once: a job lists the customers into batches
    assert (run["status"], run["total"], run["processed"], run["dryRun"]) == ("PLANNING", 0, 0, False)
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
    runtime.run(runtime.runs.plan(run["id"]))
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
    runtime.run(runtime.runs.plan(run["id"]))
    queue.empty()  # type: ignore[no-untyped-call]  # the worker holding the run's jobs dies...
    runtime.run(runtime.run_batches.run_batch(run["id"], 0))  # ...after finishing batch 0
    runtime.run(runtime.rescoring.rescore(shop.id, ids[3:6]))  # ...and writing batch 1 without recording it
    halfway = _run(api, shop.admin, run["id"])
    assert (halfway["status"], halfway["processed"]) == ("RUNNING", 3)
    assert api.ok(RESUME, {"id": run["id"]}, shop.admin)["resumeScoringRun"]["run"]["status"] == "RUNNING"
    run_worker(config)
    done = _run(api, shop.admin, run["id"])
    assert (done["status"], done["total"], done["processed"], done["failed"]) == ("COMPLETED", 8, 8, 0)
    for customer_id in ids:  # nothing applied twice: each class set's history is one clean chain
        assert_clean_chains(api.ok(EVENTS, {"id": customer_id}, shop.admin)["customer"]["classHistory"])


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
    assert updates[0] == {"status": "PLANNING", "processed": 0, "total": 0}
    assert len(updates) >= 2  # pushed when the run moved on, not polled once at the end
    assert updates[-1] == {"status": "COMPLETED", "processed": 7, "total": 7}
    assert [u["processed"] for u in updates] == sorted(u["processed"] for u in updates)


class CancellingRescoring:
    """Cancels the run while its batch is being scored, as an operator might at any moment."""

    def __init__(self, runtime: WorkerRuntime, cancel: Any) -> None:
        self._rescoring = runtime.rescoring
        self._cancel = cancel

    async def rescore(self, *args: Any, **kwargs: Any) -> Any:
        await self._cancel()
        return await self._rescoring.rescore(*args, **kwargs)


def test_cancel_during_the_last_batch_then_resume_completes(
    api: Api, shop: Workspace, config: AppConfig, redis_client: Any, runtime: WorkerRuntime
) -> None:
    _customers(api, shop, 4)  # batches of 3: [0-2], [3]
    run_worker(config)
    run = _start(api, shop.admin)
    Queue(config.rq_queue, connection=redis_client).empty()  # type: ignore[no-untyped-call]
    runtime.run(runtime.runs.plan(run["id"]))
    runtime.run(runtime.run_batches.run_batch(run["id"], 0))
    principal = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    executor = RunBatchExecutor(
        ScoringRunRepository(runtime.db, runtime.clock),
        CancellingRescoring(runtime, lambda: runtime.runs.cancel(principal, run["id"])),  # type: ignore[arg-type]
        runtime.runs,
        SegmentEvaluator(SegmentRepository(runtime.db), MembershipRepository(runtime.db), SilentNotifier()),
        WorkspaceRepository(runtime.db, runtime.clock),
        runtime.clock,
    )
    runtime.run(executor.run_batch(run["id"], 1))
    cancelled = _run(api, shop.admin, run["id"])
    assert (cancelled["status"], cancelled["processed"]) == ("CANCELLED", 4)  # the last batch finished anyway
    resumed = api.ok(RESUME, {"id": run["id"]}, shop.admin)["resumeScoringRun"]["run"]
    assert resumed["status"] == "COMPLETED"  # nothing was left to do


def test_a_failing_batch_is_retried_then_fails_the_run_naming_it_and_resume_finishes(
    api: Api, shop: Workspace, config: AppConfig, runtime: WorkerRuntime
) -> None:
    ids = _customers(api, shop, 5)  # batches of 3: [0-2], [3-4]
    run_worker(config)
    corrupt(config, ids[4], {"$unset": {"created_at": ""}})  # a record the scorer cannot read
    run = _start(api, shop.admin)
    run_worker(config)
    first = _run(api, shop.admin, run["id"])
    assert (first["status"], first["processed"], first["failed"], first["failedBatches"]) == ("RUNNING", 3, 2, [1])
    for _ in range(2):  # the back-off passes; the sweeper retries the batch
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert runtime.run(runtime.runs.requeue_stalled(later, later - timedelta(minutes=15))) == 1
        run_worker(config)
    failed = _run(api, shop.admin, run["id"])
    assert (failed["status"], failed["failedBatches"], failed["finishedAt"] is not None) == ("FAILED", [1], True)
    assert runtime.run(runtime.runs.requeue_stalled(datetime.now(UTC) + timedelta(hours=1), datetime.now(UTC))) == 0
    corrupt(config, ids[4], {"$set": {"created_at": datetime.now(UTC)}})
    assert api.ok(RESUME, {"id": run["id"]}, shop.admin)["resumeScoringRun"]["run"]["status"] == "RUNNING"
    run_worker(config)
    done = _run(api, shop.admin, run["id"])
    assert (done["status"], done["processed"], done["failed"], done["failedBatches"]) == ("COMPLETED", 5, 0, [])


def test_a_finished_batch_is_never_made_pending_again(
    api: Api, shop: Workspace, config: AppConfig, runtime: WorkerRuntime
) -> None:
    _customers(api, shop, 4)
    run = _start(api, shop.admin)
    runtime.run(runtime.runs.plan(run["id"]))
    runtime.run(runtime.run_batches.run_batch(run["id"], 0))
    repository = ScoringRunRepository(runtime.db, runtime.clock)
    runtime.run(repository.mark_enqueued(run["id"], [0, 1]))
    assert runtime.run(repository.unfinished_batches(run["id"])) == [1]


def test_progress_subscriptions_end_at_the_subscription_lifetime(config: AppConfig) -> None:
    short = config.model_copy(update={"subscription_max_seconds": 1.0})
    with TestClient(create_app(short)) as client:
        api = Api(client)
        shop = make_workspace(api)
        run = _start(api, shop.admin)  # no worker: the run stays PLANNING
        query = "subscription($id: ID!) { scoringRunProgress(id: $id) { status } }"
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "p", "type": "subscribe", "payload": {"query": query, "variables": {"id": run["id"]}}})
            assert ws.receive_json()["payload"]["data"]["scoringRunProgress"] == {"status": "PLANNING"}
            assert ws.receive_json()["type"] == "complete"


def test_starting_a_run_costs_the_same_database_work_whatever_the_workspace_size(
    api: Api, shop: Workspace, commands: CommandCounter
) -> None:
    def start_cost() -> int:
        with commands.counting() as counted:
            _start(api, shop.admin)
        return counted.total

    start_cost()  # the first request also looks the key up
    small = start_cost()
    _customers(api, shop, 12)
    assert start_cost() == small
