"""Future value: how many times a customer will buy again and what that is worth.

BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way") models repeat purchases
and the chance a customer has silently left; Gamma-Gamma (Fader, Hardie and Lee 2005, "RFM and CLV")
models the value of an order. Both are fitted by maximum likelihood in log-parameter space with
L-BFGS-B, over the unique (frequency, recency, T) rows weighted by how many customers share them, so a
million customers cost what their few thousand distinct histories do.

Written here rather than taken from ``lifetimes`` (unmaintained since 2020, its import fails on current
setuptools, and its autograd fitter takes minutes on a million customers) or ``pymc-marketing`` (PyMC,
PyTensor and ArviZ for what is a four-parameter maximum likelihood).

Units: frequency = repeat purchases (purchase days after the first), recency = time from the first to
the last purchase, T = time from the first purchase to now, all in the same period (the workspace uses
weeks); monetary = the mean value of the repeat purchases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from scoring.result import FloatArray


@dataclass(frozen=True, slots=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float  # of the data it was fitted on, summed over customers


@dataclass(frozen=True, slots=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float


def bg_nbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """Per customer, the log-likelihood of (x, t_x, T) (FHL 2005, equation 6)."""
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    still_alive = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        left_after_last = np.where(
            x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf
        )
    return np.asarray(common + np.logaddexp(still_alive, left_after_last), dtype=np.float64)


def fit_bg_nbd(frequency: FloatArray, recency: FloatArray, T: FloatArray) -> BgNbd:
    x, t_x, big_t, counts = _unique_rows(frequency, recency, T)

    def loss(log_params: FloatArray) -> float:
        r, alpha, a, b = np.exp(log_params)
        return float(-np.sum(counts * bg_nbd_log_likelihood(r, alpha, a, b, x, t_x, big_t)) / counts.sum())

    fitted = minimize(loss, np.zeros(4), method="L-BFGS-B", bounds=[(-20.0, 20.0)] * 4)
    r, alpha, a, b = (float(v) for v in np.exp(fitted.x))
    return BgNbd(r, alpha, a, b, -float(fitted.fun) * float(counts.sum()))


def gamma_gamma_log_likelihood(p: float, q: float, gamma: float, x: FloatArray, m: FloatArray) -> FloatArray:
    """Per repeat customer, the log-likelihood of its mean order value ``m`` over ``x`` orders."""
    px = p * x
    return np.asarray(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x),
        dtype=np.float64,
    )


def fit_gamma_gamma(frequency: FloatArray, monetary: FloatArray) -> GammaGamma:
    """Fitted on repeat customers (frequency > 0, monetary > 0) only, as the model requires."""
    repeat = (frequency > 0) & (monetary > 0)
    x, m, _, counts = _unique_rows(frequency[repeat], monetary[repeat], np.zeros(int(repeat.sum())))

    def loss(log_params: FloatArray) -> float:
        p, q, gamma = np.exp(log_params)
        return float(-np.sum(counts * gamma_gamma_log_likelihood(p, q, gamma, x, m)) / counts.sum())

    fitted = minimize(loss, np.zeros(3), method="L-BFGS-B", bounds=[(-20.0, 20.0)] * 3)
    p, q, gamma = (float(v) for v in np.exp(fitted.x))
    return GammaGamma(p, q, gamma, -float(fitted.fun) * float(counts.sum()))


def p_alive(model: BgNbd, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + _left_odds(model, x, t_x, T)), dtype=np.float64)


def expected_purchases(model: BgNbd, t: float, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """Expected purchases in the next ``t`` periods given the history (FHL 2005, equation 10)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    ratio = t / (alpha + T + t)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, ratio)
    expected = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    return np.asarray(expected / (1.0 + _left_odds(model, x, t_x, T)), dtype=np.float64)


def expected_order_value(model: GammaGamma, x: FloatArray, monetary: FloatArray) -> FloatArray:
    """The mean value of a customer's future orders; the population mean for one with no repeat order."""
    p, q, gamma = model.p, model.q, model.gamma
    population = p * gamma / (q - 1) if q > 1 else np.nan
    shrunk = p * (gamma + x * monetary) / (p * x + q - 1)
    return np.asarray(np.where(x > 0, shrunk, population), dtype=np.float64)


def discounted_value(
    bg_nbd: BgNbd,
    order_value: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    *,
    periods_per_month: float,
    months: int = 12,
    monthly_discount: float = 0.01,
) -> FloatArray:
    """Expected value of the next ``months`` months, each month's purchases discounted to today."""
    value = np.zeros(len(x))
    before = np.zeros(len(x))
    for month in range(1, months + 1):
        by_then = expected_purchases(bg_nbd, month * periods_per_month, x, t_x, T)
        value += (by_then - before) * order_value / (1 + monthly_discount) ** month
        before = by_then
    return value


def _left_odds(model: BgNbd, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """Odds that a customer with repeat purchases left after the last one (0 without repeats)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return np.asarray(np.where(x > 0, odds, 0.0), dtype=np.float64)


def _unique_rows(*columns: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    rows, counts = np.unique(np.column_stack(columns).astype(np.float64), axis=0, return_counts=True)
    return rows[:, 0], rows[:, 1], rows[:, 2], counts.astype(np.float64)


WEEK_SECONDS = 7 * 86_400
# Below these, a workspace's history is too thin to fit: future value stays unknown.
MIN_BUYERS = 100
MIN_REPEAT_BUYERS = 30


@dataclass(frozen=True, slots=True)
class FutureValueModel:
    """A workspace's fitted models, as of ``fitted_at`` (epoch seconds), with the 12-month value that
    starts the medium and the high class (the 50th and 80th percentile of its buyers)."""

    bg_nbd: BgNbd
    gamma_gamma: GammaGamma
    fitted_at: float
    buyers: int
    repeat_buyers: int
    medium_from: float
    high_from: float


@dataclass(frozen=True, slots=True)
class Histories:
    """Per customer, in weeks: repeat purchases, first to last purchase, first purchase to ``as_of``;
    the mean paid order (minor units); whether it bought at all."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    monetary: FloatArray
    bought: np.ndarray


def histories(
    paid_orders: FloatArray, first_paid_at: FloatArray, last_paid_at: FloatArray, net_spend: FloatArray, as_of: float
) -> Histories:
    """From the stats every customer keeps. The mean of all paid orders stands in for the mean of the
    repeat ones (stats keep no per-order values), and paid orders for purchase days."""
    bought = ~np.isnan(first_paid_at) & (paid_orders > 0)
    first = np.where(bought, first_paid_at, as_of)
    last = np.where(bought, np.fmax(last_paid_at, first), as_of)
    until = np.maximum(as_of, last)  # an order placed after the fit still counts
    x = np.where(bought, np.maximum(paid_orders - 1, 0), 0).astype(np.float64)
    monetary = np.where(bought, np.maximum(net_spend, 0) / np.maximum(paid_orders, 1), 0.0)
    return Histories(
        x, (last - first) / WEEK_SECONDS, (until - first) / WEEK_SECONDS, monetary.astype(np.float64), bought
    )


@dataclass(frozen=True, slots=True)
class Predictions:
    p_alive: FloatArray
    purchases_90d: FloatArray
    purchases_365d: FloatArray
    order_value: FloatArray
    clv_12m: FloatArray


def predict(model: FutureValueModel, h: Histories) -> Predictions:
    """NaN for customers who never bought: the models start at a first purchase."""
    nan = np.where(h.bought, 1.0, np.nan)
    order_value = expected_order_value(model.gamma_gamma, h.x, h.monetary)
    clv = discounted_value(model.bg_nbd, order_value, h.x, h.t_x, h.T, periods_per_month=30.44 / 7)
    return Predictions(
        p_alive(model.bg_nbd, h.x, h.t_x, h.T) * nan,
        expected_purchases(model.bg_nbd, 90 / 7, h.x, h.t_x, h.T) * nan,
        expected_purchases(model.bg_nbd, 365 / 7, h.x, h.t_x, h.T) * nan,
        order_value * nan,
        clv * nan,
    )


def fit_model(h: Histories, fitted_at: float) -> FutureValueModel | None:
    """None below the data gate (MIN_BUYERS buyers, MIN_REPEAT_BUYERS of them buying again)."""
    buyers, repeat = int(h.bought.sum()), int((h.bought & (h.x > 0)).sum())
    if buyers < MIN_BUYERS or repeat < MIN_REPEAT_BUYERS:
        return None
    b = h.bought
    bg = fit_bg_nbd(h.x[b], h.t_x[b], h.T[b])
    gg = fit_gamma_gamma(h.x[b], h.monetary[b])
    model = FutureValueModel(bg, gg, fitted_at, buyers, repeat, 0.0, 0.0)
    clv = predict(model, h).clv_12m[b]
    medium_from, high_from = (float(v) for v in np.percentile(clv, [50, 80]))
    return FutureValueModel(bg, gg, fitted_at, buyers, repeat, medium_from, high_from)
