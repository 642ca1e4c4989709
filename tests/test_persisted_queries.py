"""Persisted queries (the Apollo protocol) shared by every API process through Redis, and the allow-list
mode where only registered documents run."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app as cli
from domain.config import AppConfig
from tests.conftest import Api, Workspace, make_workspace, receive_within

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
        by_get = client.get(
            "/graphql", params={"query": "{ segments { count } }"}, headers={"Authorization": f"Bearer {shop.admin}"}
        )
        assert by_get.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


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


CREATE_KEY = 'mutation { createApiKey(input: {userName: "Kẻ lạ", role: ADMIN}) { token } }'
CLASS_CHANGES = "subscription { customerClassChanged { current } }"


@contextmanager
def _socket(client: TestClient, token: str) -> Iterator[Any]:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        yield ws


def _over_ws(ws: Any, number: int, payload: dict[str, Any]) -> dict[str, Any]:
    """What a query sent over the websocket answers: its result (then it completes) or its refusal."""
    ws.send_json({"id": str(number), "type": "subscribe", "payload": payload})
    message = receive_within(ws, 10)
    assert message["id"] == str(number), message
    if message["type"] == "next":
        assert receive_within(ws, 10) == {"id": str(number), "type": "complete"}
    return message


def _refusal(message: dict[str, Any]) -> str:
    assert message["type"] == "error", message
    return str(message["payload"][0]["extensions"]["code"])


def _key_count(api: Api, shop: Workspace) -> int:
    return len(api.ok("{ apiKeys { id } }", None, shop.admin)["apiKeys"])


def test_allow_list_mode_holds_over_websockets_for_queries_mutations_and_subscriptions(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    keys_before = _key_count(api, shop)
    strict = create_app(config.model_copy(update={"persisted_queries": "allowlist"}))
    with TestClient(strict) as client, _socket(client, shop.admin) as ws:
        for number, query in enumerate([QUERY, CREATE_KEY, CLASS_CHANGES]):
            assert _refusal(_over_ws(ws, number, {"query": query})) == "PERSISTED_QUERY_NOT_ALLOWED", query
        assert _refusal(_over_ws(ws, 3, _by_hash())) == "PERSISTED_QUERY_NOT_ALLOWED"

        api.call(lambda: api.services.persisted_queries.allow([QUERY]))
        by_text = _over_ws(ws, 4, {"query": QUERY})
        by_hash = _over_ws(ws, 5, _by_hash())
        assert by_text["type"] == by_hash["type"] == "next", (by_text, by_hash)
        assert by_text["payload"]["data"]["classSets"] and by_hash["payload"] == by_text["payload"]
    assert _key_count(api, shop) == keys_before  # the mutation never ran


def test_a_hash_alone_works_over_websockets_like_over_http(api: Api, shop: Workspace) -> None:
    with _socket(api.client, shop.admin) as ws:
        assert _refusal(_over_ws(ws, 1, _by_hash())) == "PERSISTED_QUERY_NOT_FOUND"
        sent = _over_ws(ws, 2, _by_hash(QUERY))
        assert sent["type"] == "next" and sent["payload"]["data"]["classSets"], sent
        again = _over_ws(ws, 3, _by_hash())
        assert again["type"] == "next" and again["payload"]["data"] == sent["payload"]["data"]
    _, over_http = _post(api.client, shop.admin, _by_hash())  # registered over the websocket, known to HTTP
    assert over_http["data"] == sent["payload"]["data"]


def _unique(query: str) -> str:
    """The document with a comment of its own, so that its hash is this test's alone."""
    return f"# {uuid.uuid4().hex}\n{query}"


def _hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def test_documents_sent_without_a_key_are_run_but_never_kept(api: Api, shop: Workspace) -> None:
    query = _unique(QUERY)
    anonymous = api.client.post("/graphql", json=_by_hash(query, _hash(query)))
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    _, by_hash = _post(api.client, shop.admin, _by_hash(digest=_hash(query)))
    assert by_hash["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_documents_that_do_not_validate_are_never_kept(api: Api, shop: Workspace) -> None:
    for query in (
        _unique("{ noSuchField }"),
        _unique("{ classSets { key "),
        _unique("{ __schema { types { name } } }"),
    ):
        _, sent = _post(api.client, shop.admin, _by_hash(query, _hash(query)))
        assert sent["errors"], query
        _, by_hash = _post(api.client, shop.admin, _by_hash(digest=_hash(query)))
        assert by_hash["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND", query


def test_each_workspace_keeps_its_own_documents_within_a_budget(api: Api, config: AppConfig) -> None:
    small = config.model_copy(update={"persisted_query_max_documents": 2, "persisted_query_max_bytes": 4096})
    with TestClient(create_app(small)) as client:
        limited = Api(client)
        shop, other = make_workspace(limited), make_workspace(limited, "Other")
        first, second, third = (_unique(QUERY) for _ in range(3))
        for query in (first, second, third):  # the third is over the count: it runs, it is not kept
            _, sent = _post(client, shop.admin, _by_hash(query, _hash(query)))
            assert sent["data"]["classSets"], sent
        assert [_post(client, shop.admin, _by_hash(digest=_hash(q)))[1].get("data") is not None for q in
                (first, second, third)] == [True, True, False]  # fmt: skip
        # Another workspace neither sees these nor is held back by them.
        _, elsewhere = _post(client, other.admin, _by_hash(digest=_hash(first)))
        assert elsewhere["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        big = _unique("{ classSets { key } }" + " " * 5000)  # over the bytes budget on its own
        for workspace in (other, shop):
            _, sent = _post(client, workspace.admin, _by_hash(big, _hash(big)))
            assert sent["data"]["classSets"]
            _, by_hash = _post(client, workspace.admin, _by_hash(digest=_hash(big)))
            assert by_hash["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_documents_unused_for_the_ttl_leave_and_make_room(config: AppConfig) -> None:
    # model_copy skips the settings' lower bound of a minute: one second, so that the test waits two.
    brief = config.model_copy(update={"persisted_query_max_documents": 1, "persisted_query_ttl_seconds": 1})
    with TestClient(create_app(brief)) as client:
        shop = make_workspace(Api(client))
        old, new = _unique(QUERY), _unique(QUERY)
        _post(client, shop.admin, _by_hash(old, _hash(old)))
        time.sleep(2.1)  # Redis's clock counts whole seconds
        _post(client, shop.admin, _by_hash(new, _hash(new)))
        _, gone = _post(client, shop.admin, _by_hash(digest=_hash(old)))
        _, kept = _post(client, shop.admin, _by_hash(digest=_hash(new)))
    assert gone["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert kept["data"]["classSets"]
