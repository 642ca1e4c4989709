"""The job flow of DESIGN section 5 with a real RQ worker: dirty flag, rescore, ledger, sweeper."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from pymongo import MongoClient
from rq import Queue
from rq.job import Job
from rq.registry import FinishedJobRegistry

from domain.config import AppConfig
from domain.queueing import RESCORE_JOB, pending_key
from tests.conftest import Api, Workspace, corrupt, create_customer, record_order, run_worker
from workers.runtime import WorkerRuntime

CUSTOMER = """
query($id: ID!) {
  customer(id: $id) {
    stats { orderCount paidOrderCount netSpend currency firstOrderAt lastOrderAt }
    classes { classSet code color label(lang: "zh") evidence since settingsVersion }
    classHistory(classSet: "spend_tier") { id previous current reason settingsVersion evidence(lang: "vi") }
  }
}"""

SET_STATUS = """
mutation($id: ID!, $status: OrderStatus!, $refund: Decimal) {
  setOrderStatus(id: $id, status: $status, refundAmount: $refund) { order { status } errors { code } }
}"""


def _spend_tier(customer: dict) -> dict:  # type: ignore[type-arg]
    [tier] = [c for c in customer["classes"] if c["classSet"] == "spend_tier"]
    return tier  # type: ignore[no-any-return]


def _customer(api: Api, token: str, customer_id: str) -> dict:  # type: ignore[type-arg]
    return api.ok(CUSTOMER, {"id": customer_id}, token)["customer"]  # type: ignore[no-any-return]


def test_spend_tier_follows_paid_refunded_and_cancelled_orders(api: Api, shop: Workspace, config: AppConfig) -> None:
    customer_id = create_customer(api, shop.admin)
    run_worker(config)
    assert _spend_tier(_customer(api, shop.admin, customer_id))["code"] == "none"

    big = record_order(api, shop.admin, customer_id, "18000000", status="PAID", placedAt="2026-01-05T10:00:00Z")
    record_order(api, shop.admin, customer_id, "3000000", status="DELIVERED", placedAt="2026-03-01T10:00:00Z")
    unpaid = record_order(api, shop.admin, customer_id, "9000000", placedAt="2026-04-01T10:00:00Z")
    run_worker(config)
    customer = _customer(api, shop.admin, customer_id)
    assert customer["stats"] == {
        "orderCount": 3,
        "paidOrderCount": 2,
        "netSpend": "21000000",
        "currency": "VND",
        "firstOrderAt": "2026-01-05T10:00:00+00:00",
        "lastOrderAt": "2026-04-01T10:00:00+00:00",
    }
    tier = _spend_tier(customer)
    assert (tier["code"], tier["color"], tier["label"], tier["settingsVersion"]) == (
        "diamond",
        "#29B6F6",
        "钻石",
        1,
    )
    assert tier["evidence"] == "net spend 21,000,000 VND ≥ Diamond threshold 20,000,000 VND"

    api.ok(SET_STATUS, {"id": big["id"], "status": "REFUNDED", "refund": "2000000"}, shop.admin)
    api.ok(SET_STATUS, {"id": unpaid["id"], "status": "CANCELLED"}, shop.admin)
    run_worker(config)
    customer = _customer(api, shop.admin, customer_id)
    assert customer["stats"]["netSpend"] == "19000000"
    assert customer["stats"]["lastOrderAt"] == "2026-03-01T10:00:00+00:00"
    # 19,000,000 is within the 10% demotion margin below the diamond threshold: the tier holds.
    assert _spend_tier(customer)["code"] == "diamond"

    api.ok(SET_STATUS, {"id": big["id"], "status": "REFUNDED", "refund": "4000000"}, shop.admin)
    run_worker(config)
    customer = _customer(api, shop.admin, customer_id)
    assert customer["stats"]["netSpend"] == "17000000"
    assert _spend_tier(customer)["code"] == "platinum"
    history = [(e["previous"], e["current"], e["reason"]) for e in customer["classHistory"]]
    assert history == [
        ("diamond", "platinum", "rescore"),
        ("none", "diamond", "rescore"),
        (None, "none", "rescore"),
    ]
    assert (
        customer["classHistory"][0]["evidence"]
        == "chi tiêu ròng 17.000.000 VND ≥ ngưỡng Bạch kim (Platinum) 5.000.000 VND"
    )


def test_running_a_rescore_twice_records_each_change_once(
    api: Api, shop: Workspace, config: AppConfig, redis_client: redis.Redis
) -> None:
    customer_id = create_customer(api, shop.admin)
    record_order(api, shop.admin, customer_id, "60000000", status="PAID")
    queue = Queue(config.rq_queue, connection=redis_client)
    for _ in range(3):  # duplicates that got past the de-duplication, e.g. from a retry
        queue.enqueue(RESCORE_JOB, shop.id)
    run_worker(config)
    run_worker(config)
    customer = _customer(api, shop.admin, customer_id)
    assert _spend_tier(customer)["code"] == "luxurious"
    assert [(e["previous"], e["current"]) for e in customer["classHistory"]] == [(None, "luxurious")]
    assert len({e["id"] for e in customer["classHistory"]}) == 1


def test_rescore_requests_are_deduplicated_per_workspace(
    api: Api, shop: Workspace, config: AppConfig, redis_client: redis.Redis
) -> None:
    customer_id = create_customer(api, shop.admin)
    for number in range(4):
        record_order(api, shop.admin, customer_id, "1000", status="PAID", externalId=f"o-{number}")
    assert Queue(config.rq_queue, connection=redis_client).count == 1


def test_sweeper_requeues_customers_whose_job_was_lost(
    api: Api, shop: Workspace, config: AppConfig, redis_client: redis.Redis
) -> None:
    customer_id = create_customer(api, shop.admin)
    record_order(api, shop.admin, customer_id, "7000000", status="PAID")
    # Redis loses the queue and the de-duplication key (a restart without persistence).
    Queue(config.rq_queue, connection=redis_client).empty()  # type: ignore[no-untyped-call]
    redis_client.delete(pending_key(shop.id))
    run_worker(config)  # the worker sweeps on start: MongoDB's dirty flag brings the work back
    assert _spend_tier(_customer(api, shop.admin, customer_id))["code"] == "platinum"
    run_worker(config)
    assert Queue(config.rq_queue, connection=redis_client).count == 0


def test_same_external_id_records_one_order(api: Api, shop: Workspace, config: AppConfig) -> None:
    customer_id = create_customer(api, shop.admin)
    first = record_order(api, shop.admin, customer_id, "6000000", status="PAID", externalId="shopee-991")
    again = record_order(api, shop.admin, customer_id, "6000000", status="PAID", externalId="shopee-991")
    assert first == again
    run_worker(config)
    customer = _customer(api, shop.admin, customer_id)
    assert customer["stats"]["orderCount"] == 1
    assert customer["stats"]["netSpend"] == "6000000"


def test_retried_status_change_is_a_no_op(api: Api, shop: Workspace) -> None:
    customer_id = create_customer(api, shop.admin)
    order = record_order(api, shop.admin, customer_id, "500000", status="PAID")
    for _ in range(2):
        result = api.ok(SET_STATUS, {"id": order["id"], "status": "REFUNDED", "refund": "200000"}, shop.admin)
        assert result["setOrderStatus"]["order"]["status"] == "REFUNDED"


def test_a_customer_whose_job_died_with_its_worker_is_requeued(
    api: Api, shop: Workspace, config: AppConfig, redis_client: redis.Redis
) -> None:
    customer_id = create_customer(api, shop.admin)
    record_order(api, shop.admin, customer_id, "7000000", status="PAID")
    # A worker took the job and died: the job is gone but its de-duplication key is still held.
    Queue(config.rq_queue, connection=redis_client).empty()  # type: ignore[no-untyped-call]
    assert redis_client.exists(pending_key(shop.id))
    run_worker(config)
    assert _customer(api, shop.admin, customer_id)["classes"] == []  # not yet: its job may still be queued
    corrupt(config, customer_id, {"$set": {"scoring.dirty_since": datetime.now(UTC) - timedelta(minutes=10)}})
    run_worker(config)  # dirty for several sweeps: the sweeper re-queues it despite the key
    assert _spend_tier(_customer(api, shop.admin, customer_id))["code"] == "platinum"


def test_a_burst_of_orders_for_many_customers_is_a_handful_of_jobs(
    api: Api, shop: Workspace, config: AppConfig, redis_client: redis.Redis
) -> None:
    admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    customers = api.call(lambda: api.services.customers.create_many(admin, [{"name": f"K {i}"} for i in range(100)]))
    queue = Queue(config.rq_queue, connection=redis_client)
    queue.empty()  # type: ignore[no-untyped-call]
    redis_client.delete(pending_key(shop.id))
    for customer in customers:
        record_order(api, shop.admin, customer.id, "6000000", status="PAID")
    assert queue.count == 1  # one job for the whole burst, not one per order
    run_worker(config)
    finished = FinishedJobRegistry(queue=queue)
    rescores = [
        job
        for job in Job.fetch_many(finished.get_job_ids(), connection=redis_client)
        if job and job.func_name == RESCORE_JOB
    ]
    assert 1 <= len(rescores) <= 3  # the burst, and a second round if the RFM bounds moved
    tiers = [_spend_tier(_customer(api, shop.admin, customer.id))["code"] for customer in customers]
    assert tiers == ["platinum"] * 100


def test_a_customer_that_cannot_be_scored_does_not_hold_back_the_others(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    broken, fine = create_customer(api, shop.admin, name="Hỏng"), create_customer(api, shop.admin, name="Ổn")
    bad_type = {"type": "nine", "entered_by": shop.admin_user_id, "entered_at": datetime.now(UTC)}
    corrupt(config, broken, {"$set": {"personality": bad_type}})  # a record the scorer cannot read
    record_order(api, shop.admin, fine, "6000000", status="PAID")
    run_worker(config)
    assert _spend_tier(_customer(api, shop.admin, fine))["code"] == "platinum"
    assert _customer(api, shop.admin, broken)["classes"] == []
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        scoring = client[config.mongodb_db]["customers"].find_one({"_id": broken})["scoring"]  # type: ignore[index]
    finally:
        client.close()
    assert scoring["dirty"] is False and "ValueError" in scoring["error"]  # set aside, with why
    corrupt(config, broken, {"$unset": {"personality": ""}})
    record_order(api, shop.admin, broken, "6000000", status="PAID")  # its next change brings it back
    run_worker(config)
    assert _spend_tier(_customer(api, shop.admin, broken))["code"] == "platinum"


def test_a_job_that_reads_the_customer_while_its_order_is_being_written_cannot_lose_the_order(
    api: Api, shop: Workspace, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = create_customer(api, shop.admin)
    run_worker(config)
    repository = api.services.orders._orders
    insert = repository.insert
    runtime = WorkerRuntime.open(config)

    async def insert_after_a_job_ran(document: Any) -> Any:
        # The customer is already marked dirty; a worker scores it now, before the order exists.
        await asyncio.to_thread(runtime.run, runtime.rescoring.rescore_dirty(shop.id, 100))
        return await insert(document)

    try:
        monkeypatch.setattr(repository, "insert", insert_after_a_job_ran)
        record_order(api, shop.admin, customer_id, "7000000", status="PAID")
    finally:
        runtime.close()
    run_worker(config)
    customer = _customer(api, shop.admin, customer_id)
    assert customer["stats"]["orderCount"] == 1 and _spend_tier(customer)["code"] == "platinum"
