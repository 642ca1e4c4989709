"""Counting the MongoDB commands a benchmark sends (pymongo's command monitoring), for every bench script."""

from __future__ import annotations

from collections import Counter

from pymongo import monitoring

# Connection handshakes and session clean-up, not the work measured.
HOUSEKEEPING = frozenset({"hello", "isMaster", "ismaster", "endSessions"})


class CommandCount(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def total(self) -> int:
        return sum(count for name, count in self.names.items() if name not in HOUSEKEEPING)


def counting() -> CommandCount:
    """A counter registered for every MongoDB client made from now on."""
    counter = CommandCount()
    monitoring.register(counter)
    return counter
