"""Time as a port: every use case, job and sweep asks one clock for the moment, so tests move time instead
of sleeping, and a worker's own clock decides nothing that others must agree on (orders of the ledger and
of offline sync are stamped by the database itself, see the README's production section)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The host's clock (production)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (tests, simulations); safe to share between threads."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, by: timedelta) -> datetime:
        with self._lock:
            self._now += by
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)


class TravellingClock:
    """The host's clock, moved forward on request: time still passes, and a test can jump past a moment
    (a birthday, the end of a window) without waiting for it."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, by: timedelta) -> datetime:
        with self._lock:
            self._offset += by
            return datetime.now(UTC) + self._offset


class SkewedClock:
    """Another clock, off by a fixed amount: a host whose clock is wrong."""

    def __init__(self, base: Clock, offset: timedelta) -> None:
        self._base = base
        self._offset = offset

    def now(self) -> datetime:
        return self._base.now() + self._offset
