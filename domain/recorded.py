"""What an idempotent create returns: the record, and whether this call created it or found it there."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Recorded[T]:
    value: T
    created: bool
