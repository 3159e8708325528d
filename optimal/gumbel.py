"""Exact optimal outputs under Gumbel evidence noise and a flat prior (docs/theory.md §2, derived).

With X_j(s) = x*_j + Gumbel(0, beta_j) and a flat prior, coordinate j's posterior is
    x_j = mu_j + beta_j (log W_j - psi(t)),     W_j ~ Gamma(t, 1) independent across j,
with mu_j(t) = beta_j [psi(t) - log sum_{s<=t} e^(-X_j(s) / beta_j)] the posterior mean
(:func:`theory.noise.estimate` with ``"posterior"``). The output of task i is
    P(c_i . x + b_i > 0 | X(1..t)) = E[ P(c_k x_k > -(b_i + sum_{j != k} c_j x_j) | x_{-k}) ],
with the pivot k = argmax_j |c_j| beta_j in closed form (a regularised incomplete gamma function)
and the other coordinate (D = 2) integrated by composite Gauss-Legendre quadrature in log W
(:func:`log_gamma_nodes`), with no overflow for any t.

The posterior is a log-gamma, skewed by about -1/sqrt(t) per coordinate, so the normal approximation
Phi((c . mu + b) / sqrt(sum_j c_j^2 beta_j^2 psi'(t))) of :func:`optimal.estimates.matched_probits` is off
by up to 0.015 in probability at t = 20 for an axis-aligned boundary; these outputs are exact.
Both tails are summed separately, P from the upper and 1 - P from the lower incomplete gamma
function, so neither rounds to 1.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammainc, gammaincc, lambertw, psi

from infra.validate import float_array
from optimal.trilateration import probits_from_log_outputs
from theory.designs import Design, check_design
from theory.world import check_positive_int, check_sigma

#: Largest D handled: one coordinate is integrated by quadrature, the pivot in closed form.
MAX_D = 2
#: The window of U = log W ends where its density is e^-DROP of the peak (mass beyond: < 1e-21 relative).
DROP = 50.0
#: Composite Gauss-Legendre: PER_PANEL nodes per panel of width PANEL_WIDTH / sqrt(t) (108 to 288 nodes).
#: Measured: the mean and variance of U to 2e-9 at t = 1 and 1e-13 from t = 3.
PANEL_WIDTH, PER_PANEL = 2.3, 12


def log_gamma_window(t: int) -> tuple[float, float]:
    """The offsets (d_lo, d_hi) from the mode log t of U = log W, W ~ Gamma(t, 1), where U's density
    falls to e^-DROP of its peak: t (e^d - 1 - d) = DROP, i.e. d = -a - W_k(-e^-a), a = 1 + DROP / t, on the
    Lambert-W branches k = 0 (d < 0) and k = -1 (d > 0)."""
    a = 1.0 + DROP / t
    return tuple(float(np.real(-a - lambertw(-np.exp(-a), k))) for k in (0, -1))


def log_gamma_nodes(t: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature for E[f(U)], U = log W, W ~ Gamma(t, 1): nodes u_i and weights summing to 1.

    U has density e^(t u - e^u) / Gamma(t): width 1/sqrt(t) at its mode log t, an exponential left tail
    of rate t. Composite Gauss-Legendre (PER_PANEL nodes per panel, panels PANEL_WIDTH / sqrt(t) wide)
    over :func:`log_gamma_window`, with the density as a weight, normalised. In u the integrands are
    analytic (in W = e^u they are not at W = 0, where a Gauss-Laguerre rule converges slowly for small t).
    """
    t = check_positive_int("t", t)
    d_lo, d_hi = log_gamma_window(t)
    panels = int(np.ceil((d_hi - d_lo) * np.sqrt(t) / PANEL_WIDTH))
    g, w_leg = np.polynomial.legendre.leggauss(PER_PANEL)
    edges = np.log(t) + np.linspace(d_lo, d_hi, panels + 1)
    half = np.diff(edges)[:, None] / 2
    u = (edges[:-1, None] + half * (g + 1)).ravel()
    # log density relative to its peak at u = log t, so no Gamma(t) (overflows for t > 171)
    w = (w_leg * half).ravel() * np.exp(t * (u - np.log(t)) - np.exp(u) + t)
    return u, w / w.sum()


def gumbel_log_outputs(mu, design: Design, beta, t: int) -> tuple[np.ndarray, np.ndarray]:
    """(log P, log(1 - P)) of the exact flat-prior outputs P(c_i . x + b_i > 0 | X(1..t)) under Gumbel noise.

    Parameters
    ----------
    mu : ndarray, shape (n, D), the posterior mean after t samples (D <= 2)
    beta : float or ndarray (D,), the Gumbel scale per step, > 0
    t : int, number of samples

    Returns
    -------
    log_p, log_q : ndarray, shape (n, N) each
    """
    check_design(design)
    mu = float_array("mu", mu, ndim=2, last_dim=design.D, last_name="D")
    if design.D > MAX_D:
        raise ValueError(f"D={design.D} > {MAX_D}: exact Gumbel outputs are computed by quadrature for D <= {MAX_D}")
    beta = np.broadcast_to(check_sigma(beta, design.D, allow_zero=False), (design.D,))
    t = check_positive_int("t", t)
    u, w = log_gamma_nodes(t)
    n, D = mu.shape
    log_p, log_q = np.empty((n, design.ntask)), np.empty((n, design.ntask))
    for i, (c, b) in enumerate(zip(design.C, design.b)):  # loop over tasks, vectorised over trials
        k = int(np.argmax(np.abs(c) * beta))
        partial = (b + mu @ c - c[k] * mu[:, k])[:, None]            # b + sum_{j != k} c_j x_j, (n, 1) or (n, m)
        weight = np.ones(1)
        if D == 2:                                                   # the other coordinate at the nodes
            j = 1 - k
            partial = partial + c[j] * beta[j] * (u - psi(t))
            weight = w
        # c_k x_k + partial > 0  <=>  sign(c_k) (log W_k - v) > 0,  v = psi(t) + (-partial / c_k - mu_k) / beta_k
        v = psi(t) + (-partial / c[k] - mu[:, k, None]) / beta[k]
        with np.errstate(over="ignore"):
            upper, lower = _gamma_tails(t, np.exp(v))                # P(W_k > e^v), P(W_k < e^v); inf: 0 and 1
        p, q = (upper, lower) if c[k] > 0 else (lower, upper)
        with np.errstate(divide="ignore"):
            log_p[:, i] = np.log(p @ weight)
            log_q[:, i] = np.log(q @ weight)
    return log_p, log_q


def _gamma_tails(t: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Q(t, x), P(t, x)), upper and lower regularised incomplete gamma, one evaluation per element: the
    smaller tail directly (accurate relative to itself), the larger as 1 minus it (>= ~0.37, so accurate too)."""
    low = x < t                  # the lower tail up to the mean t of Gamma(t, 1) is below ~0.63
    lower, upper = np.empty_like(x), np.empty_like(x)
    lower[low] = gammainc(t, x[low])
    upper[low] = 1.0 - lower[low]
    upper[~low] = gammaincc(t, x[~low])
    lower[~low] = 1.0 - upper[~low]
    return upper, lower


def gumbel_probits(mu, design: Design, beta, t: int) -> np.ndarray:
    """Phi^-1 of the exact Gumbel outputs (:func:`gumbel_log_outputs`), shape (n, N).

    The probits an optimal network's outputs have under Gumbel noise; :func:`optimal.estimates.matched_probits`
    is their normal approximation.
    """
    return probits_from_log_outputs(*gumbel_log_outputs(mu, design, beta, t))
