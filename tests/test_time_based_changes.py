"""Classes that change with time alone are rescored when due, found by the sweeper, not a nightly scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import MongoClient

from domain.config import AppConfig
from tests.conftest import Api, Workspace, create_customer, run_worker

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
