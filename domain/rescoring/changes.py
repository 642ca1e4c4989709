"""The pure heart of a rescore: from what a job read, each customer's new stats, classes and events.

No I/O: the service loads the inputs and writes what this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from domain.classes.catalogue import CLASS_SETS
from domain.classes.events import ClassChangeEvent
from domain.customers.models import AssignedClass, CustomerStats
from domain.rescoring.features import InteractionFeatures, OrderFeatures, build_batch
from domain.rescoring.repository import ScoredCustomer, ScoringState
from domain.workspaces.models import Workspace
from scoring.catalogue import (
    ScoringSettings,
    classify_all,
    hold_demotions_of_ordered_sets,
    next_transition_at,
    sensitive_class_sets,
)
from scoring.conversion_data import ConversionScorer
from scoring.result import ClassSetResult
from scoring.rfm_bounds import NO_BOUNDS, RfmBounds


def compute_changes(
    workspace: Workspace,
    states: Sequence[ScoringState],
    orders: dict[str, OrderFeatures],
    interactions: dict[str, InteractionFeatures],
    now: datetime,
    bounds: RfmBounds = NO_BOUNDS,
    only: frozenset[str] | None = None,
    conversion: ConversionScorer | None = None,
) -> list[ScoredCustomer]:
    """Pure: each customer's new stats and classes, with one event per changed class set."""
    order_features = [orders.get(state.customer_id, OrderFeatures()) for state in states]
    batch = build_batch(
        # A customer without a country is taken to live in the workspace's country.
        [replace(state.profile, country=state.profile.country or workspace.country) for state in states],
        order_features,
        [interactions.get(state.customer_id, InteractionFeatures()) for state in states],
        now,
    )
    settings = workspace.scoring_settings
    results = classify_all(batch, settings, bounds, workspace.future_value, conversion)
    current, pending = _current_ordered_classes(states, results, settings)
    results = hold_demotions_of_ordered_sets(results, current, pending, batch, settings)
    due = next_transition_at(results, len(states))
    sensitive = sensitive_class_sets(settings)
    public_due = next_transition_at(results, len(states), leaving_out=sensitive)
    if only is not None:
        results = [result for result in results if result.key in only]
    scored = []
    for i, state in enumerate(states):
        changed, events = _class_changes(workspace, state, results, i, now, sensitive)
        next_at = _moment(due[i])
        stats = order_features[i].stats
        stored = CustomerStats.from_document(state.stats)
        scored.append(
            ScoredCustomer(
                state.customer_id,
                state.seq,
                stats,
                changed,
                events,
                stats_changed=stored != stats,
                rfm_inputs_changed=_rfm_inputs(stored) != _rfm_inputs(stats),
                next_transition_at=next_at,
                next_public_transition_at=_moment(public_due[i]),
                next_transition_changed=(next_at, _moment(public_due[i]))
                != (state.next_transition_at, state.next_public_transition_at),
                version=state.version,
                dirty=state.dirty,
                # A run restricted to some class sets has not computed the others: the customer stays dirty.
                keep_dirty=state.dirty and only is not None,
                delivered_pending=bool(state.pending_events),
            )
        )
    return scored


def _moment(epoch_seconds: float) -> datetime | None:
    return None if np.isnan(epoch_seconds) else datetime.fromtimestamp(float(epoch_seconds), UTC)


def _rfm_inputs(stats: CustomerStats) -> tuple[int, int, datetime | None]:
    return stats.paid_order_count, stats.net_spend_minor, stats.last_paid_at


def _current_ordered_classes(
    states: Sequence[ScoringState], results: list[ClassSetResult], settings: ScoringSettings
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Today's code index (-1: none) and waiting-demotion start (NaN: none) of each ordered set."""
    current: dict[str, np.ndarray] = {}
    pending: dict[str, np.ndarray] = {}
    for result in results:
        if result.key not in settings.hysteresis:
            continue
        stored = [state.classes.get(result.key) or {} for state in states]
        codes = [entry.get("code") for entry in stored]
        current[result.key] = np.array([result.codes.index(c) if c in result.codes else -1 for c in codes])
        since = [(entry.get("evidence") or {}).get("demotion_pending_since") for entry in stored]
        pending[result.key] = np.array([np.nan if value is None else value for value in since], dtype=np.float64)
    return current, pending


def _class_changes(
    workspace: Workspace,
    state: ScoringState,
    results: list[ClassSetResult],
    i: int,
    now: datetime,
    sensitive: frozenset[str],
) -> tuple[list[AssignedClass], list[ClassChangeEvent]]:
    version = workspace.class_settings.version
    result_version = state.version + 1  # what the write of these results will make the customer's version
    changed: list[AssignedClass] = []
    events: list[ClassChangeEvent] = []
    for result in results:
        code = result.code(i)
        evidence: dict[str, Any] = {key: value for key, value in result.facts_at(i).items() if key != "next_change_at"}
        evidence["code"] = code
        if CLASS_SETS[result.key].money_evidence:  # amounts are meaningless without their currency
            evidence["currency"] = workspace.currency
        current = state.classes.get(result.key) or {}
        is_sensitive = result.key in sensitive
        if (current.get("code"), current.get("evidence"), current.get("sensitive", False)) == (
            code,
            evidence,
            is_sensitive,
        ):
            continue
        moved = current.get("code") != code
        # A new code records its move; new evidence for the same code keeps the move that gave it.
        previous, changed_version = (
            (current.get("code"), result_version)
            if moved
            else (current.get("previous"), current.get("changed_version", 0))
        )
        assigned = AssignedClass(
            result.key,
            code,
            now if moved else current["since"],
            evidence,
            version,
            sensitive=is_sensitive,
            previous=previous,
            changed_version=changed_version,
        )
        changed.append(assigned)
        if moved:
            events.append(ClassChangeEvent.of_class(workspace.id, state.customer_id, state.owner_id, assigned))
    return changed, events
