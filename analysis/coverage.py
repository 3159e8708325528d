"""Simulated ensembles and a linear code with known r^2: the models of the interval coverage study.

Ensembles (benchmarks/coverage.py, tests/test_bootstrap.py): K networks x F folds,

    v[k, f] = mu + b_k + e_kf,   b_k = between_sd * z_k,   e_kf ~ N(0, fold_sd^2),

with z_k standard normal, or a standardised non-normal law (mean 0, sd 1) as a robustness check:
``"skewed"`` = -(G - 2) / sqrt(2) with G ~ Gamma(2, 1) (skewness -sqrt(2): a long tail of bad networks,
as r^2 capped near its ceiling has), ``"heavy"`` = T / sqrt(3) with T ~ Student-t with 3 degrees of
freedom (variance 3). The mean over networks of a network's fold mean is mu in every case; the
population *median* of the pooled values is mu for the symmetric laws only.

Single agent: a population of H units codes x* ~ U(-1/2, 1/2)^D linearly, h = W x* + s eps with
eps ~ N(0, I_H), and a fixed linear read-out xhat = A h. The error xhat - x* = (A W - I) x* + s A eps
has (x* and eps independent, Var x* = I/12)

    E ||xhat - x*||^2 = ||A W - I||_F^2 / 12 + s^2 ||A||_F^2,

so the pooled r^2 is 1 - E||xhat - x*||^2 / (D / 12) (:meth:`LinearCode.r2`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from theory.world import LATENT_VARIANCE, as_generator, check_positive_int

EFFECTS = ("normal", "skewed", "heavy")


def standard_effects(shape, effects: str, rng) -> np.ndarray:
    """Network effects with mean 0 and sd 1 from the law ``effects`` (see the module docstring).

    Parameters
    ----------
    shape : tuple of ints
    effects : one of EFFECTS
    rng : seed or numpy Generator

    Returns
    -------
    z : ndarray, shape ``shape``
    """
    rng = as_generator(rng)
    if effects == "normal":
        return rng.standard_normal(shape)
    if effects == "skewed":
        return -(rng.gamma(2.0, 1.0, shape) - 2.0) / np.sqrt(2.0)
    if effects == "heavy":
        return rng.standard_t(3, shape) / np.sqrt(3.0)
    raise ValueError(f"effects={effects!r} must be one of {EFFECTS}")


def simulate_ensembles(n: int, K: int, F: int, between_sd: float, fold_sd: float, rng, mu: float = 0.0,
                       effects: str = "normal") -> np.ndarray:
    """n independent ensembles of K networks x F folds, v = mu + between_sd z_k + fold_sd eps_kf.

    Returns
    -------
    values : ndarray, shape (n, K, F)
    """
    n, K, F = (check_positive_int(name, x) for name, x in (("n", n), ("K", K), ("F", F)))
    for name, sd in (("between_sd", between_sd), ("fold_sd", fold_sd)):
        if not (np.isfinite(sd) and sd >= 0):
            raise ValueError(f"{name}={sd!r} must be finite and >= 0")
    rng = as_generator(rng)
    b = between_sd * standard_effects((n, K, 1), effects, rng)
    return mu + b + fold_sd * rng.standard_normal((n, K, F))


def pooled_median(between_sd: float, fold_sd: float, effects: str, mu: float = 0.0) -> float:
    """Population median of one pooled value mu + b + e (the estimand of a median over networks x folds).

    Solved from P(b + e <= m) = 1/2 with that cdf integrated over b's density (scipy.integrate.quad);
    mu for the symmetric laws.
    """
    if effects in ("normal", "heavy") or between_sd == 0:
        return float(mu)
    if effects != "skewed":
        raise ValueError(f"effects={effects!r} must be one of {EFFECTS}")
    from scipy import integrate, optimize
    # b = between_sd * (2 - G) / sqrt(2), G ~ Gamma(2): P(b + e <= m) = E_G[Phi((m - b(G)) / fold_sd)]
    def cdf(m):
        def integrand(g):
            b = between_sd * (2 - g) / np.sqrt(2)
            inner = stats.norm.cdf((m - b) / fold_sd) if fold_sd > 0 else float(b <= m)
            return inner * stats.gamma.pdf(g, 2.0)
        return integrate.quad(integrand, 0, np.inf, limit=200)[0]
    span = 10 * (between_sd + fold_sd)
    return float(mu + optimize.brentq(lambda m: cdf(m) - 0.5, -span, span, xtol=1e-12))


@dataclass(frozen=True)
class LinearCode:
    """h = W x* + noise_sd eps (x* ~ U(-1/2, 1/2)^D, eps ~ N(0, I_H)) read out by xhat = A h.

    ``W`` : ndarray, shape (H, D); ``A`` : ndarray, shape (D, H) (see :func:`wiener_readout`).
    """

    W: np.ndarray
    A: np.ndarray
    noise_sd: float

    def __post_init__(self):
        H, D = np.shape(self.W)
        if np.shape(self.A) != (D, H):
            raise ValueError(f"A must have shape (D, H) = {(D, H)}; got {np.shape(self.A)}")
        if not (np.isfinite(self.noise_sd) and self.noise_sd >= 0):
            raise ValueError(f"noise_sd={self.noise_sd!r} must be finite and >= 0")

    @property
    def D(self) -> int:
        return int(np.shape(self.W)[1])

    def expected_sq_err(self) -> float:
        """E ||xhat - x*||^2 = ||A W - I||_F^2 Var(x*) + noise_sd^2 ||A||_F^2."""
        bias = self.A @ self.W - np.eye(self.D)
        return float(LATENT_VARIANCE * np.sum(bias ** 2) + self.noise_sd ** 2 * np.sum(self.A ** 2))

    def r2(self) -> float:
        """Population pooled r^2 = 1 - E||xhat - x*||^2 / (D Var(x*))."""
        return 1.0 - self.expected_sq_err() / (self.D * LATENT_VARIANCE)

    def sample(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """n trials: (predictions xhat, targets x*), each of shape (n, D)."""
        n = check_positive_int("n", n)
        rng = as_generator(rng)
        H = np.shape(self.W)[0]
        x = rng.uniform(-0.5, 0.5, (n, self.D))
        h = x @ self.W.T + self.noise_sd * rng.standard_normal((n, H))
        return h @ self.A.T, x


def wiener_readout(W, noise_sd: float) -> np.ndarray:
    """The linear read-out of least population squared error: A = Var(x*) W^T (Var(x*) W W^T + s^2 I)^-1.

    Returns
    -------
    A : ndarray, shape (D, H)
    """
    W = np.asarray(W, dtype=float)
    cov_h = LATENT_VARIANCE * W @ W.T + noise_sd ** 2 * np.eye(W.shape[0])
    return LATENT_VARIANCE * np.linalg.solve(cov_h, W).T


def coverage_band(n_replicates: int, level: float, n_cells: int, false_alarm: float) -> tuple[int, int]:
    """Hit counts a level-``level`` interval may produce in n replicates without alarm, over n_cells cells.

    Exact binomial: hits ~ Binomial(n, level) in each cell for an exact interval; the band holds the
    central 1 - false_alarm / n_cells of that law, so the chance that any of the n_cells cells falls
    outside is <= false_alarm (Bonferroni).

    Returns
    -------
    low, high : ints, accepted hit counts are low <= hits <= high
    """
    lo, hi = stats.binom.interval(1 - false_alarm / n_cells, n_replicates, level)
    return int(lo), int(hi)
