"""What only grows has a retention setting, enforced by a TTL index that follows the setting."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient

from domain.config import AppConfig
from domain.db import Database, Retention


def _ttl_indexes(config: AppConfig, retentions: list[Retention]) -> list[dict[str, int | None]]:
    async def scenario() -> list[dict[str, int | None]]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(config.mongodb_uri)
        try:
            db = Database.connect(client, config.mongodb_db)
            seen = []
            for retention in retentions:
                await db.ensure_indexes(retention)
                found: dict[str, int | None] = {}
                for name in ("customer_tombstones", "class_events", "segment_events", "persisted_queries"):
                    async for index in await db.db[name].list_indexes():
                        if index["name"].startswith("ttl_"):
                            found[f"{name}.{index['name']}"] = index.get("expireAfterSeconds")
                seen.append(found)
            return seen
        finally:
            await client.close()

    return asyncio.run(scenario())


def test_ttl_indexes_follow_the_retention_settings(config: AppConfig) -> None:
    default, longer, ledger_too, none = _ttl_indexes(
        config,
        [
            Retention(),
            Retention(tombstones_days=365),
            Retention(tombstones_days=365, ledger_days=730, allow_list_days=90),
            Retention(tombstones_days=None),
        ],
    )
    day = 86400
    assert default == {"customer_tombstones.ttl_deleted_at": 180 * day}  # the ledger is kept for ever by default
    assert longer == {"customer_tombstones.ttl_deleted_at": 365 * day}
    assert ledger_too == {
        "customer_tombstones.ttl_deleted_at": 365 * day,
        "class_events.ttl_recorded_at": 730 * day,
        "segment_events.ttl_at": 730 * day,
        "persisted_queries.ttl_registered_at": 90 * day,
    }
    assert none == {}


def test_retention_comes_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("TOMBSTONE_RETENTION_DAYS", "30")
    monkeypatch.setenv("LEDGER_RETENTION_DAYS", "")
    assert Retention.of(AppConfig()) == Retention(tombstones_days=30, ledger_days=None)
