"""Optimal accuracy, optimal decision-step cross-entropy, and the cost of imperfect outputs.

Accuracy and cross-entropy (docs/theory.md §4). Let d_i = c_i . x* + b_i be the signed (scaled)
distance of x* to boundary i, and tau_i the sd of c_i . mu(t) around c_i . x* (tau_i =
s_i / sqrt(t), s_i = sqrt(c_i^T Sigma c_i) = sigma |c_i| for isotropic Gaussian noise). The
optimal decision sign(c_i . mu + b_i) is correct with probability

    P(correct | x*) = Phi(|d_i| / tau_i),

and the optimal output Yhat_i = Phi(z_i), z_i | x* ~ N(d_i / tau_i, 1), has expected
binary cross-entropy against the label [d_i > 0]

    CE(x*) = h(|d_i| / tau_i),      h(m) = E_xi[-log Phi(m + xi)],  xi ~ N(0, 1).

Both are averaged over x* ~ U([-1/2, 1/2]^D) and over tasks. Because d_i depends on x* only
through the projection u = c_i . x*, a sum of independent U(-|c_ij|/2, |c_ij|/2), the average is
a 1-D integral against the piecewise-polynomial density of u,

    f(u) = sum_{e in {0,1}^D} (-1)^|e| (u + sum_j a_j/2 - e . a)_+^(D-1) / ((D-1)! prod_j a_j),

a_j = |c_ij|, integrated piece by piece with Gauss-Legendre nodes (split also at the kink
u = -b_i and geometrically around it down to the smallest tau); h is evaluated with
Gauss-Hermite nodes.

Imperfect outputs (docs/theory.md §3): if the probits carry i.i.d. errors of variance v, the
trilateration estimate mu = C^+ [(s / sqrt(t)) z - b] has error covariance
(v / t) C^+ diag(s^2) C^+^T, which is (sigma^2 / t) v (C^T C)^-1 for unit normals.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.special import log_ndtr, ndtr

from theory.designs import noise_scale
from theory.designs import Design

#: Gauss-Legendre nodes per polynomial piece: exact for the piece's polynomial times a smooth
#: factor to ~1e-15 (Phi(-k|u|) is analytic on each piece once split at the kink).
_GL_NODES = 48
#: Gauss-Hermite nodes for h(m): -log Phi grows like z^2/2, so 60 nodes are exact to ~1e-14.
_GH_NODES = 60
#: Coordinates with |c_ij| below this fraction of max_j |c_ij| are treated as width 0 (they move
#: u by at most that fraction of the cube's half-diagonal); avoids dividing by a tiny prod a_j.
_MIN_RELATIVE_WIDTH = 1e-6
#: Largest D handled exactly (the density has 2^D vertex terms).
MAX_EXACT_D = 12


def _projection_quadrature(a: np.ndarray, b: float, resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature for E[g(d)], d = u + b, u = sum_j a_j U_j, U_j ~ U(-1/2, 1/2) independent.

    Returns nodes d_k and weights w_k (density of u times Gauss-Legendre weight) with
    sum_k w_k g(d_k) = E[g(d)] for g smooth on each side of d = 0 on the length scale
    ``resolution``: besides the density's knots and the kink at d = 0, the pieces are split at
    d = +-resolution 2^k, k >= 0, so a factor like Phi(|d| / tau) with tau >= resolution varies
    by O(1) at most across each piece.
    """
    a = a[a > _MIN_RELATIVE_WIDTH * a.max()]
    D = a.size
    corners = np.array(list(itertools.product((0.0, 1.0), repeat=D)))  # (2^D, D)
    shifts = a.sum() / 2.0 - corners @ a
    signs = (-1.0) ** corners.sum(axis=1)
    half = a.sum() / 2.0
    n_refine = max(0, int(np.ceil(np.log2(2.0 * half / resolution))) + 1)
    refine = resolution * 2.0 ** np.arange(n_refine)
    knots = np.unique(np.concatenate([-shifts, [-b], -b + refine, -b - refine]))
    knots = knots[(knots >= -half) & (knots <= half)]
    x, w = np.polynomial.legendre.leggauss(_GL_NODES)
    lo, hi = knots[:-1], knots[1:]
    u = (0.5 * (hi - lo)[:, None] * x + 0.5 * (hi + lo)[:, None]).ravel()
    gl = (0.5 * (hi - lo)[:, None] * w).ravel()
    arg = u[:, None] + shifts
    powers = np.where(arg > 0, np.maximum(arg, 0.0) ** (D - 1), 0.0)
    density = (powers @ signs) / (math.factorial(D - 1) * np.prod(a))
    return u + b, gl * density


def _check_scale(design: Design, scale) -> np.ndarray:
    scale = np.asarray(scale, dtype=float)
    if scale.ndim < 1 or scale.shape[-1] != design.ntask:
        raise ValueError(f"scale must have shape (..., ntask={design.ntask}); got shape {scale.shape}")
    if np.any(~np.isfinite(scale)) or np.any(scale <= 0):
        raise ValueError(f"scale={scale!r} must be finite and > 0")
    if design.D > MAX_EXACT_D:
        raise ValueError(f"D={design.D} exceeds MAX_EXACT_D={MAX_EXACT_D} for the exact projection density")
    return scale


def _average_over_latents(design: Design, scale, per_task) -> np.ndarray:
    """mean_i E_x*[per_task(|d_i| / tau_i)] for tau of shape (..., N); returns shape (...)."""
    tau = _check_scale(design, scale)
    total = np.zeros(tau.shape[:-1])
    for i in range(design.ntask):  # N is small; each task has its own projection density
        d, w = _projection_quadrature(np.abs(design.C[i]), float(design.b[i]), float(tau[..., i].min()))
        total = total + per_task(np.abs(d) / tau[..., i, None]) @ w
    return total / design.ntask


def decision_scale(design: Design, error_variance) -> np.ndarray:
    """tau_i = sqrt(c_i^T V c_i) for an estimator with per-coordinate error variance V (..., D)."""
    v = np.asarray(error_variance, dtype=float)
    if v.ndim < 1 or v.shape[-1] != design.D:
        raise ValueError(f"error_variance must have shape (..., D={design.D}); got shape {v.shape}")
    return np.sqrt(v @ (design.C**2).T)


def accuracy_from_scale(design: Design, scale) -> np.ndarray:
    """Mean over tasks and x* of Phi(|c_i . x* + b_i| / tau_i); ``scale`` = tau, shape (..., N)."""
    return _average_over_latents(design, scale, ndtr)


def cross_entropy_from_scale(design: Design, scale) -> np.ndarray:
    """Mean over tasks and x* of the optimal output's expected cross-entropy h(|d_i| / tau_i), nats."""
    x, w = np.polynomial.hermite.hermgauss(_GH_NODES)

    def h(m):
        return -log_ndtr(m[..., None] + np.sqrt(2.0) * x) @ w / np.sqrt(np.pi)

    return _average_over_latents(design, scale, h)


def optimal_accuracy(design: Design, sigma, t) -> np.ndarray:
    """Accuracy of the optimal agent after t samples, averaged over tasks and x* ~ U(cube).

    Parameters
    ----------
    sigma : float or ndarray (D,), per-step Gaussian noise sd, > 0
    t : float or ndarray, samples seen, > 0

    Returns
    -------
    acc : ndarray, shape of ``t``

    Examples
    --------
    >>> from theory.designs import even_design
    >>> acc = optimal_accuracy(even_design(2), 0.2, [1, 20])
    >>> bool(0.5 < acc[0] < acc[1] < 1)
    True
    """
    return accuracy_from_scale(design, _gaussian_scale(design, sigma, t))


def optimal_cross_entropy(design: Design, sigma, t) -> np.ndarray:
    """Expected decision-step cross-entropy (nats) of the optimal outputs, shape of ``t``."""
    return cross_entropy_from_scale(design, _gaussian_scale(design, sigma, t))


def _gaussian_scale(design: Design, sigma, t) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"t={t!r} must be finite and > 0")
    return noise_scale(design, sigma) / np.sqrt(t)[..., None]


def imperfect_output_covariance(design: Design, sigma, t, v) -> np.ndarray:
    """Error covariance of trilateration from probits with i.i.d. N(0, v) errors.

    cov = (v / t) C^+ diag(s_i^2) C^+^T, = (sigma^2 / t) v (C^T C)^-1 for unit normals and
    isotropic noise: (2/N) sigma^2 v / t times I for the even 2-D design.

    Returns
    -------
    cov : ndarray, shape (D, D)

    Examples
    --------
    >>> from theory.designs import even_design
    >>> cov = imperfect_output_covariance(even_design(4), 0.2, 20, 0.5)
    >>> bool(np.allclose(cov, (0.04 / 20) * 0.5 * (2 / 4) * np.eye(2)))
    True
    """
    if np.linalg.matrix_rank(design.C) < design.D:
        raise ValueError(f"rank(C) < D={design.D}: trilateration does not identify mu, so no finite covariance")
    t = float(t)
    v = float(v)
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"t={t!r} must be finite and > 0")
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"v={v!r} must be finite and >= 0")
    P = np.linalg.pinv(design.C)  # (D, N)
    s2 = noise_scale(design, sigma) ** 2
    return (v / t) * (P * s2) @ P.T
