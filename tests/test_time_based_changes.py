"""Classes that change with time alone are rescored when due, found by the sweeper, not a nightly scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import MongoClient

from domain.config import AppConfig
from domain.orders.repository import OrderRepository
from tests.conftest import Api, Workspace, create_customer, record_order, run_worker
from workers.runtime import WorkerRuntime

QUERY = "query($id: ID!) { customer(id: $id) { nextClassChangeAt classes { classSet code } } }"


def _age_band(api: Api, token: str, customer_id: str) -> tuple[str, str | None]:
    customer = api.ok(QUERY, {"id": customer_id}, token)["customer"]
    [band] = [c["code"] for c in customer["classes"] if c["classSet"] == "age_band"]
    return band, customer["nextClassChangeAt"]


def test_the_next_change_is_the_birthday_that_changes_the_band(api: Api, shop: Workspace, config: AppConfig) -> None:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    if (tomorrow.month, tomorrow.day) == (2, 29):
        tomorrow += timedelta(days=1)  # 18 years earlier may have no 29 February
    born = tomorrow.replace(year=tomorrow.year - 18)
    customer_id = create_customer(api, shop.admin, birthDate=born.isoformat())
    run_worker(config)
    band, due = _age_band(api, shop.admin, customer_id)
    assert band == "under_18"
    assert due == datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC).isoformat()


def test_due_customers_are_rescored_by_the_sweeper(api: Api, shop: Workspace, config: AppConfig) -> None:
    customer_id = create_customer(api, shop.admin, birthDate="2000-01-01")
    run_worker(config)
    assert _age_band(api, shop.admin, customer_id)[0] == "adult"
    # Make the stored class stale the way time does, without any write that marks the customer dirty:
    # the birth date now says 17, and the change is due.
    mongo: MongoClient[dict[str, object]] = MongoClient(config.mongodb_uri)
    try:
        mongo[config.mongodb_db]["customers"].update_one(
            {"_id": customer_id},
            {
                "$set": {
                    "birth_date": datetime(datetime.now(UTC).year - 17, 1, 1, tzinfo=UTC),
                    "scoring.next_transition_at": datetime.now(UTC) - timedelta(minutes=1),
                }
            },
        )
    finally:
        mongo.close()
    run_worker(config)  # nothing is queued: only the sweeper can find it
    band, due = _age_band(api, shop.admin, customer_id)
    assert band == "under_18"
    assert due is not None and datetime.fromisoformat(due) > datetime.now(UTC)


def _db(config: AppConfig) -> MongoClient[dict[str, Any]]:
    return MongoClient(config.mongodb_uri, tz_aware=True)


def test_the_due_sweep_leaves_customers_without_a_pending_change_alone(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    pending, settled = create_customer(api, shop.admin), create_customer(api, shop.admin)
    run_worker(config)
    mongo = _db(config)
    try:
        customers = mongo[config.mongodb_db]["customers"]
        customers.update_one({"_id": settled}, {"$set": {"scoring.next_transition_at": None}})
        customers.update_one({"_id": pending}, {"$set": {"scoring.next_transition_at": datetime.now(UTC)}})
    finally:
        mongo.close()
    runtime = WorkerRuntime.open(config)
    try:
        due = runtime.run(runtime.scoring.due_customers(datetime.now(UTC) + timedelta(seconds=1), 100))
    finally:
        runtime.close()
    assert due == {shop.id: [pending]}


RFM = "query($id: ID!) { customer(id: $id) { nextClassChangeAt classes { classSet code evidenceData } } }"


def _rfm(api: Api, token: str, customer_id: str) -> tuple[dict[str, Any], str | None]:
    customer = api.ok(RFM, {"id": customer_id}, token)["customer"]
    [rfm] = [c for c in customer["classes"] if c["classSet"] == "rfm_group"]
    return rfm, customer["nextClassChangeAt"]


def test_a_customer_who_stops_buying_decays_on_schedule(api: Api, shop: Workspace, config: AppConfig) -> None:
    now = datetime.now(UTC)
    customers = [create_customer(api, shop.admin, name=f"Khách {days}") for days in (1, 40, 100, 200, 300)]
    for customer_id, days in zip(customers, (1, 40, 100, 200, 300), strict=True):
        placed = (now - timedelta(days=days)).isoformat()
        record_order(api, shop.admin, customer_id, "3000000", status="PAID", placedAt=placed)
    run_worker(config)  # scores, refreshes the workspace's RFM bounds, rescores who they move
    recent = customers[0]
    before, due = _rfm(api, shop.admin, recent)
    assert before["evidenceData"]["recency_score"] == 5 and due is not None
    assert datetime.fromisoformat(due) < now + timedelta(days=60)  # well before the tenure boundary
    # Time passes without a write: move the order back past the next bound and make the change due.
    mongo = _db(config)
    try:
        db = mongo[config.mongodb_db]
        db["orders"].update_many({"customer_id": recent}, {"$set": {"placed_at": now - timedelta(days=250)}})
        db["customers"].update_one({"_id": recent}, {"$set": {"scoring.next_transition_at": now}})
    finally:
        mongo.close()
    run_worker(config)  # nothing queued: the sweeper finds the due customer
    after, _ = _rfm(api, shop.admin, recent)
    assert after["evidenceData"]["recency_score"] < 5 and after["code"] != before["code"]


def test_moving_rfm_bounds_rescore_exactly_the_customers_whose_scores_they_cross(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    spends = ["1000000", "2000000", "3000000", "4000000", "5000000", "6000000"]
    customers = [create_customer(api, shop.admin, name=f"Khách {spend}") for spend in spends]
    for customer_id, spend in zip(customers, spends, strict=True):
        record_order(api, shop.admin, customer_id, spend, status="PAID")
    run_worker(config)
    monetary = {c: _rfm(api, shop.admin, c)[0]["evidenceData"]["monetary_score"] for c in customers}
    assert sorted(monetary.values()) == [1, 1, 2, 3, 4, 5]
    # A big spender joins: the monetary quintiles rise and the scores of the others must follow.
    newcomer = create_customer(api, shop.admin, name="Khách lớn")
    record_order(api, shop.admin, newcomer, "90000000", status="PAID")
    run_worker(config)
    runtime = WorkerRuntime.open(config)
    try:
        again = runtime.run(runtime.rescoring.rescore(shop.id, [*customers, newcomer], dry_run=True))
    finally:
        runtime.close()
    assert (again.changed, again.transitions) == (0, {})  # everyone is current with the bounds in force
    assert _rfm(api, shop.admin, newcomer)[0]["evidenceData"]["monetary_score"] == 5


def test_the_loyal_window_anchor_is_the_oldest_order_that_still_counts(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    customer_id = create_customer(api, shop.admin)
    now = datetime.now(UTC).replace(microsecond=0)
    for days in (10, 50, 90, 130, 170, 210, 400):  # the last one is outside a 365-day window
        record_order(
            api, shop.admin, customer_id, "100000", status="PAID", placedAt=(now - timedelta(days=days)).isoformat()
        )
    runtime = WorkerRuntime.open(config)
    try:
        orders = OrderRepository(runtime.db, runtime.clock)
        features = runtime.run(orders.features_for(shop.id, [customer_id], now - timedelta(days=365), 5))
        fewer = runtime.run(orders.features_for(shop.id, [customer_id], now - timedelta(days=100), 5))
    finally:
        runtime.close()
    assert features.features[customer_id].paid_in_window == 6
    assert features.features[customer_id].loyal_anchor_at == now - timedelta(days=170)
    assert fewer.features[customer_id].loyal_anchor_at is None  # only 3 orders in that window


def test_a_run_restricted_to_some_class_sets_leaves_the_customer_dirty(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    customer_id = create_customer(api, shop.admin)
    runtime = WorkerRuntime.open(config)
    try:
        runtime.run(runtime.rescoring.rescore(shop.id, [customer_id], only=frozenset({"spend_tier"})))
        [state] = runtime.run(runtime.scoring.load(shop.id, [customer_id]))
        assert state.dirty and set(state.classes) == {"spend_tier"}
        runtime.run(runtime.rescoring.rescore(shop.id, [customer_id]))
        [state] = runtime.run(runtime.scoring.load(shop.id, [customer_id]))
    finally:
        runtime.close()
    assert not state.dirty and "age_band" in state.classes
