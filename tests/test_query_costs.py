"""Database work a request costs, counted with pymongo command monitoring: bounded by the kinds of data
a query asks for, never by its page size, and every query shape served by an index."""

from __future__ import annotations

import itertools
from typing import Any

from pymongo import MongoClient

from domain.config import AppConfig
from tests.conftest import Api, CommandCounter, Workspace, create_customer, record_order, run_worker

EVERYTHING = """query($first: Int!) { customers(first: $first) { totalCount edges { node {
  id name stats { netSpend } classes { classSet code label(lang: "vi") color evidence(lang: "zh") }
  orders(first: 5) { id total } interactions(first: 5) { id kind } classHistory(first: 5) { id current }
  owner { name } nextClassChangeAt
} } } }"""


def _customers(api: Api, shop: Workspace, count: int) -> None:
    visit = "mutation($c: ID!) { recordInteraction(input: {customerId: $c, kind: VISIT}) { interaction { id } } }"
    for number in range(count):
        customer_id = create_customer(api, shop.admin, name=f"Khách {number}", ownerId=shop.admin_user_id)
        record_order(api, shop.admin, customer_id, "6000000", status="PAID")
        api.ok(visit, {"c": customer_id}, shop.admin)


def test_a_page_of_many_costs_the_commands_of_a_page_of_one(
    api: Api, shop: Workspace, config: AppConfig, commands: CommandCounter
) -> None:
    _customers(api, shop, 6)
    run_worker(config)
    api.ok(EVERYTHING, {"first": 1}, shop.admin)  # the key is looked up once, then cached
    costs = {}
    for first in (1, 6):
        with commands.counting() as counted:
            page = api.ok(EVERYTHING, {"first": first}, shop.admin)["customers"]
        assert len(page["edges"]) == first and all(edge["node"]["orders"] for edge in page["edges"])
        costs[first] = counted
    assert costs[1].by_command == costs[6].by_command
    # workspace, customers, orders, interactions, class history, owners (and a count for a filtered list)
    assert costs[6].total <= 8, costs[6].by_command


def _shapes(commands: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any], list[str]]]:
    """The reads of customers and their children: (collection, filter, sort keys)."""
    shapes = []
    for name, command in commands:
        if name == "find" and command["find"] in ("customers", "orders", "interactions", "class_events"):
            shapes.append((command["find"], dict(command.get("filter", {})), list(command.get("sort") or {})))
        elif name == "aggregate" and command["aggregate"] != "workspaces":
            match: dict[str, Any] = next((stage["$match"] for stage in command["pipeline"] if "$match" in stage), {})
            shapes.append((command["aggregate"], dict(match), []))
    return shapes


def serving_index(indexes: list[list[str]], query: dict[str, Any], sort: list[str]) -> list[str] | None:
    """The index a query shape uses: its leading keys are pinned by equality ($in, $all) and then at most
    one range or sort key, and together they hold every condition of the query (the workspace aside, for
    children read by customer id, which is unique across workspaces)."""
    flat: dict[str, Any] = dict(query)
    for clause in flat.pop("$and", []):
        flat.update(clause)
    pinned = {field for field, value in flat.items() if not isinstance(value, dict) or set(value) <= {"$in", "$all"}}
    served: list[tuple[int, list[str]]] = []
    for keys in indexes:
        used = list(itertools.takewhile(lambda key: key in pinned, keys))
        rest = keys[len(used) :]
        if sort and rest[: len(sort)] == sort:
            used += sort  # the whole sort walks the index in order
        elif rest and (rest[0] in flat or rest[0] in sort):
            used.append(rest[0])
        if used and set(flat) - {"workspace_id"} <= set(used):
            served.append((len(used), keys))
    return max(served, key=lambda item: (item[0], -len(item[1])))[1] if served else None


def test_every_query_shape_the_api_sends_has_an_index(
    api: Api, shop: Workspace, config: AppConfig, commands: CommandCounter, capsys: Any
) -> None:
    _customers(api, shop, 2)
    run_worker(config)
    queries = [
        EVERYTHING,
        '{ customers(filter: {city: "Huế"}) { totalCount edges { node { id } } } }',
        '{ customers(filter: {text: "khach 1"}) { edges { node { id } } } }',
        '{ customers(filter: {tags: ["vip"]}) { edges { node { id } } } }',
        '{ customers(filter: {class: {classSet: "spend_tier", codes: ["platinum"]}}) { edges { node { id } } } }',
        '{ classDistribution(classSet: "spend_tier", filter: {region: "Bắc"}) { code count } }',
        "{ customers(orderBy: {field: LEAD_SCORE, direction: DESC}) { edges { node { id } } } }",
        "{ customers(orderBy: {field: LAST_ORDER_AT}) { edges { node { id } } } }",
    ]
    with commands.capturing() as sent:
        for query in queries:
            api.ok(query, {"first": 3} if "$first" in query else None, shop.admin)
    shapes = _shapes(sent)
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        db = client[config.mongodb_db]
        indexes = {
            name: [list(index["key"]) for index in db[name].list_indexes()]
            for name in ("customers", "orders", "interactions", "class_events")
        }
    finally:
        client.close()
    assert shapes
    with capsys.disabled():
        print()
        for collection, condition, sort in shapes:
            index = serving_index(indexes[collection], condition, sort)
            print(f"  {collection}: {sorted(condition)} sort {sort} -> index {index}")
            assert index is not None, (collection, condition, sort)
