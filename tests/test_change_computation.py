"""The pure step between reading customers and writing results: what changed, and the events it makes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from domain.customers.models import CustomerStats
from domain.rescoring.changes import compute_changes
from domain.rescoring.features import InteractionFeatures, OrderFeatures, ProfileFeatures
from domain.rescoring.repository import ScoredCustomer, ScoringState
from domain.workspaces.models import DEFAULT_CLASS_SETTINGS, Workspace
from scoring.registry import CLASS_SETS

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
WORKSPACE = Workspace("ws", "Shop", "VND", "VN", DEFAULT_CLASS_SETTINGS)


def _state(**fields: object) -> ScoringState:
    base = ScoringState(
        customer_id="c1",
        seq=3,
        classes={},
        stats={},
        pending_events=[],
        profile=ProfileFeatures(created_at=datetime(2026, 1, 1, tzinfo=UTC), birth_date=None),
        version=4,
        dirty=True,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def _paid(total: int) -> dict[str, OrderFeatures]:
    paid_at = datetime(2026, 6, 1, tzinfo=UTC)
    stats = CustomerStats(1, 1, total, paid_at, paid_at, paid_at)
    return {"c1": OrderFeatures(stats=stats, paid_in_window=1, first_paid_at=paid_at, last_paid_at=paid_at)}


def _applied(state: ScoringState, scored: ScoredCustomer) -> ScoringState:
    """The state as MongoDB holds it once the result write succeeded."""
    classes = {**state.classes, **{c.class_set: c.to_document() for c in scored.changed_classes}}
    return dataclasses.replace(
        state,
        classes=classes,
        stats=scored.stats.to_document(),
        version=state.version + 1,
        next_transition_at=scored.next_transition_at,
        next_public_transition_at=scored.next_public_transition_at,
    )


def test_a_first_scoring_assigns_every_class_set_with_one_event_each() -> None:
    [scored] = compute_changes(WORKSPACE, [_state()], _paid(6_000_000), {}, NOW)
    assert len(scored.changed_classes) == len(scored.events) == len(CLASS_SETS)
    tier = next(event for event in scored.events if event.class_set == "spend_tier")
    assert (tier.previous, tier.current, tier.version, tier.id) == (None, "platinum", 5, "c1:spend_tier:5")
    assert {event.class_set for event in scored.events if event.sensitive} == {"age_band", "approach"}
    assert scored.needs_write and scored.rfm_inputs_changed
    assert scored.next_transition_at is not None


def test_scoring_the_written_state_again_changes_nothing() -> None:
    state = _state()
    [first] = compute_changes(WORKSPACE, [state], _paid(6_000_000), {}, NOW)
    [again] = compute_changes(WORKSPACE, [_applied(state, first)], _paid(6_000_000), {}, NOW)
    assert (again.changed_classes, again.events, again.needs_write) == ([], [], False)


def test_only_what_moved_makes_an_event_and_a_restricted_run_computes_only_its_sets() -> None:
    state = _state()
    [first] = compute_changes(WORKSPACE, [state], _paid(6_000_000), {}, NOW)
    written = _applied(state, first)
    [bigger] = compute_changes(WORKSPACE, [written], _paid(25_000_000), {}, NOW)
    moved = {(e.class_set, e.previous, e.current) for e in bigger.events}
    assert ("spend_tier", "platinum", "diamond") in moved
    assert all(e.version == written.version + 1 for e in bigger.events)
    [only] = compute_changes(WORKSPACE, [written], _paid(25_000_000), {}, NOW, only=frozenset({"spend_tier"}))
    assert {c.class_set for c in only.changed_classes} == {"spend_tier"}


def test_complaints_move_the_value_class_to_negative() -> None:
    state = _state()
    [first] = compute_changes(WORKSPACE, [state], _paid(6_000_000), {}, NOW)
    angry = {"c1": InteractionFeatures(interaction_count=3, complaints=3)}
    [after] = compute_changes(WORKSPACE, [_applied(state, first)], _paid(6_000_000), angry, NOW)
    assert [(e.class_set, e.current) for e in after.events if e.class_set == "value_class"] == [
        ("value_class", "negative")
    ]
