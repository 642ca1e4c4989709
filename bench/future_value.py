"""Future value at scale: BG/NBD + Gamma-Gamma fitted and predicted for a million customers, next to the
``lifetimes`` package's own fitters on a 20,000-customer sample in the same run.

    .venv/bin/python bench/future_value.py              # N = 1,000,000
    .venv/bin/python bench/future_value.py --n 200000

Customers are simulated from the models themselves with the published CDNOW parameters (FHL 2005), times
in weeks at day precision, so each fitter should find those parameters again. ``lifetimes`` (which cannot
be imported next to current setuptools) runs in its own virtualenv under .run/, made on first use.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.future_value import (
    discounted_value,
    expected_order_value,
    expected_purchases,
    fit_bg_nbd,
    fit_gamma_gamma,
    p_alive,
)

R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426
P, Q, GAMMA = 6.25, 3.74, 15.44
ROOT = Path(__file__).resolve().parent.parent
LIFETIMES_VENV = ROOT / ".run" / "bench-lifetimes-venv"

LIFETIMES_FIT = """
import json, sys, time
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
data = pd.read_csv(sys.argv[1])
started = time.perf_counter()
bg = BetaGeoFitter().fit(data["x"], data["t_x"], data["T"])
repeat = data[(data["x"] > 0) & (data["m"] > 0)]
gg = GammaGammaFitter().fit(repeat["x"], repeat["m"])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "bg": list(bg.params_.values), "gg": list(gg.params_.values)}))
"""


def simulate(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    rate = rng.gamma(R, 1 / ALPHA, n)
    dropout = rng.beta(A, B, n)
    horizon = np.round(rng.uniform(1, 78, n) * 7) / 7
    arrivals = rng.poisson(rate * horizon)
    alive_for = rng.geometric(dropout)  # repeat purchases up to the one after which the customer leaves
    x = np.minimum(arrivals, alive_for).astype(np.float64)
    # The x-th of `arrivals` uniform times on [0, T]: T times a Beta(x, arrivals - x + 1).
    last = np.where(x > 0, horizon * rng.beta(np.maximum(x, 1), arrivals - x + 1), 0.0)
    t_x = np.minimum(np.round(last * 7) / 7, horizon)
    spend_rate = rng.gamma(Q, 1 / GAMMA, n)
    mean_value = np.where(x > 0, rng.gamma(P * np.maximum(x, 1), 1 / (spend_rate * np.maximum(x, 1))), 0.0)
    return {"x": x, "t_x": t_x, "T": horizon, "m": np.round(mean_value, 2)}


def ours(data: dict[str, np.ndarray]) -> tuple[float, float, list[float], list[float]]:
    started = time.perf_counter()
    bg = fit_bg_nbd(data["x"], data["t_x"], data["T"])
    gg = fit_gamma_gamma(data["x"], data["m"])
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    x, t_x, big_t = data["x"], data["t_x"], data["T"]
    p_alive(bg, x, t_x, big_t)
    expected_purchases(bg, 90 / 7, x, t_x, big_t)
    expected_purchases(bg, 365 / 7, x, t_x, big_t)
    value = expected_order_value(gg, x, data["m"])
    discounted_value(bg, value, x, t_x, big_t, periods_per_month=30.44 / 7)
    predicted = time.perf_counter() - started
    return fitted, predicted, [bg.r, bg.alpha, bg.a, bg.b], [gg.p, gg.q, gg.gamma]


def lifetimes(sample: dict[str, np.ndarray]) -> dict[str, object] | None:
    python = LIFETIMES_VENV / "bin" / "python"
    if not python.exists():
        print(f"making {LIFETIMES_VENV} for the lifetimes baseline (once)")
        subprocess.run([sys.executable, "-m", "venv", str(LIFETIMES_VENV)], check=True)
        install = [str(python), "-m", "pip", "install", "--quiet", "lifetimes==0.11.3", "setuptools<70"]
        if subprocess.run(install).returncode != 0:
            return None
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
        handle.write("x,t_x,T,m\n")
        for row in zip(sample["x"], sample["t_x"], sample["T"], sample["m"], strict=True):
            handle.write(",".join(f"{value:.6f}" for value in row) + "\n")
    done = subprocess.run([str(python), "-c", LIFETIMES_FIT, handle.name], capture_output=True, text=True)
    Path(handle.name).unlink()
    if done.returncode != 0:
        print(done.stderr[-2000:])
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def show(name: str, values: list[float]) -> str:
    return f"{name} " + ", ".join(f"{value:.3f}" for value in values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    args = parser.parse_args()
    data = simulate(args.n, seed=7)
    sample = {name: values[: args.sample] for name, values in data.items()}
    print(f"published: {show('BG/NBD', [R, ALPHA, A, B])}; {show('Gamma-Gamma', [P, Q, GAMMA])}")
    fitted, predicted, bg, gg = ours(data)
    print(f"ours, {args.n:,} customers: fit {fitted:.2f} s, predict {predicted:.2f} s; {show('BG/NBD', bg)}; "
          f"{show('Gamma-Gamma', gg)}")  # fmt: skip
    small_fit, _, bg, gg = ours(sample)
    print(f"ours, {args.sample:,} customers: fit {small_fit:.2f} s; {show('BG/NBD', bg)}; {show('Gamma-Gamma', gg)}")
    baseline = lifetimes(sample)
    if baseline is None:
        print("lifetimes baseline unavailable (its virtualenv could not be made)")
        return
    seconds = float(baseline["seconds"])  # type: ignore[arg-type]
    print(f"lifetimes, {args.sample:,} customers: fit {seconds:.2f} s; {show('BG/NBD', baseline['bg'])}; "  # type: ignore[arg-type]
          f"{show('Gamma-Gamma', baseline['gg'])}")  # type: ignore[arg-type]  # fmt: skip
    print(f"ratio on the same {args.sample:,}: ours {seconds / small_fit:,.1f}x faster; ours on {args.n:,} "
          f"takes {fitted / seconds:,.2f}x lifetimes' time on {args.sample:,}")  # fmt: skip


if __name__ == "__main__":
    main()
