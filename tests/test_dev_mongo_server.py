"""The development MongoDB-wire server's linear-insert engine still rejects duplicate ids."""

from __future__ import annotations

import asyncio

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import BulkWriteError, DuplicateKeyError

from devstack.mongo_server import MONGOECO_VERSION
from tests.conftest import Backends


def test_pinned_mongoeco_version_is_the_one_installed() -> None:
    from importlib.metadata import version

    assert version("mongoeco") == MONGOECO_VERSION, "re-check LinearInsertMemoryEngine against this mongoeco"


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
