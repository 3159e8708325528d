"""The optimal multi-task agent under a flat prior (SPEC section 2).

Sufficient statistic: the running maximum-likelihood estimate
    mu(t) = (1/t) sum_{s <= t} X(s),       mu(t) | x* ~ N(x*, Sigma / t),
with Sigma = diag(sigma^2). The optimal output for task i is
    Yhat_i(t) = P(c_i . x* + b_i > 0 | X(1..t)) = Phi(z_i(t)),
    z_i(t) = sqrt(t) (c_i . mu(t) + b_i) / s_i,      s_i = sqrt(c_i^T Sigma c_i),
which is sqrt(t)(c_i . mu + b_i)/(sigma |c_i|) for isotropic noise. The probit z_i is a scaled
signed distance of mu(t) to boundary i (probit linearity).

Probabilities round to exactly 0 or 1 in float64 once |z| > ~8.3 (the reference settings reach
|z| ~ 11), so the outputs are carried as probits or as log-probabilities
(log Yhat, log(1 - Yhat)) = (log Phi(z), log Phi(-z)), never as probabilities.
"""
from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtr

from theory.designs import Design
from theory.world import check_sigma


def running_mle(X: np.ndarray) -> np.ndarray:
    """mu(t) = (1/t) sum_{s<=t} X(s) for every t = 1..T at once.

    Parameters
    ----------
    X : ndarray, shape (n_trials, T, D), the evidence stream

    Returns
    -------
    mu : ndarray, shape (n_trials, T, D)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n_trials, T, D); got shape {X.shape}")
    t = np.arange(1, X.shape[1] + 1, dtype=float)
    return np.cumsum(X, axis=1) / t[:, None]


def noise_scale(design: Design, sigma) -> np.ndarray:
    """s_i = sqrt(c_i^T diag(sigma^2) c_i), the sd of c_i . X(s) around c_i . x* (latent units).

    Returns
    -------
    s : ndarray, shape (N,); equals sigma |c_i| for scalar sigma
    """
    s = check_sigma(sigma, design.D)
    return np.sqrt((design.C**2) @ np.broadcast_to(s**2, (design.D,)))


def _time_factor(t, lead_shape) -> np.ndarray:
    """sqrt(t) broadcast against an array of shape ``lead_shape + (N,)``."""
    t = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"t must be positive and finite; got {t!r}")
    try:
        np.broadcast_shapes(t.shape, lead_shape)
    except ValueError:
        raise ValueError(f"t of shape {t.shape} does not broadcast against {lead_shape}") from None
    return np.sqrt(t)[..., None]


def optimal_probits(mu: np.ndarray, design: Design, sigma, t) -> np.ndarray:
    """z_i = sqrt(t) (c_i . mu + b_i) / s_i, the probit of the optimal output.

    Parameters
    ----------
    mu : ndarray, shape (..., D), the running MLE
    sigma : float or ndarray (D,), per-step noise sd, > 0
    t : number of samples behind ``mu``; scalar or broadcastable to ``mu.shape[:-1]``
        (e.g. ``np.arange(1, T + 1)`` for ``mu`` of shape (n, T, D))

    Returns
    -------
    z : ndarray, shape (..., N)
    """
    mu = np.asarray(mu, dtype=float)
    if mu.shape[-1] != design.D:
        raise ValueError(f"mu has last dimension {mu.shape[-1]}; the design has D={design.D}")
    check_sigma(sigma, design.D, allow_zero=False)
    return _time_factor(t, mu.shape[:-1]) * (mu @ design.C.T + design.b) / noise_scale(design, sigma)


def log_outputs(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log Yhat, log(1 - Yhat)) = (log Phi(z), log Phi(-z)), accurate for any |z|."""
    z = np.asarray(z, dtype=float)
    return log_ndtr(z), log_ndtr(-z)


def outputs(z: np.ndarray) -> np.ndarray:
    """Yhat = Phi(z) as probabilities (they saturate at 0 and 1 for |z| > ~8.3 in float64)."""
    return ndtr(np.asarray(z, dtype=float))


def hard_outputs(x: np.ndarray, design: Design) -> np.ndarray:
    """The sigma = 0 limit of the optimal outputs: the step function [c_i . x + b_i > 0] as 0/1.

    Returns
    -------
    y : ndarray of float, shape (..., N)
    """
    x = np.asarray(x, dtype=float)
    return (x @ design.C.T + design.b > 0).astype(float)
