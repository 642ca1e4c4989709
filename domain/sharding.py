"""The sharding plan: which collections are spread over a sharded cluster, by which key, and which stay
whole on the primary shard, each with the reason. ``crm prepare-cluster`` applies it.

Everything that grows with the shops is sharded by its workspace: every request, job and page of this
product carries ``workspace_id`` (the scope of every key), so each of their queries is sent to the one
shard that holds the workspace, and the unique indexes (external ids within a workspace) start with the
shard key as MongoDB requires. A workspace lives on one shard; many workspaces spread over many. The few
queries that read across workspaces (the sweeper's) say so with a ``scatter-gather:`` comment.

A workspace bigger than a whole shard would need a key that splits it (``{workspace_id: 1, _id: 1}``), and
then external ids could no longer be unique through an index (they would need a claims collection keyed by
the external id). Not built: see the README's production section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from domain.db import Document

SHARD_KEYS: dict[str, dict[str, Any]] = {
    "customers": {"workspace_id": 1},
    "orders": {"workspace_id": 1},
    "interactions": {"workspace_id": 1},
    "class_events": {"workspace_id": 1},
    "segment_events": {"workspace_id": 1},
    "customer_tombstones": {"workspace_id": 1},
    # GridFS's documented key: a file's chunks in order.
    "import_files.chunks": {"files_id": 1, "n": 1},
}

UNSHARDED: dict[str, str] = {
    "workspaces": "one small document per shop, read by every request",
    "users": "a few per shop",
    "api_keys": "looked up by token hash before the workspace is known; a few per shop",
    "settings_history": "one document per settings change",
    "scoring_runs": "a few per shop and day",
    "scoring_run_batches": "a few per run (thousands of customers each), read across runs by the sweeper",
    "segments": "at most 200 per shop",
    "imports": "one per uploaded file, kept for the import retention",
    "import_files.files": "one per uploaded file",
    "persisted_queries": "the allow-list of a deployment's documents",
    "conversion_models": "one per shop",
    "conversion_models.files": "one per shop",
    "conversion_models.chunks": "a few per shop",
    "workers": "one per worker process",
}

# Fields a ledger's records get only when appended: the shard key must not contain any, or two appends of
# the same event could land on different shards and both be kept (_id is unique per shard only).
APPEND_STAMPED: dict[str, frozenset[str]] = {
    "class_events": frozenset({"recorded_at", "unstamped"}),
    "segment_events": frozenset(),
    "customer_tombstones": frozenset({"deleted_at"}),
}

SCATTER_GATHER = "scatter-gather:"


def scatter_gather(why: str) -> str:
    """The comment a query across workspaces carries: visible in the server's logs and profiler."""
    return f"{SCATTER_GATHER} {why}"


@dataclass(frozen=True, slots=True)
class ClusterStep:
    command: str
    collection: str | None
    done: bool
    note: str = ""


async def prepare_cluster(admin: AsyncDatabase[Document], database: str, *, apply: bool) -> list[ClusterStep]:
    """Shard the plan's collections of ``database`` (through a mongos; indexes must exist already).
    Collections sharded already are left as they are. With ``apply`` False it only says what it would do."""
    steps: list[ClusterStep] = []
    hello = await admin.command("hello")
    if hello.get("msg") != "isdbgrid":
        note = "not a mongos: connect to a sharded cluster's router to shard"
        return [ClusterStep("shardCollection", name, False, note) for name in SHARD_KEYS]
    sharded = {
        document["_id"]
        async for document in admin.client["config"]["collections"].find({"_id": {"$regex": f"^{database}\\."}})
    }
    if apply:
        await admin.command("enableSharding", database)
    steps.append(ClusterStep("enableSharding", None, apply))
    for name, key in SHARD_KEYS.items():
        namespace = f"{database}.{name}"
        if namespace in sharded:
            steps.append(ClusterStep("shardCollection", name, False, "sharded already"))
            continue
        if apply:
            await admin.command("shardCollection", namespace, key=key)
        steps.append(ClusterStep("shardCollection", name, apply, f"key {key}"))
    return steps
