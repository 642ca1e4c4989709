"""Every validation error path: a typed error (field, code) and nothing written."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import (
    CREATE_CUSTOMER,
    RECORD_ORDER,
    Api,
    Workspace,
    add_key,
    create_customer,
    record_order,
    run_worker,
)

FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()
COUNTS = "{ customers { totalCount edges { node { orders(first: 100) { id } interactions(first: 100) { id } } } } }"


def _written(api: Api, token: str) -> tuple[int, int, int]:
    data = api.ok(COUNTS, None, token)["customers"]
    nodes = [edge["node"] for edge in data["edges"]]
    return (
        data["totalCount"],
        sum(len(n["orders"]) for n in nodes),
        sum(len(n["interactions"]) for n in nodes),
    )


CUSTOMER_CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"name": ""}, "name", "INVALID_LENGTH"),
    ({"name": "x" * 201}, "name", "INVALID_LENGTH"),
    ({"name": "a\x00b"}, "name", "INVALID_CHARACTERS"),
    ({"name": "Lan \u202egnp.exe"}, "name", "INVALID_CHARACTERS"),  # a right-to-left override
    ({"city": "Huế\u2066"}, "city", "INVALID_CHARACTERS"),
    ({"attributes": [{"key": "k", "value": "ring\x07"}]}, "attributes.0.value", "INVALID_CHARACTERS"),
    ({"email": "an@"}, "email", "INVALID_EMAIL"),
    ({"phone": "+84 12"}, "phone", "INVALID_PHONE"),
    ({"birthDate": "2999-01-01"}, "birthDate", "NOT_IN_PAST"),
    ({"birthDate": "1850-01-01"}, "birthDate", "OUT_OF_RANGE"),
    ({"country": "ZZ"}, "country", "UNKNOWN_COUNTRY"),
    ({"taxId": "#$%"}, "taxId", "INVALID_FORMAT"),
    ({"legalType": "COMPANY"}, "companyName", "REQUIRED"),
    ({"personalityType": 10}, "personalityType", "OUT_OF_RANGE"),
    ({"tags": [f"t{i}" for i in range(51)]}, "tags", "TOO_MANY_ITEMS"),
    ({"interests": ["x" * 61]}, "interests.0", "INVALID_LENGTH"),
    ({"ownerId": "nobody"}, "ownerId", "UNKNOWN_OWNER"),
    ({"attributes": [{"key": "$where", "value": "1"}]}, "attributes.0.key", "INVALID_ATTRIBUTE_KEY"),
    ({"attributes": [{"key": "a.b", "value": "1"}]}, "attributes.0.key", "INVALID_ATTRIBUTE_KEY"),
    ({"attributes": [{"key": "k", "value": "x" * 1001}]}, "attributes.0.value", "INVALID_LENGTH"),
    ({"attributes": [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]}, "attributes", "DUPLICATE_KEY"),
    ({"attributes": [{"key": f"k{i}", "value": "1"} for i in range(51)]}, "attributes", "TOO_MANY_ITEMS"),
]


@pytest.mark.parametrize(("fields", "field", "code"), CUSTOMER_CASES)
def test_customer_input_errors(api: Api, shop: Workspace, fields: dict[str, Any], field: str, code: str) -> None:
    body = api.gql(CREATE_CUSTOMER, {"input": {"name": "Trần Văn B", **fields}}, shop.admin)
    payload = body["data"]["createCustomer"]
    assert payload["customer"] is None
    assert (field, code) in {(error["field"], error["code"]) for error in payload["errors"]}, payload["errors"]
    assert all(error["message"] for error in payload["errors"])
    assert _written(api, shop.admin) == (0, 0, 0)


ORDER_CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"total": "-1"}, "total", "OUT_OF_RANGE"),
    ({"total": "100.5"}, "total", "TOO_MANY_DECIMALS"),
    ({"total": "99999999999999.999999999999999"}, "total", "TOO_MANY_DECIMALS"),  # not rounded
    ({"total": "10000000000000001"}, "total", "OUT_OF_RANGE"),  # more than is stored
    ({"total": "١٢٣"}, "total", "INVALID_AMOUNT"),  # Arabic-Indic digits
    ({"total": "1_000"}, "total", "INVALID_AMOUNT"),
    ({"total": "1e3"}, "total", "INVALID_AMOUNT"),
    ({"total": "NaN"}, "total", "INVALID_AMOUNT"),
    ({"total": "100", "discount": "101"}, "discount", "DISCOUNT_OVER_TOTAL"),
    ({"placedAt": "1899-12-31T00:00:00Z"}, "placedAt", "OUT_OF_RANGE"),
    ({"channel": "web\u202e"}, "channel", "INVALID_CHARACTERS"),
    ({"discount": "-5"}, "discount", "OUT_OF_RANGE"),
    ({"currency": "XYZ"}, "currency", "UNKNOWN_CURRENCY"),
    ({"currency": "USD"}, "currency", "CURRENCY_MISMATCH"),
    ({"placedAt": FUTURE}, "placedAt", "IN_FUTURE"),
    ({"status": "PAID", "refundAmount": "100"}, "refundAmount", "NOT_ALLOWED"),  # a refund needs REFUNDED
    ({"status": "REFUNDED", "refundAmount": "100001"}, "refundAmount", "OUT_OF_RANGE"),  # over the total
    ({"status": "REFUNDED", "refundAmount": "0"}, "refundAmount", "OUT_OF_RANGE"),
    ({"externalId": "x" * 101}, "externalId", "INVALID_LENGTH"),
    ({"items": [{"sku": "A", "quantity": 0, "unitPrice": "1"}]}, "items.0.quantity", "OUT_OF_RANGE"),
    ({"items": [{"sku": "A", "quantity": 1, "unitPrice": "0.5"}]}, "items.0.unitPrice", "TOO_MANY_DECIMALS"),
    ({"items": [{"sku": "A", "quantity": 1, "unitPrice": "1"}] * 201}, "items", "TOO_MANY_ITEMS"),
    ({"customerId": "000000000000000000000000"}, "customerId", "UNKNOWN_CUSTOMER"),
]


@pytest.mark.parametrize(("fields", "field", "code"), ORDER_CASES)
def test_order_input_errors(api: Api, shop: Workspace, fields: dict[str, Any], field: str, code: str) -> None:
    customer_id = create_customer(api, shop.admin)
    body = api.gql(RECORD_ORDER, {"input": {"customerId": customer_id, "total": "100000", **fields}}, shop.admin)
    payload = body["data"]["recordOrder"]
    assert payload["order"] is None
    assert (field, code) in {(error["field"], error["code"]) for error in payload["errors"]}, payload["errors"]
    assert _written(api, shop.admin) == (1, 0, 0)


def test_an_order_recorded_as_refunded_keeps_its_refund_and_a_retry_is_the_same_order(
    api: Api, shop: Workspace
) -> None:
    customer_id = create_customer(api, shop.admin)
    part = {"status": "REFUNDED", "refundAmount": "40000", "externalId": "DH-9"}
    first = record_order(api, shop.admin, customer_id, "100000", **part)
    assert (first["status"], first["refundedAmount"]) == ("REFUNDED", "40000")
    assert record_order(api, shop.admin, customer_id, "100000", **part)["id"] == first["id"]
    whole = record_order(api, shop.admin, customer_id, "70000", status="REFUNDED")
    assert whole["refundedAmount"] == "70000"  # no amount: the whole total, as setOrderStatus does


SET_STATUS = """
mutation($id: ID!, $status: OrderStatus!, $refund: Decimal) {
  setOrderStatus(id: $id, status: $status, refundAmount: $refund) {
    order { status refundedAmount } errors { field code message }
  }
}"""


@pytest.mark.parametrize(
    ("start", "status", "refund", "field", "code"),
    [
        ("CANCELLED", "PAID", None, "status", "INVALID_TRANSITION"),
        ("PLACED", "REFUNDED", None, "status", "INVALID_TRANSITION"),
        ("DELIVERED", "PAID", None, "status", "INVALID_TRANSITION"),
        ("PAID", "DELIVERED", "10", "refundAmount", "NOT_ALLOWED"),
        ("PAID", "REFUNDED", "100001", "refundAmount", "OUT_OF_RANGE"),
        ("PAID", "REFUNDED", "0", "refundAmount", "OUT_OF_RANGE"),
        ("PAID", "REFUNDED", "-3", "refundAmount", "INVALID_AMOUNT"),
        ("PAID", "REFUNDED", "1.5", "refundAmount", "INVALID_AMOUNT"),
        ("PAID", "REFUNDED", "1_0", "refundAmount", "INVALID_AMOUNT"),
        ("PAID", "REFUNDED", "1e400", "refundAmount", "INVALID_AMOUNT"),
    ],
)
def test_order_status_errors(
    api: Api, shop: Workspace, start: str, status: str, refund: str | None, field: str, code: str
) -> None:
    customer_id = create_customer(api, shop.admin)
    order = record_order(api, shop.admin, customer_id, "100000")
    if start != "PLACED":
        api.ok(SET_STATUS, {"id": order["id"], "status": start}, shop.admin)
    body = api.gql(SET_STATUS, {"id": order["id"], "status": status, "refund": refund}, shop.admin)
    payload = body["data"]["setOrderStatus"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    current = api.ok("query($id: ID!) { order(id: $id) { status refundedAmount } }", {"id": order["id"]}, shop.admin)
    assert current["order"] == {"status": start, "refundedAmount": "0"}


def test_unknown_order_is_not_found(api: Api, shop: Workspace) -> None:
    body = api.gql(SET_STATUS, {"id": "000000000000000000000000", "status": "PAID"}, shop.admin)
    assert body["data"]["setOrderStatus"]["errors"] == [
        {
            "field": "id",
            "code": "NOT_FOUND",
            "message": body["data"]["setOrderStatus"]["errors"][0]["message"],
        }
    ]


RECORD_INTERACTION = """
mutation($input: InteractionInput!) {
  recordInteraction(input: $input) { interaction { id kind rating } errors { field code } }
}"""


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"kind": "SERVICE_RATING"}, "rating", "RATING_REQUIRED"),
        ({"kind": "CALL", "rating": 4}, "rating", "RATING_NOT_ALLOWED"),
        ({"kind": "SERVICE_RATING", "rating": 6}, "rating", "OUT_OF_RANGE"),
        ({"kind": "VISIT", "at": FUTURE}, "at", "IN_FUTURE"),
        ({"kind": "MESSAGE", "note": "x" * 2001}, "note", "INVALID_LENGTH"),
        ({"kind": "MESSAGE", "note": "hi\u202d"}, "note", "INVALID_CHARACTERS"),
        ({"kind": "VISIT", "at": "1800-01-01T00:00:00Z"}, "at", "OUT_OF_RANGE"),
        ({"kind": "VISIT", "customerId": "000000000000000000000000"}, "customerId", "UNKNOWN_CUSTOMER"),
    ],
)
def test_interaction_input_errors(api: Api, shop: Workspace, fields: dict[str, Any], field: str, code: str) -> None:
    customer_id = create_customer(api, shop.admin)
    body = api.gql(RECORD_INTERACTION, {"input": {"customerId": customer_id, **fields}}, shop.admin)
    payload = body["data"]["recordInteraction"]
    assert payload["interaction"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    assert _written(api, shop.admin) == (1, 0, 0)


def test_text_is_stored_and_compared_in_one_unicode_form(api: Api, shop: Workspace) -> None:
    decomposed_name = unicodedata.normalize("NFD", "Nguyễn Thị Hà")
    decomposed_city = unicodedata.normalize("NFD", "Hà Nội")
    customer_id = create_customer(api, shop.admin, name=decomposed_name, city=decomposed_city, tags=["khách quen"])
    stored = api.ok("query($id: ID!) { customer(id: $id) { name city } }", {"id": customer_id}, shop.admin)
    assert stored["customer"] == {"name": "Nguyễn Thị Hà", "city": "Hà Nội"}  # NFC
    query = "query($f: CustomerFilter) { customers(filter: $f) { totalCount } }"
    for filter in (
        {"city": "Hà Nội"},
        {"city": decomposed_city},
        {"tags": [unicodedata.normalize("NFD", "khách quen")]},
        {"text": "nguyen thi"},
    ):
        assert api.ok(query, {"f": filter}, shop.admin)["customers"]["totalCount"] == 1, filter


def test_orders_that_cost_nothing_make_nobody_key_or_loyal(api: Api, shop: Workspace, config: AppConfig) -> None:
    customer_id = create_customer(api, shop.admin)
    for number in range(12):
        record_order(api, shop.admin, customer_id, "0", status="PAID", externalId=f"free-{number}")
    run_worker(config)
    classes = api.ok("query($id: ID!) { customer(id: $id) { classes { classSet code } } }", {"id": customer_id},
                     shop.admin)["customer"]["classes"]  # fmt: skip
    codes = {c["classSet"]: c["code"] for c in classes}
    assert codes["deal_status"] != "key" and codes["purchase_stage"] != "loyal"
    assert codes["value_class"] != "loyal" and codes["rfm_group"] not in ("loyal", "champions")


UPSERT_ORDER = """mutation($input: OrderUpsertInput!) { upsertOrder(input: $input) {
  outcome order { id status refundedAmount } errors { field code message } } }"""


def test_upsert_order_creates_moves_and_leaves_an_order_as_an_upsert_import_does(api: Api, shop: Workspace) -> None:
    customer_id = create_customer(api, shop.admin)

    def upsert(**fields: Any) -> dict[str, Any]:
        state = {"externalId": "SP-1", "customerId": customer_id, "total": "400000", **fields}
        body = api.gql(UPSERT_ORDER, {"input": state}, shop.admin)
        assert "errors" not in body, body
        return body["data"]["upsertOrder"]  # type: ignore[no-any-return]

    created = upsert(status="PAID")
    assert (created["outcome"], created["order"]["status"]) == ("CREATED", "PAID")
    assert upsert(status="PAID")["outcome"] == "UNCHANGED"
    moved = upsert(status="REFUNDED", refundAmount="100000")
    assert (moved["outcome"], moved["order"]["id"]) == ("UPDATED", created["order"]["id"])
    assert (moved["order"]["status"], moved["order"]["refundedAmount"]) == ("REFUNDED", "100000")
    assert upsert(status="REFUNDED", refundAmount="100000")["outcome"] == "UNCHANGED"
    back = upsert(status="PLACED")
    assert (back["order"], [(e["field"], e["code"]) for e in back["errors"]]) == (
        None,
        [("status", "INVALID_TRANSITION")],
    )
    assert "refunded" in back["errors"][0]["message"] and "placed" in back["errors"][0]["message"]
    changed_total = upsert(status="REFUNDED", refundAmount="100000", total="500000")
    assert [(e["field"], e["code"]) for e in changed_total["errors"]] == [("total", "NOT_ALLOWED")]
    order = api.ok(
        "query($id: ID!) { order(id: $id) { status total refundedAmount } }", {"id": created["order"]["id"]}, shop.admin
    )
    assert order["order"] == {"status": "REFUNDED", "total": "400000", "refundedAmount": "100000"}


def test_a_sales_key_learns_nothing_of_an_order_of_someone_elses_customer_by_upserting_it(
    api: Api, shop: Workspace
) -> None:
    others = create_customer(api, shop.admin, name="Khách của người khác")
    record_order(api, shop.admin, others, "9870000", externalId="SP-7", status="PAID")
    _, seller = add_key(api, shop, Role.SALES, "Lan")
    mine = create_customer(api, seller, name="Khách của Lan")
    state = {"externalId": "SP-7", "customerId": mine, "total": "1", "status": "DELIVERED"}
    refused = api.gql(UPSERT_ORDER, {"input": state}, seller)["data"]["upsertOrder"]
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("externalId", "DUPLICATE_EXTERNAL_ID")]
    assert "9870000" not in str(refused) and "another customer" not in str(refused)
    order = api.ok("{ customers(first: 5) { edges { node { orders { externalId status } } } } }", None, shop.admin)
    assert {"externalId": "SP-7", "status": "PAID"} in [
        o for e in order["customers"]["edges"] for o in e["node"]["orders"]
    ]
