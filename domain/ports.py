"""What the domain needs from the outside world, as small interfaces (implemented in domain.queueing
and domain.event_bus)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.classes.events import ClassChangeEvent
from domain.clock import Clock as Clock  # the time port, with its real and test clocks
from domain.segments.models import SegmentEvent


class RescoreQueue(Protocol):
    async def request_rescore(self, workspace_id: str) -> None:
        """Ask for the workspace's dirty customers to be rescored soon; a pending request absorbs this one."""


class ScoringQueue(RescoreQueue, Protocol):
    async def request_rfm_refresh(self, workspace_id: str) -> None:
        """Ask for the workspace's RFM bounds to be recomputed soon; a pending request absorbs duplicates."""


class RunQueue(Protocol):
    async def enqueue_run_batches(self, run_id: str, numbers: list[int]) -> None: ...

    async def enqueue_run_planning(self, run_id: str) -> None: ...


class ModelQueue(Protocol):
    async def request_future_value_fit(self, workspace_id: str) -> None:
        """Ask for the workspace's future-value models to be fitted soon; a pending request absorbs this one."""

    async def request_conversion_training(self, workspace_id: str) -> None:
        """Ask for the workspace's conversion model to be trained soon; a pending request absorbs this one."""


class ImportQueue(Protocol):
    async def enqueue_import(self, import_id: str) -> None:
        """Run the import as a job soon; the import document in MongoDB says what is left."""


class JobQueue(ScoringQueue, RunQueue, ModelQueue, ImportQueue, Protocol):
    """Every job the domain asks for (domain.queueing.RqRescoreQueue is one)."""


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[ClassChangeEvent]) -> None:
        """Deliver events to live subscribers; best effort, the ledger in MongoDB is the record."""


class RunProgressPublisher(Protocol):
    async def run_progressed(self, workspace_id: str, run_id: str) -> None:
        """Tell subscribers of the run's progress that its counts or status changed."""


class KeyRevocationNotifier(Protocol):
    async def key_revoked(self, key_id: str) -> None:
        """Tell every API process, so that open websockets of this key stop at once."""


class SegmentEventPublisher(Protocol):
    async def publish_segment_events(self, events: Sequence[SegmentEvent]) -> None:
        """Deliver joins and leaves to live subscribers; best effort, segment_events in MongoDB is the record."""


class Notifier(EventPublisher, RunProgressPublisher, KeyRevocationNotifier, SegmentEventPublisher, Protocol):
    """Everything the domain tells live clients (domain.event_bus.RedisEventPublisher is one)."""


class SilentNotifier:
    """For tools with no live clients to tell (the CLI, the demo loader): what they change is in MongoDB,
    where subscribers' catch-up reads find it."""

    async def publish(self, events: Sequence[ClassChangeEvent]) -> None:
        return None

    async def run_progressed(self, workspace_id: str, run_id: str) -> None:
        return None

    async def key_revoked(self, key_id: str) -> None:
        return None

    async def publish_segment_events(self, events: Sequence[SegmentEvent]) -> None:
        return None
