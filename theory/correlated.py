"""The protocol ceiling under correlated latents (paper Fig. S3b; prior :class:`theory.priors.CopulaPrior`).

x* = Phi(z) - 1/2, z ~ N(0, [[1, rho], [rho, 1]]), mu = x* + N(0, sigma^2/t I). The protocol fits a
least-squares decoder with intercept on trials from the prior restricted to the training region
of a fold and scores it on the held-out region; in the large-sample limit its test MSE is that
of :func:`theory.ceilings._decoder_test_mse` with the restricted prior's moments in place of the
uniform ones, and the reported ceiling is the mean over the four quadrant folds.

Moments of one quadrant. x*_j has the sign of z_j, so with signs (a, b) of the quadrant,
(a z1, b z2) is standard bivariate normal with correlation r = a b rho restricted to the positive
quadrant; Phi(z) - 1/2 is odd, so x*_j = a_j u(a_j z_j). Writing Q+ for the positive quadrant:

    p(r)   = P(Q+)               = 1/4 + arcsin(r) / (2 pi)                       (Sheppard)
    m1(r)  = E[u_1 1{Q+}]        = 1/16 + arcsin(r / sqrt 2) / (4 pi)
    m2(r)  = E[u_1^2 1{Q+}]      = 1/48 + int_0^inf u(z)^2 phi(z) (Phi(c z) - 1/2) dz,  c = r / sqrt(1 - r^2)
    m12(r) = E[u_1 u_2 1{Q+}]    = 1/64 + int int_{Q+} u(z1) u(z2) [phi_r(z1, z2) - phi(z1) phi(z2)] dz

with u(z) = Phi(z) - 1/2. m1 is a trivariate normal orthant probability (E[Phi(z1) 1{Q+}] =
P(W < z1, z1 > 0, z2 > 0), W ~ N(0, 1) independent, and the orthant identity 1/8 + sum arcsin / (4 pi));
m2 and m12 are 4-variate orthant probabilities, which have no elementary closed form in general, so their
departures from rho = 0 are integrated by composite Gauss-Legendre quadrature in z (1-D and 2-D,
truncated at |z| = 9 where phi < 1e-17). At rho = 0 the corrections vanish identically and the
moments are the uniform ones (1/4, 1/16, 1/48, 1/64): the ceiling reduces to
:func:`theory.ceilings.r2_protocol`. The quadrant of signs (a, b) then has E[x 1{Q}] = (a, b) m1(r)
and E[x x^T 1{Q}] = [[m2, a b m12], [a b m12, m2]]; a region (a union of quadrants) sums these.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import ndtr

from theory.ceilings import _check_variance, _decoder_test_mse, r2_from_mse, reference_variance
from theory.folds import Fold, ood_folds, orthant_signs
from theory.priors import CopulaPrior, factor_correlation, quadrant_probability

#: Truncation of the z integrals: phi(9) ~ 1e-18, below float64 resolution of the moments.
Z_MAX = 9.0
#: Composite Gauss-Legendre: panels of width Z_MAX / PANELS with NODES nodes each. The narrowest
#: feature is the conditional sd sqrt(1 - rho^2) (0.14 at rho = 0.99), several panels wide.
PANELS, NODES = 24, 10


def _nodes() -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on [0, Z_MAX], shape (PANELS * NODES,)."""
    g, w = leggauss(NODES)
    h = Z_MAX / PANELS
    left = h * np.arange(PANELS)[:, None]
    return (left + h * (g + 1) / 2).ravel(), np.broadcast_to(h * w / 2, (PANELS, NODES)).ravel()


def positive_quadrant_moments(r: float) -> tuple[float, float, float, float]:
    """(p, m1, m2, m12) of the positive quadrant at correlation r (see the module docstring)."""
    r = float(r)
    if not (np.isfinite(r) and -1.0 < r < 1.0):
        raise ValueError(f"r={r!r} must be a finite number with -1 < r < 1")
    return _positive_quadrant_moments(r)


@lru_cache(maxsize=1024)
def _positive_quadrant_moments(r: float) -> tuple[float, float, float, float]:
    p = float(quadrant_probability(r, same_sign=True))
    m1 = 1.0 / 16.0 + np.arcsin(r / np.sqrt(2.0)) / (4.0 * np.pi)
    z, w = _nodes()
    u, phi = ndtr(z) - 0.5, np.exp(-z**2 / 2) / np.sqrt(2 * np.pi)
    q = 1.0 - r**2
    m2 = 1.0 / 48.0 + np.sum(w * u**2 * phi * (ndtr(r / np.sqrt(q) * z) - 0.5))
    z1, z2 = z[:, None], z[None, :]
    phi_r = np.exp(-(z1**2 - 2 * r * z1 * z2 + z2**2) / (2 * q)) / (2 * np.pi * np.sqrt(q))
    excess = phi_r - phi[:, None] * phi[None, :]
    m12 = 1.0 / 64.0 + (w * u) @ excess @ (w * u)
    return p, float(m1), float(m2), float(m12)


def _region_orthants(fold: Fold, part: str) -> np.ndarray:
    """Quadrants (orthant indices 0..3) making up the fold's region."""
    if fold.D != 2:
        raise ValueError(f"the correlated prior is 2-D; the fold has D={fold.D}")
    if part not in ("train", "test"):
        raise ValueError(f"part={part!r} must be 'train' or 'test'")
    k = np.arange(4)
    test = (k == fold.index) if fold.scheme == "orthant" else ((k >> fold.index) & 1).astype(bool)
    return k[test] if part == "test" else k[~test]


def region_moments_copula(rho: float, fold: Fold, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of x* under the copula prior restricted to the fold's region.

    Returns
    -------
    m : ndarray, shape (2,);  S : ndarray, shape (2, 2)
    """
    prior = CopulaPrior(float(rho))  # validates rho
    mass, first, second = 0.0, np.zeros(2), np.zeros((2, 2))
    for e in orthant_signs(_region_orthants(fold, part), 2):  # at most 3 quadrants
        p, m1, m2, m12 = positive_quadrant_moments(e[0] * e[1] * prior.rho)
        mass += p
        first = first + e * m1
        second = second + np.array([[m2, e[0] * e[1] * m12], [e[0] * e[1] * m12, m2]])
    m = first / mass
    return m, second / mass - np.outer(m, m)


def protocol_mse_copula(error_variance, fold: Fold, rho: float) -> np.ndarray:
    """Large-sample per-coordinate test MSE of the protocol's decoder under the copula prior.

    Parameters
    ----------
    error_variance : ndarray, shape (..., 2), variance of mu - x* per coordinate (independent of x*)

    Returns
    -------
    mse : ndarray, shape (..., 2)
    """
    v = _check_variance(error_variance, 2)
    return _decoder_test_mse(v, *region_moments_copula(rho, fold, "train"), *region_moments_copula(rho, fold, "test"))


def r2_protocol_copula(error_variance, fold: Fold, rho: float, normalisation: str = "fullrange") -> np.ndarray:
    """Pooled r^2 of the protocol on one fold under the copula prior.

    ``fullrange`` divides by 1/12 (each marginal is still U(-1/2, 1/2)); ``heldout`` by the held-out
    region's per-coordinate variance under this prior, pooled.
    """
    mse = protocol_mse_copula(error_variance, fold, rho).mean(axis=-1)
    if normalisation == "heldout":
        return r2_from_mse(mse, float(np.trace(region_moments_copula(rho, fold, "test")[1]) / 2.0))
    return r2_from_mse(mse, reference_variance(fold, normalisation))


def protocol_ceiling(sigma: float, t: float, rho: float, normalisation: str = "fullrange") -> float:
    """The S3b theory line: mean over the four quadrant folds of r2_protocol_copula(sigma^2 / t).

    Examples
    --------
    >>> from theory.ceilings import r2_protocol
    >>> uniform = np.mean([r2_protocol([0.002, 0.002], f) for f in ood_folds(2)])
    >>> bool(abs(protocol_ceiling(0.2, 20, 0.0) - uniform) < 1e-15)
    True
    """
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma={sigma!r} must be finite and >= 0")
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"t={t!r} must be finite and > 0")
    v = np.full(2, sigma**2 / t)
    return float(np.mean([r2_protocol_copula(v, f, rho, normalisation) for f in ood_folds(2, "orthant")]))


def protocol_rows(rhos, sigma: float, t: float) -> list[dict]:
    """One row per rho: ``rho``, ``factor_correlation``, ``sigma``, ``t``, ``r2_protocol`` (full-range
    normalisation, mean over the quadrant folds) and ``r2_protocol_heldout``."""
    return [{"rho": float(rho), "factor_correlation": float(factor_correlation(rho)), "sigma": float(sigma),
             "t": float(t), "r2_protocol": protocol_ceiling(sigma, t, rho),
             "r2_protocol_heldout": protocol_ceiling(sigma, t, rho, "heldout")} for rho in rhos]
