"""Orders as platforms send them: whole states by external id, out of order, from several senders at once,
with the source's moment deciding which state is the latest."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from domain.config import AppConfig
from tests.conftest import Api, CommandCounter, Workspace, create_customer, run_worker
from tests.test_csv_import import _upload, imported
from tests.test_exactly_once import HISTORY, assert_clean_chains
from tests.test_many_workers import Workers
from workers.runtime import WorkerRuntime

UPSERT = """mutation($input: OrderUpsertInput!) { upsertOrder(input: $input) {
  outcome order { id status refundedAmount statusChangedAt } errors { field code message }
  warnings { field code message } } }"""
ORDER = "query($id: ID!) { order(id: $id) { status refundedAmount statusChangedAt } }"
DAY = timedelta(days=1)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def test_an_update_older_than_the_stored_state_changes_nothing_and_says_so(api: Api, shop: Workspace) -> None:
    customer = create_customer(api, shop.admin)
    placed = datetime.now(UTC).replace(microsecond=0) - 10 * DAY

    def upsert(status: str, at: datetime | None, **more: Any) -> dict[str, Any]:
        state = {"externalId": "TT-1", "customerId": customer, "total": "800000", "status": status,
                 "placedAt": _iso(placed), **more}  # fmt: skip
        if at is not None:
            state["statusChangedAt"] = _iso(at)
        body = api.gql(UPSERT, {"input": state}, shop.admin)
        assert "errors" not in body and body["data"]["upsertOrder"]["errors"] == [], body
        return body["data"]["upsertOrder"]  # type: ignore[no-any-return]

    assert upsert("PLACED", None)["order"]["statusChangedAt"] == _iso(placed)  # a new order: since placed
    delivered = upsert("DELIVERED", placed + 3 * DAY)
    assert (delivered["outcome"], delivered["order"]["status"]) == ("UPDATED", "DELIVERED")
    late = upsert("PAID", placed + DAY)  # the "paid" notice of two days before arrives last
    assert (late["outcome"], late["order"]["status"]) == ("UNCHANGED", "DELIVERED")
    [warning] = late["warnings"]
    assert (warning["field"], warning["code"]) == ("statusChangedAt", "STALE_UPDATE")
    assert "delivered" in warning["message"] and "paid" in warning["message"]
    # Without a moment the arrival order decides; a refund from a week later moves it.
    refunded = upsert("REFUNDED", placed + 7 * DAY, refundAmount="300000")
    assert (refunded["outcome"], refunded["order"]["refundedAmount"]) == ("UPDATED", "300000")
    assert refunded["order"]["statusChangedAt"] == _iso(placed + 7 * DAY)
    assert upsert("REFUNDED", None, refundAmount="500000")["order"]["refundedAmount"] == "500000"


def test_an_upsert_import_reports_stale_rows_as_warnings_and_counts_them_unchanged(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _upload(api, shop.admin, "customers", "external_id,name\nKH-1,Nguyễn Thị Lan\n")
    run_worker(config)
    header = "external_id,customer_external_id,status,total,placed_at,status_changed_at\n"

    def orders(body: str) -> dict[str, Any]:
        return imported(api, shop.admin, config, "orders", header + body, "mode=upsert")

    first = orders("DH-1,KH-1,Đã giao,500000,01/10/2026,05/10/2026 10:00\n")
    assert first["imported"] == 1
    older = orders("DH-1,KH-1,Đã thanh toán,500000,01/10/2026,02/10/2026 09:00\n")
    assert (older["updated"], older["unchanged"], older["failed"]) == (0, 1, 0)
    assert [(w["row"], w["column"], w["code"]) for w in older["warnings"]] == [(2, "status_changed_at", "STALE_UPDATE")]
    before = orders("DH-2,KH-1,paid,500000,01/10/2026,30/09/2026 09:00\n")
    assert [(e["row"], e["column"], e["code"]) for e in before["errors"]] == [(2, "status_changed_at", "OUT_OF_RANGE")]


# Each order's notices: (status, refund, days after it was placed); the platform sends each once.
CHAINS: list[list[tuple[str, str | None, int]]] = [
    [("PLACED", None, 0), ("PAID", None, 1), ("DELIVERED", None, 3)],
    [("PLACED", None, 0), ("PAID", None, 1), ("DELIVERED", None, 2), ("REFUNDED", "250000", 6)],
    [("PLACED", None, 0), ("PAID", None, 1), ("REFUNDED", "100000", 2), ("REFUNDED", "1000000", 4)],
    [("PLACED", None, 0), ("CANCELLED", None, 1)],
]
ORDERS = 48
CUSTOMERS = 12
SENDERS = 4


@pytest.fixture
def workers(config: AppConfig, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(config, tmp_path)
    for _ in range(4):
        pool.start()
    yield pool
    pool.stop_all()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_notices_racing_in_any_order_end_at_each_orders_latest_state_and_each_change_once(
    api: Api, shop: Workspace, config: AppConfig, workers: Workers
) -> None:
    rng = random.Random(24)
    customers = [create_customer(api, shop.admin, name=f"Khách {n}") for n in range(CUSTOMERS)]
    placed = datetime.now(UTC).replace(microsecond=0) - 30 * DAY
    notices = []
    for n in range(ORDERS):
        for status, refund, days in CHAINS[n % len(CHAINS)]:
            state = {"externalId": f"SHOPEE-{n}", "customerId": customers[n % CUSTOMERS], "total": "1000000",
                     "status": status, "placedAt": _iso(placed), "statusChangedAt": _iso(placed + days * DAY)}  # fmt: skip
            notices.append({**state, **({"refundAmount": refund} if refund else {})})
    rng.shuffle(notices)
    with ThreadPoolExecutor(SENDERS) as senders:
        answers = list(senders.map(lambda state: api.gql(UPSERT, {"input": state}, shop.admin), notices))
    outcomes = [answer["data"]["upsertOrder"] for answer in answers]
    assert [o["errors"] for o in outcomes if o["errors"]] == []
    assert {w["code"] for o in outcomes for w in o["warnings"]} <= {"STALE_UPDATE"}
    created = [o["order"]["id"] for o in outcomes if o["outcome"] == "CREATED"]
    assert len(created) == len(set(created)) == ORDERS  # each order created once, however its notices raced
    latest = {f"SHOPEE-{n}": max(CHAINS[n % len(CHAINS)], key=lambda notice: notice[2]) for n in range(ORDERS)}
    ids = {o["order"]["id"] for o in outcomes}
    final = {order_id: api.ok(ORDER, {"id": order_id}, shop.admin)["order"] for order_id in ids}
    by_external = {n["externalId"]: o["order"]["id"] for n, o in zip(notices, outcomes, strict=True)}
    for external_id, (status, refund, days) in latest.items():
        assert final[by_external[external_id]] == {
            "status": status,
            "refundedAmount": refund or ("1000000" if status == "REFUNDED" else "0"),
            "statusChangedAt": _iso(placed + days * DAY),
        }, external_id
    _wait_until_no_customer_is_dirty(config, seconds=120)
    spent = {customer: Decimal(0) for customer in customers}
    for n in range(ORDERS):
        status, refund, _ = latest[f"SHOPEE-{n}"]
        if status in ("PAID", "DELIVERED", "REFUNDED"):
            spent[customers[n % CUSTOMERS]] += 1_000_000 - Decimal(refund or (1_000_000 if status == "REFUNDED" else 0))
    stats = "query($id: ID!) { customer(id: $id) { stats { netSpend } } }"
    for customer in customers:
        assert_clean_chains(api.ok(HISTORY, {"id": customer}, shop.admin)["customer"]["classHistory"])
        assert Decimal(api.ok(stats, {"id": customer}, shop.admin)["customer"]["stats"]["netSpend"]) == spent[customer]
    runtime = WorkerRuntime.open(config)
    try:  # scoring everyone again from what is stored moves nobody: every change was recorded
        again = runtime.run(runtime.rescoring.rescore(shop.id, customers, dry_run=True))
    finally:
        runtime.close()
    assert (again.changed, again.transitions) == (0, {})


def _wait_until_no_customer_is_dirty(config: AppConfig, seconds: float) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        customers = client[config.mongodb_db]["customers"]
        deadline = time.monotonic() + seconds
        while (dirty := customers.count_documents({"scoring.dirty": True})) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert dirty == 0, f"{dirty} customers still dirty"
    finally:
        client.close()


def test_a_dry_run_of_next_weeks_export_says_what_each_row_would_do_and_writes_nothing(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _upload(api, shop.admin, "customers", "external_id,name\nKH-1,Nguyễn Thị Lan\n")
    run_worker(config)
    header = "external_id,customer_external_id,status,total,refund_amount\n"

    def orders(body: str, query: str) -> dict[str, Any]:
        return imported(api, shop.admin, config, "orders", header + body, query)

    orders("DH-1,KH-1,Chờ xác nhận,1000000,\nDH-2,KH-1,paid,2000000,\nDH-3,KH-1,Đã giao,500000,\n", "mode=create")
    week_two = (
        "DH-1,KH-1,Hoàn thành,1000000,\n"  # placed -> delivered
        "DH-2,KH-1,Trả hàng/Hoàn tiền,2000000,500000\n"  # paid -> refunded in part
        "DH-3,KH-1,Chờ xác nhận,500000,\n"  # delivered back to placed: refused
        "DH-4,KH-1,paid,300000,\n"  # new
        "DH-2,KH-1,Trả hàng/Hoàn tiền,2000000,500000\n"  # the same state again: once moved, unchanged
    )
    job = orders(week_two, "mode=upsert&dryRun=true")
    assert (job["dryRun"], job["imported"], job["updated"], job["unchanged"], job["failed"]) == (True, 1, 2, 1, 1)
    plans = {(p["row"], p["action"], p["fromStatus"], p["toStatus"]) for p in job["plans"]}
    assert plans == {(2, "move", "placed", "delivered"), (3, "move", "paid", "refunded"),
                     (5, "create", None, "paid"), (6, "unchanged", "refunded", "refunded")}  # fmt: skip
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(4, "INVALID_TRANSITION")]
    query = "{ customers(first: 1) { edges { node { orders(first: 5) { externalId status } } } } }"
    stored = api.ok(query, None, shop.admin)["customers"]["edges"][0]["node"]["orders"]
    assert {o["externalId"]: o["status"] for o in stored} == {"DH-1": "PLACED", "DH-2": "PAID", "DH-3": "DELIVERED"}
    real = orders(week_two, "mode=upsert")  # and the import itself does what the dry run said
    assert (real["imported"], real["updated"], real["unchanged"], real["failed"]) == (1, 2, 1, 1)


def test_a_batch_of_moves_costs_the_same_handful_of_commands_whatever_its_size(
    api: Api, shop: Workspace, commands: CommandCounter
) -> None:
    admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    customers = api.call(lambda: api.services.customers.create_many(admin, [{"name": "Khách"}] * 10))
    costs = []
    for size in (20, 200):
        rows = [{"external_id": f"DH-{size}-{n}", "customer_id": customers[n % 10].id, "total": "1000"}
                for n in range(size)]  # fmt: skip
        api.call(functools.partial(api.services.orders.record_many, admin, rows))
        delivered = [{**row, "status": "delivered"} for row in rows]
        with commands.counting() as batch:
            upsert = functools.partial(api.services.orders.upsert_many, admin, delivered, create_missing=True)
            outcome = api.call(upsert)
        assert (outcome.updated, outcome.problems) == (size, [])
        costs.append(batch.by_command)
    # the workspace, the orders by external id; dirty before, one write of every move, dirty after
    assert costs == [{"find": 2, "update": 3}] * 2, costs
