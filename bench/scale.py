"""A big shop on the dev stack: N customers with orders and interactions loaded through the bulk paths,
scored, then read the way the apps read it, with the MongoDB commands of each step.

    .venv/bin/python bench/scale.py                      # N = 2,000, 10,000, 50,000
    .venv/bin/python bench/scale.py --n 2000 --n 10000
    MONGODB_URI=mongodb://... .venv/bin/python bench/scale.py   # the same against a real MongoDB

For each N it prints: the load (customers/s through create_many, orders and interactions through
record_many), the first scoring of the fresh customers (what a shop's first import triggers), a full
scoring run (runs.start -> plan -> every batch), a page of 100 first and deep (90% in), a filtered list
with totalCount, classDistribution, a segment preview with an order aggregate (median of 3, in an
in-process API), and a CSV export of everything through a separate API process (seconds, and the
growth of that process's peak memory). Each row carries its MongoDB commands. The baseline is the
smallest N of the same run: the last column is the per-customer cost relative to it (1.0 = linear).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.app import create_app
from api.pagination import encode_cursor
from bench.commands import counting
from bench.stack import Stack, services_stack, start_our_api
from devstack.processes import free_port
from domain.customers.ordering import OrderField, PagePosition
from domain.runs.repository import ScoringRunRepository
from workers.runtime import WorkerRuntime

PAGE = """query($after: String) { customers(first: 100, after: $after) { edges { node { id name city
  classes { classSet code label(lang: "vi") } stats { orderCount netSpend lastOrderAt } } }
  pageInfo { endCursor hasNextPage } } }"""
FILTERED = """{ customers(first: 50, filter: {city: "Huế", class: {classSet: "spend_tier",
  codes: ["platinum", "diamond", "luxurious"]}}) { totalCount edges { node { id name } } } }"""
DISTRIBUTION = '{ classDistribution(classSet: "rfm_group") { code count } }'
PREVIEW = """query($r: SegmentRuleInput!) { previewSegment(rule: $r) { count share sample { name } } }"""
RULE = {
    "all": [
        {"field": {"field": "CITY", "op": "IN", "values": ["Hà Nội", "Hồ Chí Minh"]}},
        {"orders": {"measure": "SUM", "withinLastDays": 365, "min": "2000000"}},
    ]
}

COMMANDS = counting()


@dataclass
class Row:
    what: str
    seconds: float
    commands: int
    per: int  # what the per-customer cost is divided by (customers, or 1 for a constant-size request)
    note: str = ""


def _measured(what: str, work: Callable[[], str], per: int, repeat: int = 1) -> Row:
    """The median of ``repeat`` runs; a step that fails is a row saying why, and the next step runs."""
    seconds, note, commands = [], "", 0
    for _ in range(repeat):
        before = COMMANDS.total()
        started = time.perf_counter()
        try:
            note = work()
        except Exception as error:  # reported in the table; the other steps are still measured
            return Row(what, time.perf_counter() - started, COMMANDS.total() - before, per, f"FAILED: {error!r:.200}")
        seconds.append(time.perf_counter() - started)
        commands = COMMANDS.total() - before
    return Row(what, statistics.median(seconds), commands, per, note)


def _scoring(stack: Stack, n: int) -> Iterator[Row]:
    runtime = WorkerRuntime.open(stack.config)
    try:
        principal = runtime.run(runtime.services.keys.authenticate(f"Bearer {stack.token}"))

        def full_run() -> str:
            run = runtime.run(runtime.runs.start(principal))
            runtime.run(runtime.runs.plan(run.id))
            batches = runtime.run(ScoringRunRepository(runtime.db, runtime.clock).unfinished_batches(run.id))
            for number in batches:
                runtime.run(runtime.run_batches.run_batch(run.id, number))
            return f"{len(batches)} batches"

        yield _measured("full scoring run", full_run, n)
    finally:
        runtime.close()


def _graphql(client: TestClient, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {token}"}
    )
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and "errors" not in body, response.text[:400]
    data: dict[str, Any] = body["data"]
    return data


def _reads(stack: Stack, n: int) -> Iterator[Row]:
    deep = encode_cursor(PagePosition(OrderField.CREATED, sorted(stack.customer_ids)[n * 9 // 10]))
    with TestClient(create_app(stack.config)) as client:
        token = stack.token
        _graphql(client, token, "{ __typename }")  # the key is cached from here on, as under load

        def page(after: str | None) -> Callable[[], str]:
            return lambda: f"{len(_graphql(client, token, PAGE, {'after': after})['customers']['edges'])} rows"

        def filtered() -> str:
            return f"totalCount {_graphql(client, token, FILTERED)['customers']['totalCount']:,}"

        def distribution() -> str:
            rows = _graphql(client, token, DISTRIBUTION)["classDistribution"]
            return f"{sum(row['count'] for row in rows):,} counted"

        def preview() -> str:
            return f"{_graphql(client, token, PREVIEW, {'r': RULE})['previewSegment']['count']:,} match"

        yield _measured("page of 100, first", page(None), 1, 3)
        yield _measured("page of 100, 90% in (after:)", page(deep), 1, 3)
        yield _measured("filtered list with totalCount", filtered, n, 3)
        yield _measured("classDistribution (rfm_group)", distribution, n, 3)
        yield _measured("segment preview, city + order SUM", preview, n, 3)
        yield _measured("CSV export (in-process, commands)", lambda: _export(client.get, token), n)


def _export(get: Callable[..., Any], token: str) -> str:
    response = get("/export/customers.csv", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text[:300]
    return f"{response.text.count(chr(10)) - 1:,} rows"


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _export_process(stack: Stack, n: int) -> Row:
    """The export through its own API process, to read that process's peak memory."""
    api, base = start_our_api(stack, free_port())
    try:
        before = _peak_kb(api.process.pid)
        started = time.perf_counter()
        request = urllib.request.Request(
            f"{base}/export/customers.csv", headers={"Authorization": f"Bearer {stack.token}"}
        )
        size = 0
        with urllib.request.urlopen(request, timeout=3600) as response:
            while chunk := response.read(1 << 16):
                size += len(chunk)
        seconds = time.perf_counter() - started
        grew = (_peak_kb(api.process.pid) - before) / 1024
    finally:
        api.stop()
    return Row("CSV export (own API process)", seconds, 0, n, f"{size / 1e6:.1f} MB, peak memory +{grew:.0f} MB")


def measure(n: int) -> Iterator[Row]:
    """Each step's row as soon as it is measured (the biggest N takes hours)."""
    timings: dict[str, Any] = {}
    with services_stack(n, timings=timings, commands=COMMANDS) as stack:
        yield Row("load through the bulk paths", timings["load"], timings["load_commands"], n, timings["counts"])
        yield Row("first scoring of the fresh customers", timings["score"], timings["score_commands"], n)
        yield from _scoring(stack, n)
        yield from _reads(stack, n)
        yield _measured("CSV export (own API process)", lambda: _export_process(stack, n).note, n)


class Report:
    """Rows printed as they come; the last column is the per-customer cost relative to the first N's."""

    def __init__(self) -> None:
        self.smallest: int | None = None
        self.baseline: dict[str, float] = {}

    def size(self, n: int) -> None:
        self.smallest = self.smallest or n
        print(f"\n{n:,} customers")
        print(f"{'step':42} {'seconds':>9} {'per s':>10} {'commands':>9} {'x ' + f'{self.smallest:,}':>9}  note")

    def row(self, n: int, row: Row) -> None:
        per_customer = row.seconds / row.per
        if n == self.smallest:
            self.baseline[row.what] = per_customer
        rate = f"{row.per / row.seconds:,.0f}" if row.per > 1 else ""
        ratio = per_customer / self.baseline[row.what] if self.baseline.get(row.what) else 0.0
        print(f"{row.what:42} {row.seconds:>9.2f} {rate:>10} {row.commands:>9,} {ratio:>9.2f}  {row.note}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append", help="customers (repeat); default 2,000 10,000 50,000")
    args = parser.parse_args()
    report = Report()
    for n in args.n or [2_000, 10_000, 50_000]:
        report.size(n)
        for row in measure(n):
            report.row(n, row)


if __name__ == "__main__":
    main()
