"""``make run``: Redis, the MongoDB-wire server (unless MONGODB_URI is set), the API and a worker, with demo data."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import redis
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from devstack import snapshot
from devstack.demo import DEMO_WORKSPACE_ID, DemoWorkspace, demo_admin_key, keep_secret, load_demo
from devstack.processes import (
    ManagedProcess,
    free_port,
    start_api,
    start_mongo_dev_server,
    start_redis,
    start_worker,
)
from devstack.supervisor import Supervisor
from domain.config import AppConfig
from domain.db import Database, Document
from domain.queueing import RqRescoreQueue
from domain.services import build_services

RUN_DIR = Path(".run")
SNAPSHOT = RUN_DIR / "mongodb.snapshot"  # the dev database, kept across runs (`make reset` forgets it)
CLI_ENV = RUN_DIR / "env"  # connection settings for `crm` while `make run` runs
SNAPSHOT_SECONDS = 60
DEMO_KEY = RUN_DIR / "demo-key"  # the demo workspace's admin key this dev stack keeps (mode 600)

EXAMPLE_QUERY = """{
  customers(first: 5, filter: {class: {classSet: "spend_tier", codes: ["diamond", "luxurious"]}}) {
    totalCount
    edges { node { name city stats { netSpend currency }
                   classes { classSet code label(lang: "vi") evidence(lang: "vi") } } }
  }
}"""


async def _load(
    config: AppConfig, chosen: str | None, remembered: str | None, empty: bool
) -> tuple[DemoWorkspace | None, str | None]:
    """The demo loaded into an empty database, and a working admin key of it either way."""
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(config.mongodb_uri, tz_aware=True)
    redis_sync = redis.Redis.from_url(config.redis_url)
    try:
        db = Database.connect(mongo, config.mongodb_db)
        await db.ensure_indexes()
        queue = RqRescoreQueue(redis_sync, config.rq_queue, config.rescore_pending_ttl_seconds)
        services = build_services(db, queue)
        demo = await load_demo(services, chosen) if empty else None
        return demo, await demo_admin_key(services, chosen, (demo.admin_token if demo else None) or remembered)
    finally:
        await mongo.close()
        redis_sync.close()


def main() -> None:
    RUN_DIR.mkdir(exist_ok=True)
    lock = _lock()
    # A second `make run` in this checkout keeps its logs apart and leaves the first one's data alone.
    log_dir = RUN_DIR if lock is not None else RUN_DIR / f"run-{os.getpid()}"
    log_dir.mkdir(exist_ok=True)
    for old_log in log_dir.glob("*.log"):
        old_log.unlink()  # each run's logs start empty
    supervisor = Supervisor()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    own_database = False
    reason = "stopped"
    env = dict(os.environ)
    config: AppConfig | None = None
    try:
        if not env.get("REDIS_URL"):
            process, env["REDIS_URL"] = start_redis(free_port(), log_dir / "redis.log")
            supervisor.add(process)
        if not env.get("MONGODB_URI"):
            process, env["MONGODB_URI"] = start_mongo_dev_server(free_port(), log_dir / "mongodb.log")
            supervisor.add(process)
            own_database = lock is not None
        env.setdefault("CRM_GRAPHIQL", "true")
        env.setdefault("CRM_INTROSPECTION", "true")
        env.setdefault("CORS_ALLOW_LOCALHOST", "true")
        env.setdefault("LOG_FORMAT", "text")  # JSON lines are for log shippers; .run/*.log are read by people
        config = AppConfig.model_validate(env)
        restored = snapshot.restore(config.mongodb_uri, config.mongodb_db, SNAPSHOT) if own_database else 0
        if lock is not None:
            _write_cli_env(config)

        def worker() -> ManagedProcess:
            return start_worker(env, log_dir / "worker.log")

        port = int(env.get("PORT", "8000"))

        def api() -> ManagedProcess:
            return start_api(env, port, log_dir / "api.log")[0]

        supervisor.add(api(), api)
        began = time.monotonic()
        empty = snapshot.is_empty(config.mongodb_uri, config.mongodb_db)  # the demo only into an empty database
        chosen = env.get("CRM_DEMO_API_KEY") or None
        # A second run's database is its own and not kept: nor is its key.
        remembered = DEMO_KEY.read_text().strip() if lock is not None and DEMO_KEY.exists() else None
        demo, key = asyncio.run(_load(config, chosen, remembered, empty))
        if key is not None and lock is not None and not chosen and key != remembered:
            keep_secret(DEMO_KEY, key)
        took = time.monotonic() - began
        # The worker starts once the demo is in: scoring while it loads only slowed both (one dev database).
        supervisor.add(worker(), worker)
        _print_banner(f"http://127.0.0.1:{port}", demo, key, restored, config.redis_url, log_dir, took)
        reason = _supervise(supervisor, config if own_database else None, log_dir / "run.log")
    except KeyboardInterrupt:
        reason = "interrupted"
    except _Terminated:
        reason = "stopped"
    finally:
        # A second Ctrl-C or a SIGTERM while the children stop must not cut the stopping short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print(f"\nstopping: {reason} (see {log_dir}/)", file=sys.stderr, flush=True)
        supervisor.stop(_snapshot_before_the_database_stops(config) if own_database and config else None)
        if lock is not None:
            CLI_ENV.unlink(missing_ok=True)


def _lock() -> IO[str] | None:
    """The checkout's run lock, or None when another `make run` holds it (kept open for the process's life)."""
    handle = (RUN_DIR / "lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _write_cli_env(config: AppConfig) -> None:
    """Where `crm` finds this stack without extra setup (environment variables still win)."""
    CLI_ENV.write_text(
        f"MONGODB_URI={config.mongodb_uri}\nMONGODB_DB={config.mongodb_db}\nREDIS_URL={config.redis_url}\n"
    )


def _supervise(supervisor: Supervisor, keep: AppConfig | None, log: Path) -> str:
    """Restart what crashes; snapshot the dev database every SNAPSHOT_SECONDS when it is ours (said in
    ``log``, not on the terminal people type in)."""
    next_snapshot = time.monotonic() + SNAPSHOT_SECONDS
    while (reason := supervisor.check()) is None:
        time.sleep(0.5)
        if keep is not None and time.monotonic() >= next_snapshot:
            with log.open("a", encoding="utf-8") as said:
                _save(keep, said)
            next_snapshot = time.monotonic() + SNAPSHOT_SECONDS
    return reason


def _snapshot_before_the_database_stops(config: AppConfig) -> Callable[[ManagedProcess], None]:
    def after(process: ManagedProcess) -> None:
        if process.name == "worker":  # the API and the worker have stopped, the database not yet
            _save(config)

    return after


def _save(config: AppConfig, said: IO[str] = sys.stderr) -> None:
    try:
        count = snapshot.save(config.mongodb_uri, config.mongodb_db, SNAPSHOT)
        print(f"saved {count} documents to {SNAPSHOT}", file=said, flush=True)
    except PyMongoError as error:
        print(f"could not save the database to {SNAPSHOT}: {error}", file=sys.stderr, flush=True)


class _Terminated(Exception):
    """SIGTERM: asked to stop (by a service manager, `kill`), as opposed to a Ctrl-C."""


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _print_banner(
    base: str,
    demo: DemoWorkspace | None,
    key: str | None,
    restored: int,
    redis_url: str,
    log_dir: Path,
    seconds: float,
) -> None:
    if demo is not None:
        data = (
            f"Demo workspace '{demo.workspace_id}': {len(demo.customer_ids)} customers loaded in {seconds:.1f}s; "
            "the worker is scoring them now (a minute at most: watch it with rq info, below)"
        )
    else:
        data = f"Database kept from the last run ({restored} documents from {SNAPSHOT}; `make reset` starts fresh)"
    if key is None:
        key = "(no demo workspace in this database: create one with .venv/bin/crm create-workspace)"
    body = json.dumps({"query": EXAMPLE_QUERY})
    print(
        f"""
CRM is running. {data}
  GraphQL (and GraphiQL): {base}/graphql
  Demo workspace id:      {DEMO_WORKSPACE_ID}
  Demo admin key:         {key}   (kept in {DEMO_KEY} between runs; CRM_DEMO_API_KEY chooses it)
  Logs:                   {log_dir}/ (api.log, worker.log, redis.log, mongodb.log)
  Watch jobs:             .venv/bin/rq info --url {redis_url} --interval 1
  CLI:                    .venv/bin/crm --help   (finds this stack through {CLI_ENV})

Try:
  curl -s {base}/graphql -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\
    -d '{body}'

A crashed API or worker is restarted. Ctrl-C stops everything.""",
        flush=True,
    )


if __name__ == "__main__":
    main()
