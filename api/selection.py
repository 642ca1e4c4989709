"""What a query selects, where it decides how much to read (the class evidence is most of a customer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField


def wants_evidence(info: Any) -> bool:
    """True when a customer's ``classes`` are asked for with their evidence (as text or as data), or its
    ``lead`` or ``value`` (read from their class sets' evidence). Those two are objects: a scalar of the
    same name elsewhere (an attribute's ``value``) does not count."""
    selected = list(_fields(info.selected_fields))
    classes = [field for field in selected if field.name == "classes"]
    return any(field.name in ("lead", "value") and field.selections for field in selected) or any(
        field.name in ("evidence", "evidenceData") for field in _fields(_children(classes))
    )


def _fields(selections: Iterable[Any]) -> Iterable[SelectedField]:
    """Every selected field at any depth, through fragments."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
            yield from _fields(selection.selections)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)


def _children(fields: Iterable[SelectedField]) -> list[Any]:
    return [child for field in fields for child in field.selections]
