"""Scoring at scale and how fast a change reaches subscribers, next to baselines measured in the same run.

    .venv/bin/python bench/rescore.py             # N = 10,000 customers
    .venv/bin/python bench/rescore.py --n 2000

1. A full scoring run over N scored customers with nothing to change: MongoDB commands and bytes written
   per 10,000 customers, and customers per second; next to the same customers scored one job each on a
   sample (the baseline a job-per-customer design pays), with the bytes the first scoring wrote.
2. Order -> class event latency: 200 orders for 200 customers at 20 a second through the API, a worker
   process scoring them, and 1 or 50 GraphQL subscribers over websockets receiving the spend-tier change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import bson
import httpx2
from pymongo import monitoring
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import Stack, services_stack, start_our_api, worker_env
from devstack.processes import free_port, start_worker
from domain.auth.principals import Principal
from domain.runs.repository import ScoringRunRepository
from workers.runtime import WorkerRuntime

WRITES = {"insert", "update", "delete", "findAndModify"}


class Traffic(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()
        self.written = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands[event.command_name] += 1
        if event.command_name in WRITES:
            self.written += len(bson.encode(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reset(self) -> None:
        self.commands.clear()
        self.written = 0


TRAFFIC = Traffic()
monitoring.register(TRAFFIC)


def full_run(stack: Stack, n: int) -> None:
    runtime = WorkerRuntime.open(stack.config)
    try:
        principal = runtime.run(_admin(runtime, stack.token))
        run = runtime.run(runtime.runs.start(principal))
        TRAFFIC.reset()
        started = time.perf_counter()
        runtime.run(runtime.runs.plan(run.id))
        batches = runtime.run(ScoringRunRepository(runtime.db, runtime.clock).unfinished_batches(run.id))
        planning = sum(TRAFFIC.commands.values())
        per_batch = []
        for number in batches:
            before = sum(TRAFFIC.commands.values())
            runtime.run(runtime.run_batches.run_batch(run.id, number))
            per_batch.append(sum(TRAFFIC.commands.values()) - before)
        seconds = time.perf_counter() - started
        commands, written = sum(TRAFFIC.commands.values()), TRAFFIC.written
        sample = stack.customer_ids[:200]
        TRAFFIC.reset()
        baseline_started = time.perf_counter()
        for customer_id in sample:
            runtime.run(runtime.rescoring.rescore(stack.workspace_id, [customer_id]))
        baseline_seconds = time.perf_counter() - baseline_started
        baseline_commands = sum(TRAFFIC.commands.values())
    finally:
        runtime.close()
    per = 10_000 / n
    print(f"\nfull scoring run, nothing to change, {n:,} customers in {len(batches)} batches:")
    print(f"  {commands * per:,.0f} commands and {written * per:,.0f} bytes written per 10,000 customers; "
          f"{n / seconds:,.0f} customers/s")  # fmt: skip
    size = stack.config.scoring_batch_size
    print(f"  planning {planning} commands; per batch of up to {size:,}: {per_batch} commands; so per 10,000 "
          f"customers in batches of {size:,}: about {planning + -(-10_000 // size) * max(per_batch):,}")  # fmt: skip
    print(f"  baseline, one job per customer (sample of {len(sample)}): {baseline_commands / len(sample) * 10_000:,.0f}"
          f" commands per 10,000; {len(sample) / baseline_seconds:,.0f} customers/s")  # fmt: skip
    print(f"  ratio: {baseline_commands / len(sample) * n / max(commands, 1):,.0f}x fewer commands, "
          f"{(n / seconds) / (len(sample) / baseline_seconds):,.1f}x the customers/s")  # fmt: skip


async def _admin(runtime: WorkerRuntime, token: str) -> Principal:
    """The run is started as the workspace's admin."""
    return await runtime.services.keys.authenticate(f"Bearer {token}")


ORDER = 'mutation($c: ID!) { recordOrder(input: {customerId: $c, status: PAID, total: "6000000"}) { order { id } } }'


async def _registered(http: httpx2.AsyncClient, base: str, subscribers: int) -> None:
    """The API reports its registered subscriptions on /readyz: wait until all are."""
    for _ in range(600):
        if (await http.get(f"{base}/readyz")).json()["subscriptions"] >= subscribers:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the subscriptions never registered")


async def latency(
    base: str, token: str, customers: list[str], subscribers: int, orders: int, rate: float
) -> list[float]:
    """Seconds from each order's request to each subscriber's receipt of the spend-tier change it made."""
    sent: dict[str, float] = {}
    received: list[float] = []
    ws_url = base.replace("http://", "ws://") + "/graphql"
    query = 'subscription { customerClassChanged(classSet: "spend_tier") { customerId current } }'
    targets = customers[:orders]
    expected = set(targets)

    async def subscriber(ready: asyncio.Event) -> None:
        async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
            await ws.recv()
            await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {"query": query}}))
            ready.set()
            seen: set[str] = set()
            while seen != expected:
                message = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if message.get("type") != "next":
                    continue
                customer_id = message["payload"]["data"]["customerClassChanged"]["customerId"]
                if customer_id in sent and customer_id not in seen:
                    seen.add(customer_id)
                    received.append(time.perf_counter() - sent[customer_id])

    readies = [asyncio.Event() for _ in range(subscribers)]
    tasks = [asyncio.create_task(subscriber(ready)) for ready in readies]
    await asyncio.gather(*(ready.wait() for ready in readies))
    async with httpx2.AsyncClient(timeout=30) as http:
        await _registered(http, base, subscribers)
        started = time.perf_counter()
        for number, customer_id in enumerate(targets):
            await asyncio.sleep(max(0.0, started + number / rate - time.perf_counter()))
            sent[customer_id] = time.perf_counter()
            await http.post(f"{base}/graphql", json={"query": ORDER, "variables": {"c": customer_id}},
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    await asyncio.gather(*tasks)
    return received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="orders per second")
    args = parser.parse_args()

    TRAFFIC.reset()
    with services_stack(args.n) as stack:
        full_run(stack, args.n)
        api, base = start_our_api(stack, free_port())
        worker = start_worker(worker_env(stack), stack.logs / "worker.log")
        try:
            for subscribers in (1, 50):
                # Fresh customers, so that each order moves one from "none" to a spend tier.
                fresh = asyncio.run(_fresh_customers(base, stack.token, args.orders, subscribers))
                waits = asyncio.run(latency(base, stack.token, fresh, subscribers, args.orders, args.rate))
                waits.sort()
                p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
                print(f"\norder -> event, {args.orders} orders at {args.rate:.0f}/s, {subscribers} subscriber(s): "
                      f"p50 {statistics.median(waits) * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms "
                      f"({len(waits)} deliveries)")  # fmt: skip
        finally:
            worker.stop()
            api.stop()


async def _fresh_customers(base: str, token: str, count: int, tag: int) -> list[str]:
    mutation = "mutation($n: String!) { createCustomer(input: {name: $n}) { customer { id } } }"
    ids = []
    async with httpx2.AsyncClient(timeout=30) as http:
        for number in range(count):
            response = await http.post(
                f"{base}/graphql",
                json={"query": mutation, "variables": {"n": f"Latency {tag}-{number} {datetime.now(UTC):%H%M%S}"}},
                headers={"Authorization": f"Bearer {token}"},
            )
            answer = response.json()
            if not answer.get("data"):
                raise RuntimeError(f"createCustomer failed: {answer}")
            ids.append(answer["data"]["createCustomer"]["customer"]["id"])
    await asyncio.sleep(3)  # the worker scores the new customers ("none") before the orders start
    return ids


if __name__ == "__main__":
    main()
