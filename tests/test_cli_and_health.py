"""Operator commands and the health endpoints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app as cli
from domain.config import AppConfig
from tests.conftest import Api


@pytest.fixture
def cli_env(config: AppConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", config.mongodb_uri)
    monkeypatch.setenv("MONGODB_DB", config.mongodb_db)


def test_cli_creates_a_workspace_and_keys_that_work(api: Api, cli_env: None) -> None:
    created = CliRunner().invoke(cli, ["create-workspace", "Tiệm hoa Mai", "--currency", "VND"])
    assert created.exit_code == 0, created.output
    workspace_id = re.search(r"workspace (\w+)", created.output).group(1)  # type: ignore[union-attr]
    admin_key = re.search(r"(crm_\S+)", created.output).group(1)  # type: ignore[union-attr]
    assert api.ok("{ customers { totalCount } }", None, admin_key)["customers"]["totalCount"] == 0

    issued = CliRunner().invoke(cli, ["create-key", workspace_id, "--role", "viewer", "--user-name", "Lan"])
    assert issued.exit_code == 0, issued.output
    viewer_key = re.search(r"(crm_\S+)", issued.output).group(1)  # type: ignore[union-attr]
    denied = api.gql('mutation { createCustomer(input: {name: "X"}) { customer { id } } }', None, viewer_key)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_cli_reports_bad_input_without_a_traceback(cli_env: None) -> None:
    result = CliRunner().invoke(cli, ["create-workspace", "Shop", "--currency", "ZZZ"])
    assert result.exit_code == 2
    assert "UNKNOWN_CURRENCY" in result.output


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz").json()
    assert (ready["ready"], ready["mongodb"], ready["redis"], ready["subscriptions"]) == (True, "ok", "ok", 0)


def test_graphiql_only_when_enabled(config: AppConfig) -> None:
    html = {"Accept": "text/html"}
    with TestClient(create_app(config)) as client:
        assert client.get("/graphql", headers=html).status_code == 404
    with TestClient(create_app(config.model_copy(update={"graphiql": True}))) as client:
        page = client.get("/graphql", headers=html)
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        # GraphiQL on does not turn introspection on (CRM_INTROSPECTION=false is obeyed)
        body = client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"}).json()
        assert body["data"] is None and "introspection" in body["errors"][0]["message"].lower()


def test_every_cli_command_refuses_an_unknown_workspace_the_same_way(cli_env: None, tmp_path: Path) -> None:
    rows = tmp_path / "customers.csv"
    rows.write_text("external_id,name\nk-1,Trần Văn Nam\n", encoding="utf-8")
    for command in (
        ["import", "nosuch", "customers", str(rows)],
        ["export", "nosuch", "--out", str(tmp_path / "out.csv")],
        ["create-key", "nosuch", "--role", "viewer", "--user-name", "Lan"],
    ):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, (command, result.output)
        assert "NOT_FOUND no workspace 'nosuch'" in " ".join(result.output.split()), result.output


def test_allow_query_refuses_a_document_that_does_not_parse(cli_env: None, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.graphql", tmp_path / "bad.graphql"
    good.write_text("{ classSets { key } }", encoding="utf-8")
    bad.write_text("{ classSets { key }", encoding="utf-8")
    result = CliRunner().invoke(cli, ["allow-query", str(good), str(bad)])
    assert result.exit_code == 2 and "not a GraphQL document" in result.output and "nothing registered" in result.output
