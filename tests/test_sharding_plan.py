"""The schema a sharded cluster accepts: every collection has a place in the plan, unique indexes start
with their collection's shard key, a ledger's idempotency never hangs on a field stamped at append time,
and every query on a sharded collection goes to one workspace's shard or says it reads across them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from typer.testing import CliRunner

from cli.main import app as cli
from domain.classes.events import ClassChangeEvent
from domain.config import AppConfig
from domain.db import Retention, index_plan
from domain.segments.models import MembershipReason, SegmentEvent
from domain.sharding import APPEND_STAMPED, SCATTER_GATHER, SHARD_KEYS, UNSHARDED, prepare_cluster
from tests.conftest import Api, CommandCounter, Workspace, create_customer, record_order, run_worker
from workers.runtime import WorkerRuntime
from workers.sweeper import sweep_dirty_customers

EVERY_RETENTION = Retention(tombstones_days=1, ledger_days=1, imports_days=1, allow_list_days=1)


def test_every_collection_is_in_the_plan() -> None:
    planned = set(SHARD_KEYS) | set(UNSHARDED)
    assert set(index_plan(EVERY_RETENTION)) <= planned
    assert not set(SHARD_KEYS) & set(UNSHARDED)


def test_unique_indexes_start_with_their_collections_shard_key() -> None:
    for name, indexes in index_plan(EVERY_RETENTION).items():
        key = list(SHARD_KEYS.get(name, {}))
        for index in indexes:
            if key and index.document.get("unique"):
                fields = list(index.document["key"])
                assert fields[: len(key)] == key, f"{name}: unique index {fields} does not start with {key}"


def test_a_ledgers_shard_key_is_known_before_its_records_are_appended() -> None:
    now = datetime.now(UTC)
    event = ClassChangeEvent("c:spend_tier:1", "w", "c", "spend_tier", None, "new", {}, 1, "rescore", now)
    membership = SegmentEvent.numbered("w", "c", None, "s", 1, MembershipReason.RULE, 1, now)
    records = {"class_events": event.to_document(), "segment_events": membership.to_document()}
    for name, stamped in APPEND_STAMPED.items():
        key = set(SHARD_KEYS[name])
        assert not key & stamped, f"{name}: its shard key holds a field set at append time"
        if name in records:
            assert key <= set(records[name]), f"{name}: a record lacks its shard key before it is appended"


def _filters(name: str, command: dict[str, Any]) -> list[Any]:
    """The filters a command applies to its collection (inserts carry their documents instead)."""
    if name in ("find", "count", "distinct"):
        return [command.get("filter", command.get("query", {}))]
    if name == "aggregate":
        first = (command.get("pipeline") or [{}])[0]
        return [first.get("$match", {})]
    if name == "update":
        return [update["q"] for update in command["updates"]]
    if name == "delete":
        return [delete["q"] for delete in command["deletes"]]
    if name == "findAndModify":
        return [command["query"]]
    if name == "insert":
        return list(command["documents"])
    return []


def _names_the_workspace(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    if isinstance(condition.get("workspace_id"), str):
        return True
    return any(_names_the_workspace(part) for part in condition.get("$and", []))


def test_every_query_on_a_sharded_collection_goes_to_one_workspace_or_says_why_not(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    with CommandCounter(config.mongodb_db).capturing() as sent:  # what is sent, whatever the server
        first = create_customer(api, shop.admin, name="Một", phone="0912345678", externalId="k-1")
        second = create_customer(api, shop.admin, name="Hai")
        record_order(api, shop.admin, first, "6000000", status="PAID", externalId="o-1")
        run_worker(config)
        runtime = WorkerRuntime.open(config)
        try:
            sweep_dirty_customers(runtime)
        finally:
            runtime.close()
        api.ok("{ customers(first: 10) { edges { node { id classes { code } orders { id } } } } }", None, shop.admin)
        api.ok(
            "{ customers(first: 10, orderBy: {field: CHANGED, direction: ASC}) { edges { node { id } } } }",
            None,
            shop.admin,
        )
        api.ok("{ deletedCustomers(first: 10) { id } }", None, shop.admin)
        rule = {"orders": {"measure": "SUM", "min": "1"}}
        api.ok("query($r: SegmentRuleInput!) { previewSegment(rule: $r) { count } }", {"r": rule}, shop.admin)
        api.ok('{ classDistribution(classSet: "spend_tier") { code count } }', None, shop.admin)
        api.ok("mutation($id: ID!) { deleteCustomer(id: $id) { errors { code } } }", {"id": second}, shop.admin)
        run_worker(config)
    strays = [
        (name, command.get(name), condition)
        for name, command in sent
        if command.get(name) in SHARD_KEYS and not str(command.get("comment", "")).startswith(SCATTER_GATHER)
        for condition in _filters(name, command)
        if not _names_the_workspace(condition)
    ]
    assert strays == [], "\n".join(map(repr, strays))


def test_prepare_cluster_says_what_it_would_do_and_refuses_a_server_that_is_not_a_mongos(config: AppConfig) -> None:
    async def plan() -> list[Any]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(config.mongodb_uri)
        try:
            return await prepare_cluster(client.admin, config.mongodb_db, apply=False)
        finally:
            await client.close()

    steps = asyncio.run(plan())
    assert {step.collection for step in steps} == set(SHARD_KEYS)
    assert all(not step.done and "not a mongos" in step.note for step in steps)


def test_the_prepare_cluster_command_creates_the_indexes_and_says_it_needs_a_mongos(
    config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONGODB_URI", config.mongodb_uri)
    monkeypatch.setenv("MONGODB_DB", config.mongodb_db)
    result = CliRunner().invoke(cli, ["prepare-cluster", "--apply"])
    assert result.exit_code == 0, result.output
    assert "indexes of" in result.output and "not a mongos" in result.output

    async def index_names() -> set[str]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(config.mongodb_uri)
        try:
            return {index["name"] async for index in await client[config.mongodb_db]["orders"].list_indexes()}
        finally:
            await client.close()

    assert "workspace_external_id_unique" in asyncio.run(index_names())
