"""Exact Bayes outputs under the true uniform prior (docs/theory.md §2, derived).

With x* ~ U([-1/2, 1/2]^D) and diagonal Gaussian noise, the posterior factorises: each
coordinate is a normal N(mu_j(t), s_j^2), s_j = sigma_j / sqrt(t), truncated to [-1/2, 1/2].
The exact optimal output is

    P(c . x + b > 0 | X(1..t)) = E_post[ P(c_k x_k > -(b + sum_{j != k} c_j x_j) | x_{-k}) ],

with the pivot coordinate k = argmax_j |c_j| done in closed form (a truncated-normal tail) and
the remaining D - 1 coordinates integrated by Gauss-Legendre quadrature over a window around
each truncated posterior's mode, which stays accurate however narrow the posterior is. The
flat-prior formula Phi(z) differs from this only near the faces of the cube, where the prior's
edges cut the posterior.
"""
from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr

from optimal.agent import optimal_probits, outputs
from infra.validate import float_array
from theory.designs import Design, check_design
from theory.world import check_positive_int, check_sigma

#: Largest D handled: the quadrature grid has nodes^(D - 1) points per trial and task.
MAX_D = 3
#: Half-width of the quadrature window in posterior widths; the density beyond is < exp(-72).
WINDOW = 12.0


def _log_mass(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """log(Phi(hi) - Phi(lo)) for lo <= hi, computed on the tail where it does not cancel."""
    upper = lo > 0  # both in the upper tail: use Phi(-lo) - Phi(-hi)
    a = np.where(upper, -hi, lo)
    c = np.where(upper, -lo, hi)
    la, lc = log_ndtr(a), log_ndtr(c)
    with np.errstate(divide="ignore"):
        return lc + np.log1p(-np.exp(la - lc))


def _truncated_sf(u, mu, s):
    """P(X > u) for X ~ N(mu, s^2) truncated to [-1/2, 1/2] (arrays broadcast)."""
    alpha, beta = (-0.5 - mu) / s, (0.5 - mu) / s
    gamma = np.clip((u - mu) / s, alpha, beta)
    with np.errstate(invalid="ignore"):
        p = np.exp(_log_mass(gamma, beta) - _log_mass(alpha, beta))
    return np.where(gamma >= beta, 0.0, p)


def _truncated_nodes(mu, s, nodes: int):
    """Gauss-Legendre nodes and weights of N(mu, s^2) truncated to [-1/2, 1/2].

    The truncated density is log-concave with mode m = clip(mu, -1/2, 1/2) and width
    w = s inside the cube, or s^2 / |mu - m| (<= s) when mu lies outside (an exponential tail
    against the face). Nodes span [m - WINDOW w, m + WINDOW w] cut to the cube, where the density
    is smooth, so the rule converges fast; weights are the density at the nodes, normalised to 1.

    Returns x (..., nodes) and weights (..., nodes).
    """
    g, w_leg = np.polynomial.legendre.leggauss(nodes)
    mode = np.clip(mu, -0.5, 0.5)
    outside = np.abs(mu - mode)
    width = np.where(outside > s, s * s / np.maximum(outside, s), s)
    lo = np.maximum(-0.5, mode - WINDOW * width)
    hi = np.minimum(0.5, mode + WINDOW * width)
    x = lo[..., None] + (hi - lo)[..., None] * (g + 1) / 2
    log_density = -0.5 * ((x - mu[..., None]) ** 2 - (mode - mu)[..., None] ** 2) / (s[..., None] ** 2)
    weights = w_leg * np.exp(log_density)
    return x, weights / weights.sum(axis=-1, keepdims=True)


def exact_outputs(mu: np.ndarray, design: Design, sigma, t, nodes: int = 64) -> np.ndarray:
    """Exact posterior P(c_i . x* + b_i > 0 | X(1..t)) under the uniform prior on the cube.

    Parameters
    ----------
    mu : ndarray, shape (n, D), running MLE after t samples (D <= 3)
    sigma : float or ndarray (D,), per-step noise sd, > 0
    t : int, number of samples
    nodes : quadrature nodes per integrated coordinate

    Returns
    -------
    p : ndarray, shape (n, N), probabilities
    """
    check_design(design)
    mu = float_array("mu", mu)
    if mu.ndim != 2 or mu.shape[1] != design.D:
        raise ValueError(f"mu must have shape (n, D={design.D}); got shape {mu.shape}")
    if design.D > MAX_D:
        raise ValueError(f"D={design.D} > {MAX_D}: exact Bayes outputs are computed by quadrature for D <= {MAX_D}")
    check_positive_int("t", t)
    nodes = check_positive_int("nodes", nodes, 2)
    s = np.broadcast_to(check_sigma(sigma, design.D, allow_zero=False) / np.sqrt(t), (design.D,))
    sd = np.broadcast_to(s, mu.shape)
    x_nodes, w = _truncated_nodes(mu, sd, nodes)  # (n, D, m) each
    n, D = mu.shape
    out = np.empty((n, design.ntask))
    for i, (c, b) in enumerate(zip(design.C, design.b)):  # loop over tasks, vectorised over trials
        k = int(np.argmax(np.abs(c)))
        others = [j for j in range(D) if j != k]
        partial = np.full((n,) + (nodes,) * len(others), b)
        weight = np.ones((n,) + (nodes,) * len(others))
        for axis, j in enumerate(others):
            shape = [n] + [1] * len(others)
            shape[axis + 1] = nodes
            partial = partial + c[j] * x_nodes[:, j, :].reshape(shape)
            weight = weight * w[:, j, :].reshape(shape)
        threshold = -partial / c[k]
        mu_k = mu[:, k].reshape((n,) + (1,) * len(others))
        s_k = s[k]
        sf = _truncated_sf(threshold, mu_k, s_k)
        p_side = sf if c[k] > 0 else 1.0 - sf
        out[:, i] = (p_side * weight).reshape(n, -1).sum(axis=1)
    return out


def compare_with_flat_prior(mu: np.ndarray, design: Design, sigma, t, nodes: int = 64) -> dict:
    """Where the flat-prior outputs Phi(z) differ from the exact uniform-prior outputs.

    Returns
    -------
    dict with ``max_abs_diff`` (probability units), ``argmax_mu`` (the mu where it occurs),
    ``argmax_task``, ``face_distance`` (distance of that mu to the nearest face of the cube,
    latent units) and ``diff`` (n, N), the signed differences exact - flat.
    """
    mu = np.asarray(mu, dtype=float)
    exact = exact_outputs(mu, design, sigma, t, nodes)
    flat = outputs(optimal_probits(mu, design, sigma, t))
    diff = exact - flat
    n_idx, task = np.unravel_index(np.argmax(np.abs(diff)), diff.shape)
    return {"max_abs_diff": float(np.abs(diff[n_idx, task])), "argmax_mu": mu[n_idx].copy(),
            "argmax_task": int(task), "face_distance": float(0.5 - np.abs(mu[n_idx]).max()),
            "diff": diff}
