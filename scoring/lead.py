"""Lead potential: a 0-100 score of how likely a customer is to buy soon, and its tier (cold, warm, hot).

score = fit (the profile against the shop's target) + engagement (touches, each weighing less with a
half-life) + intent (an open quote, an unpaid order, repeated visits) - negatives (complaints, long
silence, an unsubscribe). Every factor's points are whole numbers and they add up to the score exactly:
a group over its cap gets a ``*_cap`` factor taking the excess back, a total below 0 a ``floor`` factor.

No field read here is sensitive (birth date, income, gender, personality stay out), so every role that
reads classes sees the score, unless an admin lets the workspace's conversion model learn from one.
With a trained model the evidence also holds the probability of converting, what a call is worth, and
the fields that move the probability most (``for1..3``, ``against1..3``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Self

import numpy as np
from pydantic import Field, model_validator

from scoring.batch import DAY_SECONDS, CustomerBatch
from scoring.conversion_data import SensitiveField
from scoring.hysteresis import Hysteresis
from scoring.result import ClassSetResult, Fact, FloatArray, IntArray
from scoring.spec import (
    ClassSetSpec,
    Code,
    Evidence,
    Params,
    RefusedValue,
    ScoringContext,
    Sentence,
    ShortText,
    increasing,
    known_countries,
    known_legal_types,
)

# Touches older than this are not read: at the longest half-life (180 days) they would weigh under 1/16.
LEAD_LOOKBACK = timedelta(days=730)

ENGAGEMENT_KINDS = ("visit", "call", "message", "email_open", "quote", "meeting", "website_visit")
VISIT_KINDS = ("visit", "website_visit")

Points = Annotated[int, Field(ge=0, le=100)]
Days = Annotated[int, Field(ge=1, le=365)]
HalfLife = Annotated[int, Field(ge=1, le=180)]


class LeadParams(Params):
    warm_from: Points = 30
    hot_from: Points = 60
    # Fit: an empty target gives no points for that condition.
    target_countries: Annotated[tuple[str, ...], Field(max_length=250)] = ()
    target_cities: Annotated[tuple[ShortText, ...], Field(max_length=500)] = ()
    target_legal_types: Annotated[tuple[str, ...], Field(max_length=2)] = ()
    categories: Annotated[tuple[ShortText, ...], Field(max_length=200)] = ()  # what the shop sells
    region_points: Points = 15
    legal_type_points: Points = 10
    interest_points: Points = 5  # per interest, lifestyle or need that is one of the categories
    fit_cap: Points = 40
    # Engagement: points per touch, each weighing half as much every half-life.
    visit_points: Points = 6
    call_points: Points = 4
    message_points: Points = 3
    email_open_points: Points = 1
    quote_points: Points = 8
    meeting_points: Points = 8
    website_visit_points: Points = 2
    engagement_half_life_days: HalfLife = 30
    engagement_cap: Points = 35
    # Intent
    open_quote_points: Points = 15
    quote_open_days: Days = 30  # a quote with no paid order since, this recent, is open
    unpaid_order_points: Points = 10
    repeat_visit_points: Points = 10
    repeat_visits: Annotated[int, Field(ge=2, le=20)] = 3
    repeat_visit_window_days: Days = 14
    intent_cap: Points = 25
    # Negatives: points taken off.
    complaint_points: Points = 10
    complaint_half_life_days: HalfLife = 90
    silence_points: Points = 15
    silence_after_days: Days = 90  # no touch, payment or signup for this long
    unsubscribe_points: Points = 30  # an unsubscribe with no engagement since
    # The learned conversion model (scoring/conversion_data.py): a lead is won when its first paid order
    # comes within this many days of first contact. Sensitive fields it may learn from: none unless an
    # admin lists them here (and then the lead tier is sensitive as a whole, like any class read from one).
    conversion_window_days: Days = 90
    learn_from_sensitive: Annotated[tuple[SensitiveField, ...], Field(max_length=4)] = ()

    @model_validator(mode="after")
    def consistent(self) -> Self:
        increasing([self.warm_from, self.hot_from], "warm_from must be below hot_from")
        if self.fit_cap + self.engagement_cap + self.intent_cap > 100:
            raise RefusedValue("fit_cap, engagement_cap and intent_cap add up to at most 100")
        known_countries(self.target_countries)
        known_legal_types(self.target_legal_types)
        return self

    def kind_points(self, kind: str) -> int:
        return int(getattr(self, f"{kind}_points"))


# Factor names in the order they are shown, with their group.
FACTORS: tuple[tuple[str, str], ...] = (
    ("target_region", "fit"),
    ("target_legal_type", "fit"),
    ("interests", "fit"),
    ("fit_cap", "fit"),
    *((kind, "engagement") for kind in ENGAGEMENT_KINDS),
    ("engagement_cap", "engagement"),
    ("open_quote", "intent"),
    ("unpaid_order", "intent"),
    ("repeat_visits", "intent"),
    ("intent_cap", "intent"),
    ("complaints", "negative"),
    ("silence", "negative"),
    ("unsubscribed", "negative"),
    ("floor", "adjustment"),
)
GROUP_OF = dict(FACTORS)
ADJUSTMENTS = frozenset({"fit_cap", "engagement_cap", "intent_cap", "floor"})


class LeadInputs:
    """What the score reads per customer, reduced from the batch once; ``at`` evaluates it at any time."""

    def __init__(self, batch: CustomerBatch, params: LeadParams) -> None:
        n = len(batch)
        self.now = batch.now
        self.params = params
        self.region = _in_region(batch, params)
        self.legal_type = (
            np.isin(batch.legal_type, params.target_legal_types) if params.target_legal_types else np.zeros(n, bool)
        )
        categories = {value.casefold() for value in params.categories}
        matching = np.array([value in categories for value in batch.interest], dtype=bool)
        self.interests = np.bincount(batch.interest_row[matching], minlength=n).astype(np.int64)
        age_days = (batch.now - batch.touch_at) / DAY_SECONDS
        # Touches fade a day at a time, from the start of the day: rescoring twice in a day finds the same
        # points, so a run with nothing new writes nothing; the score moves once a day as touches age.
        self.fade_origin = np.floor(batch.now / DAY_SECONDS) * DAY_SECONDS
        faded_days = np.maximum(self.fade_origin - batch.touch_at, 0) / DAY_SECONDS
        rows, kinds = batch.touch_row, batch.touch_kind
        self.touches = {
            kind: np.bincount(rows[kinds == kind], minlength=n) for kind in (*ENGAGEMENT_KINDS, "complaint")
        }
        self.weight = {
            kind: _weighted(rows, kinds == kind, 0.5 ** (faded_days / params.engagement_half_life_days), n)
            for kind in ENGAGEMENT_KINDS
        }
        self.complaint_weight = _weighted(
            rows, kinds == "complaint", 0.5 ** (faded_days / params.complaint_half_life_days), n
        )
        engaging = np.isin(kinds, ENGAGEMENT_KINDS)
        self.last_engagement = _latest(rows, engaging, batch.touch_at, n)
        self.last_unsubscribe = _latest(rows, kinds == "unsubscribe", batch.touch_at, n)
        self.last_quote = _latest(rows, kinds == "quote", batch.touch_at, n)
        self.last_paid = np.nan_to_num(batch.last_paid_at, nan=-np.inf)
        self.last_activity = np.fmax(
            np.fmax(_latest(rows, kinds != "unsubscribe", batch.touch_at, n), self.last_paid), batch.created_at
        )
        self.unpaid_orders = batch.unpaid_open_orders
        # Repeated visits hold while the repeat_visits-th most recent visit is inside the window.
        self.kth_visit = _kth_latest(rows, np.isin(kinds, VISIT_KINDS), batch.touch_at, n, params.repeat_visits)
        self.visits_in_window = np.bincount(
            rows[np.isin(kinds, VISIT_KINDS) & (age_days <= params.repeat_visit_window_days)], minlength=n
        )

    def points(self, at: float | FloatArray) -> dict[str, IntArray]:
        """Each factor's points at time ``at`` (now, or later with no new touch), whole numbers. ``at`` may
        be one moment, one per customer, or a (moments x customers) matrix."""
        p = self.params
        later = np.floor((np.asarray(at) - self.fade_origin) / DAY_SECONDS)  # whole days of fading to come
        points: dict[str, IntArray] = {
            "target_region": np.where(self.region, p.region_points, 0),
            "target_legal_type": np.where(self.legal_type, p.legal_type_points, 0),
            "interests": self.interests * p.interest_points,
        }
        points["fit_cap"] = _cap(points, p.fit_cap)
        fade = 0.5 ** (later / p.engagement_half_life_days)
        engagement = {kind: np.rint(p.kind_points(kind) * self.weight[kind] * fade) for kind in ENGAGEMENT_KINDS}
        points |= {kind: value.astype(np.int64) for kind, value in engagement.items()}
        points["engagement_cap"] = _cap({kind: points[kind] for kind in ENGAGEMENT_KINDS}, p.engagement_cap)
        quote_open = (self.last_quote > at - p.quote_open_days * DAY_SECONDS) & (self.last_paid < self.last_quote)
        intent = {
            "open_quote": np.where(quote_open, p.open_quote_points, 0),
            "unpaid_order": np.where(self.unpaid_orders > 0, p.unpaid_order_points, 0),
            "repeat_visits": np.where(
                self.kth_visit > at - p.repeat_visit_window_days * DAY_SECONDS, p.repeat_visit_points, 0
            ),
        }
        points |= intent
        points["intent_cap"] = _cap(intent, p.intent_cap)
        complaint_fade = 0.5 ** (later / p.complaint_half_life_days)
        points["complaints"] = -np.rint(p.complaint_points * self.complaint_weight * complaint_fade).astype(np.int64)
        silent = at - self.last_activity >= p.silence_after_days * DAY_SECONDS
        points["silence"] = np.where(silent, -p.silence_points, 0)
        points["unsubscribed"] = np.where(self.last_unsubscribe > self.last_engagement, -p.unsubscribe_points, 0)
        total = sum(points.values(), start=np.zeros_like(self.interests))
        points["floor"] = np.where(total < 0, -total, 0)
        shape = np.broadcast_shapes(np.shape(at), self.interests.shape)
        return {name: np.broadcast_to(points[name], shape).astype(np.int64) for name, _ in FACTORS}

    def rows(self, index: IntArray) -> LeadInputs:
        """The same inputs for some of the customers only."""
        subset = object.__new__(LeadInputs)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                value = value[index]
            elif isinstance(value, dict):
                value = {key: column[index] for key, column in value.items()}
            setattr(subset, name, value)
        return subset

    def values(self) -> dict[str, FloatArray]:
        """What each factor counted (touches, orders, interests) or 1 for a condition that holds."""
        return {
            "interests": self.interests.astype(np.float64),
            **{kind: self.touches[kind].astype(np.float64) for kind in ENGAGEMENT_KINDS},
            "complaints": self.touches["complaint"].astype(np.float64),
            "unpaid_order": self.unpaid_orders.astype(np.float64),
            "repeat_visits": self.visits_in_window.astype(np.float64),
        }

    def step_times(self) -> list[FloatArray]:
        """When a condition ends or starts with time alone: a quote stops being open, repeated visits
        leave the window, silence begins."""
        p = self.params
        return [
            self.last_quote + p.quote_open_days * DAY_SECONDS,
            self.kth_visit + p.repeat_visit_window_days * DAY_SECONDS,
            self.last_activity + p.silence_after_days * DAY_SECONDS,
        ]


def lead_scores(batch: CustomerBatch, params: LeadParams) -> tuple[IntArray, dict[str, IntArray], LeadInputs]:
    inputs = LeadInputs(batch, params)
    points = inputs.points(batch.now)
    return sum(points.values(), start=np.zeros(len(batch), np.int64)), points, inputs


def tier_of(score: IntArray, params: LeadParams) -> IntArray:
    return np.searchsorted(np.array([params.warm_from, params.hot_from]), score, side="right").astype(np.int64)


# Days ahead at which the tier is re-evaluated when nothing happens: daily for a month, then weekly.
_HORIZON_DAYS = np.concatenate([np.arange(1, 31), np.arange(35, 366, 7)]).astype(np.float64)


_MOMENTS_PER_PASS = 8


def next_tier_change(inputs: LeadInputs, tier: IntArray) -> FloatArray:
    """The first moment, with no new touch, at which the tier differs (to the day; conditions that end
    at a known moment, exactly); NaN when none within a year.

    Without complaints fading, every part of the score only falls with time (touches fade, quotes and
    visit windows close, silence begins), so a cold lead stays cold: only the others are evaluated."""
    result = np.full(len(tier), np.nan)
    can_change = np.flatnonzero((tier > 0) | (inputs.complaint_weight > 0))
    if len(can_change):
        result[can_change] = _first_tier_change(inputs.rows(can_change), tier[can_change])
    return result


def _first_tier_change(inputs: LeadInputs, tier: IntArray) -> FloatArray:
    now, n = inputs.now, len(tier)
    # From the start of the day, as touches fade: the same moments whenever in the day it is computed.
    horizon = np.broadcast_to((inputs.fade_origin + _HORIZON_DAYS * DAY_SECONDS)[:, None], (len(_HORIZON_DAYS), n))
    steps = np.vstack([np.where(step > now, step + 1, np.nan) for step in inputs.step_times()])
    moments = np.vstack([horizon, steps])
    found = np.full(n, np.inf)
    # A few moments for every customer at a time: few passes, and memory bounded by the batch size.
    for block in range(0, len(moments), _MOMENTS_PER_PASS):
        at = moments[block : block + _MOMENTS_PER_PASS]
        valid = ~np.isnan(at)
        when = np.where(valid, at, now)
        score = sum(inputs.points(when).values(), start=np.zeros(when.shape, np.int64))
        moved = valid & (tier_of(score, inputs.params) != tier)
        found = np.minimum(found, np.where(moved, when, np.inf).min(axis=0))
    return np.where(np.isinf(found), np.nan, found)


def classify_lead_tier(batch: CustomerBatch, params: LeadParams, context: ScoringContext) -> ClassSetResult:
    score, points, inputs = lead_scores(batch, params)
    tier = tier_of(score, params)
    values = inputs.values()
    facts: dict[str, np.ndarray] = {"score": score}
    for name, _ in FACTORS:
        facts[f"points_{name}"] = np.where(points[name] != 0, points[name], np.nan).astype(np.float64)
        if name in values:
            facts[f"value_{name}"] = np.where(values[name] != 0, values[name], np.nan)
    facts |= _top_three(points)
    facts["next_change_at"] = next_tier_change(inputs, tier)
    model = context.conversion
    # A model trained on sensitive fields the admin no longer allows is not applied until retrained.
    if model is not None and set(model.sensitive) <= set(params.learn_from_sensitive):
        facts |= model.facts(batch)
    return SPEC.result(tier, facts)


def _top_three(points: dict[str, IntArray]) -> dict[str, np.ndarray]:
    names = [name for name, _ in FACTORS if name not in ADJUSTMENTS]
    magnitude = np.vstack([np.abs(points[name]) for name in names])
    order = np.argsort(-magnitude, axis=0, kind="stable")
    top: dict[str, np.ndarray] = {}
    for rank in range(3):
        index = order[rank]
        shown = magnitude[index, np.arange(magnitude.shape[1])] > 0
        top[f"top{rank + 1}"] = np.where(shown, np.asarray(names, dtype=object)[index], "")
    return top


def _in_region(batch: CustomerBatch, params: LeadParams) -> np.ndarray:
    if params.target_cities:
        return np.isin(batch.city, params.target_cities)
    if params.target_countries:
        return np.isin(batch.country, params.target_countries)
    return np.zeros(len(batch), dtype=bool)


def _weighted(rows: IntArray, mask: np.ndarray, weights: FloatArray, n: int) -> FloatArray:
    return np.bincount(rows[mask], weights=weights[mask], minlength=n).astype(np.float64)


def _latest(rows: IntArray, mask: np.ndarray, at: FloatArray, n: int) -> FloatArray:
    latest = np.full(n, -np.inf)
    np.maximum.at(latest, rows[mask], at[mask])
    return latest


def _kth_latest(rows: IntArray, mask: np.ndarray, at: FloatArray, n: int, k: int) -> FloatArray:
    """Per customer, the time of its k-th most recent touch among ``mask`` (-inf: fewer than k)."""
    rows, at = rows[mask], at[mask]
    order = np.lexsort((-at, rows))
    rows, at = rows[order], at[order]
    starts = np.searchsorted(rows, np.arange(n))
    counts = np.bincount(rows, minlength=n)
    result = np.full(n, -np.inf)
    has = counts >= k
    result[has] = at[starts[has] + k - 1]
    return result


def _cap(group: dict[str, IntArray], cap: int) -> IntArray:
    total = sum(group.values(), start=np.int64(0))
    return np.where(total > cap, cap - total, 0).astype(np.int64)


def _top_count(facts: Mapping[str, Fact]) -> str:
    return ("none", "one", "two", "three")[sum(1 for rank in (1, 2, 3) if facts.get(f"top{rank}"))]


_FACTOR_NAMES = {
    "target_region": Sentence(vi="khu vực mục tiêu", zh="目标地区", en="the target region"),
    "target_legal_type": Sentence(vi="đúng loại khách mục tiêu", zh="目标客户类型", en="the target legal type"),
    "interests": Sentence(vi="sở thích hợp sản phẩm", zh="兴趣与产品相符", en="interests matching the products"),
    "visit": Sentence(vi="ghé cửa hàng", zh="到店", en="store visits"),
    "call": Sentence(vi="cuộc gọi", zh="电话", en="calls"),
    "message": Sentence(vi="tin nhắn", zh="消息", en="messages"),
    "email_open": Sentence(vi="mở email", zh="打开邮件", en="email opens"),
    "quote": Sentence(vi="yêu cầu báo giá", zh="询价", en="quotes"),
    "meeting": Sentence(vi="cuộc gặp", zh="会面", en="meetings"),
    "website_visit": Sentence(vi="truy cập website", zh="访问网站", en="website visits"),
    "open_quote": Sentence(vi="báo giá đang mở", zh="未成交的报价", en="an open quote"),
    "unpaid_order": Sentence(vi="đơn chưa thanh toán", zh="未付款订单", en="an unpaid order"),
    "repeat_visits": Sentence(vi="ghé nhiều lần gần đây", zh="近期多次到访", en="repeated recent visits"),
    "complaints": Sentence(vi="khiếu nại", zh="投诉", en="complaints"),
    "silence": Sentence(vi="im lặng lâu", zh="长期无联系", en="a long silence"),
    "unsubscribed": Sentence(vi="đã hủy đăng ký", zh="已退订", en="an unsubscribe"),
}


SPEC = ClassSetSpec(
    key="lead_tier",
    names=Sentence(vi="Tiềm năng mua hàng", zh="购买潜力", en="Lead potential"),
    codes=(
        Code("cold", "Khách hàng ít tiềm năng", "低潜力客户", "Cold lead", "#90A4AE"),
        Code("warm", "Khách hàng tiềm năng", "潜在客户", "Warm lead", "#FFB74D"),
        Code("hot", "Khách hàng tiềm năng cao", "高意向客户", "Hot lead", "#E53935"),
    ),
    classify=classify_lead_tier,
    params=LeadParams,
    defaults=lambda country: LeadParams(target_countries=(country,)),
    evidence=Evidence(
        sentences={
            "none": Sentence(
                vi="điểm tiềm năng {score}/100, chưa có tín hiệu nào",
                zh="潜力分 {score}/100，暂无信号",
                en="lead score {score}/100, no signal yet",
            ),
            "one": Sentence(
                vi="điểm tiềm năng {score}/100, yếu tố chính: {top1}",
                zh="潜力分 {score}/100，主要因素：{top1}",
                en="lead score {score}/100, top factor: {top1}",
            ),
            "two": Sentence(
                vi="điểm tiềm năng {score}/100, yếu tố chính: {top1}, {top2}",
                zh="潜力分 {score}/100，主要因素：{top1}、{top2}",
                en="lead score {score}/100, top factors: {top1} and {top2}",
            ),
            "three": Sentence(
                vi="điểm tiềm năng {score}/100, yếu tố chính: {top1}, {top2}, {top3}",
                zh="潜力分 {score}/100，主要因素：{top1}、{top2}、{top3}",
                en="lead score {score}/100, top factors: {top1}, {top2} and {top3}",
            ),
        },
        case=_top_count,
        value_names=_FACTOR_NAMES,
    ),
    hysteresis=Hysteresis(grace_days=3.0),
    time_scheduled=True,
    personal_when=lambda params: bool(params.learn_from_sensitive),
)
LEAD_TIER_CODES = SPEC.code_names


def factors_from_facts(facts: Mapping[str, Fact]) -> list[tuple[str, str, float | None, int]]:
    """The stored evidence of a lead tier read back as (name, group, value, points), the factors with
    points in display order; their points add up to the stored score."""
    found = []
    for name, group in FACTORS:
        points = facts.get(f"points_{name}")
        if isinstance(points, int | float):
            value = facts.get(f"value_{name}")
            found.append((name, group, float(value) if isinstance(value, int | float) else None, int(points)))
    return found
