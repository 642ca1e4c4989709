"""Reading the catalogue and class distributions over GraphQL."""

from __future__ import annotations

from domain.config import AppConfig
from tests.conftest import Api, Workspace, create_customer, make_workspace, record_order, run_worker

DISTRIBUTION = """
query($set: String!, $filter: CustomerFilter) {
  classDistribution(classSet: $set, filter: $filter) { code count color label(lang: "zh") }
}"""


def test_class_sets_list_every_code_with_three_labels(api: Api, shop: Workspace) -> None:
    query = '{ classSets { key name(lang: "vi") settingsVersion settings codes { code color vi: label(lang: "vi") '
    query += 'zh: label(lang: "zh") en: label(lang: "en") } } }'
    sets = {s["key"]: s for s in api.ok(query, None, shop.admin)["classSets"]}
    assert {
        "spend_tier",
        "age_band",
        "tenure",
        "purchase_stage",
        "deal_status",
        "purchase_psychology",
        "approach",
    } <= set(sets)
    assert [c["code"] for c in sets["deal_status"]["codes"]] == [
        "potential", "intent", "quasi", "ordinary", "quality", "key",
    ]  # fmt: skip
    assert [c["zh"] for c in sets["deal_status"]["codes"]] == [
        "潜在客户",
        "意向客户",
        "准客户",
        "普通客户",
        "优质客户",
        "重点客户",
    ]
    assert sets["spend_tier"]["settings"]["diamond"] == 20_000_000
    for class_set in sets.values():
        for code in class_set["codes"]:
            assert code["vi"] and code["zh"] and code["en"], (class_set["key"], code)


def test_distribution_counts_every_code_in_order(api: Api, shop: Workspace, config: AppConfig) -> None:
    spenders = [create_customer(api, shop.admin, city="Huế") for _ in range(3)]
    create_customer(api, shop.admin, city="Hà Nội")
    record_order(api, shop.admin, spenders[0], "25000000", status="PAID")
    record_order(api, shop.admin, spenders[1], "6000000", status="PAID")
    run_worker(config)
    rows = api.ok(DISTRIBUTION, {"set": "spend_tier"}, shop.admin)["classDistribution"]
    assert [(r["code"], r["count"]) for r in rows] == [
        ("none", 2), ("new", 0), ("platinum", 1), ("diamond", 1), ("luxurious", 0),
    ]  # fmt: skip
    assert rows[3]["label"] == "钻石" and rows[3]["color"] == "#29B6F6"
    filtered = api.ok(DISTRIBUTION, {"set": "spend_tier", "filter": {"city": "Hà Nội"}}, shop.admin)
    assert [(r["code"], r["count"]) for r in filtered["classDistribution"] if r["count"]] == [("none", 1)]
    other = make_workspace(api, "Other")
    empty = api.ok(DISTRIBUTION, {"set": "spend_tier"}, other.admin)["classDistribution"]
    assert sum(r["count"] for r in empty) == 0


def test_distribution_of_an_unknown_class_set_is_an_error(api: Api, shop: Workspace) -> None:
    body = api.gql(DISTRIBUTION, {"set": "horoscope"}, shop.admin)
    assert body["errors"][0]["extensions"]["code"] == "UNKNOWN_CLASS_SET"
