"""What every class-set function returns: one code per customer and the facts that decided it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.object_]
Fact = int | float | str | None


@dataclass(frozen=True, slots=True)
class ClassSetResult:
    """``code_index[i]`` indexes ``codes`` for customer ``i``; ``facts`` are per-customer arrays.

    A fact that does not apply to a customer is NaN (floats) or -1 (ints) and reads back as None.
    """

    key: str
    codes: tuple[str, ...]
    code_index: IntArray
    facts: dict[str, npt.NDArray[Any]] = field(default_factory=dict)

    def code(self, i: int) -> str:
        return self.codes[int(self.code_index[i])]

    def facts_at(self, i: int) -> dict[str, Fact]:
        return {name: _scalar(values[i]) for name, values in self.facts.items()}


def _scalar(value: np.int64 | np.float64 | str) -> Fact:
    if isinstance(value, str):
        return value or None
    if isinstance(value, np.floating):
        return None if np.isnan(value) else round(float(value), 4)
    return None if int(value) == -1 else int(value)


def first_true(conditions: list[npt.NDArray[np.bool_]], default: int) -> IntArray:
    """Index of the first true condition per customer (priority order), else ``default``."""
    stacked = np.vstack([np.asarray(c, dtype=bool) for c in conditions])
    any_true = stacked.any(axis=0)
    return np.where(any_true, stacked.argmax(axis=0), default).astype(np.int64)
