"""MongoDB access for the models fitted on a whole workspace's stored customers: the RFM bounds (and
marking dirty the customers whose scores move with them), the future-value and conversion models."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from domain.clock import Clock
from domain.customers.models import LeadVerdict
from domain.customers.repository import mark_dirty_update
from domain.db import Database
from domain.rescoring.features import PROFILE_FIELDS, ProfileFeatures
from domain.timestamps import aware
from scoring.result import FloatArray, IntArray
from scoring.rfm_bounds import RfmBounds, crossed_ranges


@dataclass(frozen=True, slots=True)
class LeadRecord:
    customer_id: str
    profile: ProfileFeatures
    first_paid_at: datetime | None
    average_order_minor: float | None
    verdict: LeadVerdict | None

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> LeadRecord:
        stats = document.get("stats") or {}
        paid = stats.get("paid_order_count") or 0
        verdict = document.get("lead_verdict")
        return cls(
            document["_id"],
            ProfileFeatures.from_document(document),
            aware(stats.get("first_paid_at")),
            stats.get("net_spend_minor", 0) / paid if paid else None,
            LeadVerdict.from_document(verdict) if verdict else None,
        )


class CustomerStatsRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._customers = db.customers
        self._clock = clock

    async def rfm_inputs(self, workspace_id: str, now: datetime) -> tuple[FloatArray, IntArray, IntArray]:
        """Recency (days), frequency and monetary value of every paying customer, from their stored stats."""
        cursor = self._customers.find(
            {"workspace_id": workspace_id, "stats.last_paid_at": {"$type": "date"}},
            {"stats.last_paid_at": 1, "stats.paid_order_count": 1, "stats.net_spend_minor": 1},
        )
        rows = [document["stats"] async for document in cursor]
        recency = np.array([(now - aware(row["last_paid_at"])).days for row in rows], dtype=np.float64)
        frequency = np.array([row.get("paid_order_count", 0) for row in rows], dtype=np.int64)
        monetary = np.array([row.get("net_spend_minor", 0) for row in rows], dtype=np.int64)
        return recency, frequency, monetary

    async def mark_rfm_crossings(self, workspace_id: str, old: RfmBounds, new: RfmBounds, now: datetime) -> int:
        """Mark dirty the customers whose R, F or M score differs between ``old`` and ``new``; how many. The
        server selects them by the crossing ranges: no list of ids, however many cross."""
        conditions = _crossing_conditions(old, new, now)
        if not conditions:
            return 0
        result = await self._customers.update_many(
            {"workspace_id": workspace_id, "$or": conditions}, mark_dirty_update(self._clock.now())
        )
        return result.matched_count

    async def purchase_stats(self, workspace_id: str) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Every buyer's paid orders, first and last payment (epoch seconds) and net spend (minor units)."""
        cursor = self._customers.find(
            {"workspace_id": workspace_id, "stats.first_paid_at": {"$type": "date"}},
            {
                "stats.paid_order_count": 1,
                "stats.first_paid_at": 1,
                "stats.last_paid_at": 1,
                "stats.net_spend_minor": 1,
            },
        )
        rows = [document["stats"] async for document in cursor]
        return (
            np.array([row.get("paid_order_count", 0) for row in rows], dtype=np.float64),
            np.array([aware(row["first_paid_at"]).timestamp() for row in rows], dtype=np.float64),
            np.array([aware(row.get("last_paid_at") or row["first_paid_at"]).timestamp() for row in rows]),
            np.array([row.get("net_spend_minor", 0) for row in rows], dtype=np.float64),
        )

    async def lead_history(self, workspace_id: str) -> list[LeadRecord]:
        """Every customer's profile, first paid order, average paid order and sales verdict, in one read."""
        cursor = self._customers.find(
            {"workspace_id": workspace_id},
            {**PROFILE_FIELDS, "stats.first_paid_at": 1, "stats.paid_order_count": 1, "stats.net_spend_minor": 1,
             "lead_verdict": 1},
            batch_size=10_000,
        )  # fmt: skip
        return [LeadRecord.from_document(document) async for document in cursor]

    async def mark_all_dirty(self, workspace_id: str) -> int:
        """A new conversion model changes every customer's probability: rescore them all."""
        result = await self._customers.update_many({"workspace_id": workspace_id}, mark_dirty_update(self._clock.now()))
        return result.modified_count

    async def mark_buyers_dirty(self, workspace_id: str) -> int:
        """New models change every buyer's predictions: rescore them all."""
        result = await self._customers.update_many(
            {"workspace_id": workspace_id, "stats.first_paid_at": {"$type": "date"}},
            mark_dirty_update(self._clock.now()),
        )
        return result.modified_count


def _crossing_conditions(old: RfmBounds, new: RfmBounds, now: datetime) -> list[dict[str, Any]]:
    """Stats ranges whose scores differ between two sets of bounds (scores count bounds below a value)."""
    conditions: list[dict[str, Any]] = [
        {field: {"$gt": low, "$lte": high}}
        for field, old_bounds, new_bounds in (
            ("stats.paid_order_count", old.frequency, new.frequency),
            ("stats.net_spend_minor", old.monetary, new.monetary),
        )
        for low, high in crossed_ranges(old_bounds, new_bounds)
    ]
    # Recency in whole days d is in (low, high] exactly when the last payment is in this time range.
    for low, high in crossed_ranges(old.recency_days, new.recency_days):
        latest = now - timedelta(days=math.floor(low) + 1)
        earliest = now - timedelta(days=math.floor(high) + 1)
        conditions.append({"stats.last_paid_at": {"$gt": earliest, "$lte": latest}})
    return conditions
