"""What the domain needs from the outside world, as small interfaces (implemented in domain.queueing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.classes.events import ClassChangeEvent


class RescoreQueue(Protocol):
    async def request_rescore(self, workspace_id: str) -> None:
        """Ask for the workspace's dirty customers to be rescored soon; a pending request absorbs this one."""


class ScoringQueue(RescoreQueue, Protocol):
    async def request_rfm_refresh(self, workspace_id: str) -> None:
        """Ask for the workspace's RFM bounds to be recomputed soon; a pending request absorbs duplicates."""


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[ClassChangeEvent]) -> None:
        """Deliver events to live subscribers; best effort, the ledger in MongoDB is the record."""
