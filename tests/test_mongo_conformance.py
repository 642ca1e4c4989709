"""MongoDB's documented answers for the query operators, aggregation stages and expressions, and update
operators the product uses, where null, missing fields, mixed types and arrays make servers disagree.

They run against the development server, and against a real MongoDB when MONGODB_URI is set: the product
follows MongoDB, so each expectation is MongoDB's (the rule is cited next to it). Where the development
server still answers differently, the case is an expected failure there only (strict, so that a mongoeco
upgrade that fixes it says so).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import Decimal128, Int64, MaxKey, MinKey
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import WriteError

from tests.conftest import Backends

Document = dict[str, Any]
ON_DEV_SERVER = not os.environ.get("MONGODB_URI")
WHEN = datetime(2026, 3, 1, 12, 0)
DAY = timedelta(days=1)


def differs_on_dev_server(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(ON_DEV_SERVER, reason=f"mongoeco: {reason}", strict=True)


@pytest.fixture(scope="module")
def client(backends: Backends) -> Iterator[MongoClient[Document]]:
    client: MongoClient[Document] = MongoClient(backends.mongodb_uri)
    yield client
    client.close()


@pytest.fixture
def db(client: MongoClient[Document]) -> Iterator[Database[Document]]:
    name = f"conformance_{uuid.uuid4().hex[:12]}"
    yield client[name]
    client.drop_database(name)


# --- Query operators --------------------------------------------------------------------------------------

MISSING = object()
# One document per shape a field can have; the field is ``v`` at the top level, ``o.v`` in a subdocument
# and ``items.v`` in an array of subdocuments.
SHAPES: dict[str, Any] = {
    "int": 5,
    "long": Int64(7),
    "double": 2.5,
    "decimal": Decimal128("8.25"),
    "nan": float("nan"),
    "string": "5",
    "null": None,
    "missing": MISSING,
    "true": True,
    "before": WHEN - DAY,
    "after": WHEN + DAY,
    "numbers": [1, 20],
    "mixed": ["x", 6, None],
    "dates": [WHEN - 2 * DAY, "y"],
    "empty": [],
    "object": {"n": 5},
    "nested": [[3]],
}
ALL = frozenset(SHAPES)
PATHS = ["v", "o.v", "items.v"]


def _shape(name: str, value: Any) -> Document:
    field = {} if value is MISSING else {"v": value}
    return {"_id": name, **field, "o": dict(field), "items": [dict(field)]}


@pytest.fixture
def shapes(db: Database[Document]) -> Collection[Document]:
    db.shapes.insert_many([_shape(name, value) for name, value in SHAPES.items()])
    return db.shapes


def _on(path: str, condition: Any) -> Document:
    return {path: condition}


def matched_everywhere(shapes: Collection[Document], query: Document) -> set[str]:
    """The documents a filter matches, the same through find, count, $match, update and delete."""
    found = {document["_id"] for document in shapes.find(query, {"_id": 1})}
    assert shapes.count_documents(query) == len(found)
    assert {row["_id"] for row in shapes.aggregate([{"$match": query}, {"$project": {"_id": 1}}])} == found
    assert shapes.update_many(query, {"$set": {"seen": True}}).matched_count == len(found)
    assert shapes.delete_many(query).deleted_count == len(found)
    return found


# Type bracketing: "$gt, $gte, $lt and $lte match only values of the operand's BSON type (int, long, double
# and decimal are one numeric type); an array matches if an element does"
# (https://www.mongodb.com/docs/manual/reference/mql/query-predicates/type-bracketing/).
RANGES = [
    pytest.param({"$lt": 6}, {"int", "double", "numbers"}, id="lt-number"),
    pytest.param({"$gte": 7}, {"long", "decimal", "numbers"}, id="gte-number"),
    pytest.param({"$lte": WHEN}, {"before", "dates"}, id="lte-date-not-null-nor-numbers"),
    pytest.param({"$gt": WHEN}, {"after"}, id="gt-date"),
    pytest.param({"$gte": "5"}, {"string", "mixed", "dates"}, id="gte-string"),
    pytest.param({"$gte": False}, {"true"}, id="gte-bool"),
    # "Query an array with compound filter conditions": different elements may satisfy each bound.
    pytest.param({"$gt": 2, "$lt": 10}, {"int", "long", "double", "decimal", "numbers", "mixed"}, id="both-bounds"),
    # NaN is equal to NaN and compares false with every other number.
    pytest.param({"$lte": float("nan")}, {"nan"}, id="lte-nan"),
    pytest.param({"$lt": 100}, {"int", "long", "double", "decimal", "numbers", "mixed"}, id="lt-skips-nan"),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("condition", "expected"), RANGES)
def test_range_operators_bracket_types(
    shapes: Collection[Document], path: str, condition: Document, expected: set[str]
) -> None:
    assert matched_everywhere(shapes, _on(path, condition)) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # MinKey and MaxKey compare below and above every value, a missing one included.
        pytest.param({"$gt": MinKey()}, ALL, id="gt-minkey"),
        pytest.param({"$lt": MaxKey()}, ALL, id="lt-maxkey"),
        # A missing field compares equal to null, like {v: null} (which matches arrays holding null too).
        pytest.param({"$lte": None}, {"null", "missing", "mixed"}, id="lte-null"),
        pytest.param({"$lt": None}, set(), id="lt-null"),
    ],
)
def test_ranges_against_min_max_and_null(shapes: Collection[Document], condition: Document, expected: set[str]) -> None:
    assert matched_everywhere(shapes, {"v": condition}) == expected


NULLISH = {"null", "missing", "mixed"}  # {v: null}: "the field is null, or does not exist" (arrays: any element)
GT_2 = {"int", "long", "double", "decimal", "numbers", "mixed"}
QUERIES = [
    pytest.param(None, NULLISH, id="eq-null"),
    pytest.param({"$eq": 7.0}, {"long"}, id="eq-numbers-across-types"),
    # $ne and $nin do not bracket types: they match every other value, and missing fields.
    pytest.param({"$ne": None}, ALL - NULLISH, id="ne-null"),
    pytest.param({"$ne": 5}, ALL - {"int"}, id="ne-value"),
    pytest.param({"$in": [5, "x", None]}, {"int", "mixed", "null", "missing"}, id="in-with-null"),
    pytest.param({"$in": [7.0, "5"]}, {"long", "string"}, id="in-typed"),
    pytest.param({"$nin": [5, None]}, ALL - {"int", "mixed", "null", "missing"}, id="nin"),
    # $exists: true matches null values too.
    pytest.param({"$exists": True}, ALL - {"missing"}, id="exists"),
    pytest.param({"$exists": False}, {"missing"}, id="not-exists"),
    # $type matches an array field by its elements' types too.
    pytest.param({"$type": "date"}, {"before", "after", "dates"}, id="type-date"),
    pytest.param({"$type": "string"}, {"string", "mixed", "dates"}, id="type-string"),
    pytest.param({"$type": "null"}, {"null", "mixed"}, id="type-null"),
    pytest.param(
        {"$type": "number"}, {"int", "long", "double", "decimal", "nan", "numbers", "mixed"}, id="type-number"
    ),
    pytest.param({"$type": "array"}, {"numbers", "mixed", "dates", "empty", "nested"}, id="type-array"),
    # $regex matches strings only (array elements included).
    pytest.param({"$regex": "^[xy5]"}, {"string", "mixed", "dates"}, id="regex"),
    pytest.param({"$all": [1, 20]}, {"numbers"}, id="all"),
    # $elemMatch: one element satisfies every condition.
    pytest.param({"$elemMatch": {"$gt": 5, "$lt": 10}}, {"mixed"}, id="elemMatch"),
    # ... and an element that is itself an array is compared as an array, not through its elements.
    pytest.param(
        {"$elemMatch": {"$lt": 4}},
        {"numbers"},
        id="elemMatch-nested-array",
        marks=differs_on_dev_server("$elemMatch compares the elements of an element that is an array"),
    ),
    # $not matches what the condition does not, documents without the field included.
    pytest.param({"$not": {"$gt": 2}}, ALL - GT_2, id="not"),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("condition", "expected"), QUERIES)
def test_query_operators(shapes: Collection[Document], path: str, condition: Any, expected: set[str]) -> None:
    assert matched_everywhere(shapes, _on(path, condition)) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            {"$or": [{"v": {"$lt": 3}}, {"v": {"$type": "string"}}]},
            {"double", "numbers", "string", "mixed", "dates"},
            id="or",
        ),
        # Each clause may be satisfied by a different element of an array.
        pytest.param({"$and": [{"v": {"$gte": 5}}, {"v": {"$lte": 5}}]}, {"int", "numbers"}, id="and"),
        # $expr compares in BSON order across types ("null < numbers < strings < objects < arrays < ... <
        # booleans < dates"), a missing field as null, arrays as a whole; no type bracketing there.
        pytest.param({"$expr": {"$lt": ["$v", 6]}}, {"int", "double", "nan", "null", "missing"}, id="expr-lt"),
        pytest.param(
            {"$expr": {"$gt": ["$v", 6]}},
            ALL - {"int", "double", "nan", "null", "missing"},
            id="expr-gt",
        ),
    ],
)
def test_logical_operators_and_expr(shapes: Collection[Document], query: Document, expected: set[str]) -> None:
    assert matched_everywhere(shapes, query) == expected


# --- Aggregation -----------------------------------------------------------------------------------------

ROWS: list[Document] = [
    {"_id": 1, "c": "a", "n": 5, "at": WHEN},
    {"_id": 2, "c": "a", "n": None, "at": WHEN + DAY},
    {"_id": 3, "c": "a", "n": "7", "at": None},
    {"_id": 4, "c": "a"},
    {"_id": 5, "c": "b", "n": [1, 2], "at": WHEN - DAY},
    {"_id": 6, "c": "b", "n": 2.5},
]


@pytest.fixture
def rows(db: Database[Document]) -> Collection[Document]:
    db.rows.insert_many([dict(row) for row in ROWS])
    return db.rows


def grouped(rows: Collection[Document], accumulator: Document) -> dict[str, Any]:
    pipeline: list[Document] = [{"$sort": {"_id": 1}}, {"$group": {"_id": "$c", "out": accumulator}}]
    return {row["_id"]: row["out"] for row in rows.aggregate(pipeline)}


ACCUMULATORS = [
    # $sum (accumulator) "ignores non-numeric values": null, missing, strings and arrays.
    pytest.param({"$sum": "$n"}, {"a": 5, "b": 2.5}, id="sum"),
    # $min and $max "ignore null and missing values" and compare the rest in BSON order.
    pytest.param({"$min": "$n"}, {"a": 5, "b": 2.5}, id="min"),
    pytest.param({"$max": "$n"}, {"a": "7", "b": [1, 2]}, id="max"),
    pytest.param({"$max": "$at"}, {"a": WHEN + DAY, "b": WHEN - DAY}, id="max-date"),
    pytest.param({"$min": "$at"}, {"a": WHEN, "b": WHEN - DAY}, id="min-date"),
    # $push leaves a missing value out ($$REMOVE is the missing value) and keeps null.
    pytest.param({"$push": "$n"}, {"a": [5, None, "7"], "b": [[1, 2], 2.5]}, id="push"),
    pytest.param(
        {"$push": {"$cond": [{"$gt": ["$n", 4]}, "$_id", "$$REMOVE"]}}, {"a": [1, 3], "b": [5]}, id="push-remove"
    ),
    # $first and $last return null where that document lacks the field.
    pytest.param({"$first": "$at"}, {"a": WHEN, "b": WHEN - DAY}, id="first"),
    pytest.param({"$last": "$at"}, {"a": None, "b": None}, id="last-missing"),
    pytest.param({"$count": {}}, {"a": 4, "b": 2}, id="count"),
    # $topN keeps null and missing sort keys, which sort lowest; $maxN leaves null and missing out.
    pytest.param({"$topN": {"n": 2, "sortBy": {"at": -1}, "output": "$_id"}}, {"a": [2, 1], "b": [5, 6]}, id="topN"),
    pytest.param({"$maxN": {"n": 2, "input": "$at"}}, {"a": [WHEN + DAY, WHEN], "b": [WHEN - DAY]}, id="maxN"),
]


@pytest.mark.parametrize(("accumulator", "expected"), ACCUMULATORS)
def test_group_accumulators(rows: Collection[Document], accumulator: Document, expected: dict[str, Any]) -> None:
    assert grouped(rows, accumulator) == expected


def test_add_to_set_leaves_missing_values_out(rows: Collection[Document]) -> None:
    out = grouped(rows, {"$addToSet": "$at"})
    assert {"a": set(out["a"]), "b": set(out["b"])} == {"a": {WHEN, WHEN + DAY, None}, "b": {WHEN - DAY}}


def test_group_key_null_and_missing_are_one_group(rows: Collection[Document]) -> None:
    counts = {row["_id"]: row["k"] for row in rows.aggregate([{"$group": {"_id": "$at", "k": {"$sum": 1}}}])}
    assert counts == {WHEN: 1, WHEN + DAY: 1, WHEN - DAY: 1, None: 3}


def ids(rows: Collection[Document], pipeline: list[Document]) -> list[Any]:
    return [row["_id"] for row in rows.aggregate(pipeline)]


STAGES = [
    # $match brackets types like find: a date range does not match null.
    pytest.param([{"$match": {"at": {"$lte": WHEN}}}], [1, 5], id="match-date-range"),
    # $unwind outputs nothing for null, missing or an empty array; a non-array value as one element.
    pytest.param([{"$unwind": "$n"}], [1, 3, 5, 5, 6], id="unwind"),
    pytest.param(
        [{"$unwind": {"path": "$n", "preserveNullAndEmptyArrays": True}}], [1, 2, 3, 4, 5, 5, 6], id="unwind-preserve"
    ),
    # $sort: null and missing sort together, lowest; an ascending sort orders an array by its smallest element.
    pytest.param([{"$sort": {"n": 1, "_id": 1}}], [2, 4, 5, 6, 1, 3], id="sort"),
    pytest.param([{"$sort": {"n": 1, "_id": 1}}, {"$limit": 2}], [2, 4], id="limit"),
]


@pytest.mark.parametrize(("pipeline", "expected"), STAGES)
def test_stages(rows: Collection[Document], pipeline: list[Document], expected: list[Any]) -> None:
    assert ids(rows, [{"$sort": {"_id": 1}}, *pipeline]) == expected


def test_count_and_facet(rows: Collection[Document]) -> None:
    numbers: list[Document] = [{"$match": {"n": {"$type": "number"}}}, {"$count": "k"}]
    assert list(rows.aggregate(numbers)) == [{"k": 3}]
    facets = {"small": [{"$match": {"n": {"$lt": 3}}}, {"$count": "k"}], "all": [{"$count": "k"}]}
    assert list(rows.aggregate([{"$facet": facets}])) == [{"small": [{"k": 2}], "all": [{"k": 6}]}]


def projected(rows: Collection[Document], expression: Any, only: list[int] | None = None) -> dict[int, Any]:
    """``expression`` evaluated per row (rows where it is missing left out of the answer)."""
    pipeline: list[Document] = [{"$project": {"out": expression}}]
    if only is not None:
        pipeline.insert(0, {"$match": {"_id": {"$in": only}}})
    return {row["_id"]: row["out"] for row in rows.aggregate(pipeline) if "out" in row}


EXPRESSIONS = [
    # $cond: null, 0, false and a missing value are false; anything else (arrays, strings) true.
    pytest.param({"$cond": ["$n", "yes", "no"]}, None, {1: "yes", 2: "no", 3: "yes", 4: "no", 5: "yes", 6: "yes"}),
    # $ifNull replaces null and missing.
    pytest.param({"$ifNull": ["$n", "none"]}, None, {1: 5, 2: "none", 3: "7", 4: "none", 5: [1, 2], 6: 2.5}),
    # Comparison expressions use BSON order across types: null and missing are below every date.
    pytest.param({"$gte": ["$at", WHEN]}, None, {1: True, 2: True, 3: False, 4: False, 5: False, 6: False}),
    pytest.param({"$lt": ["$at", WHEN]}, None, {1: False, 2: False, 3: True, 4: True, 5: True, 6: True}),
    # $eq does not traverse arrays; numbers equal across types.
    pytest.param({"$eq": ["$n", 2.5]}, None, {1: False, 2: False, 3: False, 4: False, 5: False, 6: True}),
    pytest.param({"$in": ["$n", [5, "7"]]}, None, {1: True, 2: False, 3: True, 4: False, 5: False, 6: False}),
    pytest.param({"$literal": "$n"}, [1], {1: "$n"}),
    # $and/$or use the same truthiness as $cond.
    pytest.param({"$and": ["$n", "$at"]}, None, {1: True, 2: False, 3: False, 4: False, 5: True, 6: False}),
    # Arithmetic on null or a missing value is null; a date plus milliseconds is a date.
    pytest.param({"$add": ["$at", 1000]}, [1, 3, 4], {1: WHEN + timedelta(seconds=1), 3: None, 4: None}),
    pytest.param({"$subtract": ["$at", WHEN]}, [1, 2, 3, 4], {1: 0, 2: 86_400_000, 3: None, 4: None}),
    pytest.param(
        {"$dateSubtract": {"startDate": "$at", "unit": "day", "amount": 1}},
        [1, 3, 4],
        {1: WHEN - DAY, 3: None, 4: None},
    ),
    # $map and $slice over null or a missing array are null.
    pytest.param(
        {"$map": {"input": "$n", "as": "item", "in": {"$multiply": ["$$item", 2]}}},
        [2, 4, 5],
        {2: None, 4: None, 5: [2, 4]},
    ),
    pytest.param({"$slice": ["$n", 1]}, [2, 4, 5], {2: None, 4: None, 5: [1]}),
    # $sum (expression) sums an array's numbers and is 0 for non-numeric, null or missing operands.
    pytest.param({"$sum": "$n"}, None, {1: 5, 2: 0, 3: 0, 4: 0, 5: 3, 6: 2.5}),
    # $$REMOVE leaves the field out of the output.
    pytest.param({"$cond": [{"$gt": ["$n", 4]}, "$n", "$$REMOVE"]}, None, {1: 5, 3: "7", 5: [1, 2]}),
]


@pytest.mark.parametrize(("expression", "only", "expected"), EXPRESSIONS)
def test_expressions(
    rows: Collection[Document], expression: Any, only: list[int] | None, expected: dict[int, Any]
) -> None:
    assert projected(rows, expression, only) == expected


def test_root_and_now(rows: Collection[Document]) -> None:
    pipeline: list[Document] = [
        {"$match": {"c": "b"}},
        {"$group": {"_id": "$c", "rows": {"$push": "$$ROOT"}, "now": {"$max": "$$NOW"}}},
    ]
    [row] = list(rows.aggregate(pipeline))
    assert row["rows"] == [ROWS[4], ROWS[5]]
    # $$NOW is the same date for the whole pipeline.
    assert isinstance(row["now"], datetime)
    assert abs(row["now"].replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=5)


# --- Update operators ------------------------------------------------------------------------------------


def updated(collection: Collection[Document], before: Document, update: Any, **options: Any) -> Document | None:
    collection.insert_one({"_id": "d", **before})
    collection.update_one({"_id": "d"}, update, **options)
    after = collection.find_one({"_id": "d"}, {"_id": 0})
    collection.delete_one({"_id": "d"})
    return after


UPDATES = [
    # $set creates the subdocuments of a dotted path.
    pytest.param({}, {"$set": {"a.b": 1}}, {"a": {"b": 1}}, id="set-dotted"),
    pytest.param({"arr": [1, 2]}, {"$set": {"arr.1": 5}}, {"arr": [1, 5]}, id="set-element"),
    # $unset of a field that does not exist changes nothing.
    pytest.param({"a": 1}, {"$unset": {"b": "", "a": ""}}, {}, id="unset"),
    # $inc on a missing field sets it to the amount.
    pytest.param({}, {"$inc": {"n": 2}}, {"n": 2}, id="inc-missing"),
    pytest.param({"n": Int64(1)}, {"$inc": {"n": 2}}, {"n": 3}, id="inc-long"),
    # $min/$max compare in BSON order: null is below every date, so $min keeps null and $max replaces it.
    pytest.param({"t": None}, {"$min": {"t": WHEN}}, {"t": None}, id="min-keeps-null"),
    pytest.param({"t": None}, {"$max": {"t": WHEN}}, {"t": WHEN}, id="max-replaces-null"),
    pytest.param({}, {"$min": {"t": WHEN}}, {"t": WHEN}, id="min-missing"),
    pytest.param({"t": WHEN + DAY}, {"$min": {"t": WHEN}}, {"t": WHEN}, id="min-date"),
    pytest.param({"t": "later"}, {"$min": {"t": WHEN}}, {"t": "later"}, id="min-string-below-date"),
    # $addToSet creates the array, and adds nothing already there (numbers equal across types).
    pytest.param({}, {"$addToSet": {"s": "x"}}, {"s": ["x"]}, id="addToSet-missing"),
    pytest.param({"s": [5, "x"]}, {"$addToSet": {"s": {"$each": [5.0, "y"]}}}, {"s": [5, "x", "y"]}, id="addToSet"),
    # $pull removes every equal element; a missing field is left alone.
    pytest.param({"s": [5, 1, 5.0, "5"]}, {"$pull": {"s": 5}}, {"s": [1, "5"]}, id="pull"),
    pytest.param({}, {"$pull": {"s": 5}}, {}, id="pull-missing"),
    pytest.param({"s": [1, 7, 9]}, {"$pull": {"s": {"$gte": 7}}}, {"s": [1]}, id="pull-condition"),
    # $push with $each and $slice keeps the first elements.
    pytest.param({"s": [1]}, {"$push": {"s": {"$each": [2, 3], "$slice": 2}}}, {"s": [1, 2]}, id="push-slice"),
    pytest.param({}, {"$push": {"s": 1}}, {"s": [1]}, id="push-missing"),
    # A pipeline update: $$REMOVE removes the field, $cond compares in BSON order.
    pytest.param(
        {"n": 3, "m": 9},
        [{"$set": {"n": {"$cond": [{"$gte": ["$n", 5]}, "$n", "$$REMOVE"]}, "m": {"$ifNull": ["$m", 0]}}}],
        {"m": 9},
        id="pipeline-remove",
    ),
    pytest.param(
        {"n": None},
        [{"$set": {"n": {"$cond": [{"$gte": ["$n", 5]}, "$n", "$$REMOVE"]}, "k": {"$ifNull": ["$k", 0]}}}],
        {"k": 0},
        id="pipeline-null",
    ),
]


@pytest.mark.parametrize(("before", "update", "after"), UPDATES)
def test_update_operators(db: Database[Document], before: Document, update: Any, after: Document) -> None:
    assert updated(db.docs, before, update) == after


@pytest.mark.parametrize(
    ("before", "update"),
    [
        # $inc, $push, $addToSet and $pull fail on a value of the wrong type and change nothing.
        pytest.param({"n": None}, {"$inc": {"n": 1}}, id="inc-null"),
        pytest.param({"n": "1"}, {"$inc": {"n": 1}}, id="inc-string"),
        pytest.param({"s": 1}, {"$push": {"s": 2}}, id="push-scalar"),
        pytest.param({"s": 1}, {"$addToSet": {"s": 2}}, id="addToSet-scalar"),
    ],
)
def test_update_operators_refuse_wrong_types(db: Database[Document], before: Document, update: Document) -> None:
    db.docs.insert_one({"_id": "d", **before})
    with pytest.raises(WriteError):
        db.docs.update_one({"_id": "d"}, update)
    assert db.docs.find_one({"_id": "d"}, {"_id": 0}) == before


def test_current_date_now_and_set_on_insert(db: Database[Document]) -> None:
    db.docs.update_one({"_id": "new"}, {"$currentDate": {"at": True}, "$setOnInsert": {"k": 1}}, upsert=True)
    db.docs.update_one({"_id": "new"}, {"$setOnInsert": {"k": 2}, "$set": {"j": 1}}, upsert=True)
    db.docs.update_one({"_id": "new"}, [{"$set": {"now": "$$NOW"}}])
    stored = db.docs.find_one({"_id": "new"})
    assert stored is not None
    assert (stored["k"], stored["j"]) == (1, 1)  # $setOnInsert applies only where the upsert inserts
    for moment in (stored["at"], stored["now"]):
        assert abs(moment.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=5)
