"""Monte-Carlo twins of the Bayes bound (:mod:`theory.bayes_bound`, :mod:`theory.bayes_noise`).

Each twin simulates x* (from the cube, or from a fold's held-out region), the whole evidence stream
X(1..t) under the noise model (:func:`theory.noise.sample_noise`), and computes the posterior mean trial by
trial by a code path independent of the closed forms: the full-evidence log-likelihood
sum_s log p(X(s) - x) (AR(1): the Gaussian of the whole stream, its t x t covariance inverted numerically)
evaluated on a midpoint grid of x over the box, times the flat prior, normalised. No sufficient statistic
and no truncated-normal formula is used. The grid spacing must be at most a quarter of the posterior sd
(checked), so the midpoint rule's error on the posterior mean is far below the Monte-Carlo error.

The estimate is r^2 = 1 - mean_i e_i / reference, e_i = mean_d (x*_id - m_id)^2, with standard error
sd(e) / (sqrt(n) reference), trials being independent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import toeplitz
from scipy.special import ndtri

from infra.validate import float_array, instance_of
from theory.bayes_bound import bayes_reference_variance
from theory.correlated import region_moments_copula
from theory.folds import Fold
from theory.noise import NoiseModel, sample_noise
from theory.priors import CopulaPrior, sample_region
from theory.world import LATENT_VARIANCE, as_generator, check_positive_int, sample_latents

#: Trials per block, so that a (block, grid, t) array stays near 1e7 floats.
_BLOCK_FLOATS = 10_000_000
#: Trials per block of the copula twin's (trials, G) products.
_BLOCK_TRIALS = 2048


@dataclass(frozen=True)
class MCBound:
    """A Monte-Carlo estimate of an r^2 with its standard error, from ``n_trials`` independent trials."""

    value: float
    se: float
    n_trials: int

    def z_score(self, prediction: float) -> float:
        """(estimate - prediction) / SE."""
        return (self.value - float(prediction)) / self.se


def estimate_r2(errors: np.ndarray, reference: float, n_trials: int) -> MCBound:
    """r^2 and its SE from per-trial pooled squared errors e_i, shape (n,)."""
    return MCBound(float(1.0 - errors.mean() / reference),
                   float(errors.std(ddof=1) / np.sqrt(errors.size) / reference), int(n_trials))


def sample_region_latents(rng, n: int, D: int, fold: Fold | None) -> np.ndarray:
    """x* uniform on the cube (fold None) or on the fold's held-out region, shape (n, D)."""
    if fold is None:
        return sample_latents(rng, n, D)
    instance_of("fold", fold, Fold)
    if fold.D != D:
        raise ValueError(f"fold has D={fold.D}; the noise model has D={D}")
    return fold.sample(rng, n, "test")


def _log_likelihood(model: NoiseModel, X: np.ndarray, d: int, grid: np.ndarray) -> np.ndarray:
    """log p(X_d(1..t) | x_d = grid_g) up to a per-trial constant, from the whole stream. X (n, t, D) -> (n, G)."""
    x = X[:, :, d]  # (n, t)
    s = model.sigma[d]
    if model.kind == "ar1":
        # Stationary AR(1): Cov = sigma^2 R, R_rs = a^|r-s|, inverted numerically (not the GLS closed form).
        t = x.shape[1]
        P = np.linalg.inv(toeplitz(model.a ** np.arange(t))) / s**2
        one = np.ones(t)
        # -(x - g 1)^T P (x - g 1) / 2 = -x^T P x / 2 + g 1^T P x - g^2 1^T P 1 / 2; the first term is per trial.
        return grid[None, :] * (x @ P @ one)[:, None] - 0.5 * grid[None, :] ** 2 * (one @ P @ one)
    z = (x[:, None, :] - grid[None, :, None]) / s  # (n, G, t)
    if model.kind == "gumbel":
        return np.sum(-z - np.exp(-z), axis=2)  # Gumbel(0, beta) log-density per sample
    return np.sum(-0.5 * z * z, axis=2)


def grid_posterior_mean(model: NoiseModel, X: np.ndarray, grid_size: int) -> np.ndarray:
    """Posterior mean of x* under the flat cube prior by a midpoint grid of ``grid_size`` cells per coordinate.

    X : ndarray, shape (n, t, D) -> m : ndarray, shape (n, D)
    """
    grid = -0.5 + (np.arange(grid_size) + 0.5) / grid_size
    out = np.empty((X.shape[0], X.shape[2]))
    block = max(1, _BLOCK_FLOATS // (grid_size * X.shape[1]))
    for start in range(0, X.shape[0], block):  # blocks of trials bound the (block, G, t) array
        chunk = X[start:start + block]
        for d in range(X.shape[2]):
            ll = _log_likelihood(model, chunk, d, grid)
            w = np.exp(ll - ll.max(axis=1, keepdims=True))
            out[start:start + block, d] = (w @ grid) / w.sum(axis=1)
    return out


def mc_r2_bayes(model: NoiseModel, t: int, n_trials: int, rng, fold: Fold | None = None,
                normalisation: str = "fullrange", grid_size: int = 400) -> MCBound:
    """Monte-Carlo twin of :func:`theory.bayes_noise.r2_bayes_noise` (and of ``r2_bayes`` for Gaussian noise).

    Parameters
    ----------
    model : the evidence noise (gaussian, anisotropic, ar1, gumbel)
    t : number of evidence samples
    n_trials : independent trials
    rng : numpy Generator or seed
    fold : x* drawn from this fold's held-out region (None: the whole cube)
    grid_size : midpoint cells per coordinate; spacing 1/grid_size must be <= posterior sd / 4

    Returns
    -------
    MCBound : r^2 of the grid posterior mean, its SE and the number of trials
    """
    instance_of("model", model, NoiseModel)
    t = check_positive_int("t", t)
    n_trials = check_positive_int("n_trials", n_trials, 2)
    grid_size = check_positive_int("grid_size", grid_size, 2)
    # Scale of the posterior: the flat-prior sd, sigma / sqrt(t (1 - a) / (1 + a) + 2 a / (1 + a)) for AR(1)
    # (GLS), beta / sqrt(t) for Gumbel (its location's Fisher information is 1 / beta^2); +1 under the root
    # bounds the AR(1) term 2 a / (1 + a) < 1.
    gain = (1.0 - model.a) / (1.0 + model.a) if model.kind == "ar1" else 1.0
    sd = float(np.min(model.sigma)) / np.sqrt(t * gain + 1.0)
    if 1.0 / grid_size > sd / 4.0:
        raise ValueError(f"grid_size={grid_size} too coarse: spacing {1 / grid_size:.3g} must be <= posterior sd "
                         f"{sd:.3g} / 4 (use grid_size >= {int(np.ceil(4 / sd))})")
    rng = as_generator(rng)
    ref = bayes_reference_variance(fold, normalisation, model.D)
    x_star = sample_region_latents(rng, n_trials, model.D, fold)
    X = x_star[:, None, :] + sample_noise(model, rng, n_trials, t)
    m = grid_posterior_mean(model, X, grid_size)
    return estimate_r2(((x_star - m) ** 2).mean(axis=1), ref, n_trials)


def mc_r2_bayes_copula(error_variance, rho: float, n_trials: int, rng, fold: Fold | None = None,
                       normalisation: str = "fullrange", grid_size: int = 200) -> MCBound:
    """Monte-Carlo twin of :func:`theory.bayes_copula.r2_bayes_copula`: x* drawn from the copula prior
    restricted to the fold's held-out region (:func:`theory.priors.sample_region`), mu = x* + N(0, diag v),
    and the posterior mean on a grid_size x grid_size midpoint grid of the cube with the copula density

        c(x) = phi_rho(z) / (phi(z1) phi(z2)),  z = Phi^-1(x + 1/2),

    (x-space, where c is singular at two corners: the midpoint rule never evaluates a corner, and the
    singularity is integrable, so its error is confined to trials within a few cells of a corner).
    Reference variance as :func:`theory.bayes_copula.copula_reference_variance`.
    """
    prior = CopulaPrior(float(rho))
    v = float_array("error_variance", error_variance, ndim=1, last_dim=2, last_name="D")
    n_trials = check_positive_int("n_trials", n_trials, 2)
    grid_size = check_positive_int("grid_size", grid_size, 2)
    if np.any(v <= 0) or 1.0 / grid_size > np.sqrt(v.min()) / 4.0:
        raise ValueError(f"grid_size={grid_size} with error_variance={v!r}: v must be > 0 and the spacing "
                         f"1/grid_size <= sqrt(min v) / 4")
    if normalisation not in ("fullrange", "heldout"):
        raise ValueError(f"normalisation={normalisation!r} must be one of ('fullrange', 'heldout')")
    if normalisation == "heldout" and fold is None:
        raise ValueError("normalisation='heldout' needs a fold (the held-out region)")
    ref = LATENT_VARIANCE if normalisation == "fullrange" else \
        float(np.trace(region_moments_copula(prior.rho, fold, "test")[1]) / 2.0)
    rng = as_generator(rng)
    x_star = prior.sample(rng, n_trials) if fold is None else sample_region(prior, rng, n_trials, fold, "test")
    mu = x_star + np.sqrt(v) * rng.standard_normal((n_trials, 2))
    grid = -0.5 + (np.arange(grid_size) + 0.5) / grid_size
    z = ndtri(grid + 0.5)
    q = 1.0 - prior.rho**2
    log_c = -(prior.rho**2 * (z[:, None] ** 2 + z[None, :] ** 2) - 2 * prior.rho * z[:, None] * z[None, :]) \
        / (2.0 * q) - 0.5 * np.log(q)
    c = np.exp(log_c - log_c.max())  # (G, G), a density up to a constant
    m = np.empty((n_trials, 2))
    for start in range(0, n_trials, _BLOCK_TRIALS):
        sl = slice(start, start + _BLOCK_TRIALS)
        ll = -((mu[sl, :, None] - grid) ** 2) / (2.0 * v[:, None])  # (n, 2, G)
        L = np.exp(ll - ll.max(axis=2, keepdims=True))
        cL2 = L[:, 1] @ c.T  # (n, G): sum_j c(g_i, g_j) L2(g_j)
        cL1 = L[:, 0] @ c  # (n, G): sum_i L1(g_i) c(g_i, g_j)
        mass = (L[:, 0] * cL2).sum(axis=1)
        m[sl, 0] = (L[:, 0] * cL2) @ grid / mass
        m[sl, 1] = (L[:, 1] * cL1) @ grid / mass
    return estimate_r2(((x_star - m) ** 2).mean(axis=1), ref, n_trials)
