"""The development MongoDB-wire server's engine: still rejects duplicate ids and keys, its shortcuts change
no result, and it keeps answering the driver while a long command runs."""

from __future__ import annotations

import asyncio
import copy
import gc
import os
import random
import uuid
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient, IndexModel, MongoClient
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from devstack.mongo_server import MONGOECO_VERSION, DevMemoryEngine, freeze_survivors
from tests.conftest import Backends

Document = dict[str, Any]
# Unique per workspace where the external id is a string, as the product's customers, orders and interactions.
EXTERNAL_ID = IndexModel(
    [("workspace_id", 1), ("external_id", 1)], unique=True, partialFilterExpression={"external_id": {"$type": "string"}}
)
counts_dev_server_reads = pytest.mark.skipif(
    bool(os.environ.get("MONGODB_URI")), reason="counts the development server's reads of stored documents"
)


@pytest.fixture
def db(backends: Backends) -> Iterator[Database[Document]]:
    client: MongoClient[Document] = MongoClient(backends.mongodb_uri)
    name = f"dev_server_{uuid.uuid4().hex[:10]}"
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


def stored_documents_read(db: Database[Document]) -> int:
    status = db.client.admin.command("serverStatus")
    return int(status["mongoeco"]["engineRuntime"]["storedDocumentsRead"])


def test_pinned_mongoeco_version_is_the_one_installed() -> None:
    from importlib.metadata import version

    assert version("mongoeco") == MONGOECO_VERSION, "re-check DevMemoryEngine against this mongoeco"


def test_aggregations_have_no_document_budget() -> None:
    """mongoeco's default refuses a $group over more than 50,000 documents; MongoDB spills to disk instead.
    (Pinned on the engine: filling a collection past the budget over the wire takes most of a minute.)"""
    assert DevMemoryEngine().aggregation_cost_policy is None


def test_duplicate_ids_are_rejected_over_the_wire(backends: Backends) -> None:
    async def scenario() -> None:
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(backends.mongodb_uri)
        try:
            collection = client["dev_server_check"]["things"]
            await collection.drop()
            await collection.insert_many([{"_id": f"id-{i}"} for i in range(500)])
            with pytest.raises(DuplicateKeyError):
                await collection.insert_one({"_id": "id-250"})
            with pytest.raises(BulkWriteError):
                await collection.insert_many([{"_id": "new"}, {"_id": "id-3"}], ordered=True)
            assert await collection.count_documents({}) == 501
        finally:
            await client.close()

    asyncio.run(scenario())


def test_the_dev_servers_shortcuts_return_what_a_full_scan_returns(backends: Backends) -> None:
    """$in through single-field indexes, _id look-ups and _id-ordered pages read fewer documents; the
    answers must be exactly those of matching every document."""
    rng = random.Random(3)
    documents: list[dict[str, Any]] = [
        {
            "_id": f"{i:06d}",
            "ws": rng.choice(["a", "b"]),
            "customer_id": f"c{rng.randrange(40)}",
            "tags": rng.sample(["vip", "spa", "new", "old"], rng.randrange(3)),
            "n": i,
        }
        for i in range(600)
    ]

    def expected(query: Callable[[dict[str, Any]], bool]) -> list[str]:
        return [str(document["_id"]) for document in documents if query(document)]

    async def scenario() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(backends.mongodb_uri)
        try:
            things = client["dev_server_shortcuts"]["things"]
            await things.drop()
            await things.create_indexes(
                [
                    IndexModel([("customer_id", 1)]),
                    IndexModel([("tags", 1)]),
                    IndexModel([("ws", 1)]),
                    IndexModel([("ws", 1), ("tags", 1), ("customer_id", 1)]),
                ]
            )
            await things.insert_many(documents)

            async def ids(query: dict[str, Any], **options: Any) -> list[str]:
                cursor = things.find(query, {"_id": 1}).sort(options.get("sort", "_id"), options.get("direction", 1))
                if "limit" in options:
                    cursor = cursor.limit(options["limit"])
                return [document["_id"] async for document in cursor]

            wanted = ["c1", "c7", "c33", "nobody"]
            assert await ids({"ws": "a", "customer_id": {"$in": wanted}}) == expected(
                lambda d: d["ws"] == "a" and d["customer_id"] in wanted
            )
            assert await ids({"tags": {"$in": ["spa", "old"]}}) == expected(
                lambda d: bool({"spa", "old"} & set(d["tags"]))
            )
            assert await ids({"_id": {"$in": ["000003", "000500", "999999"]}}) == ["000003", "000500"]
            page = await ids({"ws": "b", "_id": {"$gt": "000250"}}, limit=25)
            assert page == expected(lambda d: d["ws"] == "b" and d["_id"] > "000250")[:25]
            backwards = await ids({"ws": "a", "_id": {"$lt": "000300"}}, limit=10, direction=-1)
            assert backwards == expected(lambda d: d["ws"] == "a" and d["_id"] < "000300")[::-1][:10]
            vip_page = await ids({"tags": "vip", "_id": {"$gte": "000100"}}, limit=7)
            assert vip_page == expected(lambda d: "vip" in d["tags"] and d["_id"] >= "000100")[:7]
            # Every field of the compound index pinned, one of them an array field: a lookup per key.
            pinned = {"ws": "b", "tags": {"$in": ["spa", "old"]}, "customer_id": {"$in": wanted}}
            assert await ids(pinned) == expected(
                lambda d: d["ws"] == "b" and bool({"spa", "old"} & set(d["tags"])) and d["customer_id"] in wanted
            )
            assert await ids({"ws": "a", "tags": ["vip", "spa"], "customer_id": "c3"}) == expected(
                lambda d: d["ws"] == "a" and d["tags"] == ["vip", "spa"] and d["customer_id"] == "c3"
            )
            in_match = {"$match": {"ws": "a", "customer_id": {"$in": [f"c{i}" for i in range(0, 40, 3)]}}}
            grouped = await things.aggregate([in_match, {"$group": {"_id": "$customer_id", "n": {"$sum": 1}}}])
            assert {row["_id"]: row["n"] async for row in grouped} == dict(
                Counter(d["customer_id"] for d in documents if d["ws"] == "a" and int(d["customer_id"][1:]) % 3 == 0)
            )
        finally:
            await client.close()

    asyncio.run(scenario())


def test_a_compound_partial_unique_index_rejects_every_duplicate(db: Database[Document]) -> None:
    things = db.things
    things.create_indexes([EXTERNAL_ID])
    things.insert_many([{"_id": i, "workspace_id": "w1", "external_id": f"e{i}"} for i in range(300)])

    with pytest.raises(DuplicateKeyError):  # a stored document has the key
        things.insert_one({"_id": "dup", "workspace_id": "w1", "external_id": "e7"})
    with pytest.raises(BulkWriteError) as within_one_insert:
        batch = [{"_id": "a", "external_id": "x"}, {"_id": "b", "external_id": "x"}, {"_id": "c", "external_id": "y"}]
        things.insert_many([{**document, "workspace_id": "w2"} for document in batch], ordered=False)
    errors = within_one_insert.value.details["writeErrors"]
    assert [(error["index"], error["code"]) for error in errors] == [(1, 11000)]
    # Outside the partial filter (no external id, or not a string): not indexed, so never a duplicate.
    unkeyed: list[Document] = [
        {},
        {},
        {"external_id": 5},
        {"external_id": 5},
        {"external_id": None},
        {"external_id": None},
    ]
    things.insert_many([{"_id": f"n{i}", "workspace_id": "w1", **fields} for i, fields in enumerate(unkeyed)])
    things.insert_one({"_id": "elsewhere", "workspace_id": "w3", "external_id": "e7"})  # another workspace

    with pytest.raises(DuplicateKeyError):  # an update that would take a key
        things.update_one({"_id": "n0"}, {"$set": {"external_id": "e8"}})
    with pytest.raises(DuplicateKeyError):  # an upsert that would insert one
        things.update_one({"_id": "new"}, {"$set": {"workspace_id": "w1", "external_id": "e9"}}, upsert=True)
    things.update_one({"_id": 3}, {"$set": {"touched": True}})  # a document keeps its own key
    things.update_one({"_id": 4}, {"$set": {"external_id": 4}})  # leaving the filter frees the key
    things.insert_one({"_id": "e4-again", "workspace_id": "w1", "external_id": "e4"})
    # An array of strings is in the index once per element.
    things.insert_one({"_id": "many", "workspace_id": "w4", "external_id": ["p", "q"]})
    with pytest.raises(DuplicateKeyError):
        things.insert_one({"_id": "one", "workspace_id": "w4", "external_id": "q"})

    assert things.count_documents({}) == 300 + 2 + len(unkeyed) + 1 + 1 + 1
    assert things.find_one({"_id": "n0"}, {"_id": 0}) == {"workspace_id": "w1"}


@counts_dev_server_reads
def test_inserts_and_upserts_find_duplicates_by_lookup(db: Database[Document]) -> None:
    """A bulk insert into a collection with a compound partial unique index stays linear: no new document
    is compared with the stored ones, and an upsert by the index's key reads only what it finds."""
    things = db.things
    things.create_indexes([EXTERNAL_ID, IndexModel([("workspace_id", 1)])])
    things.insert_many([{"_id": f"s{i}", "workspace_id": "w", "external_id": f"s{i}"} for i in range(2000)])

    before = stored_documents_read(db)
    things.insert_many([{"_id": f"t{i}", "workspace_id": "w", "external_id": f"t{i}"} for i in range(1000)])
    with pytest.raises(BulkWriteError):
        things.insert_many([{"_id": "late", "workspace_id": "w", "external_id": "s5"}], ordered=False)
    assert stored_documents_read(db) - before < 1000, "inserts compared with stored documents"

    before = stored_documents_read(db)
    for i in range(20):
        things.update_one({"workspace_id": "w", "external_id": f"u{i}"}, {"$set": {"n": i}}, upsert=True)
    things.update_one({"workspace_id": "w", "external_id": "u3"}, {"$set": {"n": -3}}, upsert=True)
    for key in ("fresh", "fresh", "s7"):
        things.update_one({"_id": key}, {"$set": {"workspace_id": "w", "n": 0}}, upsert=True)
    assert stored_documents_read(db) - before <= 24, "upserts read the workspace"
    assert things.count_documents({"external_id": {"$regex": "^u"}}) == 20
    assert things.find_one({"external_id": "u3"}, {"_id": 0, "n": 1}) == {"n": -3}


def test_a_long_aggregation_is_not_cancelled_by_the_drivers_heartbeat(backends: Backends) -> None:
    """Here the driver checks the server every 500 ms and, after 500 ms without an answer, interrupts the
    operations in flight: an aggregation of seconds on the development server must still complete."""
    client: MongoClient[Document] = MongoClient(backends.mongodb_uri, heartbeatFrequencyMS=500, connectTimeoutMS=500)
    things = client[f"dev_server_{uuid.uuid4().hex[:10]}"].things
    try:
        things.insert_many([{"_id": i, "k": i % 100} for i in range(300)])
        same_k = {"$match": {"$expr": {"$eq": ["$k", "$$k"]}}}  # a join without an index: a scan per document
        pipeline: list[Document] = [
            {"$lookup": {"from": "things", "let": {"k": "$k"}, "pipeline": [same_k], "as": "same"}},
            {"$project": {"n": {"$size": "$same"}}},
        ]
        assert [row["n"] for row in things.aggregate(pipeline)] == [3] * 300
    finally:
        client.drop_database(things.database.name)
        client.close()


def test_an_update_keeps_every_index_entry_it_changes_and_only_those(db: Database[Document]) -> None:
    """Updates skip the indexes whose fields they leave alone: what they change is still found by its new
    value only, including a change of type (1 -> true), an array, and leaving a partial index."""
    db.c.create_indexes(
        [IndexModel([("a", 1)]), IndexModel([("w", 1), ("b.c", 1)]), IndexModel([("tags", 1)]), EXTERNAL_ID]
    )
    db.c.insert_many(
        [{"_id": i, "w": "w", "a": 1, "b": {"c": i}, "tags": ["x"], "external_id": f"e{i}", "n": 0} for i in range(5)]
    )
    db.c.update_one({"_id": 0}, {"$set": {"n": 1}})  # no indexed field
    db.c.update_one({"_id": 1}, {"$set": {"a": True}})  # same value in Python, another BSON type
    db.c.update_one({"_id": 2}, {"$set": {"b.c": 20}, "$push": {"tags": "y"}})
    db.c.update_one({"_id": 3}, {"$set": {"external_id": 3}})  # out of the partial unique index

    def ids(query: Document) -> list[Any]:
        return sorted(document["_id"] for document in db.c.find(query))

    assert ids({"n": 1}) == [0] and ids({"a": 1}) == [0, 2, 3, 4] and ids({"a": True}) == [1]
    assert ids({"w": "w", "b.c": 2}) == [] and ids({"w": "w", "b.c": 20}) == [2] and ids({"w": "w", "b.c": 0}) == [0]
    assert ids({"tags": "y"}) == [2] and ids({"tags": "x"}) == [0, 1, 2, 3, 4]
    db.c.insert_one({"_id": 9, "w": "w", "external_id": "e3"})  # e3 left the index with its string
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"_id": 10, "w": "w", "external_id": "e4"})


def test_the_codec_still_checks_every_value_once_and_copies_give_the_same_trees() -> None:
    from mongoeco.core.codec import DocumentCodec

    from devstack.mongo_server import _tree_copy, validate_each_value_once

    nested: dict[str, Any] = {"a": {"b": [{"c": 1, "d": datetime(2026, 1, 1, tzinfo=UTC)}, "x"], "e": None}, "f": 2.5}
    before = DocumentCodec.encode(nested)
    validate_each_value_once()
    assert DocumentCodec.encode(nested) == before
    with pytest.raises(Exception, match="int64"):
        DocumentCodec.encode({"a": {"b": [{"c": 2**70}]}})  # deep inside, still refused
    copied = _tree_copy(nested)
    assert copied == copy.deepcopy(nested) and copied["a"]["b"][0] is not nested["a"]["b"][0]


def test_update_many_by_many_ids_rechecks_its_whole_filter_for_each_document(db: Database[Document]) -> None:
    db.e.insert_many([{"_id": i, "w": "w", "open": i % 3 != 0} for i in range(60)])
    ids = list(range(0, 60, 2))
    first = db.e.update_many({"_id": {"$in": ids}, "open": True, "w": "w"}, {"$set": {"open": False, "n": 1}})
    again = db.e.update_many({"_id": {"$in": ids}, "open": True, "w": "w"}, {"$set": {"n": 2}})
    other = db.e.update_many({"_id": {"$in": ids[:20]}, "open": False, "w": "w"}, {"$inc": {"n": 10}})
    assert (first.modified_count, again.modified_count, other.modified_count) == (20, 0, 20)
    assert sorted(d["_id"] for d in db.e.find({"n": 1})) == [i for i in ids if i % 3 and i >= 40]


def test_what_survived_is_frozen_out_of_later_collections_and_new_garbage_still_goes() -> None:
    """The server stores everything as Python objects: a full collection over a big shop held it past
    the driver's heartbeat timeout. Once frozen, what was stored is not walked again; cycles made after
    the freeze are still collected, and frozen objects are still freed when nothing refers to them."""

    class Node:
        me: Any = None

    stored = [{"customer": {"classes": [{"code": str(i)}]}} for i in range(2_000)]
    before = gc.get_freeze_count()
    freeze_survivors()
    try:
        assert gc.get_freeze_count() - before >= 3 * len(stored), "the stored documents are frozen"
        cycle = Node()
        cycle.me = cycle
        gone = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert gone() is None, "garbage made after the freeze is collected"
        frozen = Node()
        freeze_survivors()
        released = weakref.ref(frozen)
        del frozen
        assert released() is None, "a frozen object nobody refers to is freed"
    finally:
        gc.unfreeze()
    assert len(stored) == 2_000
