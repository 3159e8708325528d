"""Trilateration: recover mu(t) from the outputs of an optimal agent (docs/theory.md §3).

With s_i = sqrt(c_i^T Sigma c_i) (= sigma |c_i| for isotropic noise) and probits z = Phi^-1(Yhat),
    C mu(t) + b = (s / sqrt(t)) * z      (element-wise),
so for rank(C) = D the unique solution is
    mu(t) = C^+ [ (s / sqrt(t)) * z - b ],      C^+ = (C^T C)^-1 C^T.
For rank(C) < D, C^+ (the Moore-Penrose pseudo-inverse) returns the projection of mu onto the row
space of C: the part that is identified.

``sigma`` is a scalar or one sd per axis (anisotropic noise); for an agent whose estimate has the
per-axis error variance v(t) (AR(1) GLS, Gumbel posterior: :mod:`optimal.estimates`), pass
sigma = sqrt(t v), :func:`optimal.estimates.matched_sigma`.

Theorem 3.1: if the outputs come from a latent state, Yhat = Phi(W Z + w0), then
    mu(t) = (1/sqrt(t)) C^+ (s * (W Z + w0)) - C^+ b,
an affine function of Z(t).

Outputs may be given as log-probabilities; the probit is then computed on the smaller tail with
``scipy.special.ndtri_exp`` and refined by one Newton step on log Phi, which brings the round
trip z -> log Phi(z) -> z to within 2 eps (1 + |z|) for |z| up to 1e12 (ndtri_exp alone is off by
up to ~3000 eps (1 + |z|) for |z| in 100..10^4).
"""
from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtri_exp

from optimal.agent import _time_factor, noise_scale
from theory.identifiability import diagnose
from infra.validate import float_array
from theory.designs import Design, check_design
from theory.world import check_sigma

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
EPS = np.finfo(float).eps
#: Beyond this |z| (lower tail) the Newton slope phi/Phi comes from the Mills-ratio expansion.
MILLS_Z = 1e4
#: Safety factor over first-order rounding bounds (each quantity takes a few flops).
ROUNDING_FACTOR = 16


def probit_from_log_cdf(log_p: np.ndarray) -> np.ndarray:
    """z = Phi^-1(exp(log_p)) for log_p <= 0, accurate in the far lower tail.

    One Newton step on f(z) = log Phi(z) - log_p, with f'(z) = phi(z) / Phi(z), polishes
    ``ndtri_exp``.
    """
    log_p = float_array("log_p", log_p, allow_inf=True)
    z = ndtri_exp(log_p)
    finite = np.isfinite(z)
    zf = np.where(finite, z, 0.0)
    log_cdf = log_ndtr(zf)
    # f'(z) = phi(z) / Phi(z). Far in the lower tail -z^2/2 - log Phi(z) cancels (both ~ z^2/2, an
    # absolute error eps z^2 that exceeds 1 beyond |z| ~ 1e8), so there the Mills-ratio expansion
    # phi / Phi = -z / (1 - 1/z^2 + 3/z^4 - ...) is used; its truncation (3/z^4 < 1e-15) is below eps.
    far = zf < -MILLS_Z
    slope = np.empty_like(zf)
    slope[~far] = np.exp(-0.5 * zf[~far] ** 2 - _LOG_SQRT_2PI - log_cdf[~far])
    slope[far] = -zf[far] / (1.0 - 1.0 / zf[far] ** 2)
    return np.where(finite, zf - (log_cdf - log_p) / slope, z)


def probits_from_log_outputs(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """Probits z = Phi^-1(Yhat) from log Yhat and log(1 - Yhat), using the smaller tail.

    For Yhat < 1/2 invert log Yhat; otherwise z = -Phi^-1(1 - Yhat) from log(1 - Yhat), so
    neither side ever rounds to log 1 = 0.

    Parameters
    ----------
    log_p, log_q : ndarray, same shape, <= 0

    Returns
    -------
    z : ndarray, same shape
    """
    log_p, log_q = np.broadcast_arrays(float_array("log_p", log_p, finite=False),
                                       float_array("log_q", log_q, finite=False))
    if np.any(np.isnan(log_p)) or np.any(np.isnan(log_q)):
        raise ValueError("log-outputs contain NaN")
    if np.any(log_p > 0) or np.any(log_q > 0):
        raise ValueError("log-outputs must be <= 0 (they are log-probabilities)")
    lower = log_p < log_q
    z_tail = probit_from_log_cdf(np.where(lower, log_p, log_q))  # one inversion, on the smaller tail
    return np.where(lower, z_tail, -z_tail)


def recover_mu_from_probits(z: np.ndarray, design: Design, sigma, t, allow_projection: bool = False
                            ) -> np.ndarray:
    """mu = C^+ [ (s / sqrt(t)) * z - b ] (trilateration).

    Parameters
    ----------
    z : ndarray, shape (..., N), probits of the optimal outputs
    sigma : float or ndarray (D,), per-step noise sd, > 0
    t : samples behind the outputs; scalar or broadcastable to ``z.shape[:-1]``
    allow_projection : when rank(C) < D (e.g. ntask < D) mu is not identified and a ValueError
        says so; with ``allow_projection=True`` the identified part is returned instead

    Returns
    -------
    mu : ndarray, shape (..., D); the projection of mu onto the row space of C when rank(C) < D
        (``allow_projection=True``)
    """
    check_design(design)
    z = float_array("z", z, min_ndim=1, finite=False)
    if z.shape[-1] != design.ntask:
        raise ValueError(f"z has last dimension {z.shape[-1]}; the design has ntask={design.ntask}")
    if not np.all(np.isfinite(z)):
        raise ValueError("probits must be finite (for sigma = 0 the outputs are 0/1 and identify no point)")
    check_sigma(sigma, design.D, allow_zero=False)
    if not allow_projection:
        diag = diagnose(design)
        if not diag.identifiable:
            raise ValueError(f"ntask={design.ntask}, D={design.D}, rank(C)={diag.rank}: Theorem 3.1 needs "
                             f"rank(C) = D <= ntask to identify mu; pass allow_projection=True for the "
                             f"row-space projection that is identified")
    distance = noise_scale(design, sigma) * z / _time_factor(t, z.shape[:-1]) - design.b
    return distance @ np.linalg.pinv(design.C).T


def recover_mu_from_log_outputs(log_p: np.ndarray, log_q: np.ndarray, design: Design, sigma, t,
                                allow_projection: bool = False) -> np.ndarray:
    """Trilateration from log-probability outputs (log Yhat, log(1 - Yhat)), each shape (..., N)."""
    return recover_mu_from_probits(probits_from_log_outputs(log_p, log_q), design, sigma, t, allow_projection)


def recover_mu_from_latent(Z: np.ndarray, W: np.ndarray, w0: np.ndarray, design: Design, sigma, t,
                           allow_projection: bool = False) -> np.ndarray:
    """Theorem 3.1: mu(t) = (1/sqrt(t)) C^+ (s * (W Z + w0)) - C^+ b from a latent state Z.

    Parameters
    ----------
    Z : ndarray, shape (..., K), the agent's latent state
    W : ndarray, shape (N, K), probit read-out weights; w0 : ndarray (N,), read-out bias

    Returns
    -------
    mu : ndarray, shape (..., D)
    """
    check_design(design)
    Z, W, w0 = (float_array(n, a) for n, a in (("Z", Z), ("W", W), ("w0", w0)))
    if Z.ndim < 1:
        raise ValueError(f"Z must have shape (..., K); got shape {Z.shape}")
    if W.ndim != 2 or W.shape[0] != design.ntask:
        raise ValueError(f"W must have shape (ntask={design.ntask}, K); got shape {W.shape}")
    if Z.shape[-1] != W.shape[1]:
        raise ValueError(f"Z has last dimension {Z.shape[-1]}; W expects K={W.shape[1]}")
    if w0.shape != (design.ntask,):
        raise ValueError(f"w0 must have shape (ntask,)=({design.ntask},); got shape {w0.shape}")
    return recover_mu_from_probits(Z @ W.T + w0, design, sigma, t, allow_projection)


def recovery_error_bound(design: Design, sigma, t, dz, mu) -> float:
    """Rounding-error bound on max |mu_hat - mu| for trilateration from probits with error dz.

    |delta mu| <= ||C^+||_2 sqrt(N) max_i (s_i / sqrt(t)) dz_i                 (probit error)
               + F eps [ ||C^+||_2 sqrt(N) max_i (|c_i . mu + b_i| + |b_i|)    (forming C mu + b)
                         + cond(C) max |mu| ]                                   (solving the system)
    with F = ROUNDING_FACTOR (a few flops per quantity). ``dz`` (N,) bounds the probit error per
    task (2 eps (1 + |z|) for probits from log-outputs, see :func:`probit_from_log_cdf`); ``mu``
    holds the true points, shape (..., D); ``t`` the smallest sample count behind them.
    """
    diag = diagnose(check_design(design))
    mu = float_array("mu", mu, min_ndim=1, last_dim=design.D, last_name="D").reshape(-1, design.D)
    dz = float_array("dz", dz)
    b_dist = np.abs(mu @ design.C.T + design.b).max(axis=0)
    pinv_norm = 1.0 / diag.singular_values[diag.rank - 1]
    cond = diag.singular_values[0] / diag.singular_values[diag.rank - 1]
    s_over = noise_scale(design, sigma) / np.sqrt(np.min(t))
    probit_term = pinv_norm * np.sqrt(design.ntask) * np.max(s_over * dz)
    forming = pinv_norm * np.sqrt(design.ntask) * np.max(b_dist + np.abs(design.b))
    return float(probit_term + ROUNDING_FACTOR * EPS * (forming + cond * np.max(np.abs(mu))))
