"""Lists ordered by a value: whole order across pages, customers without a value at the end, cursors that
stay correct while customers are added and changed, and cursors that belong to their order."""

from __future__ import annotations

from typing import Any

import pytest

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, record_order, run_worker

PAGE = """query($first: Int!, $after: String, $order: CustomerOrderInput) {
  customers(first: $first, after: $after, orderBy: $order) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name stats { netSpend lastOrderAt } lead { score } } }
  }
}"""


def _all(api: Api, token: str, order: dict[str, str], first: int = 2) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = api.ok(PAGE, {"first": first, "after": after, "order": order}, token)["customers"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


@pytest.fixture
def spenders(api: Api, shop: Workspace, config: AppConfig) -> dict[str, str]:
    ids = {}
    for name, totals in (("An", ["3000000"]), ("Bình", ["1000000", "1000000"]), ("Chi", ["9000000"]), ("Dũng", [])):
        ids[name] = create_customer(api, shop.admin, name=name)
        for n, total in enumerate(totals):
            record_order(api, shop.admin, ids[name], total, status="PAID", externalId=f"{name}-{n}")
    ids["Em"] = create_customer(api, shop.admin, name="Em")  # the same spend as Bình
    record_order(api, shop.admin, ids["Em"], "2000000", status="PAID", externalId="Em-0")
    run_worker(config)
    return ids


def test_pages_follow_the_order_with_ties_by_creation_and_missing_values_last(
    api: Api, shop: Workspace, spenders: dict[str, str]
) -> None:
    by_spend = _all(api, shop.admin, {"field": "NET_SPEND", "direction": "DESC"})
    assert [node["name"] for node in by_spend] == ["Chi", "An", "Em", "Bình", "Dũng"]  # ties: newest first
    ascending = _all(api, shop.admin, {"field": "NET_SPEND", "direction": "ASC"}, first=3)
    assert [node["name"] for node in ascending] == ["Dũng", "Bình", "Em", "An", "Chi"]
    by_last_order = _all(api, shop.admin, {"field": "LAST_ORDER_AT", "direction": "DESC"})
    assert by_last_order[-1]["name"] == "Dũng" and by_last_order[-1]["stats"]["lastOrderAt"] is None
    times = [node["stats"]["lastOrderAt"] for node in by_last_order[:-1]]
    assert times == sorted(times, reverse=True)
    by_lead = _all(api, shop.admin, {"field": "LEAD_SCORE", "direction": "DESC"})
    scores = [node["lead"]["score"] for node in by_lead]
    assert scores == sorted(scores, reverse=True) and len(by_lead) == 5


def test_a_cursor_stays_correct_while_customers_are_added_and_changed(
    api: Api, shop: Workspace, config: AppConfig, spenders: dict[str, str]
) -> None:
    order = {"field": "NET_SPEND", "direction": "DESC"}
    first = api.ok(PAGE, {"first": 2, "after": None, "order": order}, shop.admin)["customers"]
    assert [edge["node"]["name"] for edge in first["edges"]] == ["Chi", "An"]
    # Meanwhile: a new big spender (ranks before the cursor) and a small one (after it).
    big = create_customer(api, shop.admin, name="Giàu")
    record_order(api, shop.admin, big, "50000000", status="PAID", externalId="big")
    small = create_customer(api, shop.admin, name="Ít")
    record_order(api, shop.admin, small, "100000", status="PAID", externalId="small")
    run_worker(config)
    rest = api.ok(PAGE, {"first": 10, "after": first["pageInfo"]["endCursor"], "order": order}, shop.admin)
    names = [edge["node"]["name"] for edge in rest["customers"]["edges"]]
    assert names == ["Em", "Bình", "Ít", "Dũng"]  # nothing seen twice, nothing after the cursor skipped


def test_a_cursor_belongs_to_its_order(api: Api, shop: Workspace, spenders: dict[str, str]) -> None:
    page = api.ok(PAGE, {"first": 1, "after": None, "order": {"field": "CLV"}}, shop.admin)["customers"]
    cursor = page["pageInfo"]["endCursor"]
    for order in ({"field": "NET_SPEND"}, None):
        refused = api.gql(PAGE, {"first": 1, "after": cursor, "order": order}, shop.admin)
        assert refused["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


def test_a_sales_key_pages_through_its_own_customers_in_order(
    api: Api, shop: Workspace, config: AppConfig, spenders: dict[str, str]
) -> None:
    _, sales = add_key(api, shop, Role.SALES, "Lan")
    own = [create_customer(api, sales, name=f"Của Lan {i}") for i in range(3)]
    for i, customer_id in enumerate(own):
        record_order(api, sales, customer_id, f"{i + 1}000000", status="PAID", externalId=f"lan-{i}")
    run_worker(config)
    names = [node["name"] for node in _all(api, sales, {"field": "NET_SPEND", "direction": "DESC"})]
    assert names == ["Của Lan 2", "Của Lan 1", "Của Lan 0"]
