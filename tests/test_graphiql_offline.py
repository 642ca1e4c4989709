"""GraphiQL works without a CDN: the page names only assets the API serves, and each is the published
file its integrity hash describes."""

from __future__ import annotations

import base64
import hashlib
import re

from graphql import parse, validate
from starlette.testclient import TestClient

from api.app import create_app
from api.schema import schema
from domain.config import AppConfig


def test_graphiql_loads_its_assets_from_the_api(config: AppConfig) -> None:
    with TestClient(create_app(config.model_copy(update={"graphiql": True}))) as client:
        page = client.get("/graphql", headers={"Accept": "text/html"}).text
        assert "unpkg.com" not in page and "https://" not in re.sub(r"http://www\.w3\.org[^\"']*", "", page)
        assets = re.findall(r'(?:src|href)="(/graphiql/static/[^"]+)"\s+integrity="(sha384-[^"]+)"', page)
        assert len(assets) == 7
        for path, integrity in assets:
            served = client.get(path)
            assert served.status_code == 200, path
            digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
            assert f"sha384-{digest}" == integrity, path
    with TestClient(create_app(config)) as client:  # GraphiQL off: no assets either
        assert client.get("/graphiql/static/react@18.2.0/umd/react.production.min.js").status_code == 404


def test_graphiql_opens_on_a_crm_query_that_runs_with_the_headers_tab_ready_for_the_key(config: AppConfig) -> None:
    with TestClient(create_app(config.model_copy(update={"graphiql": True}))) as client:
        page = client.get("/graphql", headers={"Accept": "text/html"}).text
    found = re.search(r"const EXAMPLE_QUERY = `(.*?)`;", page, re.S)
    assert found is not None and "Welcome to GraphiQL" not in page
    assert validate(schema._schema, parse(found.group(1))) == []  # the example runs against this API
    assert 'parameters.headers || \'{"Authorization": "Bearer' in page
    assert 'defaultEditorToolsVisibility: "headers"' in page
