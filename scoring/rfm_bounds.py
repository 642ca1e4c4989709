"""The workspace's RFM quintiles and the R, F, M scores 1-5 a customer gets from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.batch import DAY_SECONDS, CustomerBatch
from scoring.result import FloatArray, IntArray

QUINTILES = (0.2, 0.4, 0.6, 0.8)


@dataclass(frozen=True, slots=True)
class RfmBounds:
    """The 20th, 40th, 60th and 80th percentiles over the workspace's paying customers."""

    recency_days: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]


NO_BOUNDS = RfmBounds((0.0,) * 4, (0.0,) * 4, (0.0,) * 4)


def recency_days(batch: CustomerBatch) -> FloatArray:
    return np.floor((batch.now - batch.last_paid_at) / DAY_SECONDS)


def rfm_bounds(recency: FloatArray, frequency: IntArray, monetary: IntArray) -> RfmBounds:
    """Quintile bounds from the paying customers of a workspace (NaN recency = never paid: left out)."""
    paying = ~np.isnan(recency)
    if not paying.any():
        return NO_BOUNDS

    def bounds(values: np.ndarray) -> tuple[float, ...]:
        return tuple(float(v) for v in np.quantile(values[paying].astype(np.float64), QUINTILES))

    return RfmBounds(bounds(recency), bounds(frequency), bounds(monetary))


def rfm_scores(batch: CustomerBatch, bounds: RfmBounds) -> tuple[IntArray, IntArray, IntArray]:
    recency = recency_days(batch)
    r = 5 - np.searchsorted(np.asarray(bounds.recency_days), recency, side="left")
    f = 1 + np.searchsorted(np.asarray(bounds.frequency), batch.paid_order_count, side="left")
    m = 1 + np.searchsorted(np.asarray(bounds.monetary), batch.net_spend, side="left")
    return r.astype(np.int64), f.astype(np.int64), m.astype(np.int64)


def recency_score_drops_at(batch: CustomerBatch, bounds: RfmBounds) -> FloatArray:
    """When each customer's recency score next drops with time alone (NaN: already 1, or never paid).

    The score counts the bounds below the recency in days; it drops on the first day past the next bound.
    """
    recency = recency_days(batch)
    edges = np.asarray(bounds.recency_days, dtype=np.float64)
    following = np.searchsorted(edges, np.nan_to_num(recency, nan=np.inf), side="left")
    last = len(edges)
    next_day = np.floor(edges[np.minimum(following, last - 1)]) + 1
    return np.where(following < last, batch.last_paid_at + next_day * DAY_SECONDS, np.nan)


def crossed_ranges(old: tuple[float, ...], new: tuple[float, ...]) -> list[tuple[float, float]]:
    """The value ranges ``(low, high]`` whose score differs between two sets of quintile bounds."""
    return [(min(a, b), max(a, b)) for a, b in zip(old, new, strict=True) if a != b]
