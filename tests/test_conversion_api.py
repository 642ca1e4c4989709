"""The conversion model through the API: the data gate, training from the workspace's own history through
a job, the model card, probabilities on customers that rank engaged leads first, the call list by call
value, orderBy CONVERSION, and sales verdicts (labels) with their scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, Workspace, add_key, create_customer, run_worker

TRAIN = "mutation { trainConversionModel { queued errors { code } } }"
MODEL = """{ conversionModel { status trainedAt
  card { won lost verdicts windowDays fields sensitiveFields cvAuc cvBrier baseRate orderValue
         calibration { low high count predicted observed } }
  lastAttempt { won lost minWon minLost } } }"""
LEAD = """query($id: ID!) { customer(id: $id) { lead { score model probability reasonsFor reasonsAgainst } } }"""
CALL_LIST = "{ callList(first: 3) { rank basis probability callValue score customer { id name } } }"
VERDICT = """mutation($id: ID!, $v: LeadVerdictKind) {
  recordLeadVerdict(customerId: $id, verdict: $v) { verdict { verdict by } errors { field code } } }"""


def _history(api: Api, shop: Workspace, leads: int, seed: int = 3) -> None:
    """Leads first contacted 120-300 days ago: those that asked for a quote and met sales mostly bought
    within a few weeks, the others mostly never did."""
    rng = np.random.default_rng(seed)
    admin = api.call(lambda: api.services.keys.authenticate(f"Bearer {shop.admin}"))
    customers = api.call(
        lambda: api.services.customers.create_many(admin, [{"name": f"Lead {i}"} for i in range(leads)])
    )
    now = datetime.now(UTC)
    touches: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    for i, customer in enumerate(customers):
        contact = now - timedelta(days=float(rng.uniform(120, 300)))
        engaged = i % 2 == 0
        bought = rng.random() < (0.75 if engaged else 0.1)
        decided = contact + timedelta(days=float(rng.uniform(20, 60)) if bought else 90)
        touches.append({"customer_id": customer.id, "kind": "email_open", "at": contact})
        if engaged:
            for kind in ("quote", "meeting", "visit"):
                at = decided - timedelta(days=float(rng.uniform(1, 20)))
                touches.append({"customer_id": customer.id, "kind": kind, "at": at})
        if bought:
            orders.append(
                {
                    "customer_id": customer.id,
                    "external_id": f"o-{i}",
                    "status": "paid",
                    "total": "1500000",
                    "placed_at": decided,
                }
            )
    api.call(lambda: api.services.interactions.record_many(admin, touches))
    api.call(lambda: api.services.orders.record_many(admin, orders))


def _fresh_leads(api: Api, token: str) -> tuple[str, str]:
    """Two leads of this week: one asked for a quote, met sales and visited; one opened an email."""
    keen = create_customer(api, token, name="Trần Thị Keen")
    idle = create_customer(api, token, name="Lê Văn Idle")
    query = """mutation($c: ID!, $kind: InteractionKind!) {
      recordInteraction(input: {customerId: $c, kind: $kind}) { errors { code } } }"""
    for kind in ("QUOTE", "MEETING", "VISIT"):
        api.ok(query, {"c": keen, "kind": kind}, token)
    api.ok(query, {"c": idle, "kind": "EMAIL_OPEN"}, token)
    return keen, idle


def test_below_the_data_gate_nothing_is_trained_and_leads_stay_on_rules(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _history(api, shop, 20)
    keen, _idle = _fresh_leads(api, shop.admin)
    assert api.ok(MODEL, None, shop.admin)["conversionModel"]["status"] == "NOT_TRIED_YET"
    assert api.ok(TRAIN, None, shop.admin)["trainConversionModel"] == {"queued": True, "errors": []}
    run_worker(config)
    model = api.ok(MODEL, None, shop.admin)["conversionModel"]
    assert (model["status"], model["card"], model["trainedAt"]) == ("NOT_ENOUGH_DATA", None, None)
    attempt = model["lastAttempt"]
    assert attempt["won"] + attempt["lost"] == 20 and (attempt["minWon"], attempt["minLost"]) == (30, 30)
    lead = api.ok(LEAD, {"id": keen}, shop.admin)["customer"]["lead"]
    assert (lead["model"], lead["probability"], lead["reasonsFor"]) == ("RULES", None, [])
    entries = api.ok(CALL_LIST, None, shop.admin)["callList"]
    assert {entry["basis"] for entry in entries} == {"RULES"}


def test_a_trained_model_reports_its_card_and_ranks_engaged_leads_first(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _history(api, shop, 160)
    keen, idle = _fresh_leads(api, shop.admin)
    run_worker(config)
    api.ok(TRAIN, None, shop.admin)
    run_worker(config)  # the training, then the rescore it asks for

    model = api.ok(MODEL, None, shop.admin)["conversionModel"]
    assert model["status"] == "TRAINED" and model["trainedAt"]
    card = model["card"]
    # the two fresh leads are inside their window: not examples
    assert card["won"] + card["lost"] == 160 and card["verdicts"] == 0 and card["windowDays"] == 90
    assert card["cvAuc"] > 0.75 and 0 < card["cvBrier"] < 0.25
    assert sum(band["count"] for band in card["calibration"]) == 160
    assert "quote_30d" in card["fields"] and card["sensitiveFields"] == []
    assert card["orderValue"] == "1500000"

    keen_lead = api.ok(LEAD, {"id": keen}, shop.admin)["customer"]["lead"]
    idle_lead = api.ok(LEAD, {"id": idle}, shop.admin)["customer"]["lead"]
    assert keen_lead["model"] == idle_lead["model"] == "LEARNED"
    assert keen_lead["probability"] > idle_lead["probability"] + 0.3
    assert set(keen_lead["reasonsFor"]) & {"quote_30d", "meeting_30d", "visit_30d"}

    entries = api.ok(CALL_LIST, None, shop.admin)["callList"]
    assert entries[0]["customer"]["id"] == keen and entries[0]["basis"] == "LEARNED"
    values = [float(entry["callValue"]) for entry in entries]
    assert values == sorted(values, reverse=True)
    assert float(entries[0]["callValue"]) == round(entries[0]["probability"] * 1_500_000)

    # ordered by probability, page after page, every customer once
    page_query = """query($after: String) { customers(first: 50, after: $after,
        orderBy: {field: CONVERSION, direction: DESC}) {
        edges { node { id lead { probability } } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[tuple[str, float]] = []
    after = None
    while True:
        page = api.ok(page_query, {"after": after}, shop.admin)["customers"]
        seen += [(edge["node"]["id"], edge["node"]["lead"]["probability"]) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len({customer_id for customer_id, _ in seen}) == len(seen) == 162
    assert [p for _, p in seen] == sorted((p for _, p in seen), reverse=True)


def test_sales_give_verdicts_on_their_own_leads_only(api: Api, shop: Workspace) -> None:
    seller_id, seller = add_key(api, shop, Role.SALES, "Bán hàng")
    mine = create_customer(api, seller, name="Khách của tôi")
    theirs = create_customer(api, shop.admin, name="Khách khác")

    given = api.ok(VERDICT, {"id": mine, "v": "GOOD_FIT"}, seller)["recordLeadVerdict"]["verdict"]
    assert given == {"verdict": "GOOD_FIT", "by": seller_id}
    shown = api.ok("query($id: ID!) { customer(id: $id) { leadVerdict { verdict } } }", {"id": mine}, seller)
    assert shown["customer"]["leadVerdict"] == {"verdict": "GOOD_FIT"}

    refused = api.gql(VERDICT, {"id": theirs, "v": "NOT_A_FIT"}, seller)["data"]["recordLeadVerdict"]
    assert refused["errors"] == [{"field": "customerId", "code": "NOT_FOUND"}]
    # the role matrix (test_roles_and_keys) covers the other roles

    cleared = api.ok(VERDICT, {"id": mine, "v": None}, seller)["recordLeadVerdict"]
    assert cleared["verdict"] is None
    shown = api.ok("query($id: ID!) { customer(id: $id) { leadVerdict { verdict } } }", {"id": mine}, seller)
    assert shown["customer"]["leadVerdict"] is None


def test_verdicts_count_as_labels(api: Api, shop: Workspace, config: AppConfig) -> None:
    _history(api, shop, 20)
    fresh = [create_customer(api, shop.admin, name=f"Mới {i}") for i in range(3)]
    for customer_id, verdict in zip(fresh, ("GOOD_FIT", "NOT_A_FIT", "NOT_A_FIT"), strict=True):
        api.ok(VERDICT, {"id": customer_id, "v": verdict}, shop.admin)
    api.ok(TRAIN, None, shop.admin)
    run_worker(config)
    attempt = api.ok(MODEL, None, shop.admin)["conversionModel"]["lastAttempt"]
    assert attempt["won"] + attempt["lost"] == 23


def test_sensitive_fields_are_learned_only_when_an_admin_allows_them(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    update = """mutation($params: JSON) {
      updateClassSet(input: {classSet: "lead_tier", params: $params}) { errors { field code } } }"""
    refused = api.gql(update, {"params": {"learn_from_sensitive": ["religion"]}}, shop.admin)["data"]
    assert refused["updateClassSet"]["errors"][0]["field"] == "params.learn_from_sensitive.0"
    _, ops = add_key(api, shop, Role.OPS)
    _, seller = add_key(api, shop, Role.SALES)
    _history(api, shop, 160)
    keen, _idle = _fresh_leads(api, shop.admin)
    assert api.ok(update, {"params": {"learn_from_sensitive": ["gender", "age"]}}, shop.admin)
    api.ok(TRAIN, None, shop.admin)
    run_worker(config)
    card = api.ok(MODEL, None, shop.admin)["conversionModel"]["card"]
    assert card["sensitiveFields"] == ["gender", "age"]
    # gender is a column; age is not: no lead has a birth date, a column of nothing is left out
    assert "gender" in card["fields"] and "age" not in card["fields"]
    # a probability learned from gender and age is as sensitive as they are: ops no longer see the lead
    # tier; admin (and sales, on their own customers) do
    assert api.ok(LEAD, {"id": keen}, shop.admin)["customer"]["lead"]["model"] == "LEARNED"
    assert api.ok(LEAD, {"id": keen}, ops)["customer"]["lead"] is None
    assert api.ok("{ customers(first: 1) { totalCount } }", None, seller)  # sales see only their own

    # opting out again: the model in force read gender, so it is not applied until retrained
    assert api.ok(update, {"params": {"learn_from_sensitive": []}}, shop.admin)
    run_worker(config)
    lead = api.ok(LEAD, {"id": keen}, ops)["customer"]["lead"]
    assert (lead["model"], lead["probability"]) == ("RULES", None)


ORDERED = """query($field: CustomerOrderField!) {
  customers(first: 5, orderBy: {field: $field, direction: DESC}) { edges { node { id } } } }"""
CONVERSION_LEAF = """query($name: String!) { previewSegment(rule: {all: [
  {field: {field: NAME, op: EQUALS, value: $name}}, {score: {score: CONVERSION, min: "0.5"}}]}) { count } }"""


def _refusal(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]  # type: ignore[no-any-return]


def test_a_model_learned_from_age_ranks_only_for_roles_that_may_read_age(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    update = """mutation($params: JSON) {
      updateClassSet(input: {classSet: "lead_tier", params: $params}) { errors { field code } } }"""
    _, ops = add_key(api, shop, Role.OPS)
    _, viewer = add_key(api, shop, Role.VIEWER)
    _history(api, shop, 160)
    keen, _idle = _fresh_leads(api, shop.admin)
    api.ok(update, {"params": {"learn_from_sensitive": ["age"]}}, shop.admin)
    api.ok(TRAIN, None, shop.admin)
    run_worker(config)
    assert api.ok(LEAD, {"id": keen}, ops)["customer"]["lead"] is None

    # Every order read from the lead tier ranks customers by it, one page after another: refused, by name.
    for field in ("CONVERSION", "CALL_VALUE", "LEAD_SCORE"):
        assert api.ok(ORDERED, {"field": field}, shop.admin)["customers"]["edges"]
        for token in (ops, viewer):
            assert _refusal(api.gql(ORDERED, {"field": field}, token)) == {"code": "FORBIDDEN", "field": "orderBy"}
    assert api.ok(ORDERED, {"field": "NET_SPEND"}, ops)["customers"]["edges"]  # not read from the lead tier

    # The call list is that ranking: refused, not answered in some other order.
    assert _refusal(api.gql(CALL_LIST, None, ops)) == {"code": "FORBIDDEN", "field": "callList"}
    assert api.ok(CALL_LIST, None, shop.admin)["callList"][0]["customer"]["id"] == keen

    # A rule leaf on the probability, one customer at a time, would read it back: refused at that node.
    assert _refusal(api.gql(CONVERSION_LEAF, {"name": "Trần Thị Keen"}, ops)) == {
        "code": "FORBIDDEN",
        "field": "rule.all[1].score.score",
    }
    assert api.ok(CONVERSION_LEAF, {"name": "Trần Thị Keen"}, shop.admin)["previewSegment"]["count"] == 1

    # Opting out: until the run the change started has rescored them, the stored tiers were still learned
    # from age, so the ranking leaves those customers out; once rescored, they are back.
    api.ok(update, {"params": {"learn_from_sensitive": []}}, shop.admin)
    assert api.ok(ORDERED, {"field": "CONVERSION"}, ops)["customers"]["edges"] == []
    run_worker(config)
    assert len(api.ok(ORDERED, {"field": "CONVERSION"}, ops)["customers"]["edges"]) == 5
