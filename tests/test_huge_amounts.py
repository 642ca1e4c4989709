"""Money stays exact and bounded: a customer whose orders add up beyond what can be stored is set aside
alone, and the rest of the workspace goes on being scored; sums never overflow in the database."""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient

from domain.config import AppConfig
from domain.money import MAX_MINOR
from tests.conftest import Api, Workspace, create_customer, record_order, run_worker

# 9,300 orders at the largest amount: 9.3 x 10^18, past 64-bit integers (9.22 x 10^18).
HUGE_ORDERS = 9300
CLASSES = "query($id: ID!) { customer(id: $id) { stats { netSpend } classes { classSet code } } }"
PREVIEW = "query($rule: SegmentRuleInput!) { previewSegment(rule: $rule) { count total } }"


def _tier(api: Api, token: str, customer_id: str) -> str | None:
    customer = api.ok(CLASSES, {"id": customer_id}, token)["customer"]
    return next((c["code"] for c in customer["classes"] if c["classSet"] == "spend_tier"), None)


def _huge_history(api: Api, shop: Workspace, customer_id: str) -> None:
    admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    for start in range(0, HUGE_ORDERS, 1000):
        rows: list[dict[str, Any]] = [
            {"customer_id": customer_id, "external_id": f"big-{n}", "status": "paid", "total": str(MAX_MINOR)}
            for n in range(start, min(start + 1000, HUGE_ORDERS))
        ]
        api.call(lambda rows=rows: api.services.orders.record_many(admin, rows))


def test_one_customer_past_any_storable_total_is_set_aside_and_the_others_are_scored(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    whale = create_customer(api, shop.admin, name="Quá lớn")
    _huge_history(api, shop, whale)
    others = [create_customer(api, shop.admin, name=name) for name in ("Bình thường", "Cũng vậy")]
    for customer_id in others:
        record_order(api, shop.admin, customer_id, "6000000", status="PAID")
    run_worker(config)
    assert [_tier(api, shop.admin, customer_id) for customer_id in others] == ["platinum", "platinum"]
    assert _tier(api, shop.admin, whale) is None  # never scored: set aside with its reason
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        scoring = client[config.mongodb_db]["customers"].find_one({"_id": whale})["scoring"]  # type: ignore[index]
    finally:
        client.close()
    assert scoring["dirty"] is False and "over the limit" in scoring["error"]  # not picked up again and again

    # A later order of someone else is scored as usual: one customer no longer stops the workspace.
    record_order(api, shop.admin, others[0], "20000000", status="PAID")
    run_worker(config)
    assert _tier(api, shop.admin, others[0]) == "diamond"


def test_a_segment_preview_sums_beyond_64_bits_exactly_enough(api: Api, shop: Workspace) -> None:
    whale = create_customer(api, shop.admin, name="Quá lớn")
    _huge_history(api, shop, whale)
    create_customer(api, shop.admin, name="Không mua")
    rule = {"orders": {"measure": "SUM", "min": "9200000000000000000"}}
    body = api.gql(PREVIEW, {"rule": rule}, shop.admin)
    assert "errors" not in body, body
    assert body["data"]["previewSegment"] == {"count": 1, "total": 2}
