"""Fixtures: a real Redis and a MongoDB-wire server (mongoeco, or MONGODB_URI's server) on free ports."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from pymongo import MongoClient, monitoring
from starlette.testclient import TestClient

from api.app import create_app
from devstack.processes import ManagedProcess, free_port, start_mongo_dev_server, start_redis
from domain.auth.keys import hash_token
from domain.auth.principals import Role
from domain.clock import Clock, TravellingClock
from domain.config import AppConfig
from domain.services import Services
from workers.runtime import WorkerRuntime
from workers.worker import build_worker


class _CommandLog(monitoring.CommandListener):
    """Every MongoDB command this test process sends, counted per database (each test has its own)."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.captured: dict[str, list[tuple[str, dict[str, Any]]]] = {}  # databases whose commands are kept
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        with self._lock:
            self.counts[event.database_name][event.command_name] += 1
            if event.database_name in self.captured:
                self.captured[event.database_name].append((event.command_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def snapshot(self, database: str) -> Counter[str]:
        with self._lock:
            return Counter(self.counts[database])


# Registered before any client exists: pymongo attaches global listeners to clients created afterwards.
_COMMAND_LOG = _CommandLog()
monitoring.register(_COMMAND_LOG)


@dataclass
class Counted:
    by_command: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_command.values())


@dataclass(frozen=True)
class CommandCounter:
    """MongoDB commands sent by this process (the API under test, in-process workers) to the test's database."""

    database: str

    @contextmanager
    def capturing(self) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """The commands sent meanwhile, as (name, command document)."""
        commands: list[tuple[str, dict[str, Any]]] = []
        _COMMAND_LOG.captured[self.database] = commands
        try:
            yield commands
        finally:
            _COMMAND_LOG.captured.pop(self.database, None)

    @contextmanager
    def counting(self) -> Iterator[Counted]:
        before = _COMMAND_LOG.snapshot(self.database)
        counted = Counted()
        yield counted
        counted.by_command.update(_COMMAND_LOG.snapshot(self.database) - before)


@pytest.fixture
def commands(config: AppConfig) -> CommandCounter:
    if os.environ.get("MONGODB_URI"):
        # Counts hold for the commands our code sends, but cursor replies (how many documents each batch
        # carries, hence getMores) are the server's choice: the figures are pinned on the dev server.
        pytest.skip("counts MongoDB commands as pinned against the dev server")
    return CommandCounter(config.mongodb_db)


def corrupt(config: AppConfig, customer_id: str, update: dict[str, Any]) -> None:
    """Change a stored customer behind the application's back (a bad import, a manual edit)."""
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        client[config.mongodb_db]["customers"].update_one({"_id": customer_id}, update)
    finally:
        client.close()


def revoke_behind_the_apis_back(config: AppConfig, token: str) -> None:
    """Revoke a key in MongoDB without the announcement on Redis that API processes listen to."""
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        client[config.mongodb_db]["api_keys"].update_one(
            {"token_hash": hash_token(token)}, {"$set": {"revoked_at": datetime.now(UTC)}}
        )
    finally:
        client.close()


@dataclass(frozen=True)
class Backends:
    mongodb_uri: str
    redis_url: str


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    logs = tmp_path_factory.mktemp("service-logs")
    started: list[ManagedProcess] = []
    try:
        redis_process, redis_url = start_redis(free_port(), logs / "redis.log")
        started.append(redis_process)
        mongodb_uri = os.environ.get("MONGODB_URI", "")
        if not mongodb_uri:
            mongo_process, mongodb_uri = start_mongo_dev_server(free_port(), logs / "mongodb.log")
            started.append(mongo_process)
        yield Backends(mongodb_uri, redis_url)
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture
def config(backends: Backends) -> AppConfig:
    """A database, queue and event channel of this test's own, so tests never see each other's data."""
    suffix = uuid.uuid4().hex[:10]
    return AppConfig(
        mongodb_uri=backends.mongodb_uri,
        mongodb_db=f"crm_test_{suffix}",
        redis_url=backends.redis_url,
        rq_queue=f"crm-test-{suffix}",
        event_channel_prefix=f"crm-test-{suffix}:events",
        graphiql=False,
        rfm_refresh_seconds=0,
        # A key looked up stays cached for the whole test, however slowly a loaded machine runs it, so
        # the commands a test counts never include a look-up that expired; tests of expiry set their own.
        key_cache_seconds=600,
    )


def process_env(config: AppConfig, sweep_interval_seconds: int = 1) -> dict[str, str]:
    """Environment for an API or worker process started by a test, pointing at this test's data."""
    return {
        **os.environ,
        "MONGODB_URI": config.mongodb_uri,
        "MONGODB_DB": config.mongodb_db,
        "REDIS_URL": config.redis_url,
        "RQ_QUEUE": config.rq_queue,
        "EVENT_CHANNEL_PREFIX": config.event_channel_prefix,
        "SCORING_BATCH_SIZE": str(config.scoring_batch_size),
        "SWEEP_INTERVAL_SECONDS": str(sweep_interval_seconds),
        "RFM_REFRESH_SECONDS": str(config.rfm_refresh_seconds),
    }


@pytest.fixture
def redis_client(config: AppConfig) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(config.redis_url)
    yield client
    client.close()


class Api:
    """A test client for the GraphQL endpoint, plus direct access to the app's services."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    @property
    def services(self) -> Services:
        return self.client.app.state.services  # type: ignore[attr-defined,no-any-return]

    def call(self, async_fn: Any, *args: Any) -> Any:
        assert self.client.portal is not None
        return self.client.portal.call(async_fn, *args)

    def hub_listening(self, count: int, seconds: float = 10.0) -> None:
        """Wait until the API's event hub has ``count`` subscriptions registered (no sleeping on a guess)."""
        hub = self.client.app.state.hub  # type: ignore[attr-defined]
        deadline = time.monotonic() + seconds
        while hub.listening() < count:
            assert time.monotonic() < deadline, f"{hub.listening()} subscriptions registered, wanted {count}"
            time.sleep(0.01)

    def gql(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def ok(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        """Data of a request that must succeed without top-level or payload errors."""
        body = self.gql(query, variables, token)
        assert "errors" not in body, body
        for value in body["data"].values():
            if isinstance(value, dict) and value.get("errors"):
                raise AssertionError(value["errors"])
        return body["data"]  # type: ignore[no-any-return]


@pytest.fixture
def clock() -> TravellingClock:
    """The test's clock: real time, which a test may move forward (the API and in-process workers use it)."""
    return TravellingClock()


@pytest.fixture
def api(config: AppConfig, clock: TravellingClock) -> Iterator[Api]:
    with TestClient(create_app(config, clock)) as client:
        yield Api(client)


@dataclass(frozen=True)
class Workspace:
    id: str
    admin: str
    admin_user_id: str


def make_workspace(api: Api, name: str = "Shop") -> Workspace:
    created = api.call(lambda: api.services.workspaces.create(name))
    return Workspace(created.workspace.id, created.admin_key.token, created.admin.id)


def add_key(api: Api, workspace: Workspace, role: Role, user_name: str = "someone") -> tuple[str, str]:
    """A new user of the given role; returns (user id, key)."""
    user, key = api.call(lambda: api.services.workspaces.add_user_with_key(workspace.id, user_name, role))
    return user.id, key.token


@pytest.fixture
def shop(api: Api) -> Workspace:
    return make_workspace(api)


def receive_within(ws: Any, seconds: float) -> dict[str, Any]:
    """The websocket's next message, or a test failure after ``seconds`` (instead of waiting forever)."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(ws.receive_json).result(timeout=seconds)  # type: ignore[no-any-return]
    except FutureTimeout:
        raise AssertionError(f"no message within {seconds} s") from None
    finally:
        pool.shutdown(wait=False)  # a receive still blocked ends when the websocket closes


def run_worker(config: AppConfig, clock: Clock | None = None) -> None:
    """Process every queued job in this process (RQ burst mode) with a real worker runtime."""
    runtime = WorkerRuntime.open(config, clock)
    try:
        build_worker(runtime).work(burst=True)
    finally:
        runtime.close()


CREATE_CUSTOMER = """
mutation($input: CustomerInput!) {
  createCustomer(input: $input) { customer { id name classes { classSet code } } errors { field code message } }
}"""

RECORD_ORDER = """
mutation($input: OrderInput!) {
  recordOrder(input: $input) { order { id status total refundedAmount externalId } errors { field code message } }
}"""


def create_customer(api: Api, token: str, **fields: Any) -> str:
    data = api.ok(CREATE_CUSTOMER, {"input": {"name": "Nguyễn Văn An", **fields}}, token)
    return str(data["createCustomer"]["customer"]["id"])


def record_order(api: Api, token: str, customer_id: str, total: str, **fields: Any) -> dict[str, Any]:
    data = api.ok(RECORD_ORDER, {"input": {"customerId": customer_id, "total": total, **fields}}, token)
    return data["recordOrder"]["order"]  # type: ignore[no-any-return]
