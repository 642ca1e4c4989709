"""The API under load, next to a bare Strawberry app in the same run, with MongoDB commands per request.

    apt-get install -y wrk                        # optional: a C load generator (else an asyncio client)
    .venv/bin/python bench/api.py                 # N = 10,000 customers, 8 and 32 clients, 10 s each
    .venv/bin/python bench/api.py --n 2000 --seconds 5

Starts Redis, the MongoDB-wire dev server (or uses MONGODB_URI), one API process and the bare app on
free ports, loads N synthetic customers with orders and interactions through the bulk paths, scores
them, then measures each request kind. Commands per request are counted in a second, in-process copy
of the API with pymongo command monitoring. Quote ratios to the bare app, not absolute figures: the
machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.app import create_app
from bench.commands import counting
from bench.load import LoadResult, run_load
from bench.stack import Stack, services_stack, start_bare_app, start_our_api
from devstack.processes import free_port

PAGE = """query($after: String) { customers(first: 100, after: $after) { edges { node {
  id name phone city tags createdAt
  classes { classSet code label(lang: "vi") color }
  stats { orderCount paidOrderCount netSpend lastOrderAt }
  orders(first: 5) { id status total placedAt }
  owner { name }
} } pageInfo { endCursor hasNextPage } } }"""
FILTERED = """{ customers(first: 50, filter: {city: "Huế", class: {classSet: "spend_tier", codes: ["platinum",
  "diamond", "luxurious"]}}) { totalCount edges { node { id name classes { classSet code label(lang: "vi") } } } } }"""
CUSTOMER = """query($id: ID!) { customer(id: $id) { id name classes { classSet code label(lang: "vi") color
  evidence(lang: "vi") } } }"""
DISTRIBUTION = '{ classDistribution(classSet: "rfm_group") { code count label(lang: "vi") color } }'
RECORD_ORDER = """mutation($c: ID!) { recordOrder(input: {customerId: $c, status: PAID, total: "1500000"}) {
  order { id } errors { code } } }"""


COMMANDS = counting()


def scenarios(stack: Stack) -> list[tuple[str, dict[str, Any], str | None]]:
    customer = random.Random(1).choice(stack.customer_ids)
    return [
        ("bare Strawberry { hello }", {"query": "{ hello }"}, None),
        ("{ __typename } with a key", {"query": "{ __typename }"}, stack.token),
        ("customer(id) with classes", {"query": CUSTOMER, "variables": {"id": customer}}, stack.token),
        ("page of 100: classes, labels, stats, orders, owner", {"query": PAGE}, stack.token),
        ("filtered page with totalCount", {"query": FILTERED}, stack.token),
        ("classDistribution", {"query": DISTRIBUTION}, stack.token),
        ("recordOrder", {"query": RECORD_ORDER, "variables": {"c": customer}}, stack.token),
    ]


def commands_per_request(stack: Stack, payload: dict[str, Any], token: str | None) -> int | None:
    if token is None:
        return None
    with TestClient(create_app(stack.config)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        client.post("/graphql", json=payload, headers=headers)  # warm: the key is then cached, as under load
        before = sum(COMMANDS.names.values())
        response = client.post("/graphql", json=payload, headers=headers)
        assert response.status_code == 200 and "errors" not in response.json(), response.text[:300]
        return sum(COMMANDS.names.values()) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="customers in the workspace")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each measurement")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    args = parser.parse_args()

    with services_stack(args.n) as stack:
        api, api_base = start_our_api(stack, free_port())
        bare, bare_base = start_bare_app(free_port(), stack.logs)
        try:
            rows: list[tuple[str, int, LoadResult, int | None]] = []
            for name, payload, token in scenarios(stack):
                count = commands_per_request(stack, payload, token)
                base = bare_base if token is None else api_base
                for clients in args.clients:
                    result = run_load(f"{base}/graphql", payload, token, clients, args.seconds)
                    rows.append((name, clients, result, count))
        finally:
            bare.stop()
            api.stop()
    baseline = {clients: result.requests_per_second for name, clients, result, _ in rows if name.startswith("bare")}
    print(f"\n{args.n:,} customers; {args.seconds:.0f} s per measurement; one API process; logs in {stack.logs}")
    header = ("request", "clients", "req/s", "x bare", "p50 ms", "p99 ms", "failed", "cmds")
    print("{:52} {:>7} {:>8} {:>7} {:>8} {:>8} {:>7} {:>5}".format(*header))
    for name, clients, result, count in rows:
        ratio = result.requests_per_second / baseline[clients]
        print(f"{name:52} {clients:>7} {result.requests_per_second:>8.1f} {ratio:>7.2f} {result.p50_ms:>8.1f} "
              f"{result.p99_ms:>8.1f} {result.failed:>7} {'' if count is None else count:>5}")  # fmt: skip


if __name__ == "__main__":
    main()
