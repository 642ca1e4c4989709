"""Generated input for every mutation: never a server error, and an input that fails writes nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CREATE_CUSTOMER, RECORD_ORDER, Api, Workspace, create_customer, record_order

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
INJECTIONS = ["$where", '{"$gt": ""}', "a.b", "$ne", "'; drop", "\u0000", "ｎｇｕｙｅｎ", "🎉" * 30, "x" * 5000]
texts = st.one_of(st.text(max_size=120), st.sampled_from(INJECTIONS))
amounts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["-1", "0", "1e400", "NaN", "Infinity", "0.001", "abc", "", "99999999999999999999"]),
)
ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts holding any subset of the given fields."""
    return st.fixed_dictionaries({}, optional=fields)


customer_inputs = optional(
    name=texts, externalId=texts, email=texts, phone=texts, city=texts, region=texts, country=texts,
    occupation=texts, companyName=texts, taxId=texts, legalType=st.sampled_from(["INDIVIDUAL", "COMPANY"]),
    birthDate=st.dates().map(str), personalityType=ints, tags=st.lists(texts, max_size=60),
    interests=st.lists(texts, max_size=5), ownerId=texts,
    attributes=st.lists(st.fixed_dictionaries({"key": texts, "value": texts}), max_size=55),
)  # fmt: skip


def _counts(api: Api, token: str, customer_id: str) -> tuple[int, int, int]:
    data = api.ok(
        "query($id: ID!) { customers { totalCount } customer(id: $id) { orders(first: 100) { id } interactions(first: 100) { id } } }",
        {"id": customer_id},
        token,
    )
    return data["customers"]["totalCount"], len(data["customer"]["orders"]), len(data["customer"]["interactions"])


def _check(body: dict[str, Any], field: str, before: tuple[int, int, int], after: tuple[int, int, int]) -> None:
    assert all(e.get("extensions", {}).get("code") != "INTERNAL" for e in body.get("errors", [])), body
    failed = bool(body.get("errors")) or bool((body.get("data") or {}).get(field, {}).get("errors"))
    if failed:
        assert after == before, (body, before, after)


@FUZZ
@given(customer_inputs)
def test_create_customer(api: Api, shop: Workspace, data: dict[str, Any]) -> None:
    anchor = _anchor(api, shop)
    before = _counts(api, shop.admin, anchor)
    body = api.gql(CREATE_CUSTOMER, {"input": {"name": "Base", **data}}, shop.admin)
    _check(body, "createCustomer", before, _counts(api, shop.admin, anchor))


@FUZZ
@given(customer_inputs)
def test_update_customer(api: Api, shop: Workspace, data: dict[str, Any]) -> None:
    anchor = _anchor(api, shop)
    query = "mutation($id: ID!, $input: CustomerUpdateInput!) { updateCustomer(id: $id, input: $input) { customer { name city tags } errors { code } } }"
    read = "query($id: ID!) { customer(id: $id) { name city tags email phone } }"
    before_customer = api.ok(read, {"id": anchor}, shop.admin)
    body = api.gql(query, {"id": anchor, "input": data}, shop.admin)
    assert all(e.get("extensions", {}).get("code") != "INTERNAL" for e in body.get("errors", [])), body
    if body.get("errors") or body["data"]["updateCustomer"]["errors"]:
        assert api.ok(read, {"id": anchor}, shop.admin) == before_customer


order_inputs = optional(
    total=amounts, discount=amounts, currency=texts, externalId=texts, channel=texts,
    status=st.sampled_from(["PLACED", "PAID", "DELIVERED", "CANCELLED", "REFUNDED"]),
    placedAt=st.datetimes().map(lambda d: d.isoformat() + "Z"),
    items=st.lists(optional(sku=texts, quantity=ints, unitPrice=amounts, category=texts), max_size=4),
)  # fmt: skip


@FUZZ
@given(order_inputs, st.booleans())
def test_record_order(api: Api, shop: Workspace, data: dict[str, Any], known_customer: bool) -> None:
    anchor = _anchor(api, shop)
    before = _counts(api, shop.admin, anchor)
    customer = anchor if known_customer else "000000000000000000000000"
    body = api.gql(RECORD_ORDER, {"input": {"customerId": customer, "total": "1000", **data}}, shop.admin)
    _check(body, "recordOrder", before, _counts(api, shop.admin, anchor))


@FUZZ
@given(
    optional(kind=st.sampled_from(["VISIT", "CALL", "COMPLAINT", "SERVICE_RATING", "QUOTE"]), rating=ints, note=texts,
             at=st.datetimes().map(lambda d: d.isoformat() + "Z"), externalId=texts)
)  # fmt: skip
def test_record_interaction(api: Api, shop: Workspace, data: dict[str, Any]) -> None:
    anchor = _anchor(api, shop)
    before = _counts(api, shop.admin, anchor)
    query = "mutation($input: InteractionInput!) { recordInteraction(input: $input) { interaction { id } errors { code } } }"
    body = api.gql(query, {"input": {"customerId": anchor, "kind": "CALL", **data}}, shop.admin)
    _check(body, "recordInteraction", before, _counts(api, shop.admin, anchor))


@FUZZ
@given(st.sampled_from(["PLACED", "PAID", "DELIVERED", "CANCELLED", "REFUNDED"]), st.one_of(st.none(), amounts))
def test_set_order_status(api: Api, shop: Workspace, status: str, refund: str | None) -> None:
    anchor = _anchor(api, shop)
    order = record_order(api, shop.admin, anchor, "500000", status="PAID", externalId="fuzz-order")
    read = "query($id: ID!) { order(id: $id) { status refundedAmount } }"
    before = api.ok(read, {"id": order["id"]}, shop.admin)
    query = "mutation($id: ID!, $s: OrderStatus!, $r: Decimal) { setOrderStatus(id: $id, status: $s, refundAmount: $r) { order { status } errors { code } } }"
    body = api.gql(query, {"id": order["id"], "s": status, "r": refund}, shop.admin)
    assert all(e.get("extensions", {}).get("code") != "INTERNAL" for e in body.get("errors", [])), body
    if body.get("errors") or body["data"]["setOrderStatus"]["errors"]:
        assert api.ok(read, {"id": order["id"]}, shop.admin) == before


def _anchor(api: Api, shop: Workspace) -> str:
    """One customer every example works against (created once, found again by its external id)."""
    return create_customer(api, shop.admin, name="Anchor", externalId="fuzz-anchor")
