"""The development MongoDB-wire server's engine: still rejects duplicate ids, and its shortcuts change
no result."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient, IndexModel
from pymongo.errors import BulkWriteError, DuplicateKeyError

from devstack.mongo_server import MONGOECO_VERSION
from tests.conftest import Backends


def test_pinned_mongoeco_version_is_the_one_installed() -> None:
    from importlib.metadata import version

    assert version("mongoeco") == MONGOECO_VERSION, "re-check DevMemoryEngine against this mongoeco"


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
                [IndexModel([("customer_id", 1)]), IndexModel([("tags", 1)]), IndexModel([("ws", 1)])]
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
        finally:
            await client.close()

    asyncio.run(scenario())
