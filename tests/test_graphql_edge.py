"""Attack queries and limits at the GraphQL edge: all rejected with clear errors, nothing run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.edge import EdgeLimits
from api.schema import build_schema
from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, make_workspace, revoke_behind_the_apis_back


def _codes(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [error.get("extensions", {}).get("code", error["message"]) for error in body.get("errors", [])]


def test_an_ordinary_query_reports_its_cost(api: Api, shop: Workspace) -> None:
    body = api.gql("{ customers(first: 10) { totalCount edges { node { name } } } }", None, shop.admin)
    assert "errors" not in body
    # customers 1 + 10 edges x (edge 1 + node 1); scalars (totalCount, name) are free
    assert body["extensions"]["cost"] == {"requested": 21, "maximum": 20_000}


@pytest.mark.parametrize(
    ("name", "query", "expected"),
    [
        ("alias flood", "{ " + " ".join(f"a{i}: customers {{ totalCount }}" for i in range(40)) + " }", "aliases"),
        ("token flood", "{ customers { totalCount " + "name " * 4000 + "} }", "tokens"),
        ("field duplication", "{ customers { " + "totalCount " * 3000 + "} }", "tokens"),
        ("too costly", "{ customers(first: 100) { edges { node { classHistory(first: 200) { id } } } } }",
         "QUERY_TOO_COSTLY"),
        ("costly through a variable", "query($n: Int) { customers(first: 100) { edges { node { "
         "orders(first: $n) { items { sku name category } } } } } }", "QUERY_TOO_COSTLY"),
        ("circular fragments", "query { customers { ...A } } fragment A on CustomerConnection { ...B } "
         "fragment B on CustomerConnection { ...A }", "Cannot spread fragment"),
    ],
)  # fmt: skip
def test_attack_queries_are_rejected(api: Api, shop: Workspace, name: str, query: str, expected: str) -> None:
    body = api.gql(query, {"n": 100} if "$n" in query else None, shop.admin)
    assert body.get("data") is None, name
    assert any(expected in code for code in _codes(body)), (name, _codes(body))


def test_depth_is_limited() -> None:
    schema = build_schema(EdgeLimits(max_depth=4))
    result = asyncio.run(schema.execute("{ customers { edges { node { orders { items { sku } } } } } }"))
    assert result.errors and "exceeds maximum operation depth" in result.errors[0].message


@pytest.fixture
def strict_api(config: AppConfig) -> Iterator[Api]:
    tight = config.model_copy(update={"rate_limit_capacity": 250, "rate_limit_per_second": 1.0})
    with TestClient(create_app(tight)) as client:
        yield Api(client)


def test_rate_limit_by_cost_per_key(strict_api: Api) -> None:
    shop = make_workspace(strict_api)
    other = make_workspace(strict_api, "Other")
    query = "{ customers(first: 60) { edges { node { name } } } }"  # cost 121: two fit in 250
    assert "errors" not in strict_api.gql(query, None, shop.admin)
    assert "errors" not in strict_api.gql(query, None, shop.admin)
    limited = strict_api.gql(query, None, shop.admin)
    [error] = limited["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["retryAfter"] >= 1
    assert "errors" not in strict_api.gql(query, None, other.admin)  # buckets are per key


def test_introspection_is_off_unless_enabled_and_suggestions_with_it(api: Api, shop: Workspace) -> None:
    body = api.gql("{ __schema { types { name } } }", None, shop.admin)
    assert body["data"] is None and "introspection" in body["errors"][0]["message"].lower()
    typo = api.gql('{ custmer(id: "x") { id } }', None, shop.admin)
    assert "Cannot query field 'custmer'" in typo["errors"][0]["message"]
    assert "Did you mean" not in typo["errors"][0]["message"]


def test_batched_requests_are_refused(api: Api, shop: Workspace) -> None:
    response = api.client.post(
        "/graphql",
        json=[{"query": "{ customers { totalCount } }"}] * 3,
        headers={"Authorization": f"Bearer {shop.admin}"},
    )
    assert response.status_code == 400


INJECTIONS = ['{"$ne": null}', "$where", "a.b", "$gt", "'; db.dropDatabase(); '", ".*", "^", "\\\\", "$regex"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_operator_strings_are_only_ever_text(api: Api, shop: Workspace, value: str) -> None:
    create_customer(api, shop.admin, name="Lan", city="Huế")
    create_customer(api, shop.admin, name=f"x{value}", city=value, tags=[value], occupation=value)
    query = "query($f: CustomerFilter) { customers(filter: $f) { totalCount edges { node { name city } } } }"
    for filter in ({"text": value}, {"city": value}, {"tags": [value]}, {"region": value}, {"ownerId": value}):
        body = api.gql(query, {"f": filter}, shop.admin)
        assert "errors" not in body, (filter, body)
        names = [edge["node"]["name"] for edge in body["data"]["customers"]["edges"]]
        assert names in ([], [f"x{value}"]), (filter, names)
    assert api.ok("{ customers { totalCount } }", None, shop.admin)["customers"]["totalCount"] == 2


def test_subscriptions_end_at_their_maximum_lifetime(config: AppConfig) -> None:
    with TestClient(create_app(config.model_copy(update={"subscription_max_seconds": 0.5}))) as client:
        shop = make_workspace(Api(client))
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": "subscription { customerClassChanged { current } }"},
                }
            )
            assert ws.receive_json() == {"id": "1", "type": "complete"}


def test_too_many_subscriptions_on_one_connection_are_refused(api: Api, shop: Workspace) -> None:
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        for number in range(11):
            ws.send_json(
                {
                    "id": str(number),
                    "type": "subscribe",
                    "payload": {"query": "subscription { customerClassChanged { current } }"},
                }
            )
        message = ws.receive_json()
        assert message["type"] == "error" and "limit" in str(message["payload"]).lower()


def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    api: Api, shop: Workspace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail: mongodb://user:password@db")

    monkeypatch.setattr(api.services.customers, "page", broken)
    response = api.client.post(
        "/graphql",
        json={"query": "{ customers { totalCount } }"},
        headers={"Authorization": f"Bearer {shop.admin}", "X-Request-ID": "req-42"},
    )
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-42"}
    assert "secret" not in response.text
    assert any("req-42" in record.getMessage() and record.exc_info for record in caplog.records)


def test_idle_websockets_are_closed(config: AppConfig) -> None:
    with TestClient(create_app(config.model_copy(update={"websocket_idle_seconds": 0.4}))) as client:
        shop = make_workspace(Api(client))
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()  # nothing subscribed: closed for idleness
            assert closed.value.code == 4408


def test_only_the_graphql_transport_ws_protocol_is_spoken(api: Api) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        api.client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws,
    ):
        ws.receive_json()


@pytest.mark.parametrize(
    ("filter", "field"),
    [({"tags": [f"t{i}" for i in range(51)]}, "filter.tags"), ({"interests": ["x"] * 51}, "filter.interests"),
     ({"text": "x" * 201}, "filter.text")],
)  # fmt: skip
def test_oversized_filters_are_refused(api: Api, shop: Workspace, filter: dict[str, object], field: str) -> None:
    body = api.gql("query($f: CustomerFilter) { customers(filter: $f) { totalCount } }", {"f": filter}, shop.admin)
    assert body["errors"][0]["extensions"]["field"] == field


def test_cost_uses_the_operations_own_variable_defaults(api: Api, shop: Workspace) -> None:
    literal = api.gql("{ customers(first: 100) { edges { node { name } } } }", None, shop.admin)
    defaulted = api.gql("query($n: Int = 100) { customers(first: $n) { edges { node { name } } } }", None, shop.admin)
    given = api.gql("query($n: Int = 1) { customers(first: $n) { edges { node { name } } } }", {"n": 100}, shop.admin)
    assert literal["extensions"]["cost"] == defaulted["extensions"]["cost"] == given["extensions"]["cost"]


ORDERS_OF_TEN = "query($n: Int) { customers(first: 10) { edges { node { orders(first: $n) { items { sku } } } } } }"


@pytest.mark.parametrize("sent", [100.0, 1e2])
def test_a_page_size_sent_as_a_float_costs_what_runs(api: Api, shop: Workspace, sent: float) -> None:
    # GraphQL coerces 100.0 to the Int 100, so it must cost as 100 does: over the limit here.
    as_int = api.gql(ORDERS_OF_TEN, {"n": 100}, shop.admin)
    as_float = api.gql(ORDERS_OF_TEN, {"n": sent}, shop.admin)
    assert _codes(as_int) == _codes(as_float) == ["QUERY_TOO_COSTLY"]
    assert as_float["errors"][0]["extensions"]["cost"] == as_int["errors"][0]["extensions"]["cost"]
    under = api.gql(ORDERS_OF_TEN, {"n": 50.0}, shop.admin)
    assert under["extensions"]["cost"] == api.gql(ORDERS_OF_TEN, {"n": 50}, shop.admin)["extensions"]["cost"]


def test_a_page_size_that_does_not_coerce_is_refused_by_its_type(api: Api, shop: Workspace) -> None:
    for sent in ("100", [100], True, 100.5, 2**40):
        body = api.gql(ORDERS_OF_TEN, {"n": sent}, shop.admin)
        assert body.get("data") is None and body["errors"], sent
        assert "Variable '$n'" in body["errors"][0]["message"], (sent, body)


def test_calls_without_a_key_are_rate_limited_per_client_address(strict_api: Api) -> None:
    query = "{ customers(first: 40) { edges { node { name } } } }"
    codes = [_codes(strict_api.gql(query)) for _ in range(4)]
    assert codes[0] == ["UNAUTHENTICATED"] and ["RATE_LIMITED"] in codes


@pytest.mark.parametrize("size", [300 * 1024, 50 * 1024 * 1024])
def test_oversized_bodies_are_refused_before_parsing(api: Api, shop: Workspace, size: int) -> None:
    body = b'{"query": "{ customers { totalCount } }", "variables": {"x": "' + b"a" * size + b'"}}'
    response = api.client.post(
        "/graphql", content=body, headers={"Authorization": f"Bearer {shop.admin}", "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


def test_a_deeply_nested_body_is_a_json_bad_request(api: Api, shop: Workspace) -> None:
    body = '{"query": "{ customers { totalCount } }", "variables": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    response = api.client.post(
        "/graphql", content=body, headers={"Authorization": f"Bearer {shop.admin}", "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_two_operations_need_an_operation_name(api: Api, shop: Workspace) -> None:
    document = 'query A { customers { totalCount } } mutation B { deleteCustomer(id: "x") { deletedId } }'
    body = api.gql(document, None, shop.admin)
    assert body["data"] is None and _codes(body) == ["OPERATION_NAME_REQUIRED"]
    named = api.client.post(
        "/graphql",
        json={"query": document, "operationName": "A"},
        headers={"Authorization": f"Bearer {shop.admin}"},
    )
    assert named.json()["data"]["customers"]["totalCount"] == 0


def test_large_input_is_never_echoed_back(api: Api, shop: Workspace) -> None:
    huge = "x" * 200_000
    for query, variables in (
        ("query($s: String!) { classDistribution(classSet: $s) { code } }", {"s": huge}),
        ("query($n: Int) { customers(first: $n) { totalCount } }", {"n": huge}),
        ("mutation($i: CustomerInput!) { createCustomer(input: $i) { errors { message } } }", {"i": {"name": huge}}),
    ):
        response = api.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {shop.admin}"}
        )
        assert response.status_code == 200 and len(response.text) < 2_000, response.text[:200]


def test_a_class_filter_with_thousands_of_codes_is_refused_at_once(api: Api, shop: Workspace) -> None:
    query = "query($f: CustomerFilter) { customers(filter: $f) { totalCount } }"
    codes = ["none"] * 20_000
    body = api.gql(query, {"f": {"class": {"classSet": "spend_tier", "codes": codes}}}, shop.admin)
    assert _codes(body) == ["TOO_MANY_ITEMS"]


def test_a_revoked_key_stops_on_open_websockets_without_the_announcement(config: AppConfig) -> None:
    quick = config.model_copy(update={"key_cache_seconds": 0.2})
    with TestClient(create_app(quick)) as client:
        api = Api(client)
        shop = make_workspace(api)
        _, token = add_key(api, shop, Role.SALES, "Lan")
        query = 'subscription { customerClassChanged(classSet: "spend_tier") { current } }'
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            revoke_behind_the_apis_back(quick, token)  # no pub/sub message: as if Redis lost it
            time.sleep(0.3)  # the cached look-up expires
            ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": query}})
            message = ws.receive_json()
            assert "UNAUTHENTICATED" in str(message)
        assert _codes(api.gql("{ customers { totalCount } }", None, token)) == ["UNAUTHENTICATED"]


def test_answers_carry_vietnamese_and_chinese_as_utf8_not_escapes(api: Api, shop: Workspace) -> None:
    create_customer(api, shop.admin, name="Nguyễn Thị Lan 王芳")
    response = api.client.post(
        "/graphql",
        json={"query": "{ customers(first: 1) { edges { node { name } } } }"},
        headers={"Authorization": f"Bearer {shop.admin}"},
    )
    assert "Nguyễn Thị Lan 王芳".encode() in response.content and b"\\u" not in response.content
    assert response.headers["content-type"].startswith("application/json")
