"""Trial-by-trial optimality: trilaterate a network's own outputs and compare with mu(t) (docs/theory.md §6).

A network with sigmoid outputs s(l) = 1 / (1 + exp(-l)) (l = logits, one per task) is optimal
when s(l_i) = Yhat_i(t) = Phi(z_i(t)). Trilateration (docs/theory.md §3) then recovers that trial's
running MLE exactly from the probits z = Phi^-1(s(l)):
    mu_hat = C^+ [ (s_i / sqrt(t)) * z - b ],      s_i = sqrt(c_i^T Sigma c_i).
The probit of a sigmoid output is computed in log space, never through probabilities:
    log s(l) = -log(1 + exp(-l)),   log(1 - s(l)) = -log(1 + exp(l))   (``np.logaddexp``),
then ``optimal.trilateration.probits_from_log_outputs`` inverts on the smaller tail.
Comparing mu_hat with mu(t) from the same noise measures how close the network is to the
optimal agent on each trial, not just to x*; the ceiling of r^2(mu_hat, x*) is that of the
optimal agent, 1 - mean(sigma^2) / (t Var(x*_j)) = 1 - 12 sigma^2 / t.

Since s(z) ~ Phi(a z) with a ~ 0.59 (least squares, :func:`sigmoid_probit_slope`), a cruder
``"linear"`` decoder uses z ~ a l instead of the exact probit.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import integrate, optimize
from scipy.special import expit, ndtr

from optimal.trilateration import probits_from_log_outputs, recover_mu_from_probits
from theory.ceilings import r2_ceiling
from theory.designs import Design
from theory.world import check_sigma
from analysis.decoders import r2_score

METHODS = ("probit", "linear")


def _sigmoid_probit_gap(a: float) -> float:
    """The least-squares objective  int_R (s(z) - Phi(a z))^2 dz  (finite for a > 0)."""
    value, _ = integrate.quad(lambda z: (expit(z) - ndtr(a * z)) ** 2, -np.inf, np.inf,
                              epsabs=1e-14, epsrel=1e-12)
    return value


@lru_cache(maxsize=1)
def sigmoid_probit_slope() -> float:
    """The slope a minimising  int_{-inf}^{inf} (s(z) - Phi(a z))^2 dz,  so that s(z) ~ Phi(a z).

    Computed (not hard-coded) by bounded scalar minimisation of the quadrature, to ~1e-10.

    Examples
    --------
    >>> 0.5 < sigmoid_probit_slope() < 0.7
    True
    """
    res = optimize.minimize_scalar(_sigmoid_probit_gap, bounds=(0.3, 1.0), method="bounded",
                                   options={"xatol": 1e-11})
    return float(res.x)


def log_sigmoid_outputs(logits) -> tuple[np.ndarray, np.ndarray]:
    """(log s(l), log(1 - s(l))) = (-log(1 + e^-l), -log(1 + e^l)), exact for any finite l."""
    logits = np.asarray(logits, dtype=float)
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits must be finite (no NaN or inf)")
    return -np.logaddexp(0.0, -logits), -np.logaddexp(0.0, logits)


def probits_from_logits(logits) -> np.ndarray:
    """z = Phi^-1(s(l)) element-wise, through log-probabilities (no rounding at |l| >> 1).

    Examples
    --------
    >>> from scipy.special import logit, ndtr
    >>> np.allclose(probits_from_logits(logit(ndtr(0.5))), 0.5, rtol=1e-12)
    True
    """
    return probits_from_log_outputs(*log_sigmoid_outputs(logits))


def decode_mu(logits, design: Design, sigma, t, method: str = "probit") -> np.ndarray:
    """Trilaterate mu_hat from sigmoid-output logits.

    Parameters
    ----------
    logits : ndarray, shape (..., N), pre-activations of the N sigmoid outputs
    design : Design, the N task boundaries the outputs answer
    sigma : float or ndarray (D,), per-step noise sd (> 0)
    t : evidence samples behind the outputs; scalar or broadcastable to ``logits.shape[:-1]``
    method : ``"probit"`` (exact: z = Phi^-1(s(l))) or ``"linear"`` (z ~ a l, a from
        :func:`sigmoid_probit_slope`)

    Returns
    -------
    mu_hat : ndarray, shape (..., D)
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {METHODS}")
    logits = np.asarray(logits, dtype=float)
    if logits.ndim < 1 or logits.shape[-1] != design.ntask:
        raise ValueError(f"logits must have last dimension ntask={design.ntask}; got shape {logits.shape}")
    if method == "probit":
        z = probits_from_logits(logits)
    else:
        if not np.all(np.isfinite(logits)):
            raise ValueError("logits must be finite (no NaN or inf)")
        z = sigmoid_probit_slope() * logits
    return recover_mu_from_probits(z, design, sigma, t)


@dataclass(frozen=True)
class TrialOptimality:
    """Agreement of a network's trilaterated outputs with the optimal agent, trial by trial.

    All r^2 use the full-range normalisation 1 - MSE / (1/12) (pooled over coordinates), so the
    numbers are fractions of the latent variance and directly comparable.

    Attributes
    ----------
    r2_mu : ndarray (...), r^2(mu_hat, mu): 1 for an optimal network
    r2_xstar : ndarray (...), r^2(mu_hat, x*), at most ~ the ceiling
    r2_optimal : ndarray (...) or float, r^2(mu, x*) of the optimal agent on the same trials
    ceiling : float, theoretical r^2(mu, x*) = 1 - 12 sigma^2 / t
    rmse_mu : ndarray (...), sqrt(mean |mu_hat - mu|^2 / D), latent units
    method : str, how probits were obtained from the logits
    """

    r2_mu: np.ndarray
    r2_xstar: np.ndarray
    r2_optimal: np.ndarray
    ceiling: float
    rmse_mu: np.ndarray
    method: str


def trial_optimality(logits, mu, x_star, design: Design, sigma, t, method: str = "probit"
                     ) -> TrialOptimality:
    """Compare mu_hat (trilaterated from each network's logits) with mu(t) and x* per trial.

    Parameters
    ----------
    logits : ndarray, shape (..., n, N), e.g. (K, n, N) for K networks at the decision step
    mu : ndarray, shape (n, D) or (..., n, D), the optimal agent's mu(t) from the same noise as
        each network saw (one per network when networks saw different noise draws)
    x_star : ndarray, shape (n, D) or (..., n, D)
    design, sigma, method : as in :func:`decode_mu`
    t : int or float > 0, evidence samples behind both mu and the outputs

    Returns
    -------
    TrialOptimality with r^2 arrays of shape (...), e.g. (K,)
    """
    mu = np.asarray(mu, dtype=float)
    x_star = np.asarray(x_star, dtype=float)
    logits = np.asarray(logits, dtype=float)
    for name, a in (("mu", mu), ("x_star", x_star)):
        if a.ndim < 2 or a.shape[-1] != design.D:
            raise ValueError(f"{name} must have shape (..., n, D={design.D}); got shape {a.shape}")
    if logits.ndim < 2 or logits.shape[-2] != mu.shape[-2] or x_star.shape[-2] != mu.shape[-2]:
        raise ValueError(f"logits (..., n, N), mu and x_star (..., n, D) must share n; got shapes "
                         f"{logits.shape}, {mu.shape}, {x_star.shape}")
    if np.ndim(t) != 0:
        raise ValueError(f"t={t!r} must be a scalar here (one time point per comparison)")
    mu_hat = decode_mu(logits, design, sigma, t, method)
    variance = np.broadcast_to(check_sigma(sigma, design.D) ** 2, (design.D,)) / t
    return TrialOptimality(
        r2_mu=r2_score(mu, mu_hat), r2_xstar=r2_score(x_star, mu_hat),
        r2_optimal=r2_score(x_star, mu), ceiling=float(r2_ceiling(variance)),
        rmse_mu=np.sqrt(np.mean((mu_hat - mu) ** 2, axis=(-2, -1))), method=method)
