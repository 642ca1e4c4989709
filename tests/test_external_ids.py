"""External ids make creates idempotent, within the caller's scope, and never hand back someone else's record."""

from __future__ import annotations

from typing import Any

import pytest

from domain.auth.principals import Role
from domain.errors import InvalidInput
from tests.conftest import Api, Workspace, add_key, create_customer

CREATE = """mutation($input: CustomerInput!) {
  createCustomer(input: $input) { created customer { id name birthDate } errors { field code } } }"""
ORDER = """mutation($input: OrderInput!) {
  recordOrder(input: $input) { created order { id total customerId } errors { field code } } }"""
INTERACTION = """mutation($input: InteractionInput!) {
  recordInteraction(input: $input) { created interaction { id kind } errors { field code } } }"""
COUNT = "{ customers { totalCount } }"


def _payload(api: Api, query: str, data: dict[str, Any], token: str) -> dict[str, Any]:
    body = api.gql(query, {"input": data}, token)
    assert "errors" not in body, body
    [payload] = body["data"].values()
    return payload  # type: ignore[no-any-return]


def test_a_retried_create_says_it_already_existed(api: Api, shop: Workspace) -> None:
    first = _payload(api, CREATE, {"name": "Trần Thị Mai", "externalId": "pos-7"}, shop.admin)
    again = _payload(api, CREATE, {"name": "Trần Thị Mai", "externalId": "pos-7"}, shop.admin)
    assert (first["created"], again["created"]) == (True, False)
    assert again["customer"] == first["customer"]
    customer = first["customer"]["id"]
    order = {"customerId": customer, "total": "500000", "status": "PAID", "externalId": "o-1"}
    orders = [_payload(api, ORDER, order, shop.admin) for _ in range(2)]
    assert [o["created"] for o in orders] == [True, False] and orders[0]["order"] == orders[1]["order"]
    visit = {"customerId": customer, "kind": "VISIT", "externalId": "v-1"}
    visits = [_payload(api, INTERACTION, visit, shop.admin) for _ in range(2)]
    assert [v["created"] for v in visits] == [True, False]


@pytest.mark.parametrize(
    ("query", "changed"),
    [(ORDER, {"total": "600000"}), (ORDER, {"status": "PLACED"}), (INTERACTION, {"kind": "CALL"})],
)
def test_other_content_under_a_used_external_id_is_refused(
    api: Api, shop: Workspace, query: str, changed: dict[str, str]
) -> None:
    customer = create_customer(api, shop.admin)
    base = (
        {"customerId": customer, "total": "500000", "status": "PAID", "externalId": "x-1"}
        if query == ORDER
        else {"customerId": customer, "kind": "VISIT", "externalId": "x-1"}
    )
    _payload(api, query, base, shop.admin)
    clash = _payload(api, query, {**base, **changed}, shop.admin)
    assert clash["created"] is None
    assert clash["errors"] == [{"field": "externalId", "code": "DUPLICATE_EXTERNAL_ID"}]


def test_a_sales_rep_cannot_fetch_another_reps_records_by_external_id(api: Api, shop: Workspace) -> None:
    _, lan = add_key(api, shop, Role.SALES, "Lan")
    _, minh = add_key(api, shop, Role.SALES, "Minh")
    theirs = _payload(api, CREATE, {"name": "Khách của Lan", "externalId": "zalo-1", "birthDate": "1990-01-01"}, lan)
    assert theirs["created"] is True
    guess = _payload(api, CREATE, {"name": "Khách của Lan", "externalId": "zalo-1", "birthDate": "1990-01-01"}, minh)
    assert guess["customer"] is None and guess["errors"][0]["code"] == "DUPLICATE_EXTERNAL_ID"
    own = create_customer(api, minh, name="Khách của Minh")
    order = {"customerId": theirs["customer"]["id"], "total": "700000", "externalId": "o-lan"}
    assert _payload(api, ORDER, order, lan)["created"] is True
    stolen = _payload(api, ORDER, {**order, "customerId": own}, minh)
    assert stolen["order"] is None and stolen["errors"][0]["code"] == "DUPLICATE_EXTERNAL_ID"


def test_a_bulk_import_with_a_clash_names_the_rows_and_writes_nothing(api: Api, shop: Workspace) -> None:
    admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    create_customer(api, shop.admin, name="An", externalId="imp-1")
    rows = [
        {"name": "Bình", "external_id": "imp-2"},
        {"name": "Someone else", "external_id": "imp-1"},  # clashes with the stored customer
        {"name": "Chi", "external_id": "imp-3"},
        {"name": "Not Chi", "external_id": "imp-3"},  # clashes with the row before
    ]
    with pytest.raises(InvalidInput) as rejected:
        api.call(lambda: api.services.customers.create_many(admin, rows))
    assert [(e.field, e.code) for e in rejected.value.errors] == [
        ("rows.1.externalId", "DUPLICATE_EXTERNAL_ID"),
        ("rows.3.externalId", "DUPLICATE_EXTERNAL_ID"),
    ]
    assert api.ok(COUNT, None, shop.admin)["customers"]["totalCount"] == 1
