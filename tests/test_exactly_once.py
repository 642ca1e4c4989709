"""Exactly one result write per (customer, version), whatever runs at once: the ledger is a clean chain."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import Any

import pytest

from domain.classes.events import ClassChangeEvent, ClassEventRepository
from domain.config import AppConfig
from domain.interactions.repository import InteractionRepository
from domain.orders.repository import OrderRepository
from domain.rescoring.conversion_models import ConversionModelRepository
from domain.rescoring.repository import ScoringRepository, ScoringState
from domain.rescoring.service import RescoringService
from domain.segments.membership import SegmentEvaluator
from domain.segments.models import SegmentEvent
from domain.segments.repository import MembershipRepository, SegmentRepository
from domain.workspaces.repository import WorkspaceRepository
from scoring.registry import CLASS_SETS
from tests.conftest import Api, Workspace, create_customer, record_order
from workers.runtime import WorkerRuntime

HISTORY = "query($id: ID!) { customer(id: $id) { classHistory(first: 200) { id classSet previous current version } } }"


class BarrierScoringRepository(ScoringRepository):
    """Holds every loader until ``parties`` jobs have read: they all start from the same state."""

    def __init__(self, runtime: WorkerRuntime, parties: int) -> None:
        super().__init__(runtime.db, runtime.clock)
        self._parties = parties
        self._arrived = 0
        self._all_read = asyncio.Event()

    async def load(self, workspace_id: str, customer_ids: Sequence[str]) -> list[ScoringState]:
        states = await super().load(workspace_id, customer_ids)
        self._arrived += 1
        if self._arrived >= self._parties:
            self._all_read.set()
        await self._all_read.wait()
        return states


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[ClassChangeEvent] = []

    async def publish(self, events: Sequence[ClassChangeEvent]) -> None:
        self.events.extend(events)

    async def publish_segment_events(self, events: Sequence[SegmentEvent]) -> None:
        return None


def _service(runtime: WorkerRuntime, scoring: ScoringRepository, publisher: RecordingPublisher) -> RescoringService:
    db = runtime.db
    return RescoringService(
        scoring,
        OrderRepository(db, runtime.clock),
        InteractionRepository(db),
        WorkspaceRepository(db, runtime.clock),
        ClassEventRepository(db),
        publisher,
        runtime.rescore_queue,
        ConversionModelRepository(db),
        SegmentEvaluator(SegmentRepository(db), MembershipRepository(db), publisher),
        runtime.clock,
    )


def assert_clean_chains(history: list[dict[str, Any]]) -> None:
    """Per class set: versions rise, each event starts where the previous one ended, none repeats."""
    by_set: dict[str, list[dict[str, Any]]] = {}
    for event in sorted(history, key=lambda e: e["version"]):
        by_set.setdefault(event["classSet"], []).append(event)
    for class_set, events in by_set.items():
        assert events[0]["previous"] is None, (class_set, events)
        for before, after in itertools.pairwise(events):
            assert after["version"] > before["version"], (class_set, events)
            assert after["previous"] == before["current"], (class_set, events)
    assert len({e["id"] for e in history}) == len(history)


def test_jobs_that_read_the_same_state_write_once_and_only_the_writer_publishes(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    customer_id = create_customer(api, shop.admin)
    record_order(api, shop.admin, customer_id, "6000000", status="PAID")
    runtime = WorkerRuntime.open(config)
    try:
        scoring = BarrierScoringRepository(runtime, parties=3)
        publishers = [RecordingPublisher() for _ in range(3)]
        services = [_service(runtime, scoring, publisher) for publisher in publishers]

        async def race() -> list[Any]:
            return await asyncio.gather(*(service.rescore(shop.id, [customer_id]) for service in services))

        outcomes = runtime.run(race())
    finally:
        runtime.close()
    assert sorted(outcome.events for outcome in outcomes)[:2] == [0, 0]  # two of the three lost the race
    winners = [publisher.events for publisher in publishers if publisher.events]
    assert len(winners) == 1
    history = api.ok(HISTORY, {"id": customer_id}, shop.admin)["customer"]["classHistory"]
    assert sorted(e["id"] for e in history) == sorted(e.id for e in winners[0])
    assert {e["classSet"]: e["current"] for e in history}["spend_tier"] == "platinum"
    assert_clean_chains(history)


def test_event_ids_are_derived_from_customer_class_set_and_version(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    customer_id = create_customer(api, shop.admin)
    runtime = WorkerRuntime.open(config)
    try:
        runtime.run(runtime.rescoring.rescore(shop.id, [customer_id]))
    finally:
        runtime.close()
    history = api.ok(HISTORY, {"id": customer_id}, shop.admin)["customer"]["classHistory"]
    assert history and {e["version"] for e in history} == {1}
    assert {e["id"] for e in history} == {f"{customer_id}:{e['classSet']}:1" for e in history}


class FailingLedger(ClassEventRepository):
    """The ledger is unreachable right after the result write (a crash at the worst moment)."""

    async def append(self, events: Sequence[ClassChangeEvent]) -> None:
        if events:
            raise ConnectionError("ledger unreachable")


def test_events_written_but_not_delivered_are_delivered_by_the_next_job_with_the_same_ids(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    customer_id = create_customer(api, shop.admin)
    record_order(api, shop.admin, customer_id, "6000000", status="PAID")
    runtime = WorkerRuntime.open(config)
    try:
        db = runtime.db
        crashing = RescoringService(
            runtime.scoring,
            OrderRepository(db, runtime.clock),
            InteractionRepository(db),
            WorkspaceRepository(db, runtime.clock),
            FailingLedger(db),
            RecordingPublisher(),
            runtime.rescore_queue,
            ConversionModelRepository(db),
            SegmentEvaluator(SegmentRepository(db), MembershipRepository(db), RecordingPublisher()),
            runtime.clock,
        )
        with pytest.raises(ConnectionError):
            runtime.run(crashing.rescore(shop.id, [customer_id]))
        [state] = runtime.run(runtime.scoring.load(shop.id, [customer_id]))
        assert state.dirty and len(state.pending_events) == len(CLASS_SETS)  # written, and waiting to be delivered
        assert api.ok(HISTORY, {"id": customer_id}, shop.admin)["customer"]["classHistory"] == []
        runtime.run(runtime.rescoring.rescore(shop.id, [customer_id]))
        [state] = runtime.run(runtime.scoring.load(shop.id, [customer_id]))
    finally:
        runtime.close()
    assert not state.dirty and state.pending_events == []
    history = api.ok(HISTORY, {"id": customer_id}, shop.admin)["customer"]["classHistory"]
    assert {e["id"] for e in history} == {f"{customer_id}:{e['classSet']}:1" for e in history} and len(history) == len(
        CLASS_SETS
    )
    assert_clean_chains(history)
