"""The Bayes bound under each noise model of :mod:`theory.noise` (uniform box prior, docs/theory.md §4).

Whose bound: as :mod:`theory.bayes_bound`, the r^2 of E[x* | evidence], which no decoder of any state
can beat beyond Monte-Carlo noise; a state that has lost information does worse.

- ``gaussian``, ``anisotropic``: mu_d ~ N(x*_d, sigma_d^2 / t) is sufficient; :func:`theory.bayes_bound.r2_bayes`
  with the vector v.
- ``ar1``: the evidence of coordinate d is x*_d 1 + eps, eps ~ N(0, sigma_d^2 R), R_rs = a^|r-s|. Its
  log-likelihood is -(X - x 1)^T R^-1 (X - x 1) / (2 sigma^2) = const + x 1^T R^-1 X / sigma^2
  - x^2 1^T R^-1 1 / (2 sigma^2): Gaussian in x with mean the GLS estimate and variance
  sigma^2 / 1^T R^-1 1 = sigma^2 (1 + a) / (t (1 - a) + 2 a) (docs/theory.md §4, noise variants). The
  GLS mean is sufficient, and the bound is the Gaussian one at that variance (not at the sample mean's).
- ``gumbel`` (scale beta): log p(X | x) = sum_s [-(X_s - x)/beta - exp(-(X_s - x)/beta)] - t log beta
  = const + t x / beta - exp(x / beta) S, S = sum_s exp(-X_s / beta). S alone is sufficient, and
  exp(-eps_s / beta) ~ Exp(1) for eps_s ~ Gumbel(0, beta), so W = log S = -u + y with u = x / beta and
  y = log G, G ~ Gamma(t, 1): a location family with the log-gamma density f(y) = exp(t y - e^y) / Gamma(t).
  The Bayes MSE on u in [A, B] (box [L, H]) is, by Fubini,

      MSE_u = 1 / (B - A) int dW int_A^B f(W + u) (u - m(W))^2 du,
      m(W) = int_L^H u f(W + u) du / int_L^H f(W + u) du,

  computed by composite Gauss-Legendre in u and W (deterministic quadrature of the likelihood, no
  sampling), panels no wider than half the sd of y; the MSE in x is beta^2 MSE_u.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln, polygamma

from infra.validate import instance_of
from theory.bayes_bound import _legendre, bayes_mse, bayes_reference_variance, region_intervals, sufficient_variance
from theory.folds import Fold
from theory.noise import NoiseModel
from theory.world import check_positive_int

#: log f(y) below this at the ends of the y range: the log-gamma tails beyond hold < ~1e-18.
LOG_FLOOR = np.log(1e-18)
#: Gauss-Legendre nodes per panel, and panels per sd of y (panel width sd / PER_SD).
NODES, PER_SD = 12, 2.0
#: Refuse quadratures larger than this many (W, u) node pairs (memory of the likelihood matrix).
MAX_PAIRS = 20_000_000


def _log_f(y, t: int) -> np.ndarray:
    """log of the log-gamma density: t y - e^y - log Gamma(t)."""
    return t * y - np.exp(y) - gammaln(t)


@lru_cache(maxsize=64)
def _y_range(t: int) -> tuple[float, float]:
    """Where log f(y) = LOG_FLOOR on either side of its mode y = log t."""
    mode = np.log(t)
    g = lambda y: _log_f(y, t) - LOG_FLOOR
    lo = brentq(g, mode - 50.0 - 50.0 / t, mode)
    hi = brentq(g, mode, mode + 10.0)
    return float(lo), float(hi)


def _composite(edges: np.ndarray, width: float, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on consecutive intervals between ``edges``, each cut into panels <= width."""
    g, w = _legendre(nodes)
    xs, ws = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        if b <= a:
            continue
        k = int(np.ceil((b - a) / width))
        left = a + (b - a) / k * np.arange(k)[:, None]
        xs.append((left + (b - a) / k * (g + 1.0) / 2.0).ravel())
        ws.append(np.broadcast_to((b - a) / k * w / 2.0, (k, nodes)).ravel())
    return np.concatenate(xs), np.concatenate(ws)


@lru_cache(maxsize=1024)
def gumbel_interval_mse(beta: float, t: int, lo: float, hi: float, low: float = -0.5, high: float = 0.5) -> float:
    """Bayes MSE of one coordinate on x in [lo, hi] under Gumbel(0, beta) noise, t samples, prior U[low, high]."""
    if not (np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta={beta!r} must be finite and > 0")
    t = check_positive_int("t", t)
    if not low <= lo < hi <= high:
        raise ValueError(f"[lo, hi]=[{lo}, {hi}] must be a sub-interval of [low, high]=[{low}, {high}]")
    width = float(np.sqrt(polygamma(1, t))) / PER_SD
    L, A, B, H = low / beta, lo / beta, hi / beta, high / beta
    y_lo, y_hi = _y_range(t)
    u, wu = _composite(np.array([L, A, B, H]), width, NODES)
    W, wW = _composite(np.array([y_lo - H, y_hi - L]), width, NODES)
    if u.size * W.size > MAX_PAIRS:
        raise ValueError(f"beta={beta}, t={t}: {u.size * W.size} quadrature pairs exceed {MAX_PAIRS}")
    F = np.exp(_log_f(W[:, None] + u[None, :], t)) * wu  # (nW, nu): f(W + u) du
    m = (F @ u) / np.maximum(F.sum(axis=1), np.finfo(float).tiny)
    region = (u >= A) & (u <= B)
    inner = (F[:, region] * (u[region] - m[:, None]) ** 2).sum(axis=1)
    return float(beta**2 * np.sum(wW * inner) / (B - A))


def bayes_mse_noise(model: NoiseModel, t: int, fold: Fold | None = None) -> np.ndarray:
    """Per-coordinate Bayes MSE on the fold's held-out region of the cube (whole cube if None), shape (D,)."""
    instance_of("model", model, NoiseModel)
    t = check_positive_int("t", t)
    if model.kind != "gumbel":
        return bayes_mse(sufficient_variance(model, t), fold)
    lo, hi = region_intervals(fold, model.D, -0.5, 0.5)
    return np.array([gumbel_interval_mse(float(b), t, float(a), float(c)) for b, a, c in zip(model.sigma, lo, hi)])


def r2_bayes_noise(model: NoiseModel, t: int, fold: Fold | None = None, normalisation: str = "fullrange") -> float:
    """The Bayes bound under a noise model: pooled r^2 of E[x* | X(1..t)] on the fold's held-out region.

    Compare with :func:`theory.ceilings.r2_ceiling` of :func:`theory.noise.estimator_variance` (the linear
    line on the sample mean) and, for AR(1), of the GLS variance.

    Examples
    --------
    >>> from theory.noise import make_noise
    >>> r2_bayes_noise(make_noise("gumbel", 0.2, D=2), 20) > 1 - 12 * (np.pi**2 * 0.04 / 6) / 20
    True
    """
    mse = bayes_mse_noise(model, t, fold)
    return float(1.0 - mse.mean() / bayes_reference_variance(fold, normalisation, model.D))
