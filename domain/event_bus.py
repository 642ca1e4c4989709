"""Class-change and segment-membership events on Redis pub/sub: one channel per workspace."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from domain.classes.events import ClassChangeEvent
from domain.segments.models import SegmentEvent

log = logging.getLogger(__name__)


def workspace_channel(prefix: str, workspace_id: str) -> str:
    return f"{prefix}:{workspace_id}"


def all_workspaces_pattern(prefix: str) -> str:
    return f"{prefix}:*"


def revocation_channel(prefix: str) -> str:
    return f"{prefix}.revoked-keys"  # outside the workspace pattern on purpose


def run_progress_channel(prefix: str) -> str:
    return f"{prefix}.run-progress"  # outside the workspace pattern too; messages are "workspace run"


class RedisEventPublisher:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def key_revoked(self, key_id: str) -> None:
        try:
            await self._redis.publish(revocation_channel(self._prefix), key_id)
        except RedisError:
            # Open websockets of this key then stop at their next request instead (their context checks).
            log.warning("could not announce the revocation of key %s", key_id, exc_info=True)

    async def run_progressed(self, workspace_id: str, run_id: str) -> None:
        try:
            await self._redis.publish(run_progress_channel(self._prefix), f"{workspace_id} {run_id}")
        except RedisError:
            # Progress subscribers then see the change at their next periodic check.
            log.warning("could not announce progress of run %s", run_id, exc_info=True)

    async def publish_segment_events(self, events: Sequence[SegmentEvent]) -> None:
        await self.publish(events)

    async def publish(self, events: Sequence[ClassChangeEvent | SegmentEvent]) -> None:
        if not events:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.publish(workspace_channel(self._prefix, event.workspace_id), event.to_json())
                await pipe.execute()
        except RedisError:
            # Subscribers miss these live, but the ledger (class_events) already holds them.
            log.warning("could not publish %d events", len(events), exc_info=True)
