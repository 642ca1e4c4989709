"""Times batch classification of synthetic customers: vectorised vs one customer at a time.

    .venv/bin/python bench/classify_batch.py            # N = 1,000,000
    .venv/bin/python bench/classify_batch.py --n 100000

The baseline runs the same rules through the same functions one customer at a time (the cost a
per-customer job would pay), on a sample, and is reported as customers per second. Both figures come
from the same run on the same machine; compare the ratio, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np

from scoring.batch import DAY_SECONDS, CustomerBatch, empty_batch
from scoring.catalogue import ScoringSettings, classify_all, hold_demotions_of_ordered_sets
from scoring.rfm import recency_days, rfm_bounds
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


def classify(batch: CustomerBatch) -> None:
    bounds = rfm_bounds(recency_days(batch), batch.paid_order_count, batch.net_spend)
    results = classify_all(batch, SETTINGS, bounds)
    current = {key: np.full(len(batch), -1, dtype=np.int64) for key in SETTINGS.hysteresis}
    pending = {key: np.full(len(batch), np.nan) for key in SETTINGS.hysteresis}
    hold_demotions_of_ordered_sets(results, current, pending, batch, SETTINGS)


def one_at_a_time(batch: CustomerBatch, sample: int) -> float:
    rows = [
        dataclasses.replace(
            batch,
            **{f.name: getattr(batch, f.name)[i : i + 1] for f in dataclasses.fields(batch) if f.name != "now"},
        )
        for i in range(sample)
    ]
    started = time.perf_counter()
    for row in rows:
        classify(row)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="customers in the batch")
    parser.add_argument("--baseline-sample", type=int, default=5_000, help="customers timed one at a time")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    batch = synthetic(args.n)
    vectorised = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        classify(batch)
        vectorised.append(time.perf_counter() - started)
    baseline = [one_at_a_time(batch, args.baseline_sample) for _ in range(max(1, args.repeat // 2))]

    batch_seconds = statistics.median(vectorised)
    batch_rate = args.n / batch_seconds
    loop_rate = args.baseline_sample / statistics.median(baseline)
    print(f"customers: {args.n:,} (10 class sets, RFM quintiles and hysteresis included)")
    print(f"vectorised batch:        median {batch_seconds:.3f} s  -> {batch_rate:,.0f} customers/s "
          f"(runs: {', '.join(f'{s:.3f}' for s in vectorised)})")  # fmt: skip
    print(f"one customer at a time:  {loop_rate:,.0f} customers/s (sample of {args.baseline_sample:,})")
    print(f"ratio: {batch_rate / loop_rate:,.0f}x; 10,000 customers take {10_000 / batch_rate * 1000:.1f} ms batched")


if __name__ == "__main__":
    main()
