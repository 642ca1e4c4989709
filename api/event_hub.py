"""One Redis subscription per API process, fanned out to the GraphQL subscriptions it serves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from domain.classes.events import ClassChangeEvent
from domain.event_bus import all_workspaces_pattern, revocation_channel, run_progress_channel
from domain.segments.models import SegmentEvent

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
RECONNECT_DELAY_SECONDS = 1.0
# Run progress is pushed; a watcher also re-reads this often, in case a notice was lost with Redis.
RUN_RECHECK_SECONDS = 30.0

# What arrives on a workspace's channel: class changes and segment joins and leaves.
type HubEvent = ClassChangeEvent | SegmentEvent
EventFilter = Callable[[HubEvent], bool]


@dataclass(eq=False)
class _Listener:
    workspace_id: str
    key_id: str
    accepts: EventFilter
    queue: asyncio.Queue[HubEvent | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))


@dataclass(eq=False)
class _RunWatcher:
    run_id: str
    key_id: str
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    ended: bool = False


class EventHub:
    def __init__(
        self,
        redis: Redis,
        channel_prefix: str,
        max_lifetime_seconds: float = 3600.0,
        delivered: Callable[[HubEvent], None] | None = None,
        settle_seconds: float = 1.0,
    ) -> None:
        self._max_lifetime = max_lifetime_seconds
        # How old a ledger event must be before a resuming subscription reads it (see customerClassChanged).
        self.settle_seconds = settle_seconds
        self._delivered = delivered or (lambda event: None)  # told of each event handed to a subscription
        self._redis = redis
        self._pattern = all_workspaces_pattern(channel_prefix)
        self._revocations = revocation_channel(channel_prefix)
        self._run_progress = run_progress_channel(channel_prefix)
        self._revoked: set[str] = set()
        self._listeners: set[_Listener] = set()
        self._run_watchers: set[_RunWatcher] = set()
        self._revocation_handlers: list[Callable[[str], None]] = []
        self._task: asyncio.Task[None] | None = None
        # Whether the Redis subscription is live now (it is re-made after Redis restarts).
        self.connected = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._pump(), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for listener in list(self._listeners):
            listener.queue.put_nowait(None)
        for watcher in list(self._run_watchers):
            self._end(watcher)

    def on_revoked(self, handler: Callable[[str], None]) -> None:
        """Also call ``handler`` with the id of every key revoked anywhere (to drop cached keys)."""
        self._revocation_handlers.append(handler)

    def listening(self) -> int:
        """How many subscriptions are registered now (a handshake for tests and metrics)."""
        return len(self._listeners) + len(self._run_watchers)

    def is_revoked(self, key_id: str) -> bool:
        return key_id in self._revoked

    @contextlib.asynccontextmanager
    async def listen(
        self, workspace_id: str, key_id: str, accepts: EventFilter
    ) -> AsyncIterator[AsyncIterator[HubEvent]]:
        """Events of one workspace that pass ``accepts``, until the block exits or the key is revoked."""
        listener = _Listener(workspace_id, key_id, accepts)
        self._listeners.add(listener)
        try:
            yield self._drain(listener)
        finally:
            self._listeners.discard(listener)

    @contextlib.asynccontextmanager
    async def watch_run(self, run_id: str, key_id: str) -> AsyncIterator[AsyncIterator[None]]:
        """A tick now, then each time the run's progress is announced (or every RUN_RECHECK_SECONDS),
        until the block exits, the key is revoked or the subscription reaches its maximum lifetime."""
        watcher = _RunWatcher(run_id, key_id)
        self._run_watchers.add(watcher)
        try:
            yield self._ticks(watcher)
        finally:
            self._run_watchers.discard(watcher)

    async def _ticks(self, watcher: _RunWatcher) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_lifetime
        while not watcher.ended:
            yield None
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watcher.changed.wait(), min(remaining, RUN_RECHECK_SECONDS))
            watcher.changed.clear()

    def _run_progressed(self, data: bytes | str) -> None:
        _, _, run_id = _text(data).partition(" ")
        for watcher in self._run_watchers:
            if watcher.run_id == run_id:
                watcher.changed.set()

    def _end(self, watcher: _RunWatcher) -> None:
        watcher.ended = True
        watcher.changed.set()

    async def _drain(self, listener: _Listener) -> AsyncIterator[HubEvent]:
        """Until the hub stops, the key is revoked, or the subscription reaches its maximum lifetime
        (clients reconnect; a long-lived socket then re-authenticates with a key that may have changed)."""
        deadline = asyncio.get_running_loop().time() + self._max_lifetime
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            try:
                event = await asyncio.wait_for(listener.queue.get(), remaining)
            except TimeoutError:
                return
            if event is None:
                return
            yield event

    def dispatch(self, event: HubEvent) -> None:
        for listener in list(self._listeners):
            if listener.workspace_id != event.workspace_id or not listener.accepts(event):
                continue
            try:
                listener.queue.put_nowait(event)
                self._delivered(event)
            except asyncio.QueueFull:
                # A subscriber this far behind is cut off rather than allowed to grow memory without bound.
                log.warning("dropping a subscriber that fell %d events behind", QUEUE_SIZE)
                self._listeners.discard(listener)
                listener.queue.get_nowait()
                listener.queue.put_nowait(None)

    async def _pump(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(self._pattern)
                    await pubsub.subscribe(self._revocations, self._run_progress)
                    self.connected = True
                    async for message in pubsub.listen():
                        if message.get("type") == "pmessage":
                            self._dispatch_raw(message["data"])
                        elif message.get("type") == "message" and _text(message["channel"]) == self._run_progress:
                            self._run_progressed(message["data"])
                        elif message.get("type") == "message":
                            self.revoke(_text(message["data"]))
            except RedisError:
                self.connected = False
                log.warning("event subscription lost; reconnecting", exc_info=True)
                await asyncio.sleep(RECONNECT_DELAY_SECONDS)

    def revoke(self, key_id: str) -> None:
        """End every subscription opened with this key; later operations on its websockets fail."""
        self._revoked.add(key_id)
        for handler in self._revocation_handlers:
            handler(key_id)
        for listener in [item for item in self._listeners if item.key_id == key_id]:
            self._listeners.discard(listener)
            listener.queue.put_nowait(None)
        for watcher in [item for item in self._run_watchers if item.key_id == key_id]:
            self._end(watcher)

    def _dispatch_raw(self, data: bytes | str) -> None:
        try:
            payload = json.loads(data)
            event: HubEvent = (
                SegmentEvent.from_json(payload)
                if payload.get("type") == "segment"
                else ClassChangeEvent.from_json(data)
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("ignoring a malformed event")
            return
        self.dispatch(event)


def _text(data: bytes | str) -> str:
    return data.decode() if isinstance(data, bytes) else data
