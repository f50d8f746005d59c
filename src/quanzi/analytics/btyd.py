"""Buy-till-you-die models, from the papers' formulas (pure numpy/scipy, no Django).

BG/NBD — Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to
the Pareto/NBD Model", Marketing Science 24(2). While alive, a customer buys at a Poisson rate
λ ~ Gamma(r, α); after each purchase they drop out with probability p ~ Beta(a, b). For a
customer with ``x`` repeat purchases, the last at ``t_x``, observed for ``T`` since the first:

    L = A1 · A2 · (A3 + δ(x>0) · A4)                                         (eq. 6)
    ln A1 = lnΓ(r+x) − lnΓ(r) + r ln α
    ln A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
    ln A3 = −(r+x) ln(α+T)
    ln A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x)

P(alive | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)), and the expected
number of purchases in the next ``t`` (eq. 10) uses the Gauss hypergeometric function ₂F₁.

Gamma-Gamma — Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": a customer's
spend per transaction is Gamma(p, ν) with ν ~ Gamma(q, γ); E[M | x, m̄] =
(p·γ + p·x·m̄) / (p·x + q − 1), which needs q > 1.

Parameters are fitted by maximum likelihood on log-parameters (so they stay positive), from a
few starting points, over the distinct (x, t_x, T) triples weighted by how many customers share
each — a community of a million buyers has far fewer distinct triples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool


@dataclass(frozen=True, slots=True)
class GammaGamma:
    p: float
    q: float
    v: float
    log_likelihood: float
    converged: bool


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, x: Array, t_x: Array, big_t: Array
) -> Array:
    """Each customer's log-likelihood (FHL 2005 eq. 6)."""
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    big_t = np.asarray(big_t, dtype=np.float64)
    ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    ln_a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    ln_a3 = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    # ln A4 only where x > 0 (b + x − 1 may be ≤ 0 otherwise); −inf elsewhere adds nothing.
    safe_x = np.where(repeat, x, 1.0)
    ln_a4 = np.where(
        repeat,
        np.log(a) - np.log(b + safe_x - 1) - (r + safe_x) * np.log(alpha + t_x),
        -np.inf,
    )
    return np.asarray(ln_a1 + ln_a2 + np.logaddexp(ln_a3, ln_a4), dtype=np.float64)


def _distinct(*columns: Array) -> tuple[list[Array], Array]:
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(np.float64)


def bgnbd_fit(x: Array, t_x: Array, big_t: Array, *, penalty: float = 0.0) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for customers (x, t_x, T)."""
    (ux, utx, ut), weights = _distinct(
        np.asarray(x, np.float64), np.asarray(t_x, np.float64), np.asarray(big_t, np.float64)
    )

    def negative(log_params: Array) -> float:
        r, alpha, a, b = np.exp(log_params)
        ll = bgnbd_log_likelihood(r, alpha, a, b, ux, utx, ut)
        value = -float(np.dot(weights, ll)) + penalty * float(np.dot(log_params, log_params))
        return value if np.isfinite(value) else 1e300

    scale = float(np.mean(big_t)) or 1.0
    best = None
    for start in ([1.0, scale, 1.0, 1.0], [0.5, scale / 4, 0.8, 2.5], [2.0, scale * 2, 0.5, 5.0]):
        result = optimize.minimize(
            negative,
            np.log(np.asarray(start)),
            method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-9},
        )
        polished = optimize.minimize(negative, result.x, method="L-BFGS-B")
        result = polished if polished.fun <= result.fun else result
        if best is None or result.fun < best.fun:
            best = result
    assert best is not None
    r, alpha, a, b = (float(v) for v in np.exp(best.x))
    ll = float(np.dot(weights, bgnbd_log_likelihood(r, alpha, a, b, ux, utx, ut)))
    return BgNbd(r, alpha, a, b, ll, bool(best.success))


def p_alive(model: BgNbd, x: Array, t_x: Array, big_t: Array) -> Array:
    """P(still alive | x, t_x, T); 1 for customers with no repeat purchase (they cannot have
    dropped out yet in the BG/NBD story: dropping out happens right after a purchase)."""
    x = np.asarray(x, np.float64)
    repeat = x > 0
    safe_x = np.where(repeat, x, 1.0)
    ln_ratio = (
        np.log(model.a)
        - np.log(model.b + safe_x - 1)
        + (model.r + safe_x)
        * (
            np.log(model.alpha + np.asarray(big_t, np.float64))
            - np.log(model.alpha + np.asarray(t_x, np.float64))
        )
    )
    odds = np.where(repeat, np.exp(np.minimum(ln_ratio, 700.0)), 0.0)
    return np.asarray(1.0 / (1.0 + odds), dtype=np.float64)


def expected_purchases(model: BgNbd, t: float, x: Array, t_x: Array, big_t: Array) -> Array:
    """Expected purchases in the next ``t`` units (FHL 2005 eq. 10)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    x = np.asarray(x, np.float64)
    big_t = np.asarray(big_t, np.float64)
    z = t / (alpha + big_t + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1)
    second = 1.0 - np.power((alpha + big_t) / (alpha + big_t + t), r + x) * hyp
    # P(alive)'s denominator, shared with eq. 10.
    denominator = 1.0 / p_alive(model, x, t_x, big_t)
    value = first * second / denominator
    return np.asarray(np.where(np.isfinite(value), np.maximum(value, 0.0), 0.0), np.float64)


def gamma_gamma_log_likelihood(p: float, q: float, v: float, x: Array, m: Array) -> Array:
    x = np.asarray(x, np.float64)
    m = np.asarray(m, np.float64)
    return np.asarray(
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + (p * x) * np.log(x)
        - (p * x + q) * np.log(v + x * m),
        dtype=np.float64,
    )


def gamma_gamma_fit(x: Array, m: Array, *, penalty: float = 0.0) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters for customers with x ≥ 1 transactions of mean
    value m > 0."""
    x = np.asarray(x, np.float64)
    m = np.asarray(m, np.float64)

    def negative(log_params: Array) -> float:
        p, q, v = np.exp(log_params)
        value = -float(np.sum(gamma_gamma_log_likelihood(p, q, v, x, m)))
        # The penalty pulls p and q toward 1; v is on the money scale, so it is left free.
        value += penalty * float(log_params[0] ** 2 + log_params[1] ** 2)
        return value if np.isfinite(value) else 1e300

    best = None
    mean = float(np.mean(m)) or 1.0
    for start in ([1.0, 2.0, mean], [5.0, 3.0, mean], [0.5, 5.0, mean * 4]):
        result = optimize.minimize(
            negative,
            np.log(np.asarray(start)),
            method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-9},
        )
        if best is None or result.fun < best.fun:
            best = result
    assert best is not None
    p, q, v = (float(val) for val in np.exp(best.x))
    ll = float(np.sum(gamma_gamma_log_likelihood(p, q, v, x, m)))
    return GammaGamma(p, q, v, ll, bool(best.success))


def expected_spend(model: GammaGamma, x: Array, m: Array) -> Array:
    """E[spend per transaction | x, m̄]; the population mean p·v/(q−1) for x = 0."""
    x = np.asarray(x, np.float64)
    m = np.asarray(m, np.float64)
    if model.q <= 1:
        return np.asarray(np.where(x > 0, m, float(np.mean(m[x > 0])) if np.any(x > 0) else 0.0))
    return np.asarray(
        (model.p * model.v + model.p * x * m) / (model.p * x + model.q - 1), dtype=np.float64
    )


def bgnbd_simulate(
    r: float, alpha: float, a: float, b: float, big_t: Array, rng: np.random.Generator
) -> tuple[Array, Array]:
    """Draw (x, t_x) for customers observed for ``big_t`` each, from the BG/NBD story."""
    big_t = np.asarray(big_t, np.float64)
    lam = rng.gamma(r, 1.0 / alpha, size=big_t.size)
    drop = rng.beta(a, b, size=big_t.size)
    xs = np.zeros(big_t.size)
    txs = np.zeros(big_t.size)
    for i in range(big_t.size):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > big_t[i]:
                break
            xs[i] += 1
            txs[i] = t
            if rng.random() < drop[i]:
                break
    return xs, txs
