"""Keeps ``make run``'s processes up: a crashed API or worker is restarted with back-off and a log line;
a crashed Redis or database server stops the stack (the others cannot work without it)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devstack.processes import ManagedProcess

# Seconds to wait before each further restart of a process that keeps crashing.
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
# A process that ran this long before crashing is treated as healthy again: its back-off starts over.
STABLE_AFTER_SECONDS = 60.0


@dataclass
class Supervised:
    process: ManagedProcess
    start: Callable[[], ManagedProcess] | None  # None: not restartable
    started_at: float = field(default_factory=time.monotonic)
    crashes: int = 0
    restart_at: float | None = None


class Supervisor:
    def __init__(self, backoff: tuple[float, ...] = BACKOFF, log: Callable[[str], None] | None = None) -> None:
        self.backoff = backoff
        self.children: list[Supervised] = []
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))

    def add(self, process: ManagedProcess, start: Callable[[], ManagedProcess] | None = None) -> None:
        self.children.append(Supervised(process, start))

    def check(self) -> str | None:
        """One round: restart what is due; returns why the stack must stop, or None."""
        now = time.monotonic()
        for child in self.children:
            if child.process.alive():
                continue
            if child.start is None:
                return f"{child.process.name} exited with code {child.process.process.returncode}"
            if child.restart_at is None:
                self._schedule(child, now)
            elif now >= child.restart_at:
                self._restart(child)
        return None

    def run(self, interval: float = 0.5) -> str:
        while (reason := self.check()) is None:
            time.sleep(interval)
        return reason

    def stop(self, on_stopped: Callable[[ManagedProcess], None] | None = None) -> None:
        """Newest first (the API and worker before the servers they use); ``on_stopped`` after each."""
        for child in reversed(self.children):
            child.process.stop()
            if on_stopped is not None:
                on_stopped(child.process)

    def _schedule(self, child: Supervised, now: float) -> None:
        if now - child.started_at >= STABLE_AFTER_SECONDS:
            child.crashes = 0
        wait = self.backoff[min(child.crashes, len(self.backoff) - 1)]
        child.crashes += 1
        child.restart_at = now + wait
        code = child.process.process.returncode
        self._log(f"{child.process.name} exited with code {code}; restarting in {wait:g}s (crash {child.crashes})")

    def _restart(self, child: Supervised) -> None:
        assert child.start is not None
        child.restart_at = None
        try:
            child.process = child.start()
        except RuntimeError as error:  # it did not come up: try again after a longer wait
            self._log(f"{child.process.name} did not restart: {error}")
            self._schedule(child, time.monotonic())
            return
        child.started_at = time.monotonic()
        self._log(f"{child.process.name} restarted")
