"""Query cost, computed from the document and the schema before anything runs, counting what the
query makes the server fetch (as GitHub's and Shopify's APIs do): scalar and enum fields are free, each
object costs 1, and a list costs its page size (``first``, or a known size) times what it selects. A
connection's ``first`` sizes its ``edges``. Arguments count with the value that will run: coerced as
execution coerces them (``100.0`` sent for an ``Int`` is 100), with the operation's and the field's defaults."""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableValues,
    get_argument_values,
    get_named_type,
    get_variable_values,
    is_leaf_type,
)

# Lists without a ``first`` argument, with the most items they hold (the catalogue's sizes, bounded input).
LIST_SIZES = {
    "classes": 12,
    "classSets": 12,
    "codes": 12,
    "classDistribution": 12,
    "transitions": 50,
    "items": 20,
    "apiKeys": 50,
}
DEFAULT_LIST_SIZE = 20  # a list field this table does not know, without first
PAGE_ARGUMENT_DEFAULT = 20  # what `first` is when a field takes one and the query leaves it out


def operation_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None
) -> int:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)]
    if not chosen:
        return 0
    operation = chosen[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return 0  # variables that do not coerce: execution refuses them and nothing runs
    return _Costing(schema, fragments, coerced).selection(root, operation.selection_set, 1, ())


class _Costing:
    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], variables: VariableValues
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection(
        self, parent: GraphQLObjectType, selections: SelectionSetNode, page: int, seen: tuple[str, ...]
    ) -> int:
        """Cost of one object's selections; ``page`` is the size of the connection it belongs to."""
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, page, seen)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                # Cycles are rejected by validation before this runs; the guard keeps this finite anyway.
                if fragment is not None and fragment.name.value not in seen:
                    condition = self.schema.get_type(fragment.type_condition.name.value)
                    target = condition if isinstance(condition, GraphQLObjectType) else parent
                    total += self.selection(target, fragment.selection_set, page, (*seen, fragment.name.value))
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    self.schema.get_type(selection.type_condition.name.value) if selection.type_condition else None
                )
                target = condition if isinstance(condition, GraphQLObjectType) else parent
                total += self.selection(target, selection.selection_set, page, seen)
        return total

    def field(self, parent: GraphQLObjectType, node: FieldNode, page: int, seen: tuple[str, ...]) -> int:
        definition = parent.fields.get(node.name.value)
        if definition is None or node.name.value.startswith("__"):
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named) or not isinstance(named, GraphQLObjectType) or node.selection_set is None:
            return 0
        first = self._first(node, definition)
        if _is_list(definition.type):
            size = page if node.name.value == "edges" else first or LIST_SIZES.get(node.name.value, DEFAULT_LIST_SIZE)
            return size * (1 + self.selection(named, node.selection_set, 1, seen))
        # A connection object: its `first` sizes the edges it holds.
        return 1 + self.selection(named, node.selection_set, first or 1, seen)

    def _first(self, node: FieldNode, definition: GraphQLField) -> int | None:
        if "first" not in definition.args:
            return None
        try:
            value = get_argument_values(definition, node, self.variables).get("first")
        except GraphQLError:
            return PAGE_ARGUMENT_DEFAULT  # the field fails when it runs
        return max(value, 0) if isinstance(value, int) else PAGE_ARGUMENT_DEFAULT


def _is_list(kind: GraphQLOutputType) -> bool:
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    return isinstance(inner, GraphQLList)
