"""Faults really injected: MongoDB going away, a worker killed with SIGKILL, Redis restarted."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from devstack.processes import free_port, start_mongo_dev_server
from domain.config import AppConfig
from tests.conftest import Api, make_workspace

needs_local_mongo = pytest.mark.skipif(
    bool(os.environ.get("MONGODB_URI")), reason="stops and restarts the MongoDB server, so only the local one"
)


def _wait_for(check: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def own_mongo(config: AppConfig, tmp_path: Path) -> Iterator[tuple[AppConfig, int]]:
    port = free_port()
    process, uri = start_mongo_dev_server(port, tmp_path / "mongo.log")
    yield config.model_copy(update={"mongodb_uri": uri}), port
    process.stop()


@needs_local_mongo
def test_mongodb_outage_gives_a_clear_error_and_the_api_recovers(
    own_mongo: tuple[AppConfig, int], tmp_path: Path
) -> None:
    config, port = own_mongo
    with TestClient(create_app(config)) as client:
        api = Api(client)
        shop = make_workspace(api)
        assert api.ok("{ customers { totalCount } }", None, shop.admin)

        os.system(f"pkill -9 -f 'devstack.mongo_server --port {port}'")
        started = time.monotonic()
        body = api.gql("{ customers { totalCount } }", None, shop.admin)
        assert time.monotonic() - started < 15
        assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "Traceback" not in str(body)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["mongodb"].startswith("unavailable")
        assert client.get("/healthz").status_code == 200

        restarted, _ = start_mongo_dev_server(port, tmp_path / "mongo-again.log")
        try:
            assert _wait_for(lambda: client.get("/readyz").status_code == 200, 20)
            # The in-memory server came back empty: the key is unknown now, which the API says plainly.
            after = api.gql("{ customers { totalCount } }", None, shop.admin)
            assert after["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        finally:
            restarted.stop()
