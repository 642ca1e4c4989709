"""Aggregates read for scoring, and their assembly into the arrays scoring/ works on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from domain.customers.models import CustomerStats, customer_since
from domain.timestamps import aware
from scoring.batch import CustomerBatch

# Which interaction kinds show interest before a purchase (deal status "intent").
INTENT_KINDS = ("quote", "call", "visit", "message", "meeting", "website_visit")
PREMIUM_CATEGORIES = ("premium", "premium_design", "design", "luxury")
NEW_PRODUCT_DAYS = 90


@dataclass(frozen=True, slots=True)
class OrderFeatures:
    stats: CustomerStats = field(default_factory=CustomerStats)
    paid_in_window: int = 0
    loyal_anchor_at: datetime | None = None
    unpaid_open_orders: int = 0
    gross_spend_minor: int = 0
    discount_minor: int = 0
    first_paid_at: datetime | None = None
    last_paid_at: datetime | None = None
    item_count: int = 0
    new_product_items: int = 0
    premium_items: int = 0


@dataclass(frozen=True, slots=True)
class OrderFeaturesRead:
    """The order features of a batch, and the customers whose orders cannot be scored (with why)."""

    features: dict[str, OrderFeatures]
    unscorable: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InteractionFeatures:
    interaction_count: int = 0
    intent_signals: int = 0
    service_ratings: int = 0
    complaints: int = 0
    # (kind, when) of the interactions since the lead score's look-back, for engagement that decays.
    touches: tuple[tuple[str, datetime], ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileFeatures:
    created_at: datetime  # or the customer's customer_since, when earlier
    birth_date: date | None = None
    customer_since: datetime | None = None
    personality_type: int = 0
    country: str = ""
    city: str = ""
    legal_type: str = "individual"
    gender: str = ""
    income_band: str = ""
    interests: tuple[str, ...] = ()  # interests, lifestyle and needs, case-folded
    segments: tuple[str, ...] = ()  # the segments it is in

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ProfileFeatures:
        """From a customer document read with ``PROFILE_FIELDS``."""
        birth = document.get("birth_date")
        return cls(
            created_at=customer_since(document),
            customer_since=aware(document.get("customer_since")),
            birth_date=birth.date() if isinstance(birth, datetime) else None,
            personality_type=(document.get("personality") or {}).get("type", 0),
            country=document.get("country") or "",
            city=document.get("city") or "",
            legal_type=document.get("legal_type") or "individual",
            gender=document.get("gender") or "",
            income_band=document.get("income_band") or "",
            segments=tuple(document.get("segments") or ()),
            interests=tuple(
                dict.fromkeys(
                    value.casefold()
                    for field in ("interests", "lifestyle", "needs")
                    for value in document.get(field) or ()
                )
            ),
        )


# The customer fields a profile is read from.
PROFILE_FIELDS: dict[str, int] = dict.fromkeys(
    (
        "created_at",
        "customer_since",
        "birth_date",
        "personality.type",
        "country",
        "city",
        "legal_type",
        "gender",
        "income_band",
        "interests",
        "lifestyle",
        "needs",
        "segments",
    ),
    1,
)


def build_batch(
    profiles: Sequence[ProfileFeatures],
    orders: Sequence[OrderFeatures],
    interactions: Sequence[InteractionFeatures],
    now: datetime,
) -> CustomerBatch:
    def ints(values: list[int]) -> np.ndarray:
        return np.asarray(values, dtype=np.int64).reshape(len(profiles))

    def times(values: list[datetime | None]) -> np.ndarray:
        return np.asarray([v.timestamp() if v else np.nan for v in values], dtype=np.float64).reshape(len(profiles))

    def strings(values: list[str]) -> np.ndarray:
        return np.asarray(values, dtype=object).reshape(len(profiles))

    births = [p.birth_date for p in profiles]
    return CustomerBatch(
        now=now.timestamp(),
        created_at=times([p.created_at for p in profiles]),
        customer_since=times([p.customer_since for p in profiles]) if any(p.customer_since for p in profiles) else None,
        birth_year=ints([b.year if b else 0 for b in births]),
        birth_month=ints([b.month if b else 0 for b in births]),
        birth_day=ints([b.day if b else 0 for b in births]),
        personality_type=ints([p.personality_type for p in profiles]),
        order_count=ints([o.stats.order_count for o in orders]),
        paid_order_count=ints([o.stats.paid_order_count for o in orders]),
        paid_in_window=ints([o.paid_in_window for o in orders]),
        loyal_anchor_at=times([o.loyal_anchor_at for o in orders]),
        unpaid_open_orders=ints([o.unpaid_open_orders for o in orders]),
        net_spend=ints([o.stats.net_spend_minor for o in orders]),
        gross_spend=ints([o.gross_spend_minor for o in orders]),
        discount_spend=ints([o.discount_minor for o in orders]),
        first_paid_at=times([o.first_paid_at for o in orders]),
        last_paid_at=times([o.last_paid_at for o in orders]),
        item_count=ints([o.item_count for o in orders]),
        new_product_items=ints([o.new_product_items for o in orders]),
        premium_items=ints([o.premium_items for o in orders]),
        interaction_count=ints([i.interaction_count for i in interactions]),
        intent_signals=ints([i.intent_signals for i in interactions]),
        service_ratings=ints([i.service_ratings for i in interactions]),
        complaints=ints([i.complaints for i in interactions]),
        country=strings([p.country for p in profiles]),
        city=strings([p.city for p in profiles]),
        legal_type=strings([p.legal_type for p in profiles]),
        gender=strings([p.gender for p in profiles]),
        income_band=strings([p.income_band for p in profiles]),
        touch_row=ints_of([row for row, i in enumerate(interactions) for _ in i.touches]),
        touch_kind=np.asarray([kind for i in interactions for kind, _ in i.touches], dtype=object),
        touch_at=np.asarray([at.timestamp() for i in interactions for _, at in i.touches], dtype=np.float64),
        interest_row=ints_of([row for row, p in enumerate(profiles) for _ in p.interests]),
        interest=np.asarray([value for p in profiles for value in p.interests], dtype=object),
        segment_row=ints_of([row for row, p in enumerate(profiles) for _ in p.segments]),
        segment=np.asarray([value for p in profiles for value in p.segments], dtype=object),
    )


def ints_of(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)
