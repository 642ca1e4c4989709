"""Production's shape: several worker processes, the sweeper, a scoring run resumed mid-way and orders
arriving all the while, with and without workers killed. Every class change is recorded exactly once."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from devstack.processes import ManagedProcess, start_worker
from domain.config import AppConfig
from tests.conftest import Api, Workspace, process_env, record_order
from tests.test_exactly_once import HISTORY, assert_clean_chains
from workers.runtime import WorkerRuntime

WORKERS = 4
CUSTOMERS = 50
SET_STATUS = """mutation($id: ID!, $status: OrderStatus!, $refund: Decimal) {
  setOrderStatus(id: $id, status: $status, refundAmount: $refund) { order { status } errors { code } } }"""
RUN = "query($id: ID!) { scoringRun(id: $id) { status total processed failed } }"
STATS = "query($id: ID!) { customer(id: $id) { stats { netSpend } } }"


@pytest.fixture
def config(config: AppConfig) -> AppConfig:
    return config.model_copy(update={"scoring_batch_size": 7})  # a run of several batches


@dataclass
class Traffic:
    """Orders and refunds for a set of customers, with the net spend each should end with."""

    api: Api
    shop: Workspace
    customers: list[str]
    rng: random.Random
    paid: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)  # order id, total, refunded
    sent: int = 0

    def step(self) -> None:
        customer = self.rng.choice(self.customers)
        orders = self.paid.setdefault(customer, [])
        refundable = [index for index, (_, total, refunded) in enumerate(orders) if refunded < total]
        if refundable and self.rng.random() < 0.25:
            index = self.rng.choice(refundable)
            order_id, total, refunded = orders[index]
            new_refund = min(total, refunded + self.rng.choice([1_000_000, total]))
            body = {"id": order_id, "status": "REFUNDED", "refund": str(new_refund)}
            self.api.ok(SET_STATUS, body, self.shop.admin)
            orders[index] = (order_id, total, new_refund)
        else:
            total = self.rng.choice([2_000_000, 4_000_000, 9_000_000, 30_000_000])
            order = record_order(self.api, self.shop.admin, customer, str(total), status="PAID")
            orders.append((order["id"], total, 0))
        self.sent += 1

    def net_spend(self, customer: str) -> int:
        return sum(total - refunded for _, total, refunded in self.paid.get(customer, []))


@dataclass
class Workers:
    config: AppConfig
    logs: Path
    running: list[ManagedProcess] = field(default_factory=list)
    started: int = 0

    def start(self) -> None:
        self.started += 1
        self.running.append(start_worker(process_env(self.config), self.logs / f"worker-{self.started}.log"))

    def kill_one(self, rng: random.Random) -> None:
        victim = self.running.pop(rng.randrange(len(self.running)))
        victim.kill()

    def stop_all(self) -> None:
        for worker in self.running:
            worker.stop()


@pytest.fixture
def workers(config: AppConfig, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(config, tmp_path)
    for _ in range(WORKERS):
        pool.start()
    yield pool
    pool.stop_all()


def _make_customers(api: Api, shop: Workspace) -> list[str]:
    admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    rows = [{"name": f"Khách {i}", "birth_date": f"{1950 + i}-0{1 + i % 9}-1{i % 10}"} for i in range(CUSTOMERS)]
    return [customer.id for customer in api.call(lambda: api.services.customers.create_many(admin, rows))]


def _start_run(api: Api, shop: Workspace) -> str:
    payload = api.ok("mutation { startScoringRun { run { id } } }", None, shop.admin)
    return str(payload["startScoringRun"]["run"]["id"])


def _resume(api: Api, shop: Workspace, run_id: str) -> None:
    body = api.gql("mutation($id: ID!) { resumeScoringRun(id: $id) { errors { code } } }", {"id": run_id}, shop.admin)
    errors = body["data"]["resumeScoringRun"]["errors"]
    assert errors in ([], [{"code": "ALREADY_COMPLETED"}]), errors


def _wait_until_settled(api: Api, shop: Workspace, config: AppConfig, run_id: str, seconds: float) -> None:
    """No dirty customer left, RFM bounds current, the run completed: MongoDB, not the queue, says the
    work is done."""
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        db = client[config.mongodb_db]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            dirty = db["customers"].count_documents({"scoring.dirty": True})
            stale = db["workspaces"].count_documents({"_id": shop.id, "rfm_stale": True})
            run = api.ok(RUN, {"id": run_id}, shop.admin)["scoringRun"]
            if dirty == 0 and stale == 0 and run["status"] == "COMPLETED":
                assert (run["total"], run["processed"], run["failed"]) == (CUSTOMERS, CUSTOMERS, 0)
                return
            time.sleep(0.5)
        raise AssertionError(f"not settled: {dirty} dirty customers, run {run}")
    finally:
        client.close()


def _assert_exactly_once(api: Api, shop: Workspace, config: AppConfig, traffic: Traffic) -> None:
    for customer in traffic.customers:
        history = api.ok(HISTORY, {"id": customer}, shop.admin)["customer"]["classHistory"]
        assert_clean_chains(history)
        net_spend = api.ok(STATS, {"id": customer}, shop.admin)["customer"]["stats"]["netSpend"]
        assert Decimal(net_spend) == traffic.net_spend(customer)
    # Rescoring everyone again from what is stored now moves nobody: the stored classes are current.
    runtime = WorkerRuntime.open(config)
    try:
        again = runtime.run(runtime.rescoring.rescore(shop.id, traffic.customers, dry_run=True))
    finally:
        runtime.close()
    assert (again.processed, again.changed, again.transitions) == (CUSTOMERS, 0, {})


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_four_workers_a_resumed_run_and_500_orders_record_each_change_once(
    api: Api, shop: Workspace, config: AppConfig, workers: Workers
) -> None:
    customers = _make_customers(api, shop)
    traffic = Traffic(api, shop, customers, random.Random(7))
    run_id = _start_run(api, shop)
    while traffic.sent < 500:
        traffic.step()
        if traffic.sent == 150:
            _resume(api, shop, run_id)  # resuming a running run enqueues its batches a second time
    _resume(api, shop, run_id)
    _wait_until_settled(api, shop, config, run_id, 240)
    _assert_exactly_once(api, shop, config, traffic)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_workers_killed_at_random_moments_lose_and_duplicate_nothing(
    api: Api, shop: Workspace, config: AppConfig, workers: Workers
) -> None:
    seed = int(os.environ.get("CRM_TEST_SEED") or random.randrange(10**6))  # printed, to replay a failure
    print(f"seed {seed}")
    rng = random.Random(seed)
    customers = _make_customers(api, shop)
    traffic = Traffic(api, shop, customers, rng)
    run_id = _start_run(api, shop)
    for _ in range(20):
        for _ in range(rng.randrange(10, 30)):
            traffic.step()
        time.sleep(rng.random() * 0.5)
        workers.kill_one(rng)  # SIGKILL mid-job: nothing cleans up
        workers.start()
    _resume(api, shop, run_id)  # batches whose job died with a worker
    _wait_until_settled(api, shop, config, run_id, 300)
    _assert_exactly_once(api, shop, config, traffic)
