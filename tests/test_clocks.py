"""Time comes from one clock that tests move instead of sleeping; what clients read in order (the ledger,
offline sync) is stamped by the database, so workers whose clocks disagree lose nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from rq import Queue
from starlette.testclient import TestClient

from api.app import create_app
from domain.auth.principals import Role
from domain.clock import SkewedClock, TravellingClock
from domain.config import AppConfig
from domain.runs.models import RunStatus
from domain.runs.repository import ScoringRunRepository
from tests.conftest import Api, Workspace, add_key, create_customer, make_workspace, record_order, run_worker
from workers.runtime import WorkerRuntime
from workers.sweeper import STALLED_AFTER, sweep_dirty_customers

NEXT = "query($id: ID!) { customer(id: $id) { nextClassChangeAt classes { classSet code } } }"
SAVE = """mutation($input: SegmentInput!) { saveSegment(input: $input) {
  segment { id } errors { field code message } } }"""
MEMBERS = "query($id: ID!) { customers(first: 10, filter: {segmentId: $id}) { edges { node { id } } } }"
ORDERED_WITHIN_1100_DAYS = {"orders": {"measure": "COUNT", "withinLastDays": 1100, "min": "1"}}


def _sweep_and_work(config: AppConfig, clock: TravellingClock) -> None:
    """What the worker does on its schedule: the sweeper marks what is due, then the queued jobs run."""
    runtime = WorkerRuntime.open(config, clock)
    try:
        sweep_dirty_customers(runtime)
    finally:
        runtime.close()
    run_worker(config, clock)


def _classes(api: Api, token: str, customer_id: str) -> dict[str, Any]:
    customer = api.ok(NEXT, {"id": customer_id}, token)["customer"]
    return {"next": customer["nextClassChangeAt"], **{c["classSet"]: c["code"] for c in customer["classes"]}}


def _members(api: Api, token: str, segment_id: str) -> list[str]:
    return [edge["node"]["id"] for edge in api.ok(MEMBERS, {"id": segment_id}, token)["customers"]["edges"]]


def test_a_segment_window_moves_for_a_customer_with_no_class_change_ahead(
    api: Api, shop: Workspace, config: AppConfig, clock: TravellingClock
) -> None:
    customer_id = create_customer(api, shop.admin, name="Khách cũ")
    record_order(api, shop.admin, customer_id, "600000", status="PAID", placedAt=clock.now().isoformat())
    run_worker(config, clock)
    clock.advance(timedelta(days=1000))  # a customer of long ago, as most of a real shop's are
    for name in ("Mới 1", "Mới 2", "Mới 3", "Mới 4"):  # recent buyers: the old one's recency score is 1
        record_order(api, shop.admin, create_customer(api, shop.admin, name=name), "600000", status="PAID")
    _sweep_and_work(config, clock)
    _sweep_and_work(config, clock)  # after the RFM bounds moved
    before = _classes(api, shop.admin, customer_id)
    assert (before["tenure"], before["next"]) == ("long_term", None)  # nothing of its own is ahead

    saved = api.ok(SAVE, {"input": {"name": "Mua trong 1100 ngày", "kind": "DYNAMIC", "rule": ORDERED_WITHIN_1100_DAYS}},
                   shop.admin)["saveSegment"]  # fmt: skip
    run_worker(config, clock)
    segment_id = saved["segment"]["id"]
    assert customer_id in _members(api, shop.admin, segment_id)
    due = _classes(api, shop.admin, customer_id)["next"]
    assert due is not None and datetime.fromisoformat(due) <= clock.now() + timedelta(days=100, minutes=1)

    clock.advance(timedelta(days=99))
    _sweep_and_work(config, clock)
    assert customer_id in _members(api, shop.admin, segment_id)  # not yet
    clock.advance(timedelta(days=2))
    _sweep_and_work(config, clock)
    members = _members(api, shop.admin, segment_id)
    assert customer_id not in members and len(members) == 4  # its order left the window: so did the customer


def test_the_birthday_changes_the_band_when_the_clock_passes_it(
    api: Api, shop: Workspace, config: AppConfig, clock: TravellingClock
) -> None:
    in_three_days = (clock.now() + timedelta(days=3)).date()
    if (in_three_days.month, in_three_days.day) == (2, 29):
        in_three_days += timedelta(days=1)  # 18 years earlier may have no 29 February
    customer_id = create_customer(
        api, shop.admin, birthDate=in_three_days.replace(year=in_three_days.year - 18).isoformat()
    )
    run_worker(config, clock)
    assert _classes(api, shop.admin, customer_id)["age_band"] == "under_18"
    clock.advance(timedelta(days=2))
    _sweep_and_work(config, clock)
    assert _classes(api, shop.admin, customer_id)["age_band"] == "under_18"
    clock.advance(timedelta(days=1, hours=1))
    _sweep_and_work(config, clock)
    assert _classes(api, shop.admin, customer_id)["age_band"] == "young"


class _Lost(Exception):
    """The process died here."""


def test_a_crash_between_planning_a_run_and_queueing_its_batches_is_recovered_by_the_sweeper(
    api: Api, shop: Workspace, config: AppConfig, clock: TravellingClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("An", "Bình", "Chi"):
        create_customer(api, shop.admin, name=name)
    run_worker(config, clock)
    principal = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    run = api.call(lambda: api.services.scoring_runs.start(principal))
    runtime = WorkerRuntime.open(config, clock)
    try:

        async def dies(*_: object, **__: object) -> None:
            raise _Lost

        with monkeypatch.context() as patch:
            patch.setattr(ScoringRunRepository, "mark_enqueued", dies)
            with pytest.raises(_Lost):
                runtime.run(runtime.runs.plan(run.id))
        Queue(config.rq_queue, connection=runtime.redis_sync).empty()  # type: ignore[no-untyped-call]
        clock.advance(STALLED_AFTER + timedelta(minutes=1))
        sweep_dirty_customers(runtime)
    finally:
        runtime.close()
    run_worker(config, clock)
    finished = api.call(lambda: api.services.scoring_runs.get(principal, run.id))
    assert (finished.status, finished.progress.processed) == (RunStatus.COMPLETED, 3)


def test_workers_with_skewed_clocks_lose_no_event_for_a_resuming_reader(
    api: Api, shop: Workspace, config: AppConfig, clock: TravellingClock
) -> None:
    principal = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    history = api.services.class_history
    early, late = SkewedClock(clock, timedelta(minutes=-5)), SkewedClock(clock, timedelta(minutes=5))
    start = api.call(lambda: history.resume_from(principal, "now"))
    seen: list[str] = []
    position = start
    expected = 0
    for round_, worker_clock in enumerate((late, early, late, early)):
        customer_id = create_customer(api, shop.admin, name=f"Khách {round_}")
        record_order(api, shop.admin, customer_id, "6000000", status="PAID")
        run_worker(config, worker_clock)
        expected += len(api.ok("query($id: ID!) { customer(id: $id) { classHistory(first: 100) { id } } }",
                               {"id": customer_id}, shop.admin)["customer"]["classHistory"])  # fmt: skip
        events, position = api.call(lambda: history.replay(principal, position, 0.0, None, None, 1000))  # noqa: B023
        seen += [event.id for event in events]
    assert len(seen) == len(set(seen)) == expected


def test_offline_sync_sees_a_change_written_by_a_worker_whose_clock_is_behind(
    config: AppConfig, clock: TravellingClock
) -> None:
    with TestClient(create_app(config.model_copy(update={"sync_settle_seconds": 0.0}), clock)) as client:
        _sync_after_a_slow_worker(Api(client), config, clock)


def _sync_after_a_slow_worker(api: Api, config: AppConfig, clock: TravellingClock) -> None:
    shop = make_workspace(api)
    changes = """query($after: String) { customers(first: 100, after: $after, orderBy: {field: CHANGED, direction: ASC}) {
      edges { cursor node { id spend: classes { classSet code } } } } }"""
    first = create_customer(api, shop.admin, name="Trước")
    run_worker(config, clock)
    page = api.ok(changes, {}, shop.admin)["customers"]["edges"]
    cursor = page[-1]["cursor"]
    assert [edge["node"]["id"] for edge in page] == [first]
    record_order(api, shop.admin, first, "60000000", status="PAID")
    run_worker(config, SkewedClock(clock, timedelta(minutes=-5)))  # this worker's host is five minutes slow
    later = api.ok(changes, {"after": cursor}, shop.admin)["customers"]["edges"]
    assert [edge["node"]["id"] for edge in later] == [first]
    assert {"classSet": "spend_tier", "code": "luxurious"} in later[0]["node"]["spend"]


def test_a_birthday_moves_the_change_moment_only_for_roles_that_may_read_birth_dates(
    config: AppConfig, clock: TravellingClock
) -> None:
    with TestClient(create_app(config.model_copy(update={"sync_settle_seconds": 0.0}), clock)) as client:
        api = Api(client)
        shop = make_workspace(api)
        _, viewer = add_key(api, shop, Role.VIEWER, "Xem")
        soon = (clock.now() + timedelta(days=2)).date()
        if (soon.month, soon.day) == (2, 29):
            soon += timedelta(days=1)
        customer_id = create_customer(api, shop.admin, birthDate=soon.replace(year=soon.year - 18).isoformat())
        run_worker(config, clock)
        changes = """query($after: String) { customers(first: 10, after: $after, orderBy: {field: CHANGED, direction: ASC})
          { edges { cursor node { id changedAt } } } }"""
        before = {
            who: api.ok(changes, {}, token)["customers"]["edges"]
            for who, token in (("admin", shop.admin), ("viewer", viewer))
        }
        clock.advance(timedelta(days=3))
        _sweep_and_work(config, clock)
        assert _classes(api, shop.admin, customer_id)["age_band"] == "young"  # the birthday passed
        after_admin = api.ok(changes, {"after": before["admin"][-1]["cursor"]}, shop.admin)["customers"]["edges"]
        after_viewer = api.ok(changes, {"after": before["viewer"][-1]["cursor"]}, viewer)["customers"]["edges"]
        assert [edge["node"]["id"] for edge in after_admin] == [customer_id]
        assert after_viewer == []  # nothing a viewer may see changed: the moment would give the birthday away
        seen = api.ok("query($id: ID!) { customer(id: $id) { changedAt } }", {"id": customer_id}, viewer)
        assert seen["customer"]["changedAt"] == before["viewer"][0]["node"]["changedAt"]
