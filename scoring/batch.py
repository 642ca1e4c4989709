"""The inputs of classification for a batch of customers, as aligned numpy arrays (one row each)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scoring.result import FloatArray, IntArray, StrArray

DAY_SECONDS = 86_400


def _no_ints() -> IntArray:
    return np.zeros(0, dtype=np.int64)


def _no_floats() -> FloatArray:
    return np.zeros(0, dtype=np.float64)


def _no_strings() -> StrArray:
    return np.zeros(0, dtype=object)


@dataclass(frozen=True, slots=True)
class CustomerBatch:
    """Times are seconds since the epoch, NaN when unknown; money is in minor units.

    ``birth_year/month/day`` are 0 when the birth date is unknown.
    """

    now: float
    created_at: FloatArray
    birth_year: IntArray
    birth_month: IntArray
    birth_day: IntArray
    personality_type: IntArray  # 0 = not entered
    order_count: IntArray
    paid_order_count: IntArray
    paid_in_window: IntArray  # paid orders within the purchase-stage window
    # When the loyal_orders-th most recent paid order in the window was placed (NaN: fewer than that):
    # the customer stops counting as loyal when it leaves the window.
    loyal_anchor_at: FloatArray
    unpaid_open_orders: IntArray  # placed, neither paid nor cancelled
    net_spend: IntArray
    gross_spend: IntArray  # paid totals before discounts
    discount_spend: IntArray
    first_paid_at: FloatArray
    last_paid_at: FloatArray
    item_count: IntArray
    new_product_items: IntArray
    premium_items: IntArray
    interaction_count: IntArray
    intent_signals: IntArray  # quotes, calls, visits, messages, meetings
    service_ratings: IntArray
    complaints: IntArray
    country: StrArray  # "" when unknown
    city: StrArray
    legal_type: StrArray
    gender: StrArray  # "" when not entered; sensitive, read only by a model an admin opted in
    income_band: StrArray  # "" when not entered; sensitive likewise
    # Lists per customer, flattened: entry j belongs to the customer in row ``*_row[j]``.
    # Recent interactions (kind, time), for engagement that decays:
    touch_row: IntArray = field(default_factory=_no_ints)
    touch_kind: StrArray = field(default_factory=_no_strings)
    touch_at: FloatArray = field(default_factory=_no_floats)
    # Interests, lifestyle and needs, case-folded:
    interest_row: IntArray = field(default_factory=_no_ints)
    interest: StrArray = field(default_factory=_no_strings)
    # The segments each customer is in (as of the last evaluation):
    segment_row: IntArray = field(default_factory=_no_ints)
    segment: StrArray = field(default_factory=_no_strings)
    # Since when the shop has had each customer by its own records (a migrating shop's signup date), NaN
    # when not given; None when nobody in the batch has one. ``created_at`` is never later than it.
    customer_since: FloatArray | None = None

    def __len__(self) -> int:
        return len(self.created_at)


def empty_batch(n: int, now: float) -> CustomerBatch:
    """A batch of ``n`` customers with no data at all (useful for tests and as a base)."""
    zeros = np.zeros(n, dtype=np.int64)
    nan = np.full(n, np.nan)
    return CustomerBatch(
        now=now,
        created_at=np.full(n, now),
        birth_year=zeros,
        birth_month=zeros,
        birth_day=zeros,
        personality_type=zeros,
        order_count=zeros,
        paid_order_count=zeros,
        paid_in_window=zeros,
        loyal_anchor_at=nan,
        unpaid_open_orders=zeros,
        net_spend=zeros,
        gross_spend=zeros,
        discount_spend=zeros,
        first_paid_at=nan,
        last_paid_at=nan,
        item_count=zeros,
        new_product_items=zeros,
        premium_items=zeros,
        interaction_count=zeros,
        intent_signals=zeros,
        service_ratings=zeros,
        complaints=zeros,
        country=np.full(n, "", dtype=object),
        city=np.full(n, "", dtype=object),
        legal_type=np.full(n, "individual", dtype=object),
        gender=np.full(n, "", dtype=object),
        income_band=np.full(n, "", dtype=object),
    )
