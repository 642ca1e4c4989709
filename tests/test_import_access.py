"""Who sees an import's report, and what a refused row tells a sales key about someone else's records.

External ids are unique per workspace (a retried import or request is recognised by its external id,
whoever sent it first), so a sales key that picks another owner's external id is refused with
DUPLICATE_EXTERNAL_ID: it learns that the id is taken, and nothing else (not whose, not what)."""

from __future__ import annotations

from typing import Any

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, record_order, run_worker

JOB = "query($id: ID!) { importJob(id: $id) { status imported failed errors { row column code message } } }"
CREATE = """mutation($input: CustomerInput!) {
  createCustomer(input: $input) { created customer { id } errors { field code message } } }"""
ORDER = """mutation($input: OrderInput!) {
  recordOrder(input: $input) { created order { id } errors { field code message } } }"""
TAKEN = "this external id already names a different record; use another one"


def _upload(api: Api, token: str, kind: str, body: str) -> str:
    response = api.client.post(
        f"/import/{kind}.csv", content=body.encode(), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _job(api: Api, token: str, import_id: str) -> Any:
    body = api.gql(JOB, {"id": import_id}, token)
    assert "errors" not in body, body
    return body["data"]["importJob"]


def test_a_sales_key_sees_only_its_own_imports_and_viewers_none(api: Api, shop: Workspace, config: AppConfig) -> None:
    _, lan = add_key(api, shop, Role.SALES, "Lan")
    _, minh = add_key(api, shop, Role.SALES, "Minh")
    _, ops = add_key(api, shop, Role.OPS)
    _, viewer = add_key(api, shop, Role.VIEWER)
    # Lan's report quotes her own cells (here the unknown customer her row names).
    import_id = _upload(api, lan, "orders", "external_id,customer_external_id,total\nDH-1,KH-bí-mật-của-Lan,1000\n")
    run_worker(config)
    for token in (lan, ops, shop.admin):
        job = _job(api, token, import_id)
        assert job["failed"] == 1 and "KH-bí-mật-của-Lan" in job["errors"][0]["message"]
    assert _job(api, minh, import_id) is None  # as if there were no such import
    refused = api.gql(JOB, {"id": import_id}, viewer)
    assert refused["data"]["importJob"] is None
    assert [error["extensions"]["code"] for error in refused["errors"]] == ["FORBIDDEN"]


def test_another_owners_external_id_is_said_to_be_taken_and_nothing_more(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    lan_id, lan = add_key(api, shop, Role.SALES, "Lan")
    _, minh = add_key(api, shop, Role.SALES, "Minh")
    secret = {"name": "Khách bí mật của Lan", "externalId": "KH-7", "phone": "0912345678", "city": "Huế"}
    lans_customer = create_customer(api, lan, **secret)
    lans_order = record_order(api, lan, lans_customer, "990000", externalId="DH-7")
    own = create_customer(api, minh, name="Khách của Minh")

    for data in (secret, {"name": "Someone else", "externalId": "KH-7"}):  # her exact record, or other content
        clash = api.gql(CREATE, {"input": data}, minh)
        assert clash["data"]["createCustomer"] == {
            "created": None,
            "customer": None,
            "errors": [{"field": "externalId", "code": "DUPLICATE_EXTERNAL_ID", "message": TAKEN}],
        }
    order = api.gql(ORDER, {"input": {"customerId": own, "total": "990000", "externalId": "DH-7"}}, minh)
    assert order["data"]["recordOrder"]["errors"] == [
        {"field": "externalId", "code": "DUPLICATE_EXTERNAL_ID", "message": TAKEN}
    ]

    customers = _upload(
        api, minh, "customers", "external_id,name,phone,city\nKH-7,Khách bí mật của Lan,0912345678,Huế\n"
    )
    orders = _upload(api, minh, "orders", "external_id,customer_external_id,total\nDH-8,KH-7,1000\nDH-9,KH-none,1000\n")
    run_worker(config)
    report = _job(api, minh, customers)
    assert (report["imported"], report["failed"]) == (0, 1)
    assert report["errors"] == [{"row": 2, "column": "external_id", "code": "DUPLICATE_EXTERNAL_ID", "message": TAKEN}]
    # Her customer, named by its external id, is as unknown to him as one that does not exist.
    by_row = {error["row"]: error for error in _job(api, minh, orders)["errors"]}
    assert by_row[2]["code"] == by_row[3]["code"] == "UNKNOWN_CUSTOMER"
    assert by_row[2]["message"].replace("KH-7", "X") == by_row[3]["message"].replace("KH-none", "X")
    everything = f"{report} {by_row}"
    for hers in (lans_customer, lans_order["id"], lan_id, "+84912345678"):
        assert hers not in everything
