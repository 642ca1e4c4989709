"""``make run``: Redis, the MongoDB-wire server (unless MONGODB_URI is set), the API and a worker, with demo data."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import redis
from pymongo import AsyncMongoClient

from devstack.demo import DemoWorkspace, load_demo
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

LOG_DIR = Path(".run")

EXAMPLE_QUERY = """{
  customers(first: 5, filter: {class: {classSet: "spend_tier", codes: ["diamond", "luxurious"]}}) {
    totalCount
    edges { node { name city stats { netSpend currency }
                   classes { classSet code label(lang: "vi") evidence(lang: "vi") } } }
  }
}"""


async def _load(config: AppConfig, token: str | None) -> DemoWorkspace:
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(config.mongodb_uri, tz_aware=True)
    redis_sync = redis.Redis.from_url(config.redis_url)
    try:
        db = Database.connect(mongo, config.mongodb_db)
        await db.ensure_indexes()
        queue = RqRescoreQueue(redis_sync, config.rq_queue, config.rescore_pending_ttl_seconds)
        return await load_demo(build_services(db, queue), token)
    finally:
        await mongo.close()
        redis_sync.close()


def main() -> None:
    LOG_DIR.mkdir(exist_ok=True)
    for old_log in LOG_DIR.glob("*.log"):
        old_log.unlink()  # each run's logs start empty
    supervisor = Supervisor()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        env = dict(os.environ)
        if not env.get("REDIS_URL"):
            process, env["REDIS_URL"] = start_redis(free_port(), LOG_DIR / "redis.log")
            supervisor.add(process)
        if not env.get("MONGODB_URI"):
            process, env["MONGODB_URI"] = start_mongo_dev_server(free_port(), LOG_DIR / "mongodb.log")
            supervisor.add(process)
        env.setdefault("CRM_GRAPHIQL", "true")
        env.setdefault("CRM_INTROSPECTION", "true")
        env.setdefault("CORS_ALLOW_LOCALHOST", "true")
        env.setdefault("LOG_FORMAT", "text")  # JSON lines are for log shippers; .run/*.log are read by people
        config = AppConfig.model_validate(env)

        def worker() -> ManagedProcess:
            return start_worker(env, LOG_DIR / "worker.log")

        port = int(env.get("PORT", "8000"))

        def api() -> ManagedProcess:
            return start_api(env, port, LOG_DIR / "api.log")[0]

        supervisor.add(worker(), worker)
        supervisor.add(api(), api)
        began = time.monotonic()
        demo = asyncio.run(_load(config, env.get("CRM_DEMO_API_KEY") or None))
        _print_banner(f"http://127.0.0.1:{port}", demo, config.redis_url, time.monotonic() - began)
        reason = supervisor.run()
        print(f"stopping: {reason} (see {LOG_DIR}/)", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nstopping…")
    finally:
        # A second Ctrl-C or a SIGTERM while the children stop must not cut the stopping short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print_banner(base: str, demo: DemoWorkspace, redis_url: str, seconds: float) -> None:
    key = demo.admin_token or "(the key printed by the first run; set CRM_DEMO_API_KEY to choose one)"
    body = json.dumps({"query": EXAMPLE_QUERY})
    print(
        f"""
CRM is running. Demo workspace '{demo.workspace_id}': {len(demo.customer_ids)} customers loaded in {seconds:.1f}s
  GraphQL (and GraphiQL): {base}/graphql
  Demo admin key:         {key}
  Logs:                   {LOG_DIR}/ (api.log, worker.log, redis.log, mongodb.log)
  Watch jobs:             .venv/bin/rq info --url {redis_url} --interval 1

Try:
  curl -s {base}/graphql -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\
    -d '{body}'

A crashed API or worker is restarted. Ctrl-C stops everything.""",
        flush=True,
    )


if __name__ == "__main__":
    main()
