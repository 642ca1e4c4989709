"""Persisted queries (the Apollo protocol) shared by every API process through Redis, and the allow-list
mode where only registered documents run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app as cli
from domain.config import AppConfig
from tests.conftest import Api, Workspace

QUERY = "{ classSets { key } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()


def _post(client: TestClient, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


def _by_hash(query: str | None = None, digest: str = HASH) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    if query is not None:
        body["query"] = query
    return body


def test_a_hash_alone_is_asked_for_its_document_once_then_runs_in_every_api_process(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    status, body = _post(api.client, shop.admin, _by_hash())
    assert status == 200 and body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    status, body = _post(api.client, shop.admin, _by_hash(QUERY))
    assert status == 200 and body["data"]["classSets"]
    _, again = _post(api.client, shop.admin, _by_hash())
    assert again["data"] == body["data"]
    with TestClient(create_app(config)) as other_process:  # another API process, the same Redis
        _, elsewhere = _post(other_process, shop.admin, _by_hash())
        assert elsewhere["data"] == body["data"]
        extensions = json.dumps(_by_hash()["extensions"])
        by_get = other_process.get(
            "/graphql", params={"extensions": extensions}, headers={"Authorization": f"Bearer {shop.admin}"}
        )
        assert by_get.json()["data"] == body["data"], by_get.text


def test_a_document_that_does_not_match_its_hash_is_refused(api: Api, shop: Workspace) -> None:
    _, body = _post(api.client, shop.admin, _by_hash("{ segments { count } }"))
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    _, body = _post(api.client, shop.admin, _by_hash(QUERY, digest="ABC"))
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


def test_allow_list_mode_runs_registered_documents_only(api: Api, shop: Workspace, config: AppConfig) -> None:
    with TestClient(create_app(config.model_copy(update={"persisted_queries": "allowlist"}))) as client:
        _, body = _post(client, shop.admin, {"query": QUERY})
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        assert api.call(lambda: api.services.persisted_queries.allow([QUERY])) == [HASH]
        _, by_text = _post(client, shop.admin, {"query": QUERY})
        _, by_hash = _post(client, shop.admin, _by_hash())
        assert by_text["data"]["classSets"] and by_hash["data"] == by_text["data"]
        _, other = _post(client, shop.admin, {"query": "{ segments { count } }"})
        assert other["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


def test_the_cli_registers_documents_for_the_allow_list(
    api: Api, shop: Workspace, config: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONGODB_URI", config.mongodb_uri)
    monkeypatch.setenv("MONGODB_DB", config.mongodb_db)
    document = tmp_path / "class_sets.graphql"
    document.write_text(QUERY, encoding="utf-8")
    result = CliRunner().invoke(cli, ["allow-query", str(document)])
    assert result.exit_code == 0, result.output
    assert HASH in result.output
    with TestClient(create_app(config.model_copy(update={"persisted_queries": "allowlist"}))) as client:
        _, body = _post(client, shop.admin, _by_hash())
        assert body["data"]["classSets"]
