"""Every registered class set computed for a batch in one call, and when the next time-based change is due."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from scoring.batch import DAY_SECONDS, CustomerBatch
from scoring.future_value import FutureValueModel

if TYPE_CHECKING:
    from scoring.conversion_data import ConversionScorer
from scoring.hysteresis import Hysteresis, hold_demotions
from scoring.registry import CLASS_SETS
from scoring.result import ClassSetResult, FloatArray, IntArray
from scoring.rfm_bounds import NO_BOUNDS, RfmBounds
from scoring.spec import ClassSetSpec, Params, ScoringContext


class ScoringSettings:
    """The parameters of each class set (its defaults where none are given) and the ordered sets'
    hysteresis: ``ScoringSettings(spend_tier=SpendTierThresholds(...))``, ``settings.spend_tier``."""

    def __init__(
        self, *, hysteresis: Mapping[str, Hysteresis] | None = None, country: str = "", **params: Params
    ) -> None:
        unknown = set(params) - set(CLASS_SETS)
        if unknown:
            raise ValueError(f"no class sets {sorted(unknown)}")
        self.params = {spec.key: params.get(spec.key) or spec.default_params(country) for spec in CLASS_SETS.specs()}
        self.hysteresis: dict[str, Hysteresis] = {**default_hysteresis(), **(hysteresis or {})}

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["params"][key]
        except KeyError:
            raise AttributeError(key) from None


def default_hysteresis() -> dict[str, Hysteresis]:
    """The ordered class sets, where moving down waits for a margin or a grace period."""
    return {spec.key: spec.hysteresis for spec in CLASS_SETS.specs() if spec.hysteresis is not None}


def always_sensitive() -> frozenset[str]:
    """Class sets computed from a sensitive field (birth date, personality) whatever their settings."""
    return frozenset(spec.key for spec in CLASS_SETS.specs() if spec.personal)


def sensitive_class_sets(settings: ScoringSettings) -> frozenset[str]:
    """Class sets that read a sensitive field under these settings: sensitive as a whole (their codes,
    dates and next changes would reveal the field to roles that may not read it)."""
    return frozenset(spec.key for spec in CLASS_SETS.specs() if spec.reads_personal_details(settings.params[spec.key]))


def classify_all(
    batch: CustomerBatch,
    settings: ScoringSettings,
    bounds: RfmBounds = NO_BOUNDS,
    future_value: FutureValueModel | None = None,
    conversion: ConversionScorer | None = None,
) -> list[ClassSetResult]:
    """Every class set for every customer of the batch; ``bounds`` are the workspace's RFM quintiles,
    ``future_value`` its fitted future-value models, ``conversion`` its trained conversion model."""
    earlier: dict[str, ClassSetResult] = {}
    for spec in CLASS_SETS.specs():
        context = ScoringContext(bounds, earlier, future_value, conversion)
        earlier[spec.key] = spec.classify(batch, settings.params[spec.key], context)
    return list(earlier.values())


def hold_demotions_of_ordered_sets(
    results: list[ClassSetResult],
    current: dict[str, IntArray],
    pending_since: dict[str, FloatArray],
    batch: CustomerBatch,
    settings: ScoringSettings,
) -> list[ClassSetResult]:
    """Apply each ordered set's hysteresis; ``current`` holds today's code index (-1: none yet).

    A held class gets the fact ``demotion_pending_since`` and, when a grace period runs,
    ``next_change_at`` so the customer is rescored when it ends.
    """
    held_results = []
    for result in results:
        rule = settings.hysteresis.get(result.key)
        if rule is None or result.key not in current:
            held_results.append(result)
            continue
        within = _within_margin(CLASS_SETS[result.key], current[result.key], batch, settings, rule)
        held = hold_demotions(
            result.code_index,
            current[result.key],
            pending_since[result.key],
            within,
            batch.now,
            rule.grace_days * DAY_SECONDS,
        )
        facts = {**result.facts, "demotion_pending_since": held.demotion_pending_since}
        if "next_change_at" in facts:
            facts["next_change_at"] = np.fmin(facts["next_change_at"], held.demotion_due_at)
        else:
            facts["next_change_at"] = held.demotion_due_at
        held_results.append(replace(result, code_index=held.code_index, facts=facts))
    return held_results


def _within_margin(
    spec: ClassSetSpec, current: IntArray, batch: CustomerBatch, settings: ScoringSettings, rule: Hysteresis
) -> npt.NDArray[np.bool_]:
    if spec.margin is None or rule.margin_percent <= 0:
        return np.zeros(len(batch), dtype=bool)
    floor = spec.margin.floors(settings.params[spec.key])[np.clip(current, 0, None)] * (1 - rule.margin_percent / 100)
    return (current >= 0) & (spec.margin.value(batch) >= floor)


def next_transition_at(
    results: list[ClassSetResult], size: int, leaving_out: frozenset[str] = frozenset()
) -> FloatArray:
    """Per customer, the earliest moment a class changes with time alone (NaN: none pending), not
    counting the class sets in ``leaving_out``."""
    due = [
        result.facts["next_change_at"]
        for result in results
        if "next_change_at" in result.facts and result.key not in leaving_out
    ]
    if not due:
        return np.full(size, np.nan)
    return np.fmin.reduce(np.vstack(due).astype(np.float64), axis=0)  # type: ignore[no-any-return]
