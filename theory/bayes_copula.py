"""The Bayes bound under the correlated (Gaussian-copula) prior of paper Fig. S3b (:class:`theory.priors.CopulaPrior`).

Whose bound: the r^2 of E[x* | evidence] under the world's own prior, x* = Phi(z) - 1/2,
z ~ N(0, [[1, rho], [rho, 1]]), with Gaussian evidence mu | x* ~ N(x*, diag v). No decoder of any state can
beat it beyond Monte-Carlo noise, because the posterior mean minimises the expected squared error given
everything the agent saw; a state that has lost information does worse. The copula couples the
coordinates, so unlike the box prior (:mod:`theory.bayes_bound`) nothing separates.

Posterior moments, per trial, by 2-D quadrature in z (where the prior is a smooth Gaussian and the copula
density's corner singularities of x-space are absent):

    E[g(x) | mu] = int g(Phi(z) - 1/2) phi_rho(z) L(mu | Phi(z) - 1/2) dz / (same with g = 1),

with, per coordinate, panels whose x-images are graded about the likelihood's mode (at 0, 1/4, ..., 12
widths, as optimal.bayes: width s inside the cube, s^2 / distance when mu lies beyond a face) and split at
x = 0, so the fold regions (unions of quadrants) are unions of panels; Gauss-Legendre on each panel.
Beyond 12 widths the likelihood is < exp(-72) of its peak.

The outer expectation is Monte Carlo, Rao-Blackwellised: mu is drawn from its marginal (x* from the prior,
plus noise) and each trial contributes the posterior expectation of |x - m(mu)|^2 1{x in region}, so

    MSE_region = E_mu[ int_region |x - m(mu)|^2 p(x | mu) dx ] / P(region),

with P(region) exact (:func:`theory.priors.region_probability`); its SE is the sd over trials / sqrt(n).
Every trial serves every region, and the sampling noise is that of a posterior variance, not of a
squared error. The twin :func:`theory.bayes_montecarlo.mc_r2_bayes_copula` draws x* from the region and
integrates the posterior on an x-grid with the copula density instead.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from infra.validate import float_array
from theory.bayes_bound import _legendre
from theory.bayes_montecarlo import MCBound
from theory.correlated import region_moments_copula
from theory.folds import Fold, ood_folds
from theory.priors import CopulaPrior, region_probability
from theory.world import LATENT_VARIANCE, as_generator, check_positive_int

#: Gauss-Legendre nodes per panel (per coordinate) for |rho| <= 0.9; the prior's ridge in z narrows as
#: sqrt(1 - rho^2), so :func:`default_nodes` scales the count by RIDGE / sqrt(1 - rho^2) above that
#: (measured: posterior means within ~2e-6 posterior sd of a 24-node rule at rho 0.9 and 0.99).
NODES, RIDGE = 6, 0.436
#: Panel edges about the likelihood's mode, in its widths (out to 12: beyond, < exp(-72) of the peak),
#: and fixed cuts in z for the prior's Gaussian tail when a window reaches a face of the cube.
X_GRADING = (0.0, 1.0, 2.0, 3.5, 5.5, 8.0, 12.0)
Z_CUTS = (-6.0, -4.0, -2.5, 2.5, 4.0, 6.0)
#: z is cut at +-Z_MAX, where the prior's tail mass Phi(-9) ~ 1e-19 is below float64 resolution.
Z_MAX = 9.0
#: Bound on the floats of one block of (trials, nodes, nodes) weights.
_BLOCK_FLOATS = 4_000_000


def _panels(mu: np.ndarray, s: np.ndarray, nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z-nodes, log-weights (GL weight + likelihood) and x-values of one coordinate. mu, s : (n,) -> (n, m) each."""
    mode = np.clip(mu, -0.5, 0.5)
    beyond = np.abs(mu - mode)
    width = np.where(beyond > s, s * s / np.maximum(beyond, s), s)
    g = np.array(X_GRADING)
    lo, hi = np.maximum(-0.5, mode - g[-1] * width), np.minimum(0.5, mode + g[-1] * width)
    xe = np.concatenate([mode[:, None] - width[:, None] * g, mode[:, None] + width[:, None] * g,
                         np.zeros((mu.size, 1))], axis=1)
    ze = ndtri(np.clip(xe, lo[:, None], hi[:, None]) + 0.5)
    # Fixed z cuts, kept inside the window: a panel reaching a face spans a long z tail of the prior.
    zlo, zhi = ndtri(lo + 0.5), ndtri(hi + 0.5)
    cuts = np.clip(np.broadcast_to(np.array(Z_CUTS), (mu.size, len(Z_CUTS))), zlo[:, None], zhi[:, None])
    ze = np.sort(np.clip(np.concatenate([ze, cuts], axis=1), -Z_MAX, Z_MAX), axis=1)  # zero-width panels weigh 0
    gl, wl = _legendre(nodes)
    left, span = ze[:, :-1, None], np.diff(ze, axis=1)[:, :, None]
    z = (left + span * (gl + 1.0) / 2.0).reshape(mu.size, -1)
    w = (span * wl / 2.0).reshape(mu.size, -1)
    x = ndtr(z) - 0.5
    with np.errstate(divide="ignore"):
        logw = np.log(w) - (x - mu[:, None]) ** 2 / (2.0 * s[:, None] ** 2)
    return z, logw, x


def default_nodes(rho: float) -> int:
    """Gauss-Legendre nodes per panel that resolve the copula's ridge at correlation rho."""
    return max(NODES, int(np.ceil(NODES * RIDGE / np.sqrt(1.0 - float(rho) ** 2))))


def posterior_moments_copula(mu, error_variance, rho: float, regions=(), nodes: int | None = None):
    """Posterior mean of x* under the copula prior, and posterior E[|x - m|^2 1{x in R}] / D for regions R.

    Parameters
    ----------
    mu : ndarray, shape (n, 2), the sufficient statistic (running mean), mu | x* ~ N(x*, diag v)
    error_variance : ndarray, shape (2,), v > 0
    rho : copula correlation, |rho| < 1
    regions : sequence of :class:`theory.folds.Fold` (D = 2); their held-out regions
    nodes : Gauss-Legendre nodes per panel; default :func:`default_nodes` (cost grows as nodes^2)

    Returns
    -------
    m : ndarray, shape (n, 2);  spread : ndarray, shape (n, 1 + len(regions)), the pooled posterior variance
        (first column) and each region's pooled partial second moment about m
    """
    prior = CopulaPrior(float(rho))
    mu = float_array("mu", mu, ndim=2, last_dim=2, last_name="D")
    v = float_array("error_variance", error_variance, ndim=1, last_dim=2, last_name="D")
    if np.any(v <= 0):
        raise ValueError(f"error_variance={error_variance!r} must be > 0")
    nodes = default_nodes(prior.rho) if nodes is None else check_positive_int("nodes", nodes, 2)
    n, q = mu.shape[0], 1.0 - prior.rho**2
    m, spread = np.empty((n, 2)), np.empty((n, 1 + len(regions)))
    per_trial = (nodes * (2 * len(X_GRADING) + len(Z_CUTS))) ** 2
    block = max(1, _BLOCK_FLOATS // per_trial)
    for start in range(0, n, block):  # blocks of trials bound the (block, m, m) weights
        sl = slice(start, start + block)
        z1, lw1, x1 = _panels(mu[sl, 0], np.full(mu[sl].shape[0], np.sqrt(v[0])), nodes)
        z2, lw2, x2 = _panels(mu[sl, 1], np.full(mu[sl].shape[0], np.sqrt(v[1])), nodes)
        log_w = (lw1[:, :, None] + lw2[:, None, :]
                 - (z1[:, :, None] ** 2 - 2 * prior.rho * z1[:, :, None] * z2[:, None, :] + z2[:, None, :] ** 2)
                 / (2.0 * q))
        w = np.exp(log_w - log_w.max(axis=(1, 2), keepdims=True))
        w /= w.sum(axis=(1, 2), keepdims=True)
        p1, p2 = w.sum(axis=2), w.sum(axis=1)  # marginal posterior weights of each coordinate's nodes
        m1, m2 = (p1 * x1).sum(axis=1), (p2 * x2).sum(axis=1)
        a1, a2 = (x1 - m1[:, None]) ** 2, (x2 - m2[:, None]) ** 2
        m[sl] = np.stack([m1, m2], axis=1)
        spread[sl, 0] = 0.5 * ((p1 * a1).sum(axis=1) + (p2 * a2).sum(axis=1))
        for k, fold in enumerate(regions):
            # Panels split at x = 0, so a region is a product of per-coordinate node masks.
            k1, k2 = _region_masks(fold, x1, x2)
            r1 = np.einsum("nij,nj->ni", w, k2) * k1  # weight of (i, j) in the region, summed over j
            r2 = np.einsum("nij,ni->nj", w, k1) * k2
            spread[sl, 1 + k] = 0.5 * ((r1 * a1).sum(axis=1) + (r2 * a2).sum(axis=1))
    return m, spread


def _region_masks(fold: Fold, x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coordinate 0/1 masks of the fold's held-out region on the nodes (no node lies at x = 0)."""
    if fold.D != 2:
        raise ValueError(f"the copula prior is 2-D; the fold has D={fold.D}")
    if fold.scheme == "halfspace":
        masks = [np.ones_like(x1), np.ones_like(x2)]
        masks[fold.index] = ((x1, x2)[fold.index] > 0).astype(float)
        return masks[0], masks[1]
    bits = (fold.index >> np.arange(2)) & 1
    return ((x1 > 0) == bits[0]).astype(float), ((x2 > 0) == bits[1]).astype(float)


def copula_reference_variance(rho: float, fold: Fold | None, normalisation: str) -> float:
    """1/12 (``fullrange``: each marginal is U(-1/2, 1/2)) or the held-out region's pooled variance under the
    copula prior (``heldout``), as :func:`theory.correlated.r2_protocol_copula`."""
    if normalisation not in ("fullrange", "heldout"):
        raise ValueError(f"normalisation={normalisation!r} must be one of ('fullrange', 'heldout')")
    if normalisation == "fullrange":
        return LATENT_VARIANCE
    if fold is None:
        raise ValueError("normalisation='heldout' needs a fold (the held-out region)")
    return float(np.trace(region_moments_copula(rho, fold, "test")[1]) / 2.0)


def r2_bayes_copula(error_variance, rho: float, n_trials: int, rng, folds=None,
                    normalisation: str = "fullrange") -> dict:
    """The Bayes bound under the copula prior, Rao-Blackwellised Monte Carlo (module docstring).

    Parameters
    ----------
    error_variance : ndarray, shape (2,), v_d = sigma_d^2 / t
    folds : folds to score (default: the four quadrant folds); the whole cube is always scored

    Returns
    -------
    dict : ``"whole"`` -> MCBound (fullrange), each fold's name -> MCBound with ``normalisation``, and
        ``"fold_mean"`` -> the mean over the folds (the network rows' convention), its SE from the same trials
    """
    prior = CopulaPrior(float(rho))
    n_trials = check_positive_int("n_trials", n_trials, 2)
    folds = list(ood_folds(2, "orthant") if folds is None else folds)
    v = float_array("error_variance", error_variance, ndim=1, last_dim=2, last_name="D")
    rng = as_generator(rng)
    x_star = prior.sample(rng, n_trials)
    mu = x_star + np.sqrt(v) * rng.standard_normal((n_trials, 2))
    _, spread = posterior_moments_copula(mu, v, rho, folds)
    out = {"whole": _rb_estimate(spread[:, 0], 1.0, LATENT_VARIANCE)}
    scales = [region_probability(prior, f, "test") * copula_reference_variance(rho, f, normalisation) for f in folds]
    for k, fold in enumerate(folds):
        out[fold.name] = _rb_estimate(spread[:, 1 + k], scales[k], 1.0)
    if folds:
        # 1 - mean_k(MSE_k / ref_k): per trial, the mean over folds of its scaled contributions.
        out["fold_mean"] = _rb_estimate(np.mean(spread[:, 1:] / np.array(scales), axis=1), 1.0, 1.0)
    return out


def _rb_estimate(a: np.ndarray, mass: float, reference: float) -> MCBound:
    """r^2 = 1 - mean(a) / (mass reference) with its SE."""
    scale = mass * reference
    return MCBound(float(1.0 - a.mean() / scale), float(a.std(ddof=1) / np.sqrt(a.size) / scale), int(a.size))
