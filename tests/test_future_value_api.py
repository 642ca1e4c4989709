"""Future value through the API: the data gate, a fit on demand through a job, predictions on customers
that rank frequent recent buyers above lapsed ones, and who may ask for a fit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, run_worker

FIT = "mutation { fitFutureValueModel { queued errors { code } } }"
MODEL = "{ futureValueModel { status buyers repeatBuyers minBuyers parameters highFrom mediumFrom } }"
VALUE = """query($id: ID!) { customer(id: $id) { value {
  pAlive expectedPurchases90d expectedPurchases365d expectedOrderValue clv12m currency
  futureValueClass { code evidence(lang: "en") } valueClass { code } } } }"""


def _value(api: Api, token: str, customer_id: str) -> dict[str, Any]:
    return api.ok(VALUE, {"id": customer_id}, token)["customer"]["value"]  # type: ignore[no-any-return]


def _buyers(api: Api, shop: Workspace, histories: list[list[int]]) -> list[str]:
    """One customer per list of paid orders, given as days ago."""
    admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    customers = api.call(
        lambda: api.services.customers.create_many(admin, [{"name": f"K {i}"} for i in range(len(histories))])
    )
    now = datetime.now(UTC)
    orders = [
        {
            "customer_id": customer.id,
            "external_id": f"o-{i}-{n}",
            "status": "paid",
            "total": "500000",
            "placed_at": now - timedelta(days=days),
        }
        for i, (customer, days_ago) in enumerate(zip(customers, histories, strict=True))
        for n, days in enumerate(days_ago)
    ]
    api.call(lambda: api.services.orders.record_many(admin, orders))
    return [customer.id for customer in customers]


def test_below_the_data_gate_nothing_is_fitted_and_values_say_why(api: Api, shop: Workspace, config: AppConfig) -> None:
    [buyer] = _buyers(api, shop, [[10, 40]])
    run_worker(config)
    assert api.ok(FIT, None, shop.admin)["fitFutureValueModel"] == {"queued": True, "errors": []}
    run_worker(config)
    model = api.ok(MODEL, None, shop.admin)["futureValueModel"]
    assert (model["status"], model["buyers"], model["repeatBuyers"], model["parameters"]) == (
        "NOT_ENOUGH_DATA",
        1,
        1,
        None,
    )
    value = _value(api, shop.admin, buyer)
    assert (value["pAlive"], value["clv12m"], value["futureValueClass"]["code"]) == (None, None, "unknown")
    assert value["valueClass"] == {"code": "unknown"}  # the old name, deprecated, still answers
    assert value["futureValueClass"]["evidence"] == "the shop's purchase history is too short to predict yet"


def test_a_fit_ranks_frequent_recent_buyers_above_lapsed_ones(api: Api, shop: Workspace, config: AppConfig) -> None:
    histories = []
    for i in range(160):
        if i % 4 == 0:  # frequent and recent
            histories.append([5 + i % 7, 40, 80, 120, 160, 200])
        elif i % 4 == 1:  # bought twice long ago, then nothing
            histories.append([300 + i % 30, 330 + i % 30])
        else:  # bought once
            histories.append([20 + (i * 7) % 300])
    ids = _buyers(api, shop, histories)
    prospect = create_customer(api, shop.admin, name="Chưa mua")
    run_worker(config)  # scored: the stats the fit reads
    api.ok(FIT, None, shop.admin)
    run_worker(config)  # the fit, then the rescore it asks for
    model = api.ok(MODEL, None, shop.admin)["futureValueModel"]
    assert (model["status"], model["buyers"], model["repeatBuyers"]) == ("FITTED", 160, 80)
    assert set(model["parameters"]) == {"bg_nbd", "gamma_gamma"}
    assert Decimal(model["highFrom"]) > Decimal(model["mediumFrom"]) > 0

    frequent, lapsed = _value(api, shop.admin, ids[0]), _value(api, shop.admin, ids[1])
    assert frequent["pAlive"] > lapsed["pAlive"]
    assert frequent["expectedPurchases365d"] > frequent["expectedPurchases90d"] > lapsed["expectedPurchases90d"]
    assert Decimal(frequent["clv12m"]) > Decimal(lapsed["clv12m"]) > 0 and frequent["currency"] == "VND"
    assert frequent["futureValueClass"]["code"] == "high" and lapsed["futureValueClass"]["code"] in ("low", "medium")
    assert frequent["futureValueClass"]["evidence"].startswith("expected to bring ")
    counts = api.ok('{ classDistribution(classSet: "future_value") { code count } }', None, shop.admin)
    assert {row["code"]: row["count"] for row in counts["classDistribution"]}["unknown"] == 1  # the prospect
    assert _value(api, shop.admin, prospect)["futureValueClass"]["evidence"] == "no paid order yet"


def test_only_ops_and_admin_ask_for_a_fit(api: Api, shop: Workspace) -> None:
    _, viewer = add_key(api, shop, Role.VIEWER)
    refused = api.gql(FIT, None, viewer)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    _, ops = add_key(api, shop, Role.OPS)
    assert api.ok(FIT, None, ops)["fitFutureValueModel"]["queued"] is True
    assert api.ok(MODEL, None, viewer)["futureValueModel"]["status"] == "NOT_TRIED_YET"
