"""Segments through the API: the articles' own cases, previews, saving applies the rule to the workspace,
live joins and leaves with their events, static lists, rule errors with node paths, and who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import MongoClient

from domain.auth.principals import Role
from domain.clock import TravellingClock
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, receive_within, record_order, run_worker

PREVIEW = """query($rule: SegmentRuleInput!) { previewSegment(rule: $rule) {
  count total share sample { id name } } }"""
SAVE = """mutation($input: SegmentInput!) { saveSegment(input: $input) {
  segment { id name kind ruleVersion } run { id status } errors { field code message } } }"""
MEMBERS = """query($id: ID!) { customers(first: 100, filter: {segmentId: $id}) { edges { node { id name } } } }"""
SEGMENT = """query($id: ID!) { segment(id: $id) { name kind ruleVersion recomputeRunId count
  members(first: 10) { edges { node { name } } } } }"""

HCMC_OR_HANOI = {"field": {"field": "CITY", "op": "IN", "values": ["Hồ Chí Minh", "Hà Nội"]}}
AGED_25_45 = {"score": {"score": "AGE", "min": "25", "max": "45"}}
TWO_DRESSES_90_DAYS = {"orders": {"measure": "ITEMS", "category": "dress", "withinLastDays": 90, "min": "2"}}
NOT_NEGATIVE = {"not": {"class": {"classSet": "value_class", "codes": ["negative"]}}}


def _born(years_ago: int) -> str:
    return f"{datetime.now(UTC).year - years_ago}-01-15"


def _dress_order(api: Api, token: str, customer_id: str, dresses: int, days_ago: int) -> None:
    placed = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
    items = [{"sku": f"D{i}", "quantity": 1, "unitPrice": "500000", "category": "dress"} for i in range(dresses)]
    record_order(api, token, customer_id, str(500000 * dresses), status="PAID", placedAt=placed, items=items)


def _names(api: Api, token: str, segment_id: str) -> set[str]:
    edges = api.ok(MEMBERS, {"id": segment_id}, token)["customers"]["edges"]
    return {edge["node"]["name"] for edge in edges}


def _errors(api: Api, token: str, segment: dict[str, Any]) -> list[dict[str, Any]]:
    return api.gql(SAVE, {"input": segment}, token)["data"]["saveSegment"]["errors"]  # type: ignore[no-any-return]


def _save(api: Api, token: str, name: str, rule: dict[str, Any] | None, kind: str = "DYNAMIC", **more: Any) -> str:
    data = api.ok(SAVE, {"input": {"name": name, "kind": kind, "rule": rule, **more}}, token)["saveSegment"]
    return str(data["segment"]["id"])


def test_the_articles_city_age_dress_rule(api: Api, shop: Workspace, config: AppConfig) -> None:
    token = shop.admin
    cases = {
        "An (HCM, 36, 2 dresses)": ("Hồ Chí Minh", 36, 2, 10),
        "Bình (Hà Nội, 30, 3 dresses)": ("Hà Nội", 30, 3, 40),
        "Chi (Hà Nội, 30, 1 dress)": ("Hà Nội", 30, 1, 10),
        "Dung (Đà Nẵng, 30, 3 dresses)": ("Đà Nẵng", 30, 3, 10),
        "Em (HCM, 50, 3 dresses)": ("Hồ Chí Minh", 50, 3, 10),
        "Giang (HCM, 30, dresses 120 days ago)": ("Hồ Chí Minh", 30, 2, 120),
    }
    for name, (city, age, dresses, days_ago) in cases.items():
        customer_id = create_customer(api, token, name=name, city=city, birthDate=_born(age))
        _dress_order(api, token, customer_id, dresses, days_ago)
    run_worker(config)
    rule = {"all": [HCMC_OR_HANOI, AGED_25_45, TWO_DRESSES_90_DAYS, NOT_NEGATIVE]}
    preview = api.ok(PREVIEW, {"rule": rule}, token)["previewSegment"]
    assert (preview["count"], preview["total"], preview["share"]) == (2, 6, 0.3333)
    assert {c["name"] for c in preview["sample"]} == {"An (HCM, 36, 2 dresses)", "Bình (Hà Nội, 30, 3 dresses)"}

    saved = api.ok(SAVE, {"input": {"name": "Váy đầm HCM/HN", "rule": rule}}, token)["saveSegment"]
    assert saved["errors"] == [] and saved["run"]["status"] in {"PLANNING", "RUNNING"}
    segment_id = saved["segment"]["id"]
    assert _names(api, token, segment_id) == set()  # the run applies it
    run_worker(config)
    assert _names(api, token, segment_id) == {"An (HCM, 36, 2 dresses)", "Bình (Hà Nội, 30, 3 dresses)"}
    info = api.ok(SEGMENT, {"id": segment_id}, token)["segment"]
    assert info["count"] == 2 and info["recomputeRunId"] == saved["run"]["id"]
    assert {edge["node"]["name"] for edge in info["members"]["edges"]} == _names(api, token, segment_id)
    run = api.ok("query($id: ID!) { scoringRun(id: $id) { status } }", {"id": saved["run"]["id"]}, token)
    assert run["scoringRun"]["status"] == "COMPLETED"
    distribution = api.ok(
        'query($id: ID!) { classDistribution(classSet: "spend_tier", filter: {segmentId: $id}) { count } }',
        {"id": segment_id},
        token,
    )["classDistribution"]
    assert sum(row["count"] for row in distribution) == 2


def test_companies_over_a_spend_this_year_and_prospects_who_visit_without_buying(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    token = shop.admin
    now = datetime.now(UTC)
    start_of_year = datetime(now.year, 1, 1, tzinfo=UTC)
    big = create_customer(api, token, name="Công ty Lớn", legalType="COMPANY", companyName="Lớn")
    small = create_customer(api, token, name="Công ty Nhỏ", legalType="COMPANY", companyName="Nhỏ")
    person = create_customer(api, token, name="Chị Lan")
    record_order(api, token, big, "12000000", status="PAID", placedAt=now.isoformat())
    record_order(api, token, small, "3000000", status="PAID", placedAt=now.isoformat())
    record_order(api, token, person, "20000000", status="PAID", placedAt=now.isoformat())
    companies = {
        "all": [
            {"field": {"field": "LEGAL_TYPE", "op": "EQUALS", "value": "company"}},
            {"orders": {"measure": "SUM", "after": start_of_year.isoformat(), "min": "10000000"}},
        ]
    }
    assert {c["name"] for c in api.ok(PREVIEW, {"rule": companies}, token)["previewSegment"]["sample"]} == {
        "Công ty Lớn"
    }

    visitor = create_customer(api, token, name="Khách ghé 3 lần")
    twice = create_customer(api, token, name="Khách ghé 2 lần")
    buyer = create_customer(api, token, name="Khách đã mua")
    visit = "mutation($c: ID!) { recordInteraction(input: {customerId: $c, kind: VISIT}) { errors { code } } }"
    for customer_id, visits in ((visitor, 3), (twice, 2), (buyer, 3)):
        for _ in range(visits):
            api.ok(visit, {"c": customer_id}, token)
    record_order(api, token, buyer, "100000", status="PLACED")
    run_worker(config)
    prospects = {
        "all": [
            {"interactions": {"kinds": ["VISIT", "WEBSITE_VISIT"], "withinLastDays": 30, "min": "3"}},
            {"score": {"score": "ORDERS", "max": "0"}},
        ]
    }
    found = api.ok(PREVIEW, {"rule": prospects}, token)["previewSegment"]
    assert [c["name"] for c in found["sample"]] == ["Khách ghé 3 lần"]


SUBSCRIBE = "subscription($s: ID) { segmentMembershipChanged(segmentId: $s) { id segmentId customerId change reason } }"


def test_an_order_joins_a_refund_leaves_and_a_deletion_closes_memberships_live(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    token = shop.admin
    buyers = _save(api, token, "Đã mua trong 90 ngày", {"orders": {"measure": "SUM", "withinLastDays": 90, "min": "1"}})
    run_worker(config)
    customer_id = create_customer(api, token, name="Trần Văn Mua")
    other = create_customer(api, token, name="Lê Thị Xoá")
    record_order(api, token, other, "250000", status="PAID")
    run_worker(config)
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"s": buyers}}})
        api.hub_listening(1)

        order = record_order(api, token, customer_id, "500000", status="PAID")
        run_worker(config)
        joined = receive_within(ws, 10)["payload"]["data"]["segmentMembershipChanged"]
        assert (joined["customerId"], joined["change"], joined["reason"]) == (customer_id, "JOINED", "RULE")
        assert joined["id"] == f"{customer_id}:{buyers}:1"

        refund = "mutation($id: ID!) { setOrderStatus(id: $id, status: REFUNDED) { errors { code } } }"
        api.ok(refund, {"id": order["id"]}, token)
        run_worker(config)
        left = receive_within(ws, 10)["payload"]["data"]["segmentMembershipChanged"]
        assert (left["customerId"], left["change"], left["id"]) == (customer_id, "LEFT", f"{customer_id}:{buyers}:2")

        api.ok("mutation($id: ID!) { deleteCustomer(id: $id) { errors { code } } }", {"id": other}, token)
        gone = receive_within(ws, 10)["payload"]["data"]["segmentMembershipChanged"]
        assert (gone["customerId"], gone["change"], gone["reason"]) == (other, "LEFT", "CUSTOMER_DELETED")

    history = api.ok(
        "query($id: ID!) { customer(id: $id) { segments { segment { id } } segmentHistory { change reason } } }",
        {"id": customer_id},
        token,
    )["customer"]
    assert history["segments"] == []
    assert [(e["change"], e["reason"]) for e in history["segmentHistory"]] == [("LEFT", "RULE"), ("JOINED", "RULE")]
    assert _names(api, token, buyers) == set()


def test_a_window_that_moves_with_time_lets_the_customer_leave_on_that_day(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    token = shop.admin
    segment_id = _save(api, token, "Mua váy 90 ngày", TWO_DRESSES_90_DAYS)
    customer_id = create_customer(api, token, name="Sắp rời")
    _dress_order(api, token, customer_id, 2, days_ago=80)
    run_worker(config)
    assert _names(api, token, segment_id) == {"Sắp rời"}
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri, tz_aware=True)
    try:
        stored = client[config.mongodb_db]["customers"].find_one({"_id": customer_id})
    finally:
        client.close()
    assert stored is not None
    # a rescore is due no later than the day the orders leave the 90 days
    assert stored["scoring"]["next_transition_at"] <= datetime.now(UTC) + timedelta(days=10, minutes=1)

    workspace = api.call(lambda: api.services.workspaces.get(shop.id))
    evaluator = api.services.segment_membership
    for days, expected in ((9, {"Sắp rời"}), (11, set())):
        later = datetime.now(UTC) + timedelta(days=days)
        api.call(lambda: evaluator.evaluate(workspace, {"_id": customer_id}, later))  # noqa: B023
        assert _names(api, token, segment_id) == expected


def test_static_lists_by_hand_and_frozen_from_a_rule(api: Api, shop: Workspace, config: AppConfig) -> None:
    token = shop.admin
    vip = [create_customer(api, token, name=f"VIP {i}", city="Hà Nội") for i in range(3)]
    listed = _save(api, token, "Danh sách tay", None, kind="STATIC")
    add = (
        """mutation($s: ID!, $c: [ID!]!) { addToSegment(segmentId: $s, customerIds: $c) { changed errors { code } } }"""
    )
    remove = """mutation($s: ID!, $c: [ID!]!) { removeFromSegment(segmentId: $s, customerIds: $c) {
      changed errors { code } } }"""
    assert api.ok(add, {"s": listed, "c": vip[:2]}, token)["addToSegment"]["changed"] == 2
    assert api.ok(add, {"s": listed, "c": vip[:2]}, token)["addToSegment"]["changed"] == 0  # again: nothing new
    assert api.ok(remove, {"s": listed, "c": [vip[0]]}, token)["removeFromSegment"]["changed"] == 1
    assert _names(api, token, listed) == {"VIP 1"}
    unknown = api.gql(add, {"s": listed, "c": ["nope"]}, token)["data"]["addToSegment"]["errors"]
    assert unknown == [{"code": "UNKNOWN_CUSTOMER"}]

    frozen = _save(
        api, token, "Hà Nội hôm nay", {"field": {"field": "CITY", "op": "EQUALS", "value": "ha noi"}}, "STATIC"
    )
    assert len(_names(api, token, frozen)) == 3  # accents and case ignored
    create_customer(api, token, name="Đến sau", city="Hà Nội")
    run_worker(config)
    assert len(_names(api, token, frozen)) == 3  # frozen: a later match does not join

    dynamic = _save(api, token, "Động", {"field": {"field": "CITY", "op": "EXISTS"}})
    refused = api.gql(add, {"s": dynamic, "c": [vip[0]]}, token)["data"]["addToSegment"]["errors"]
    assert refused == [{"code": "NOT_STATIC"}]


def test_a_rule_change_preview_names_who_would_enter_and_leave(api: Api, shop: Workspace, config: AppConfig) -> None:
    token = shop.admin
    for name, city in (("Hà", "Hà Nội"), ("Hải", "Hải Phòng"), ("Huế", "Huế")):
        create_customer(api, token, name=name, city=city)
    segment_id = _save(
        api, token, "Miền Bắc", {"field": {"field": "CITY", "op": "IN", "values": ["Hà Nội", "Hải Phòng"]}}
    )
    run_worker(config)
    query = """query($id: ID!, $rule: SegmentRuleInput!) { segmentChangePreview(id: $id, rule: $rule) {
      entering { count sample { name } } leaving { count sample { name } } staying } }"""
    rule = {"field": {"field": "CITY", "op": "IN", "values": ["Hà Nội", "Huế"]}}
    change = api.ok(query, {"id": segment_id, "rule": rule}, token)["segmentChangePreview"]
    assert [c["name"] for c in change["entering"]["sample"]] == ["Huế"]
    assert [c["name"] for c in change["leaving"]["sample"]] == ["Hải"]
    assert change["staying"] == 1
    saved = api.ok(SAVE, {"input": {"id": segment_id, "name": "Miền Bắc", "rule": rule}}, token)["saveSegment"]
    assert saved["segment"]["ruleVersion"] == 2
    run_worker(config)
    assert _names(api, token, segment_id) == {"Hà", "Huế"}
    hai = api.ok('{ customers(filter: {text: "Hải"}) { edges { node { segmentHistory { change reason ruleVersion } } } } }',
                 None, token)["customers"]["edges"][0]["node"]  # fmt: skip
    assert hai["segmentHistory"][0] == {"change": "LEFT", "reason": "DEFINITION_CHANGE", "ruleVersion": 2}


def test_rule_errors_name_the_node_and_change_nothing(api: Api, shop: Workspace) -> None:
    token = shop.admin
    missing_value = {"all": [HCMC_OR_HANOI, {"any": [{"field": {"field": "CITY", "op": "EQUALS"}}]}]}
    errors = _errors(api, token, {"name": "x", "rule": missing_value})
    assert [(e["field"], e["code"]) for e in errors] == [("rule.all[1].any[0].field", "INVALID_VALUE")]
    two_kinds = {"field": HCMC_OR_HANOI["field"], "score": AGED_25_45["score"]}
    errors = _errors(api, token, {"name": "x", "rule": two_kinds})
    assert [(e["field"], e["code"]) for e in errors] == [("rule", "INVALID_VALUE")]
    bad_code = {"class": {"classSet": "value_class", "codes": ["loyal", "gold"]}}
    errors = _errors(api, token, {"name": "x", "rule": bad_code})
    assert [(e["field"], e["code"]) for e in errors] == [("rule.class.codes[1]", "UNKNOWN_CLASS_CODE")]
    deep: dict[str, Any] = HCMC_OR_HANOI
    for _ in range(7):
        deep = {"not": deep}
    errors = _errors(api, token, {"name": "x", "rule": deep})
    assert [(e["field"], e["code"]) for e in errors] == [("rule", "RULE_TOO_LARGE")]
    assert api.ok("{ segments { id } }", None, token)["segments"] == []

    first = _save(api, token, "A", {"field": {"field": "CITY", "op": "EXISTS"}})
    second = _save(api, token, "B", {"segment": first})
    cycle = {"all": [HCMC_OR_HANOI, {"segment": second}]}
    errors = _errors(api, token, {"id": first, "name": "A", "rule": cycle})
    assert [(e["field"], e["code"], e["message"]) for e in errors] == [
        ("rule.all[1].segment", "SEGMENT_CYCLE", "the rule leads back to its own segment: A → B → A")
    ]
    in_use = api.gql("mutation($id: ID!) { deleteSegment(id: $id) { errors { code } } }", {"id": first}, token)["data"]
    assert in_use["deleteSegment"]["errors"] == [{"code": "SEGMENT_IN_USE"}]


def test_values_are_compared_literally_never_as_operators(api: Api, shop: Workspace, config: AppConfig) -> None:
    token = shop.admin
    customer_id = create_customer(api, token, name="$ne", city="Hà Nội")
    record_order(api, token, customer_id, "100000", status="PAID",
                 items=[{"sku": "x", "quantity": 1, "unitPrice": "100000", "category": "$items.category"}])  # fmt: skip
    create_customer(api, token, name="Người khác")
    run_worker(config)
    for rule, expected in (
        ({"field": {"field": "NAME", "op": "EQUALS", "value": "$ne"}}, 1),
        ({"field": {"field": "NAME", "op": "IN", "values": ["{'$ne': null}", "$where"]}}, 0),
        ({"orders": {"measure": "COUNT", "category": "$items.category", "min": "1"}}, 1),
        ({"orders": {"measure": "COUNT", "category": "$$ROOT", "min": "1"}}, 0),
    ):
        assert api.ok(PREVIEW, {"rule": rule}, token)["previewSegment"]["count"] == expected, rule


def test_roles_viewers_read_ops_define_sales_see_their_own(api: Api, shop: Workspace, config: AppConfig) -> None:
    seller_id, seller = add_key(api, shop, Role.SALES, "Lan")
    _, viewer = add_key(api, shop, Role.VIEWER)
    _, ops = add_key(api, shop, Role.OPS)
    create_customer(api, seller, name="Của Lan", city="Huế")
    create_customer(api, shop.admin, name="Của shop", city="Huế")
    rule = {"field": {"field": "CITY", "op": "EQUALS", "value": "Huế"}}
    segment_id = _save(api, ops, "Huế", rule)
    run_worker(config)
    assert _names(api, shop.admin, segment_id) == {"Của Lan", "Của shop"}
    assert _names(api, seller, segment_id) == {"Của Lan"}
    assert api.ok(PREVIEW, {"rule": rule}, seller)["previewSegment"]["count"] == 1
    assert api.ok(SEGMENT, {"id": segment_id}, viewer)["segment"]["count"] == 2
    for token in (viewer, seller):
        body = api.gql(SAVE, {"input": {"name": "x", "rule": rule}}, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    errors = _errors(api, ops, {"name": "Tuổi", "rule": AGED_25_45})
    assert [(e["field"], e["code"]) for e in errors] == [("rule.score.score", "FORBIDDEN")]
    assert seller_id


def test_market_fit_can_take_a_segment_as_the_target_market(api: Api, shop: Workspace, config: AppConfig) -> None:
    token = shop.admin
    segment_id = _save(api, token, "Khách sỉ", {"field": {"field": "TAGS", "op": "CONTAINS", "value": "sỉ"}})
    wholesale = create_customer(api, token, name="Đại lý", tags=["sỉ"])
    retail = create_customer(api, token, name="Khách lẻ", tags=["lẻ"])
    update = """mutation($params: JSON) {
      updateClassSet(input: {classSet: "market_fit", params: $params}) { errors { field code } } }"""
    assert api.ok(update, {"params": {"countries": [], "segment": segment_id}}, token)["updateClassSet"]["errors"] == []
    for _ in range(3):  # the settings run, the segment's joins, the rescore they ask for
        run_worker(config)
    fit = "query($id: ID!) { customer(id: $id) { classes { classSet code } } }"

    def market_fit(customer_id: str) -> str:
        classes = api.ok(fit, {"id": customer_id}, token)["customer"]["classes"]
        return str(next(c["code"] for c in classes if c["classSet"] == "market_fit"))

    assert (market_fit(wholesale), market_fit(retail)) == ("in_target", "out_of_target")
    api.ok('mutation($id: ID!) { updateCustomer(id: $id, input: {tags: ["lẻ"]}) { errors { code } } }',
           {"id": wholesale}, token)  # fmt: skip
    for _ in range(2):
        run_worker(config)
    assert market_fit(wholesale) == "out_of_target"


def test_a_target_market_never_reads_personal_details(api: Api, shop: Workspace) -> None:
    """market_fit is shown to every role: a target segment read from age would show who is in that age."""
    token = shop.admin
    update = """mutation($params: JSON) {
      updateClassSet(input: {classSet: "market_fit", params: $params}) { errors { field code } } }"""
    aged = _save(api, token, "25-45", AGED_25_45)
    refused = api.gql(update, {"params": {"countries": [], "segment": aged}}, token)["data"]["updateClassSet"]
    assert refused["errors"] == [{"field": "params.segment", "code": "NOT_ALLOWED"}]
    by_city = _save(api, token, "Thành phố", HCMC_OR_HANOI)
    assert api.ok(update, {"params": {"countries": [], "segment": by_city}}, token)["updateClassSet"]["errors"] == []
    # ...and the target may not come to read age later, directly or through a segment it references.
    for rule in (AGED_25_45, {"segment": aged}):
        errors = api.gql(SAVE, {"input": {"id": by_city, "name": "Thành phố", "kind": "DYNAMIC", "rule": rule}},
                         token)["data"]["saveSegment"]["errors"]  # fmt: skip
        assert [(e["field"], e["code"]) for e in errors] == [("rule", "NOT_ALLOWED")]


def test_leaves_with_different_statuses_windows_categories_and_kinds_each_count_their_own(
    api: Api, shop: Workspace
) -> None:
    """Each order and interaction leaf counts only what it names; one rule may name several, and a
    customer who meets only one of them is found by it (the database is asked for all of them at once)."""
    token, now = shop.admin, datetime.now(UTC)

    def days_ago(days: int) -> str:
        return (now - timedelta(days=days)).isoformat()

    def customer(name: str) -> str:
        return create_customer(api, token, name=name)

    recent_delivery, old_paid, shoes, caller, nothing = (
        customer(name) for name in ("Giao gần đây", "Trả lâu rồi", "Mua giày", "Gọi điện", "Không gì")
    )
    record_order(api, token, recent_delivery, "900000", status="DELIVERED", placedAt=days_ago(5))
    record_order(api, token, old_paid, "100000", status="PAID", placedAt=days_ago(400))
    shoe = {"sku": "G1", "category": "shoes", "quantity": 2, "unitPrice": "50000"}
    record_order(api, token, shoes, "100000", status="PLACED", placedAt=days_ago(50), items=[shoe])
    # what no leaf counts: a placed order long ago, a delivery a year ago, a visit
    record_order(api, token, nothing, "5000000", status="PLACED", placedAt=days_ago(300))
    record_order(api, token, nothing, "5000000", status="DELIVERED", placedAt=days_ago(365))
    visit = """mutation($c: ID!, $at: DateTime) {
      recordInteraction(input: {customerId: $c, kind: VISIT, at: $at}) { errors { code } } }"""
    call = visit.replace("VISIT", "CALL")
    api.ok(visit, {"c": nothing, "at": days_ago(1)}, token)
    api.ok(call, {"c": caller, "at": days_ago(2)}, token)
    api.ok(call, {"c": nothing, "at": days_ago(20)}, token)
    leaves: dict[str, dict[str, Any]] = {
        recent_delivery: {"orders": {"measure": "SUM", "statuses": ["DELIVERED"], "withinLastDays": 30, "min": "1"}},
        old_paid: {"orders": {"measure": "COUNT", "statuses": ["PAID"], "before": days_ago(365), "min": "1"}},
        shoes: {"orders": {"measure": "ITEMS", "statuses": ["PLACED"], "category": "shoes", "min": "2"}},
        caller: {"interactions": {"kinds": ["CALL"], "withinLastDays": 7, "min": "1"}},
    }

    def found(rule: dict[str, Any]) -> set[str]:
        sample = api.ok(PREVIEW, {"rule": rule}, token)["previewSegment"]["sample"]
        return {row["id"] for row in sample}

    for who, leaf in leaves.items():
        assert found(leaf) == {who}, leaf
    assert found({"any": list(leaves.values())}) == set(leaves)
    assert found({"all": list(leaves.values())}) == set()


def test_refunded_in_the_last_30_days_counts_from_the_refund_not_the_sale(
    api: Api, shop: Workspace, clock: TravellingClock
) -> None:
    token, now = shop.admin, clock.now()
    upsert = """mutation($input: OrderUpsertInput!) { upsertOrder(input: $input) { errors { code } } }"""
    for name, placed, refunded in (("Hoàn gần đây", 60, 5), ("Hoàn đã lâu", 45, 35)):
        customer = create_customer(api, token, name=name)
        placed_at, refunded_at = now - timedelta(days=placed), now - timedelta(days=refunded)
        state = {"externalId": f"SP-{name}", "customerId": customer, "total": "500000", "status": "REFUNDED",
                 "refundAmount": "200000", "placedAt": placed_at.isoformat(), "statusChangedAt": refunded_at.isoformat()}  # fmt: skip
        assert api.ok(upsert, {"input": state}, token)["upsertOrder"]["errors"] == []

    def found(dated_by: str | None, days: int) -> set[str]:
        leaf = {"measure": "COUNT", "min": "1", "statuses": ["REFUNDED"], "withinLastDays": days}
        rule = {"orders": leaf | ({"datedBy": dated_by} if dated_by else {})}
        return {c["name"] for c in api.ok(PREVIEW, {"rule": rule}, token)["previewSegment"]["sample"]}

    assert found("STATUS_CHANGED", 30) == {"Hoàn gần đây"}  # its refund of 5 days ago; the other's is 35
    assert found(None, 50) == found("PLACED", 50) == {"Hoàn đã lâu"}  # sold 45 days ago; the other 60
    assert found("STATUS_CHANGED", 50) == {"Hoàn gần đây", "Hoàn đã lâu"}
    clock.advance(timedelta(days=26))  # the refund of 5 days ago is now 31 days old
    assert found("STATUS_CHANGED", 30) == set()
