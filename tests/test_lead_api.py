"""The lead score through the API: it moves with the interaction that changes it (same job), explains
itself, reaches subscribers as a lead_tier change, and its settings are validated like any class set's."""

from __future__ import annotations

from typing import Any

from domain.auth.principals import Role
from domain.config import AppConfig
from tests.conftest import Api, CommandCounter, Workspace, add_key, create_customer, run_worker

LEAD = """query($id: ID!) { customer(id: $id) {
  lead { score model probability tier { code label(lang: "vi") evidence(lang: "en") }
         factors { name group value points } }
} }"""
INTERACTION = """mutation($c: ID!, $kind: InteractionKind!) {
  recordInteraction(input: {customerId: $c, kind: $kind}) { errors { code } } }"""
UPDATE = """mutation($params: JSON) {
  updateClassSet(input: {classSet: "lead_tier", params: $params}) { errors { field code } } }"""


def _lead(api: Api, token: str, customer_id: str) -> dict[str, Any]:
    return api.ok(LEAD, {"id": customer_id}, token)["customer"]["lead"]  # type: ignore[no-any-return]


def test_a_lead_warms_with_the_interaction_that_arrives_and_explains_itself(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    customer_id = create_customer(api, shop.admin, city="Hà Nội", interests=["Váy"])
    assert api.ok(LEAD, {"id": customer_id}, shop.admin)["customer"]["lead"] is None  # not scored yet
    run_worker(config)
    cold = _lead(api, shop.admin, customer_id)
    assert (cold["score"], cold["tier"]["code"], cold["model"], cold["probability"]) == (15, "cold", "RULES", None)
    assert cold["factors"] == [{"name": "target_region", "group": "fit", "value": None, "points": 15}]

    query = 'subscription { customerClassChanged(classSet: "lead_tier") { customerId previous current evidence } }'
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        api.hub_listening(1)
        for kind in ("QUOTE", "MEETING", "VISIT", "VISIT", "VISIT"):
            api.ok(INTERACTION, {"c": customer_id, "kind": kind}, shop.admin)
        run_worker(config)
        event = ws.receive_json()["payload"]["data"]["customerClassChanged"]
    assert (event["customerId"], event["previous"], event["current"]) == (customer_id, "cold", "hot")

    hot = _lead(api, shop.admin, customer_id)
    assert hot["tier"]["code"] == "hot" and hot["tier"]["label"] == "Khách hàng tiềm năng cao"
    assert sum(factor["points"] for factor in hot["factors"]) == hot["score"]
    points = {factor["name"]: factor["points"] for factor in hot["factors"]}
    # 15 (region) + 34 engagement (8 + 8 + 3 x 6) + intent 25 (open quote 15, three visits 10).
    assert (points["quote"], points["meeting"], points["visit"], points["open_quote"], points["repeat_visits"]) == (
        8,
        8,
        18,
        15,
        10,
    )
    assert hot["score"] == 74
    assert (
        hot["tier"]["evidence"] == "lead score 74/100, top factors: store visits, the target region and an open quote"
    )


def test_the_shops_categories_and_thresholds_are_settings_checked_like_any_class_set(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    customer_id = create_customer(api, shop.admin, interests=["váy", "giày"])
    bad = api.gql(UPDATE, {"params": {"warm_from": 70, "hot_from": 60}}, shop.admin)["data"]["updateClassSet"]
    assert bad["errors"] == [{"field": "params", "code": "NOT_INCREASING"}]
    assert api.ok(UPDATE, {"params": {"categories": ["Váy", "Giày"]}}, shop.admin)["updateClassSet"]["errors"] == []
    run_worker(config)
    lead = _lead(api, shop.admin, customer_id)
    assert {f["name"]: (f["value"], f["points"]) for f in lead["factors"]}["interests"] == (2.0, 10)


def test_a_page_of_leads_costs_what_a_page_of_one_does(
    api: Api, shop: Workspace, config: AppConfig, commands: CommandCounter
) -> None:
    page = "{ customers(first: 50) { edges { node { lead { score factors { name points } } } } } }"
    create_customer(api, shop.admin)
    run_worker(config)
    api.ok(page, None, shop.admin)  # the key is looked up once
    with commands.counting() as one:
        api.ok(page, None, shop.admin)
    for i in range(5):
        create_customer(api, shop.admin, name=f"K {i}")
    run_worker(config)
    with commands.counting() as many:
        leads = api.ok(page, None, shop.admin)["customers"]["edges"]
    assert len(leads) == 6 and all(edge["node"]["lead"]["score"] == 15 for edge in leads)
    assert many.total == one.total


CALL_LIST = """query($owner: ID) { callList(first: 10, ownerId: $owner) {
  rank score basis lastContactAt reasons { name points } customer { id name }
} }"""


def test_the_call_list_ranks_leads_with_reasons_and_last_contact_and_respects_ownership(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    lan_id, lan = add_key(api, shop, Role.SALES, "Lan")
    keen = create_customer(api, lan, name="Quan tâm")
    quiet = create_customer(api, lan, name="Im lặng")
    other = create_customer(api, shop.admin, name="Của người khác")
    for kind in ("MEETING", "QUOTE"):
        api.ok(INTERACTION, {"c": keen, "kind": kind}, lan)
    run_worker(config)
    own = api.ok(CALL_LIST, {"owner": None}, lan)["callList"]
    assert [entry["customer"]["name"] for entry in own] == ["Quan tâm", "Im lặng"]  # a sales key: its own only
    first = own[0]
    assert (first["rank"], first["basis"]) == (1, "RULES") and first["score"] > own[1]["score"]
    assert {reason["name"] for reason in first["reasons"][:2]} == {"open_quote", "target_region"}  # 15 each
    assert first["lastContactAt"] is not None and own[1]["lastContactAt"] is None
    whole = api.ok(CALL_LIST, {"owner": None}, shop.admin)["callList"]
    assert {entry["customer"]["id"] for entry in whole} == {keen, quiet, other}
    per_owner = api.ok(CALL_LIST, {"owner": lan_id}, shop.admin)["callList"]
    assert [entry["customer"]["id"] for entry in per_owner] == [keen, quiet]


def test_the_call_list_reads_whatever_evidence_its_customers_ask_for(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    create_customer(api, shop.admin, name="Có bằng chứng")
    run_worker(config)
    query = '{ callList { customer { classes { classSet evidence(lang: "en") } value { futureValueClass { evidence } } } } }'
    [entry] = api.ok(query, None, shop.admin)["callList"]
    sentences = {c["classSet"]: c["evidence"] for c in entry["customer"]["classes"]}
    assert "=" not in sentences["spend_tier"] and sentences["spend_tier"]  # a sentence from stored facts
    assert entry["customer"]["value"]["futureValueClass"]["evidence"] == "no paid order yet"
