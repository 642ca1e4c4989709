"""A shop that migrates keeps its customers' history: ``customerSince`` (the shop's own signup date) is
read by tenure, lead silence and segment rules on the creation date, and comes in with an import."""

from __future__ import annotations

from datetime import timedelta

from domain.clock import TravellingClock
from domain.config import AppConfig
from tests.conftest import Api, Workspace, create_customer, run_worker

CUSTOMER = """query($id: ID!) { customer(id: $id) { customerSince classes { classSet code evidenceData } } }"""
PREVIEW = """query($r: SegmentRuleInput!) { previewSegment(rule: $r) { count sample { name } } }"""
OLD_CUSTOMERS = {"date": {"field": "CREATED_AT", "olderThanDays": 365}}


def _classes(api: Api, token: str, customer_id: str) -> dict[str, dict[str, object]]:
    customer = api.ok(CUSTOMER, {"id": customer_id}, token)["customer"]
    return {c["classSet"]: c for c in customer["classes"]}


def test_a_migrated_customer_counts_from_its_signup_date(
    api: Api, shop: Workspace, config: AppConfig, clock: TravellingClock
) -> None:
    three_years_ago = (clock.now() - timedelta(days=3 * 365)).date().isoformat()
    old = create_customer(api, shop.admin, name="Trần Thị Thu", customerSince=three_years_ago)
    new = create_customer(api, shop.admin, name="Lê Văn Nam")
    run_worker(config, clock)
    assert api.ok(CUSTOMER, {"id": old}, shop.admin)["customer"]["customerSince"] == three_years_ago
    assert _classes(api, shop.admin, old)["tenure"]["code"] == "long_term"
    assert _classes(api, shop.admin, new)["tenure"]["code"] == "new"
    found = api.ok(PREVIEW, {"r": OLD_CUSTOMERS}, shop.admin)["previewSegment"]
    assert (found["count"], [c["name"] for c in found["sample"]]) == (1, ["Trần Thị Thu"])


def test_an_import_brings_the_signup_date_and_a_later_one_changes_nothing(
    api: Api, shop: Workspace, config: AppConfig, clock: TravellingClock
) -> None:
    body = "Mã khách hàng,Họ và tên,Khách hàng từ\nKH-1,Phạm Minh Châu,15/06/2019\nKH-2,Đỗ Thu Hà,\n"
    headers = {"Authorization": f"Bearer {shop.admin}", "Content-Type": "text/csv"}
    assert api.client.post("/import/customers.csv", content=body.encode(), headers=headers).status_code == 202
    run_worker(config, clock)
    page = api.ok("{ customers(first: 5) { edges { node { id externalId customerSince } } } }", None, shop.admin)
    by_id = {edge["node"]["externalId"]: edge["node"] for edge in page["customers"]["edges"]}
    assert (by_id["KH-1"]["customerSince"], by_id["KH-2"]["customerSince"]) == ("2019-06-15", None)
    assert _classes(api, shop.admin, by_id["KH-1"]["id"])["tenure"]["code"] == "long_term"
    later = (clock.now() + timedelta(days=1)).date().isoformat()
    refused = api.gql(
        "mutation($id: ID!, $d: Date!) { updateCustomer(id: $id, input: {customerSince: $d}) { errors { field code } } }",
        {"id": by_id["KH-2"]["id"], "d": later},
        shop.admin,
    )
    assert refused["data"]["updateCustomer"]["errors"][0]["field"] == "customerSince"
