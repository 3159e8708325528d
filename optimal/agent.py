"""The optimal multi-task agent under a flat prior (docs/theory.md §2).

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

from infra.validate import float_array
from theory.designs import Design, check_design, hard_outputs, noise_scale  # noqa: F401 (re-exported)
from theory.world import as_generator, check_positive_int, check_sigma


def running_mle(X: np.ndarray) -> np.ndarray:
    """mu(t) = (1/t) sum_{s<=t} X(s) for every t = 1..T at once.

    Parameters
    ----------
    X : ndarray, shape (n_trials, T, D), the evidence stream

    Returns
    -------
    mu : ndarray, shape (n_trials, T, D)
    """
    X = float_array("X", X)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n_trials, T, D); got shape {X.shape}")
    t = np.arange(1, X.shape[1] + 1, dtype=float)
    return np.cumsum(X, axis=1) / t[:, None]


def _time_factor(t, lead_shape) -> np.ndarray:
    """sqrt(t) broadcast against an array of shape ``lead_shape + (N,)``."""
    t = float_array("t", t, finite=False)
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
    check_design(design)
    mu = float_array("mu", mu, min_ndim=1, last_dim=design.D, last_name="D")
    check_sigma(sigma, design.D, allow_zero=False)
    return _time_factor(t, mu.shape[:-1]) * (mu @ design.C.T + design.b) / noise_scale(design, sigma)


def log_outputs(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log Yhat, log(1 - Yhat)) = (log Phi(z), log Phi(-z)), accurate for any |z|."""
    z = float_array("z", z, allow_inf=True)
    return log_ndtr(z), log_ndtr(-z)


def outputs(z: np.ndarray) -> np.ndarray:
    """Yhat = Phi(z) as probabilities (they saturate at 0 and 1 for |z| > ~8.3 in float64)."""
    return ndtr(float_array("z", z, allow_inf=True))


def random_filter_agent(D: int, junk_dims: int, rng):
    """A random optimal filter agent: a latent state and a read-out that makes its outputs optimal.

    Z(t) = Q diag(d) v(t) + q,   v(t) = [sqrt(t) mu(t), sqrt(t), junk(t)],   K = D + 1 + junk_dims,
    with Q a random orthogonal matrix, d ~ U(1/2, 2) (so cond(Q diag(d)) <= 4) and q ~ U(-1, 1)^K.
    Its probit read-out W Z + w0, W = [diag(1/s) C, b/s, 0] diag(1/d) Q^T and w0 = -W q, equals the
    optimal probits z = sqrt(t) (C mu + b) / s, while Z mixes mu with junk in every coordinate.

    Returns
    -------
    encode : callable (mu (..., D), t (...), junk (..., junk_dims)) -> Z (..., K)
    readout : callable (design, sigma) -> (W (N, K), w0 (N,))
    K : int, the latent dimension
    """
    D = check_positive_int("D", D)
    junk_dims = check_positive_int("junk_dims", junk_dims, 0)
    rng = as_generator(rng)
    K = D + 1 + junk_dims
    Q, _ = np.linalg.qr(rng.standard_normal((K, K)))
    d = rng.uniform(0.5, 2.0, K)
    q = rng.uniform(-1.0, 1.0, K)
    M = Q * d  # Q diag(d)

    def encode(mu, t, junk):
        root_t = np.broadcast_to(np.sqrt(np.asarray(t, dtype=float))[..., None], mu.shape[:-1] + (1,))
        return np.concatenate([root_t * mu, root_t, junk], axis=-1) @ M.T + q

    def readout(design: Design, sigma):
        if design.D != D:
            raise ValueError(f"design has D={design.D}; the agent was built for D={D}")
        s = noise_scale(design, sigma)
        core = np.concatenate([design.C / s[:, None], (design.b / s)[:, None],
                               np.zeros((design.ntask, junk_dims))], axis=1)
        W = (core / d) @ Q.T
        return W, -W @ q

    return encode, readout, K
