"""Evaluating segment rules (scoring/segment_rules.py) for many customers at once, and when each
customer's membership can next change with time alone.

Pure and vectorised: the domain reads a ``SegmentFrame`` (profiles, classes, scores, and one value per
customer for each order or interaction leaf, aggregated by MongoDB) and this says who is in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from scoring.batch import DAY_SECONDS
from scoring.result import FloatArray, IntArray
from scoring.segment_rules import (
    LIST_FIELDS,
    Anniversary,
    DateCondition,
    FieldCondition,
    FieldOp,
    OrderMeasure,
    Range,
    Rule,
)

BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True)
class LeafValues:
    """An order or interaction leaf's value per customer (NaN: nothing counted) and the earliest moment
    among what it counted (NaN: none), from which a window's end follows."""

    value: FloatArray
    earliest: FloatArray


@dataclass(frozen=True, slots=True)
class SegmentFrame:
    now: float
    texts: Mapping[str, ObjArray]  # scalar profile fields, "" when empty
    lists: Mapping[str, list[tuple[str, ...]]]  # list fields per customer
    dates: Mapping[str, FloatArray]  # epoch seconds, NaN when unknown
    birth_month: IntArray  # 0 when unknown
    birth_day: IntArray
    numbers: Mapping[str, FloatArray]  # scores by ScoreField value, money in major units; NaN: none
    classes: Mapping[str, ObjArray]  # code per class set, "" when none
    leaves: Mapping[str, LeafValues] = field(default_factory=dict)  # by leaf key
    members: Mapping[str, BoolArray] = field(default_factory=dict)  # stored membership by segment id

    def __len__(self) -> int:
        return len(self.birth_month)


@dataclass(frozen=True, slots=True)
class Verdict:
    inside: BoolArray
    next_change_at: FloatArray  # NaN: nothing changes with time alone


# How a referenced segment is evaluated: a dynamic one by its own rule, a static one by stored membership.
type SegmentResolver = Callable[[str, SegmentFrame], Verdict]


def evaluate(rule: Rule, frame: SegmentFrame, resolve: SegmentResolver | None = None) -> Verdict:
    n = len(frame)
    if rule.all is not None or rule.any is not None:
        parts = [evaluate(child, frame, resolve) for child in rule.children()]
        combine = np.logical_and.reduce if rule.all is not None else np.logical_or.reduce
        return Verdict(combine([p.inside for p in parts]), _earliest([p.next_change_at for p in parts]))
    if rule.not_ is not None:
        part = evaluate(rule.not_, frame, resolve)
        return Verdict(~part.inside, part.next_change_at)
    if rule.field is not None:
        return _still(_field(rule.field, frame))
    if rule.date is not None:
        return _date(rule.date, frame)
    if rule.class_ is not None:
        codes = frame.classes.get(rule.class_.class_set, np.full(n, "", dtype=object))
        return _still(np.isin(codes, rule.class_.codes))
    if rule.score is not None:
        values = frame.numbers.get(rule.score.score.value, np.full(n, np.nan))
        return _still(_in_range(values, rule.score))
    if rule.orders is not None or rule.interactions is not None:
        return _aggregate(rule, frame)
    assert rule.segment is not None
    if resolve is None:
        return _still(frame.members.get(rule.segment, np.zeros(n, dtype=bool)))
    return resolve(rule.segment, frame)


def fold(text: str) -> str:
    """Case and accents ignored: "Hồ Chí Minh" and "ho chi minh" compare equal (đ is d)."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _field(condition: FieldCondition, frame: SegmentFrame) -> BoolArray:
    name = condition.field.value
    values = frame.lists[name] if condition.field in LIST_FIELDS else [(v,) if v else () for v in frame.texts[name]]
    op = condition.op
    if op is FieldOp.EXISTS:
        return np.array([bool(v) for v in values], dtype=bool)
    wanted = [fold(v) for v in (condition.values or [condition.value or ""])]
    if op is FieldOp.MATCHES:
        words = fold(wanted[0]).split()
        return np.array([any(_words_begin(words, fold(v)) for v in row) for row in values], dtype=bool)
    if op is FieldOp.CONTAINS and condition.field not in LIST_FIELDS:
        return np.array([any(wanted[0] in fold(v) for v in row) for row in values], dtype=bool)
    targets = set(wanted)
    return np.array([any(fold(v) in targets for v in row) for row in values], dtype=bool)


def _words_begin(words: list[str], text: str) -> bool:
    stored = text.split()
    return all(any(s.startswith(w) for s in stored) for w in words)


def _date(condition: DateCondition, frame: SegmentFrame) -> Verdict:
    n, now = len(frame), frame.now
    if condition.anniversary is not None:
        return _anniversary(condition.anniversary, frame)
    at = frame.dates.get(condition.field.value, np.full(n, np.nan))
    known = ~np.isnan(at)
    if condition.within_last_days is not None:
        window = condition.within_last_days * DAY_SECONDS
        inside = known & (at >= now - window) & (at <= now)
        return Verdict(inside, np.where(inside, at + window, np.where(known & (at > now), at, np.nan)))
    if condition.older_than_days is not None:
        age = condition.older_than_days * DAY_SECONDS
        inside = known & (at < now - age)
        return Verdict(inside, np.where(known & ~inside, at + age, np.nan))
    after = condition.after.timestamp() if condition.after else -np.inf
    before = condition.before.timestamp() if condition.before else np.inf
    return _still(known & (at >= after) & (at < before))


def _anniversary(kind: Anniversary, frame: SegmentFrame) -> Verdict:
    today = datetime.fromtimestamp(frame.now, UTC)
    known = frame.birth_month > 0
    if kind is Anniversary.THIS_MONTH:
        inside = known & (frame.birth_month == today.month)
        month_end = datetime(today.year + today.month // 12, today.month % 12 + 1, 1, tzinfo=UTC).timestamp()
        # Everyone is re-evaluated when the month turns: some enter, the others leave.
        return Verdict(inside, np.where(known, month_end, np.nan))
    inside = known & (frame.birth_month == today.month) & (frame.birth_day == today.day)
    tomorrow = (today.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()) + DAY_SECONDS
    return Verdict(inside, np.where(known, tomorrow, np.nan))


def _aggregate(rule: Rule, frame: SegmentFrame) -> Verdict:
    condition = rule.orders or rule.interactions
    assert condition is not None
    leaf = frame.leaves[rule.key()]
    value = leaf.value
    if rule.orders is not None and rule.orders.measure in (OrderMeasure.COUNT, OrderMeasure.ITEMS, OrderMeasure.SUM):
        value = np.nan_to_num(value)  # nothing counted is 0 for counts and sums (an average has none)
    if rule.interactions is not None:
        value = np.nan_to_num(value)
    inside = _in_range(value, condition)
    window = condition.within_last_days
    # The earliest counted event leaves the window then, and the value drops.
    due = leaf.earliest + window * DAY_SECONDS if window else np.full(len(frame), np.nan)
    return Verdict(inside, np.where(due > frame.now, due, np.nan))


def _in_range(values: FloatArray, bounds: Range) -> BoolArray:
    inside = ~np.isnan(values)
    if bounds.min is not None:
        inside &= values >= _number(bounds.min)
    if bounds.max is not None:
        inside &= values <= _number(bounds.max)
    return inside


def _number(value: Decimal) -> float:
    return float(value)


def _still(inside: BoolArray) -> Verdict:
    return Verdict(inside, np.full(len(inside), np.nan))


def _earliest(times: list[FloatArray]) -> FloatArray:
    stacked = np.vstack(times)
    earliest = np.fmin.reduce(stacked, axis=0)
    return np.asarray(earliest, dtype=np.float64)
