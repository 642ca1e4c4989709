"""Times batch classification of synthetic customers: vectorised vs one customer at a time, and the CPU a
whole batch job spends per customer around it.

    .venv/bin/python bench/classify_batch.py            # N = 1,000,000
    .venv/bin/python bench/classify_batch.py --n 100000

The baseline runs the same rules through the same functions one customer at a time (the cost a
per-customer job would pay), on a sample, with the workspace's RFM quintiles computed once as
production does, and is reported as customers per second. The job figure is the pure part of a rescore
job (assembling the arrays from each customer's state, classifying, hysteresis, deciding what changed
and building the events) per customer, without I/O. All figures come from the same run on the same
machine; compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.customers.models import CustomerStats
from domain.rescoring.changes import compute_changes
from domain.rescoring.features import OrderFeatures, ProfileFeatures
from domain.rescoring.repository import ScoringState
from domain.workspaces.models import DEFAULT_CLASS_SETTINGS, Workspace
from scoring.batch import DAY_SECONDS, CustomerBatch, empty_batch
from scoring.catalogue import ScoringSettings, classify_all, hold_demotions_of_ordered_sets
from scoring.registry import CLASS_SETS
from scoring.rfm import RfmBounds, recency_days, rfm_bounds
from scoring.spend_tier import SpendTierThresholds

SETTINGS = ScoringSettings(spend_tier=SpendTierThresholds(1, 5_000_000, 20_000_000, 50_000_000))


def synthetic(n: int, seed: int = 1) -> CustomerBatch:
    rng = np.random.default_rng(seed)
    now = time.time()
    paid = rng.poisson(2.0, n)
    never = paid == 0
    last_paid = np.where(never, np.nan, now - rng.integers(0, 900, n) * DAY_SECONDS)
    gross = paid * rng.integers(200_000, 6_000_000, n)
    items = paid * rng.integers(1, 4, n)
    countries = np.array(["VN", "CN", "US"], dtype=object)
    return dataclasses.replace(
        empty_batch(n, now),
        created_at=(now - rng.integers(0, 1500, n) * DAY_SECONDS).astype(np.float64),
        birth_year=np.where(rng.random(n) < 0.1, 0, rng.integers(1950, 2012, n)),
        birth_month=rng.integers(1, 13, n),
        birth_day=rng.integers(1, 29, n),
        personality_type=rng.integers(0, 10, n),
        paid_order_count=paid,
        paid_in_window=np.minimum(paid, rng.poisson(1.0, n)),
        unpaid_open_orders=rng.poisson(0.2, n),
        net_spend=gross - rng.integers(0, 100_000, n) * (rng.random(n) < 0.05),
        gross_spend=gross,
        discount_spend=(gross * rng.random(n) * 0.5).astype(np.int64),
        first_paid_at=np.where(never, np.nan, last_paid - rng.integers(0, 400, n) * DAY_SECONDS),
        last_paid_at=last_paid,
        item_count=items,
        new_product_items=(items * rng.random(n)).astype(np.int64),
        premium_items=(items * rng.random(n) * 0.6).astype(np.int64),
        interaction_count=rng.poisson(1.5, n),
        intent_signals=rng.poisson(0.7, n),
        service_ratings=rng.poisson(0.3, n),
        complaints=rng.poisson(0.05, n),
        country=countries[rng.integers(0, 3, n)],
        city=np.full(n, "Hà Nội", dtype=object),
        legal_type=np.full(n, "individual", dtype=object),
    )


def classify(batch: CustomerBatch, bounds: RfmBounds) -> None:
    results = classify_all(batch, SETTINGS, bounds)
    current = {key: np.full(len(batch), -1, dtype=np.int64) for key in SETTINGS.hysteresis}
    pending = {key: np.full(len(batch), np.nan) for key in SETTINGS.hysteresis}
    hold_demotions_of_ordered_sets(results, current, pending, batch, SETTINGS)


def one_at_a_time(batch: CustomerBatch, bounds: RfmBounds, sample: int) -> float:
    rows = [
        dataclasses.replace(
            batch,
            **{f.name: getattr(batch, f.name)[i : i + 1] for f in dataclasses.fields(batch) if f.name != "now"},
        )
        for i in range(sample)
    ]
    started = time.perf_counter()
    for row in rows:
        classify(row, bounds)
    return time.perf_counter() - started


def job_cpu_per_customer(n: int, seed: int = 2) -> float:
    """CPU seconds per customer of a job's pure work: compute_changes on customers scored the first time."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    workspace = Workspace("ws", "Shop", "VND", "VN", DEFAULT_CLASS_SETTINGS)
    states = [
        ScoringState(
            customer_id=f"c{i}",
            seq=1,
            classes={},
            stats={},
            pending_events=[],
            profile=ProfileFeatures(created_at=now - timedelta(days=rng.randrange(1500)), birth_date=date(1980, 5, 1)),
        )
        for i in range(n)
    ]
    orders = {}
    for state in states:
        paid = rng.randrange(5)
        last = now - timedelta(days=rng.randrange(900)) if paid else None
        spend = paid * rng.randrange(200_000, 6_000_000)
        stats = CustomerStats(paid, paid, spend, last, last, last)
        orders[state.customer_id] = OrderFeatures(
            stats=stats, paid_in_window=paid, first_paid_at=last, last_paid_at=last
        )
    started = time.process_time()
    compute_changes(workspace, states, orders, {}, now)
    return (time.process_time() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="customers in the batch")
    parser.add_argument("--baseline-sample", type=int, default=5_000, help="customers timed one at a time")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--job-sample", type=int, default=10_000, help="customers in the timed job step")
    args = parser.parse_args()

    batch = synthetic(args.n)
    bounds = rfm_bounds(recency_days(batch), batch.paid_order_count, batch.net_spend)  # once, as a workspace's
    vectorised = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        classify(batch, bounds)
        vectorised.append(time.perf_counter() - started)
    baseline = [one_at_a_time(batch, bounds, args.baseline_sample) for _ in range(max(1, args.repeat // 2))]
    job_seconds = statistics.median(job_cpu_per_customer(args.job_sample) for _ in range(3))

    batch_seconds = statistics.median(vectorised)
    batch_rate = args.n / batch_seconds
    loop_rate = args.baseline_sample / statistics.median(baseline)
    print(f"customers: {args.n:,} ({len(CLASS_SETS)} class sets, RFM quintiles and hysteresis included)")
    print(f"vectorised batch:        median {batch_seconds:.3f} s  -> {batch_rate:,.0f} customers/s "
          f"(runs: {', '.join(f'{s:.3f}' for s in vectorised)})")  # fmt: skip
    print(f"one customer at a time:  {loop_rate:,.0f} customers/s (sample of {args.baseline_sample:,})")
    print(f"ratio: {batch_rate / loop_rate:,.0f}x; 10,000 customers take {10_000 / batch_rate * 1000:.1f} ms batched")
    print(f"a batch job's pure work (states -> arrays -> classes -> changes and events), sample of "
          f"{args.job_sample:,}: {job_seconds * 1e6:,.1f} us CPU per customer; classification is "
          f"{(batch_seconds / args.n) / job_seconds:.1%} of it")  # fmt: skip


if __name__ == "__main__":
    main()
