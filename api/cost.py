"""Query cost, computed from the document before anything runs: one unit a field, with list fields
multiplying what they select by their ``first`` (or their default page size)."""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    value_from_ast_untyped,
)

# Fields that return a list, with the page size they use when ``first`` is not given.
LIST_FIELDS = {
    "customers": 20,
    "orders": 20,
    "interactions": 20,
    "classHistory": 50,
    "scoringRuns": 20,
    "classDistribution": 12,
    "classSets": 10,
    "classes": 10,
    "edges": 1,  # already multiplied by the connection's first
}


def operation_cost(document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None) -> int:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)]
    if not chosen:
        return 0
    # What runs: the variables given, else the operation's own defaults for them.
    values = {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in chosen[0].variable_definitions or ()
        if definition.default_value is not None
    }
    values.update(variables or {})
    return _selection_cost(chosen[0].selection_set, fragments, values, ())


def _selection_cost(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    seen: tuple[str, ...],
) -> int:
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            children = (
                _selection_cost(selection.selection_set, fragments, variables, seen) if selection.selection_set else 0
            )
            total += 1 + _page_size(selection, variables) * children
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            # Cycles are rejected by validation before this runs; the guard keeps this total anyway.
            if name in fragments and name not in seen:
                total += _selection_cost(fragments[name].selection_set, fragments, variables, (*seen, name))
        elif isinstance(selection, InlineFragmentNode):
            total += _selection_cost(selection.selection_set, fragments, variables, seen)
    return total


def _page_size(field: FieldNode, variables: dict[str, Any]) -> int:
    default = LIST_FIELDS.get(field.name.value)
    if default is None:
        return 1
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        if isinstance(argument.value, IntValueNode):
            return max(int(argument.value.value), 0)
        if isinstance(argument.value, VariableNode):
            value = variables.get(argument.value.name.value)
            return max(int(value), 0) if isinstance(value, int) else default
    return default
