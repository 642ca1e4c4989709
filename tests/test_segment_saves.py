"""Saving a segment when MongoDB stalls mid-request: the client's externalId makes the retry return the
segment (and run) the first attempt made, and a segment is never left without the run that applies its
rule: the retry, or else the sweeper, starts it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pymongo.errors import NetworkTimeout

from domain.clock import TravellingClock
from domain.config import AppConfig
from domain.runs.repository import ScoringRunRepository
from tests.conftest import Api, Workspace, create_customer, run_worker
from workers.runtime import WorkerRuntime
from workers.sweeper import sweep_dirty_customers

SAVE = """mutation($input: SegmentInput!) { saveSegment(input: $input) {
  segment { id name recomputeRunId } run { id } created errors { field code message } } }"""
SEGMENTS = "{ segments { id name recomputeRunId count } }"
IN_HUE = {"field": {"field": "CITY", "op": "EQUALS", "value": "Huế"}}


def _stall_run_insert(monkeypatch: pytest.MonkeyPatch, *, after_writing: bool) -> list[int]:
    """The next scoring-run insert times out, having written the run or not: what a stalled MongoDB does."""
    real = ScoringRunRepository.insert_run
    calls: list[int] = []

    async def stalled(self: ScoringRunRepository, run: dict[str, Any]) -> Any:
        calls.append(1)
        if len(calls) > 1:
            return await real(self, run)
        if after_writing:
            await real(self, run)
        raise NetworkTimeout("timed out waiting for the server's reply")

    monkeypatch.setattr(ScoringRunRepository, "insert_run", stalled)
    return calls


def _segments(api: Api, token: str) -> list[dict[str, Any]]:
    return api.ok(SEGMENTS, None, token)["segments"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("run_written", [False, True], ids=["run-lost", "run-written"])
def test_a_retried_save_returns_the_segment_and_run_the_stalled_one_made(
    api: Api, shop: Workspace, config: AppConfig, monkeypatch: pytest.MonkeyPatch, run_written: bool
) -> None:
    create_customer(api, shop.admin, name="Ở Huế", city="Huế")
    run_worker(config)
    save = {"input": {"name": "Huế", "rule": IN_HUE, "externalId": "crm-app:7f3a"}}
    _stall_run_insert(monkeypatch, after_writing=run_written)
    stalled = api.gql(SAVE, save, shop.admin)
    assert stalled["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

    retried = api.ok(SAVE, save, shop.admin)["saveSegment"]
    again = api.ok(SAVE, save, shop.admin)["saveSegment"]
    assert retried["created"] is False and again["created"] is False
    assert retried["segment"]["id"] == again["segment"]["id"]
    assert retried["run"] is not None and retried["run"]["id"] == again["run"]["id"]
    assert retried["segment"]["recomputeRunId"] == retried["run"]["id"]
    listed = _segments(api, shop.admin)
    assert [s["id"] for s in listed] == [retried["segment"]["id"]]
    run_worker(config)
    assert _segments(api, shop.admin)[0]["count"] == 1
    runs = api.ok("{ scoringRuns { id status } }", None, shop.admin)["scoringRuns"]
    assert [(r["id"], r["status"]) for r in runs][:1] == [(retried["run"]["id"], "COMPLETED")]
    assert len(runs) == 1


def test_the_same_external_id_with_other_content_is_refused_and_changes_nothing(api: Api, shop: Workspace) -> None:
    first = api.ok(SAVE, {"input": {"name": "Huế", "rule": IN_HUE, "externalId": "k1"}}, shop.admin)["saveSegment"]
    assert first["created"] is True
    other = {"input": {"name": "Huế", "rule": {"field": {"field": "CITY", "op": "EXISTS"}}, "externalId": "k1"}}
    body = api.gql(SAVE, other, shop.admin)["data"]["saveSegment"]
    assert body["segment"] is None
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("externalId", "DUPLICATE_EXTERNAL_ID")]
    assert [s["id"] for s in _segments(api, shop.admin)] == [first["segment"]["id"]]
    # a save without one is a new segment every time, as before
    api.ok(SAVE, {"input": {"name": "Huế", "rule": IN_HUE}}, shop.admin)
    assert len(_segments(api, shop.admin)) == 2


def _sweep(config: AppConfig, clock: TravellingClock) -> Callable[[], None]:
    def sweep() -> None:
        runtime = WorkerRuntime.open(config, clock)
        try:
            sweep_dirty_customers(runtime)
        finally:
            runtime.close()

    return sweep


def test_a_save_whose_client_gave_up_gets_its_run_from_the_sweeper(
    api: Api, shop: Workspace, config: AppConfig, clock: TravellingClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_customer(api, shop.admin, name="Ở Huế", city="Huế")
    run_worker(config)
    _stall_run_insert(monkeypatch, after_writing=False)
    plain = "mutation($input: SegmentInput!) { saveSegment(input: $input) { segment { id } } }"
    stalled = api.gql(plain, {"input": {"name": "Huế", "rule": IN_HUE}}, shop.admin)
    assert stalled["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    sweep = _sweep(config, clock)
    sweep()  # the request may still be finishing it: left alone for a while
    assert api.ok("{ scoringRuns { id } }", None, shop.admin)["scoringRuns"] == []
    clock.advance(timedelta(minutes=5))
    sweep()
    sweep()  # twice: one run
    run_worker(config, clock)
    segment = _segments(api, shop.admin)[0]
    runs = api.ok("{ scoringRuns { id status } }", None, shop.admin)["scoringRuns"]
    assert runs == [{"id": segment["recomputeRunId"], "status": "COMPLETED"}]
    assert segment["count"] == 1
