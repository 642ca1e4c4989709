"""Where mongoeco 4.11.0 answers a query differently from MongoDB, the development server answers like MongoDB.

The product is written against MongoDB's documented behaviour; a stand-in that matches more documents than
MongoDB would let a query that is wrong in production pass every test. ``follow_mongodb()`` patches the few
mongoeco functions involved, and only the launcher calls it, in the dev server's own process: mongoeco is
imported by nothing else there. Every patch names what it wraps and is pinned to ``MONGOECO_VERSION``;
tests/test_mongo_conformance.py asserts MongoDB's answers over the wire, so an upgrade that changes these
functions fails there rather than silently.

- Range operators ($lt $lte $gt $gte) use type bracketing: ``{t: {$lte: <date>}}`` matches dates only, and
  ``{n: {$lt: 10}}`` numbers only (int, long, double and decimal are one bracket), never null or strings;
  MinKey and MaxKey bound every type; NaN is only ever equal to NaN. mongoeco compares in BSON order across
  types, which MongoDB does only in aggregation expressions (``$expr``, ``$cond``), left as they are.
  https://www.mongodb.com/docs/manual/reference/mql/query-predicates/type-bracketing/
- ``$push`` and ``$addToSet`` accumulators skip a missing value (``$$REMOVE``, a missing field), as MongoDB's
  do, where mongoeco pushes null; the ``$sum`` accumulator ignores arrays, where mongoeco sums them.
- ``$in`` over strings is a set lookup instead of a comparison with every listed value (5,000 ids over 20,000
  orders took 13 s). The same answers, faster.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable
from typing import Any

from mongoeco.compat import MONGODB_DIALECT_70
from mongoeco.compat._catalog_dialects import DEFAULT_BSON_TYPE_ORDER
from mongoeco.compat.base import _bson_type_rank
from mongoeco.core import compiled_query
from mongoeco.core.aggregation import accumulators, compiled_aggregation, grouping_stages, runtime
from mongoeco.core.bson_scalars import unwrap_bson_numeric
from mongoeco.core.filtering import QueryEngine
from mongoeco.core.query_plan import (
    GreaterThanCondition,
    GreaterThanOrEqualCondition,
    InCondition,
    LessThanCondition,
    LessThanOrEqualCondition,
)
from mongoeco.engines import virtual_indexes

_RANGES = (GreaterThanCondition, GreaterThanOrEqualCondition, LessThanCondition, LessThanOrEqualCondition)
_MIN_KEY, _MAX_KEY = 0, 127  # mongoeco's ranks of MinKey and MaxKey in BSON order
_BELOW = {"lt", "lte", "<", "<="}
_ABOVE = {"gt", "gte", ">", ">="}
_INCLUSIVE = {"lte", "gte", "<=", ">="}
_ADDING_ACCUMULATORS = {"$push", "$addToSet"}
_PATCHED = "_mongodb_semantics"


def follow_mongodb() -> None:
    """Patch mongoeco in this process to answer like MongoDB (idempotent)."""
    if getattr(QueryEngine, _PATCHED, False):
        return
    _bracket_range_operators()
    _compile_dotted_ranges_and_membership()
    _hash_string_membership()
    _sum_numbers_only()
    _skip_missing_in_adding_accumulators()
    setattr(QueryEngine, _PATCHED, True)


def bracket(value: Any) -> int:
    """The value's rank in BSON order; values compare in a range query only within one rank."""
    return int(_bson_type_rank(value, unwrap_bson_numeric(value), DEFAULT_BSON_TYPE_ORDER))


def _is_nan(value: Any) -> bool:
    value = unwrap_bson_numeric(value)
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    to_decimal = getattr(value, "to_decimal", None)  # BSON Decimal128
    return bool(to_decimal().is_nan()) if callable(to_decimal) else False


def bracketed(candidate: Any, target: Any, operator: str) -> bool | None:
    """MongoDB's answer where type bracketing decides it (other types, MinKey/MaxKey, NaN), else None."""
    candidate_rank, target_rank = bracket(candidate), bracket(target)
    if candidate_rank != target_rank:
        if target_rank == _MAX_KEY:
            return operator in _BELOW
        if target_rank == _MIN_KEY:
            return operator in _ABOVE
        return False
    if _is_nan(candidate) or _is_nan(target):
        return operator in _INCLUSIVE and _is_nan(candidate) and _is_nan(target)
    return None


def _bracket_range_operators() -> None:
    # QueryEngine._comparison_matches_candidate decides every range comparison of a filter (find, count,
    # update, delete, $match, $elemMatch, partial indexes), except the compiled matcher's dotted paths.
    original = getattr(QueryEngine, "_comparison_matches_candidate").__func__  # noqa: B009

    def comparison_matches_candidate(cls: type, /, candidate: Any, target: Any, operator: str, **options: Any) -> bool:
        if isinstance(candidate, list) and not isinstance(target, list):
            # The array as a whole is of another type than the target (only MinKey and MaxKey bound it);
            # its elements are offered one by one after it.
            return bool(bracketed(candidate, target, operator))
        decided = bracketed(candidate, target, operator)
        return decided if decided is not None else bool(original(cls, candidate, target, operator, **options))

    setattr(QueryEngine, "_comparison_matches_candidate", classmethod(comparison_matches_candidate))  # noqa: B010
    _compare_missing_fields()
    # A query uses a partial index only where it implies the index's filter; under bracketing a bound of one
    # type implies nothing about another type.
    compare_bounds = getattr(virtual_indexes, "_compare_bounds")  # noqa: B009
    satisfies_bounds = getattr(virtual_indexes, "_value_satisfies_bounds")  # noqa: B009

    def bracketed_compare_bounds(left: Any, right: Any, *args: Any, **kwargs: Any) -> bool:
        return bracket(left) == bracket(right) and bool(compare_bounds(left, right, *args, **kwargs))

    def bracketed_satisfies_bounds(value: Any, **kwargs: Any) -> bool:
        bounds = [kwargs.get("minimum"), kwargs.get("maximum")]
        same = all(bound is None or bracket(bound) == bracket(value) for bound in bounds)
        return same and bool(satisfies_bounds(value, **kwargs))

    setattr(virtual_indexes, "_compare_bounds", bracketed_compare_bounds)  # noqa: B010
    setattr(virtual_indexes, "_value_satisfies_bounds", bracketed_satisfies_bounds)  # noqa: B010


def missing_matches(target: Any, operator: str) -> bool:
    """Whether a range matches a document without the field: MongoDB compares the missing value with the
    target, so it is above MinKey, below MaxKey and equal to null; mongoeco never matches it."""
    rank = bracket(target)
    if rank == _MIN_KEY:
        return operator in _ABOVE
    if rank == _MAX_KEY:
        return operator in _BELOW
    return target is None and operator in _INCLUSIVE


def _bounds_missing(target: Any) -> bool:
    return target is None or bracket(target) in (_MIN_KEY, _MAX_KEY)


def _compare_missing_fields() -> None:
    top_level = getattr(QueryEngine, "_match_top_level_comparison").__func__  # noqa: B009
    dotted = getattr(QueryEngine, "_evaluate_comparison").__func__  # noqa: B009

    def match_top_level_comparison(
        cls: type, /, doc: Any, field: str, target: Any, operator: str, **options: Any
    ) -> bool:
        if _bounds_missing(target) and field not in doc:
            return missing_matches(target, operator)
        return bool(top_level(cls, doc, field, target, operator, **options))

    def evaluate_comparison(cls: type, /, doc: Any, field: str, target: Any, operator: str, **options: Any) -> bool:
        if "." in field and _bounds_missing(target) and not QueryEngine.extract_values(doc, field):
            return missing_matches(target, operator)
        return bool(dotted(cls, doc, field, target, operator, **options))

    setattr(QueryEngine, "_match_top_level_comparison", classmethod(match_top_level_comparison))  # noqa: B010
    setattr(QueryEngine, "_evaluate_comparison", classmethod(evaluate_comparison))  # noqa: B010


def _compile_dotted_ranges_and_membership() -> None:
    # CompiledQuery (find, count, $match) inlines a dotted range as a raw BSON-order comparison with every
    # value on the path, arrays included: sent to match_plan instead, which goes through the patched
    # comparison. $in is given a matcher prepared once per query (a set of its strings).
    node_to_code = getattr(compiled_query.CompiledQuery, "_node_to_code")  # noqa: B009

    def patched(self: Any, node: Any, depth: int) -> str:
        if isinstance(node, _RANGES) and "." in node.field:
            key = self._store("node", node)
            return f"match_plan(doc, {key}, dialect=dialect, collation=collation, variables=variables)"
        if isinstance(node, InCondition):
            key = self._store("in", _Membership(node, self.collation))
            return f"{key}(doc, dialect, collation)"
        return str(node_to_code(self, node, depth))

    setattr(compiled_query.CompiledQuery, "_node_to_code", patched)  # noqa: B010


class _Membership:
    """``field $in values``, its values sorted once into a lookup set, patterns and the rest."""

    __slots__ = ("field", "literals", "null_matches_undefined", "patterns", "residual")

    def __init__(self, node: InCondition, collation: Any) -> None:
        self.field = node.field
        self.null_matches_undefined = node.null_matches_undefined
        self.literals, self.patterns, self.residual = QueryEngine._prepare_membership_values(
            node.values, null_matches_undefined=node.null_matches_undefined, collation=collation
        )

    def __call__(self, doc: Any, dialect: Any, collation: Any) -> bool:
        return any(
            QueryEngine._candidate_matches_membership(
                candidate,
                literal_lookup=self.literals,
                regex_values=self.patterns,
                residual_values=self.residual,
                null_matches_undefined=self.null_matches_undefined,
                dialect=dialect,
                collation=collation,
            )
            for candidate in QueryEngine.extract_values(doc, self.field) or [None]
        )


def _hash_string_membership() -> None:
    # A string equals only the same string when no collation applies, so it can be looked up in a set;
    # mongoeco hashes dates, ids and booleans this way but compares strings with each listed value.
    lookup_key = getattr(QueryEngine, "_hashable_in_lookup_key")  # noqa: B009

    def hashable_in_lookup_key(value: Any, *, collation: Any = None) -> tuple[str, Any] | None:
        if collation is None and type(value) is str:
            return ("str", value)
        return lookup_key(value, collation=collation)  # type: ignore[no-any-return]

    setattr(QueryEngine, "_hashable_in_lookup_key", staticmethod(hashable_in_lookup_key))  # noqa: B010


def _sum_numbers_only() -> None:
    # The $sum accumulator "treats an array operand as a non-numerical value" (ignored); mongoeco sums its
    # elements, which only the $sum expression does. The compiled $group imported the function by name.
    operand = getattr(accumulators, "_sum_accumulator_operand")  # noqa: B009

    def sum_accumulator_operand(value: Any) -> object | None:
        return None if isinstance(value, list) else operand(value)

    for module in (accumulators, compiled_aggregation):
        setattr(module, "_sum_accumulator_operand", sum_accumulator_operand)  # noqa: B010


def _skip_missing_in_adding_accumulators() -> None:
    # MongoDB's $push and $addToSet leave a missing input out; mongoeco's turn it into null first.
    apply = getattr(accumulators, "_apply_accumulators")  # noqa: B009

    def apply_accumulators(bucket: Any, specs: Any, document: Any, variables: Any = None, **kwargs: Any) -> None:
        prepared = accumulators._coerce_accumulator_specs(specs)
        if any(operator in _ADDING_ACCUMULATORS for _, operator, _ in prepared):
            evaluate = kwargs.get("evaluate_expression_with_missing") or _evaluator(kwargs)
            prepared = tuple(_present(spec, evaluate, document, variables) for spec in prepared)
            prepared = tuple(spec for spec in prepared if spec is not None)
        apply(bucket, prepared, document, variables, **kwargs)

    for module in (accumulators, grouping_stages):  # grouping_stages imported it by name
        setattr(module, "_apply_accumulators", apply_accumulators)  # noqa: B010
    # The compiled $group (used for some specs) reads a missing field as null: $addToSet is left to the above.
    supports = getattr(compiled_aggregation.CompiledGroup, "supports").__func__  # noqa: B009

    def compiled_group_supports(cls: type, /, spec: object) -> bool:
        adds = isinstance(spec, dict) and any(
            isinstance(accumulator, dict) and "$addToSet" in accumulator for accumulator in spec.values()
        )
        return not adds and bool(supports(cls, spec))

    setattr(compiled_aggregation.CompiledGroup, "supports", classmethod(compiled_group_supports))  # noqa: B010


def _evaluator(kwargs: dict[str, Any]) -> Callable[..., Any]:
    dialect = kwargs.get("dialect", MONGODB_DIALECT_70)

    def evaluate(document: Any, expression: Any, variables: Any = None) -> Any:
        return runtime._evaluate_expression_with_missing(document, expression, variables or {}, dialect=dialect)

    return evaluate


def _present(spec: tuple[str, str, Any], evaluate: Callable[..., Any], document: Any, variables: Any) -> Any:
    """The accumulator with its value evaluated once, or None where that value is missing."""
    field, operator, expression = spec
    if operator not in _ADDING_ACCUMULATORS:
        return spec
    value = evaluate(document, expression, variables)
    if value is runtime._MISSING or value is runtime._REMOVE:
        return None
    return (field, operator, {"$literal": value})
