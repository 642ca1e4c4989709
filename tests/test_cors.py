"""Browser frontends on other origins: preflights answered for configured origins only, the API's headers
allowed and X-Request-ID exposed, no credentials; nothing cross-origin unless configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from domain.config import AppConfig

APP = "https://crm.example.vn"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


@pytest.fixture
def client(config: AppConfig) -> Iterator[TestClient]:
    configured = config.model_copy(update={"cors_allowed_origins": f"{APP}, https://admin.example.vn"})
    with TestClient(create_app(configured)) as client:
        yield client


def test_a_configured_origin_gets_its_preflight_and_reads_the_request_id(client: TestClient) -> None:
    preflight = client.options("/graphql", headers={"Origin": APP, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-request-id"} <= allowed
    assert "access-control-allow-credentials" not in preflight.headers
    answer = client.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": APP, "X-Request-ID": "r-1"})
    assert answer.headers["access-control-allow-origin"] == APP
    assert answer.headers["x-request-id"] == "r-1"
    assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()


def test_other_origins_are_refused(client: TestClient) -> None:
    refused = client.options("/graphql", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers


def test_nothing_is_cross_origin_by_default_and_localhost_when_asked(config: AppConfig) -> None:
    with TestClient(create_app(config)) as plain:
        assert (
            "access-control-allow-origin" not in plain.options("/graphql", headers={"Origin": APP, **PREFLIGHT}).headers
        )
    local = config.model_copy(update={"cors_allow_localhost": True})
    with TestClient(create_app(local)) as dev:
        for origin, allowed in (("http://localhost:5173", True), ("http://127.0.0.1:3000", True), (APP, False)):
            answer = dev.options("/graphql", headers={"Origin": origin, **PREFLIGHT})
            assert (answer.headers.get("access-control-allow-origin") == origin) is allowed, origin
