"""Segments at scale: a preview and a full recompute over synthetic customers, with the MongoDB round trips
counted by command monitoring, next to a baseline measured in the same run (the same rule evaluated one
customer at a time: a read of the customer, its orders and its interactions, as a per-customer design
would).

    .venv/bin/python bench/segments.py            # N = 2,000 customers
    .venv/bin/python bench/segments.py --n 5000

The rule is the article's: customers in Hồ Chí Minh City or Hà Nội, with at least 2 dress items in paid
orders of the last 90 days, or at least 2 interactions in the last 30 days, and not in the negative value
class.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.commands import counting
from bench.stack import Stack, services_stack
from domain.runs.repository import ScoringRunRepository
from domain.segments.models import MembershipReason, SegmentKind
from workers.runtime import WorkerRuntime

RULE: dict[str, Any] = {
    "all": [
        {"field": {"field": "city", "op": "in", "values": ["Hồ Chí Minh", "Hà Nội"]}},
        {
            "any": [
                {"orders": {"measure": "items", "category": "dress", "within_last_days": 90, "min": 2}},
                {"interactions": {"kinds": ["visit", "call", "message", "quote"], "within_last_days": 30, "min": 2}},
            ]
        },
        {"not": {"class": {"class_set": "value_class", "codes": ["negative"]}}},
    ]
}


COMMANDS = counting()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with services_stack(args.n) as stack:
        runtime = WorkerRuntime.open(stack.config)
        try:
            principal = runtime.run(runtime.services.keys.authenticate(f"Bearer {stack.token}"))
            preview(runtime, principal, args.n, args.repeat)
            baseline(runtime, stack, args.n)
            recompute(runtime, principal, stack, args.n)
        finally:
            runtime.close()


def preview(runtime: WorkerRuntime, principal: Any, n: int, repeat: int) -> None:
    seconds, commands = [], []
    for _ in range(repeat):
        before = COMMANDS.total()
        started = time.perf_counter()
        found = runtime.run(runtime.services.segments.preview(principal, RULE))
        seconds.append(time.perf_counter() - started)
        commands.append(COMMANDS.total() - before)
    print(f"\npreview over {n:,} customers: {found.count:,} match ({found.share:.1%})")
    median = statistics.median(seconds)
    print(f"  {max(commands)} MongoDB commands (customers, orders, interactions: one read each, one reply up to "
          f"10,000 customers, so {max(commands)} per 10,000); median {median * 1000:,.0f} ms, "
          f"{n / median:,.0f} customers/s")  # fmt: skip
    preview.seconds = statistics.median(seconds)  # type: ignore[attr-defined]
    preview.commands = max(commands)  # type: ignore[attr-defined]


def baseline(runtime: WorkerRuntime, stack: Stack, n: int) -> None:
    """The same decision one customer at a time (a sample): the reads a per-customer evaluation makes."""
    sample = stack.customer_ids[:200]
    db = runtime.db
    now = datetime.now(UTC)

    async def one_by_one() -> int:
        matched = 0
        for customer_id in sample:
            customer = await db.customers.find_one({"_id": customer_id})
            paid = {"$in": ["paid", "delivered"]}
            recent = {"$gte": now - timedelta(days=90)}
            orders = [
                o async for o in db.orders.find({"customer_id": customer_id, "status": paid, "placed_at": recent})
            ]
            touches = await db.interactions.count_documents(
                {"customer_id": customer_id, "at": {"$gte": now - timedelta(days=30)}}
            )
            dresses = sum(i["quantity"] for o in orders for i in o.get("items", []) if i.get("category") == "dress")
            city = (customer or {}).get("city") in {"Hồ Chí Minh", "Hà Nội"}
            value = ((customer or {}).get("classes") or {}).get("value_class", {}).get("code")
            matched += bool(city and (dresses >= 2 or touches >= 2) and value != "negative")
        return matched

    before = COMMANDS.total()
    started = time.perf_counter()
    runtime.run(one_by_one())
    seconds = time.perf_counter() - started
    commands = COMMANDS.total() - before
    per_customer = commands / len(sample)
    print(f"  baseline, one customer at a time (sample of {len(sample)}): {per_customer * 10_000:,.0f} commands per "
          f"10,000 customers; {len(sample) / seconds:,.0f} customers/s")  # fmt: skip
    ratio = (n / preview.seconds) / (len(sample) / seconds)  # type: ignore[attr-defined]
    fewer = per_customer * n / preview.commands  # type: ignore[attr-defined]
    print(f"  ratio: {fewer:,.0f}x fewer commands, {ratio:,.1f}x the customers/s")


def recompute(runtime: WorkerRuntime, principal: Any, stack: Stack, n: int) -> None:
    """Saving the rule: a scoring run that evaluates the segment in batches, then every customer again
    (nothing to change: the commands a recompute costs when membership is current)."""
    for label in ("first recompute (everyone joins or stays out)", "recompute with nothing to change"):
        if label.startswith("first"):
            saved = runtime.run(runtime.services.segments.save(principal, None, "Bench", SegmentKind.DYNAMIC, RULE))
            segment, run_id = saved.segment, saved.run_id
        else:
            run = runtime.run(
                runtime.runs.start(principal, segment_id=segment.id, segment_reason=MembershipReason.RULE.value)
            )
            run_id = run.id
        assert run_id is not None
        before = COMMANDS.total()
        started = time.perf_counter()
        runtime.run(runtime.runs.plan(run_id))
        batches = runtime.run(ScoringRunRepository(runtime.db, runtime.clock).unfinished_batches(run_id))
        planning = COMMANDS.total() - before
        per_batch = []
        for number in batches:
            at = COMMANDS.total()
            runtime.run(runtime.run_batches.run_batch(run_id, number))
            per_batch.append(COMMANDS.total() - at)
        seconds = time.perf_counter() - started
        commands = COMMANDS.total() - before
        members = runtime.run(runtime.services.segments.count(principal, segment.id))
        print(f"\n{label}, {n:,} customers in {len(batches)} batches: {members:,} members")
        size = stack.config.scoring_batch_size
        per_10k = planning + -(-10_000 // size) * max(per_batch)
        print(f"  {commands} commands in all: planning {planning}, per batch of up to {size:,} {per_batch}; so per "
              f"10,000 customers about {per_10k}; {n / seconds:,.0f} customers/s")  # fmt: skip


if __name__ == "__main__":
    main()
