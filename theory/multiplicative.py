"""Multiplicative boundaries x1 x2 > +-thr per quadrant: the reference's nonlinear variant.

OUTSIDE THEOREM 3.1. The theorem covers affine boundaries c_i . x + b_i = 0; these boundaries are
hyperbolas, so nothing here is a consequence of it: the variant tests robustness only.

The task set (the reference's ``MultiplyClassificationFull`` with its default thresholds, read in
github:panvaf/DisentangleRes ``tasks.py``): N = 4K tasks in four blocks of K, one block per paper
quadrant Q1 (+, +), Q2 (-, +), Q3 (-, -), Q4 (+, -) in that order, with thresholds

    thr_k = 0.2 * linspace(1 / (2N), 1, K)_k,    k = 1..K.

Task k of the block with signs (a, b) is on when x* is in that quadrant and |x1 x2| > thr_k:

    y = [a x1 > 0] [b x2 > thr_k / |x1|]      (the reference writes x1 x2 > thr for Q1, Q3 and
                                                x1 x2 < -thr for Q2, Q4, both inside the quadrant).

The optimal outputs under the Gaussian posterior of the running mean (flat prior, as for the
affine tasks): x ~ N(mu, s^2 I), s = sigma / sqrt(t), with m1 = a mu1, m2 = b mu2, r = sqrt(thr),

    P(y = 1 | mu) = int_{u > 0, v > 0, u v > thr} phi_s(u - m1) phi_s(v - m2) du dv
                  = int_r^inf phi_s(u - m1) Phi((m2 - thr/u) / s) du
                  + int_r^inf phi_s(v - m2) [Phi((r - m1) / s) - Phi((thr/v - m1) / s)] dv,

splitting the region at the diagonal point (r, r) so that in both 1-D integrals |d(thr/u)/du| <= 1
(no feature narrower than s). Each is a composite Gauss-Legendre sum over u in r + [0, 1] * window,
window the part of mean +- 9 s above r; at thr = 0 the sum is Phi(m1/s) Phi(m2/s), the quadrant
probability. :func:`label_probability_mc` is the Monte-Carlo twin (posterior draws).
"""
from __future__ import annotations

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import ndtr

from theory.world import as_generator, check_positive_int

#: Quadrant signs (a, b) of the four task blocks, in the reference's order Q1, Q2, Q3, Q4.
BLOCK_SIGNS = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
#: Half-width of the Gaussian window in s units: phi(9) ~ 1e-18.
WINDOW = 9.0
#: Composite Gauss-Legendre over the window: panels of 2.25 s, 12 nodes each.
PANELS, NODES = 8, 12
#: Trials per vectorised chunk (bounds memory at ~chunk * 4K * PANELS * NODES floats).
CHUNK = 2048


def reference_thresholds(ntask: int) -> np.ndarray:
    """The reference's default thresholds 0.2 linspace(1/(2N), 1, N/4), shape (N/4,); N % 4 == 0."""
    ntask = check_positive_int("ntask", ntask)
    if ntask % 4:
        raise ValueError(f"ntask={ntask} must be a multiple of 4 (one block of thresholds per quadrant)")
    return 0.2 * np.linspace(1.0 / (2 * ntask), 1.0, ntask // 4)


def _check_thresholds(thresholds) -> np.ndarray:
    thr = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if thr.ndim != 1 or np.any(~np.isfinite(thr)) or np.any(thr < 0):
        raise ValueError(f"thresholds={thresholds!r} must be a 1-D array of finite values >= 0")
    return thr


def multiplicative_labels(x, thresholds) -> np.ndarray:
    """Task labels, shape (..., 4K) (blocks Q1, Q2, Q3, Q4 of K), for x of shape (..., 2)."""
    x = np.asarray(x, dtype=float)
    if x.shape[-1] != 2:
        raise ValueError(f"x must have shape (..., 2); got shape {x.shape}")
    thr = _check_thresholds(thresholds)
    signed = x[..., None, :] * BLOCK_SIGNS  # (..., 4, 2): (a x1, b x2) per block
    inside = (signed[..., 0] > 0) & (signed[..., 1] > 0)
    y = inside[..., None] & (np.abs(x[..., 0] * x[..., 1])[..., None, None] > thr)  # (..., 4, K)
    return y.reshape(*x.shape[:-1], 4 * len(thr))


def label_probability(mu, s, thresholds) -> np.ndarray:
    """P(task on | mu) for every task under x ~ N(mu, s^2 I) (module docstring), by quadrature.

    Parameters
    ----------
    mu : ndarray, shape (n, 2), posterior means (running means of the evidence)
    s : float > 0, posterior sd sigma / sqrt(t)
    thresholds : ndarray, shape (K,)

    Returns
    -------
    p : ndarray, shape (n, 4K), blocks Q1, Q2, Q3, Q4
    """
    mu = np.asarray(mu, dtype=float)
    if mu.ndim != 2 or mu.shape[1] != 2 or not np.all(np.isfinite(mu)):
        raise ValueError(f"mu must be a finite array of shape (n, 2); got shape {mu.shape}")
    s = float(s)
    if not (np.isfinite(s) and s > 0):
        raise ValueError(f"s={s!r} must be finite and > 0")
    thr = _check_thresholds(thresholds)
    out = [_label_probability(mu[i:i + CHUNK], s, thr) for i in range(0, len(mu), CHUNK)]
    return np.concatenate(out).reshape(len(mu), 4 * len(thr))


def _label_probability(mu, s, thr) -> np.ndarray:
    g, w = leggauss(NODES)
    t = ((np.arange(PANELS)[:, None] + (g + 1) / 2) / PANELS).ravel()  # nodes on [0, 1]
    w = np.tile(w / (2 * PANELS), PANELS)
    m = mu[:, None, :] * BLOCK_SIGNS  # (n, 4, 2): (m1, m2) per block
    m1, m2 = m[..., 0, None], m[..., 1, None]  # (n, 4, 1), broadcast against thr (K,)
    r = np.sqrt(thr)

    def tail(center, other_term):
        """int_r^inf phi_s(u - center) other_term(u) du on the window above r: shape (n, 4, K)."""
        lo = np.maximum(r, center - WINDOW * s)
        width = np.maximum(r, center + WINDOW * s) - lo  # 0 when the window lies below r
        u = lo[..., None] + width[..., None] * t  # (n, 4, K, nodes)
        u = np.where(width[..., None] > 0, u, 1.0)  # empty window (weight 0): keep thr / u finite
        dens = np.exp(-0.5 * ((u - center[..., None]) / s) ** 2) / (s * np.sqrt(2 * np.pi))
        return width * np.sum(w * dens * other_term(u), axis=-1)

    part1 = tail(m1, lambda u: ndtr((m2[..., None] - thr[:, None] / u) / s))
    part2 = tail(m2, lambda v: ndtr((r[:, None] - m1[..., None]) / s) - ndtr((thr[:, None] / v - m1[..., None]) / s))
    return np.clip(part1 + part2, 0.0, 1.0)


def label_probability_mc(mu, s, thresholds, rng, n_samples: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """Monte-Carlo twin of :func:`label_probability`: the fraction of posterior draws
    x ~ N(mu, s^2 I) whose label is on, and its binomial standard error.

    Returns
    -------
    p, se : ndarray, shape (n, 4K) each
    """
    mu = np.asarray(mu, dtype=float)
    n_samples = check_positive_int("n_samples", n_samples, minimum=2)
    x = mu[:, None, :] + float(s) * as_generator(rng).standard_normal((mu.shape[0], n_samples, 2))
    p = multiplicative_labels(x, thresholds).mean(axis=1)
    return p, np.sqrt(p * (1 - p) / n_samples)
