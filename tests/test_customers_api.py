"""Customers over GraphQL: create, read, partial update, delete, filters and pagination."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import MongoClient

from domain.config import AppConfig
from domain.interactions.repository import InteractionRepository
from tests.conftest import CREATE_CUSTOMER, Api, Workspace, create_customer, record_order, run_worker

CUSTOMER_FIELDS = """
id externalId name email phone legalType companyName taxId birthDate gender city region country incomeBand
occupation interests lifestyle tags needs attributes { key value } personality { type enteredBy { id name } }
owner { id name } createdAt updatedAt
"""

GET = f"query($id: ID!) {{ customer(id: $id) {{ {CUSTOMER_FIELDS} }} }}"

UPDATE = f"""
mutation($id: ID!, $input: CustomerUpdateInput!) {{
  updateCustomer(id: $id, input: $input) {{ customer {{ {CUSTOMER_FIELDS} }} errors {{ field code message }} }}
}}"""

LIST = """
query($filter: CustomerFilter, $first: Int, $after: String) {
  customers(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } }
  }
}"""


def test_create_then_read_back_every_field(api: Api, shop: Workspace) -> None:
    full = {
        "externalId": "pos-1",
        "name": "  Công ty TNHH Ánh Dương ",
        "email": "Lien.Tran@Example.com",
        "phone": "0912 345 678",
        "legalType": "COMPANY",
        "companyName": "Ánh Dương",
        "taxId": "0101234567",
        "birthDate": "1988-02-29",
        "gender": "FEMALE",
        "city": "Hà Nội",
        "region": "Miền Bắc",
        "country": "vn",
        "incomeBand": "UPPER_MIDDLE",
        "occupation": "Kế toán",
        "interests": ["làm đẹp", "du lịch", "làm đẹp"],
        "lifestyle": ["bận rộn"],
        "tags": ["vip"],
        "needs": ["skincare"],
        "personalityType": 2,
        "ownerId": shop.admin_user_id,
        "attributes": [{"key": "zaloId", "value": "lien.88"}],
    }
    customer_id = create_customer(api, shop.admin, **full)
    customer = api.ok(GET, {"id": customer_id}, shop.admin)["customer"]
    assert customer["name"] == "Công ty TNHH Ánh Dương"
    assert customer["email"] == "Lien.Tran@example.com"
    assert customer["phone"] == "+84912345678"
    assert customer["country"] == "VN"
    assert customer["interests"] == ["làm đẹp", "du lịch"]
    assert customer["birthDate"] == "1988-02-29"
    assert customer["personality"] == {"type": 2, "enteredBy": {"id": shop.admin_user_id, "name": "admin"}}
    assert customer["owner"]["id"] == shop.admin_user_id
    assert customer["attributes"] == [{"key": "zaloId", "value": "lien.88"}]
    assert customer["legalType"] == "COMPANY" and customer["incomeBand"] == "UPPER_MIDDLE"


def test_update_leaves_absent_fields_and_clears_explicit_nulls(api: Api, shop: Workspace) -> None:
    customer_id = create_customer(api, shop.admin, email="an@example.com", city="Huế", tags=["a"])
    updated = api.ok(UPDATE, {"id": customer_id, "input": {"city": None, "tags": ["b", "c"]}}, shop.admin)
    customer = updated["updateCustomer"]["customer"]
    assert customer["email"] == "an@example.com"
    assert customer["city"] is None
    assert customer["tags"] == ["b", "c"]
    assert customer["name"] == "Nguyễn Văn An"
    assert api.ok(GET, {"id": customer_id}, shop.admin)["customer"]["city"] is None


def test_update_rejects_clearing_the_name_and_changes_nothing(api: Api, shop: Workspace) -> None:
    customer_id = create_customer(api, shop.admin, city="Huế")
    body = api.gql(UPDATE, {"id": customer_id, "input": {"name": None, "city": "Huế 2"}}, shop.admin)
    assert body["data"]["updateCustomer"]["errors"][0]["code"] == "REQUIRED"
    assert api.ok(GET, {"id": customer_id}, shop.admin)["customer"]["city"] == "Huế"


def test_same_external_id_creates_one_customer(api: Api, shop: Workspace) -> None:
    first = create_customer(api, shop.admin, externalId="crm-42")
    second = create_customer(api, shop.admin, externalId="crm-42")
    assert first == second
    assert api.ok(LIST, {}, shop.admin)["customers"]["totalCount"] == 1


def test_the_same_external_id_with_other_content_is_a_typed_error(api: Api, shop: Workspace) -> None:
    create_customer(api, shop.admin, externalId="crm-42")
    body = api.gql(CREATE_CUSTOMER, {"input": {"name": "Someone else", "externalId": "crm-42"}}, shop.admin)
    payload = body["data"]["createCustomer"]
    assert payload["customer"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("externalId", "DUPLICATE_EXTERNAL_ID")]
    assert api.ok(LIST, {}, shop.admin)["customers"]["totalCount"] == 1


def test_delete_removes_customer_and_keeps_its_orders(api: Api, shop: Workspace, config: AppConfig) -> None:
    customer_id = create_customer(api, shop.admin)
    order = record_order(api, shop.admin, customer_id, "100000", status="PAID")
    deleted = api.ok(
        "mutation($id: ID!) { deleteCustomer(id: $id) { deletedId errors { code } } }",
        {"id": customer_id},
        shop.admin,
    )
    assert deleted["deleteCustomer"]["deletedId"] == customer_id
    assert api.ok(GET, {"id": customer_id}, shop.admin)["customer"] is None
    assert api.ok(LIST, {}, shop.admin)["customers"]["totalCount"] == 0
    kept = api.ok("query($id: ID!) { order(id: $id) { id total } }", {"id": order["id"]}, shop.admin)
    assert kept["order"] == {"id": order["id"], "total": "100000"}
    run_worker(config)  # the rescore queued before deletion finds nothing to do and fails nothing
    again = api.gql(
        "mutation($id: ID!) { deleteCustomer(id: $id) { errors { code field } } }",
        {"id": customer_id},
        shop.admin,
    )
    assert again["data"]["deleteCustomer"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]


def _names(api: Api, token: str, filter: dict[str, Any]) -> list[str]:
    data = api.ok(LIST, {"filter": filter, "first": 100}, token)["customers"]
    return [edge["node"]["name"] for edge in data["edges"]]


def test_filters(api: Api, shop: Workspace, config: AppConfig) -> None:
    create_customer(
        api,
        shop.admin,
        name="Nguyễn Thị Hoa",
        city="Hà Nội",
        region="Bắc",
        tags=["vip", "spa"],
        interests=["làm đẹp"],
        ownerId=shop.admin_user_id,
    )
    create_customer(
        api,
        shop.admin,
        name="Đặng Văn Minh",
        city="Đà Nẵng",
        region="Trung",
        tags=["vip"],
        legalType="COMPANY",
        companyName="Minh Co",
        email="minh@example.com",
    )
    rich = create_customer(api, shop.admin, name="王芳", city="上海", phone="+86 138 0013 8000", interests=["旅游"])
    record_order(api, shop.admin, rich, "25000000", status="PAID")
    run_worker(config)

    assert _names(api, shop.admin, {"text": "nguyen"}) == ["Nguyễn Thị Hoa"]
    assert _names(api, shop.admin, {"text": "dang"}) == ["Đặng Văn Minh"]
    assert _names(api, shop.admin, {"text": "MINH@EXAMPLE"}) == ["Đặng Văn Minh"]
    assert _names(api, shop.admin, {"text": "8613800138"}) == ["王芳"]
    assert _names(api, shop.admin, {"text": ".*"}) == []
    assert _names(api, shop.admin, {"city": "Hà Nội"}) == ["Nguyễn Thị Hoa"]
    assert _names(api, shop.admin, {"region": "Trung"}) == ["Đặng Văn Minh"]
    assert _names(api, shop.admin, {"legalType": "COMPANY"}) == ["Đặng Văn Minh"]
    assert _names(api, shop.admin, {"tags": ["vip"]}) == ["Nguyễn Thị Hoa", "Đặng Văn Minh"]
    assert _names(api, shop.admin, {"tags": ["vip", "spa"]}) == ["Nguyễn Thị Hoa"]
    assert _names(api, shop.admin, {"interests": ["旅游"]}) == ["王芳"]
    assert _names(api, shop.admin, {"ownerId": shop.admin_user_id}) == ["Nguyễn Thị Hoa"]
    assert _names(api, shop.admin, {"class": {"classSet": "spend_tier", "codes": ["diamond"]}}) == ["王芳"]
    assert _names(api, shop.admin, {"class": {"classSet": "spend_tier", "codes": ["none"]}}) == [
        "Nguyễn Thị Hoa",
        "Đặng Văn Minh",
    ]


def test_filter_errors_are_typed(api: Api, shop: Workspace) -> None:
    bad_set = api.gql(LIST, {"filter": {"class": {"classSet": "zodiac", "codes": ["x"]}}}, shop.admin)
    assert bad_set["errors"][0]["extensions"]["code"] == "UNKNOWN_CLASS_SET"
    bad_code = api.gql(LIST, {"filter": {"class": {"classSet": "spend_tier", "codes": ["gold"]}}}, shop.admin)
    assert bad_code["errors"][0]["extensions"] == {
        "code": "UNKNOWN_CLASS_CODE",
        "field": "filter.class.codes",
    }


def test_pagination_walks_every_customer_once_in_stable_order(api: Api, shop: Workspace) -> None:
    created = [create_customer(api, shop.admin, name=f"Khách {i}") for i in range(7)]
    seen: list[str] = []
    after = None
    while True:
        page = api.ok(LIST, {"first": 3, "after": after}, shop.admin)["customers"]
        assert page["totalCount"] == 7
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == created


def test_a_cursor_never_widens_a_filter_that_matches_nobody(api: Api, shop: Workspace) -> None:
    for name in ("Một", "Hai"):
        create_customer(api, shop.admin, name=name)
    cursor = api.ok(LIST, {"first": 1}, shop.admin)["customers"]["pageInfo"]["endCursor"]
    nobody = {"text": "!!!"}
    assert api.ok(LIST, {"filter": nobody, "first": 10}, shop.admin)["customers"]["edges"] == []
    assert api.ok(LIST, {"filter": nobody, "first": 10, "after": cursor}, shop.admin)["customers"]["edges"] == []


def test_page_size_and_cursor_are_checked(api: Api, shop: Workspace) -> None:
    too_many = api.gql(LIST, {"first": 101}, shop.admin)
    assert too_many["errors"][0]["extensions"] == {"code": "OUT_OF_RANGE", "field": "first"}
    bad_cursor = api.gql(LIST, {"after": "not-a-cursor"}, shop.admin)
    assert bad_cursor["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


def test_create_returns_typed_errors_and_writes_nothing(api: Api, shop: Workspace) -> None:
    body = api.gql(CREATE_CUSTOMER, {"input": {"name": "A", "email": "nope", "phone": "12"}}, shop.admin)
    errors = body["data"]["createCustomer"]["errors"]
    assert {(error["field"], error["code"]) for error in errors} == {
        ("email", "INVALID_EMAIL"),
        ("phone", "INVALID_PHONE"),
    }
    assert body["data"]["createCustomer"]["customer"] is None
    assert api.ok(LIST, {}, shop.admin)["customers"]["totalCount"] == 0


def test_external_id_cannot_be_taken_from_another_customer(api: Api, shop: Workspace) -> None:
    create_customer(api, shop.admin, externalId="pos-1")
    other = create_customer(api, shop.admin, externalId="pos-2")
    body = api.gql(UPDATE, {"id": other, "input": {"externalId": "pos-1", "city": "Huế"}}, shop.admin)
    assert body["data"]["updateCustomer"]["errors"][0]["code"] == "DUPLICATE_EXTERNAL_ID"
    assert api.ok(GET, {"id": other}, shop.admin)["customer"]["externalId"] == "pos-2"
    cleared = api.ok(UPDATE, {"id": other, "input": {"externalId": None}}, shop.admin)["updateCustomer"]["customer"]
    assert cleared["externalId"] is None
    assert create_customer(api, shop.admin, externalId="pos-2") != other


class _Crash(Exception):
    """The API process died here."""


def test_a_deletion_cut_short_by_a_crash_is_finished_by_the_sweeper_and_leaves_nothing_behind(
    api: Api, shop: Workspace, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_id = create_customer(api, shop.admin, name="Sẽ xoá", phone="0912345678")
    order = record_order(api, shop.admin, customer_id, "500000", status="PAID")
    api.ok(
        "mutation($c: ID!) { recordInteraction(input: {customerId: $c, kind: CALL}) { errors { code } } }",
        {"c": customer_id},
        shop.admin,
    )

    async def dies(*_: object) -> None:
        raise _Crash

    delete = "mutation($id: ID!) { deleteCustomer(id: $id) { errors { code } } }"
    with monkeypatch.context() as patch:
        patch.setattr(InteractionRepository, "delete_for_customer", dies)
        assert api.gql(delete, {"id": customer_id}, shop.admin)["errors"][0]["extensions"]["code"] == "INTERNAL"
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        db = client[config.mongodb_db]
        assert db["interactions"].count_documents({"customer_id": customer_id}) == 1  # half done
        assert "deleted_at" not in db["customer_tombstones"].find_one({"_id": customer_id})  # type: ignore[operator]
        assert api.call(lambda: api.services.customers.finish_unfinished_deletions(begun_seconds_ago=0)) == 1
        assert db["customers"].count_documents({"_id": customer_id}) == 0
        assert db["interactions"].count_documents({"customer_id": customer_id}) == 0
        assert db["orders"].find_one({"_id": order["id"]})["customer_deleted_at"] is not None  # type: ignore[index]
        assert "deleted_at" in db["customer_tombstones"].find_one({"_id": customer_id})  # type: ignore[operator]
    finally:
        client.close()
    assert api.call(lambda: api.services.customers.finish_unfinished_deletions(begun_seconds_ago=0)) == 0
