"""The Bayes bound: the r^2 of the posterior mean E[x* | evidence] under the world's uniform box prior.

Whose bound it is. The paper's theory line 1 - 12 sigma^2 / t and the protocol values of
:mod:`theory.ceilings` are what a *linear decoder on mu(t)* (the flat-prior estimate) reaches. They are
not upper bounds: the posterior mean under the true prior does better. The value here is the Bayes bound:
no decoder of any state can beat it beyond Monte-Carlo noise, because the posterior mean minimises the
expected squared error given everything the agent saw. A state that has lost information does worse.
As a theorem this holds over the prior: on the whole box, and for the mean over the orthant folds (an
equal-probability partition of the box) when one estimator serves every fold. On a single held-out region
(and for half-space fold means) it is what the Bayes agent reaches there (it needs no training, so its OOD
r^2 is its r^2 on that region); an estimator biased toward that region could beat it there, so there the
linear lines' position below it is checked numerically (tests), not assumed.

The world (docs/theory.md §1): x*_d ~ U[low_d, high_d] independently, and the evidence reduces to a
sufficient statistic mu_d | x* ~ N(x*_d, v_d), v_d = sigma_d^2 / t (anisotropic noise: a vector v;
AR(1) noise: the GLS mean is sufficient, see :func:`sufficient_variance`). The posterior of each
coordinate is N(mu_d, v_d) truncated to [low_d, high_d], with mean (s = sqrt v, a = (low - mu) / s,
b = (high - mu) / s)

    m(mu) = mu + s [phi(a) - phi(b)] / [Phi(b) - Phi(a)].

Bayes MSE on x_d in a sub-interval [lo, hi] of the box. Fubini and the closed-form Gaussian moments
over [lo, hi] turn E_x E_mu|x [(x - m(mu))^2] into one integral over mu:

    MSE = 1 / (hi - lo) int dmu  P_[lo,hi](mu) [Var_[lo,hi](mu) + (E_[lo,hi](mu) - m(mu))^2],

P, E, Var the mass, mean and variance of N(mu, v) on [lo, hi]. The mu integral is composite
Gauss-Legendre on panels graded at 0, 1/4, ..., 12 s about each of low, lo, hi, high and cut at 12 s
outside the box (the weight beyond is < Phi(-12) ~ 2e-33). Accuracy check (tests/test_bayes_bound.py):
agrees with the 32-node rule and with an independent Gauss-Legendre (x) x Gauss-Hermite (mu) double
integral to ~1e-12 relative.

Normalisations, as :func:`theory.ceilings.r2_protocol`: r^2 = 1 - sum_d MSE_d / sum_d Var_ref_d with
``fullrange`` Var_ref_d = (high_d - low_d)^2 / 12 (1/12 on the toolkit's cube) and ``heldout`` the
held-out region's own per-coordinate variance. Fold regions are those of :mod:`theory.folds`, split at
the box's centre. Gumbel noise has no Gaussian sufficient statistic: :mod:`theory.bayes_noise`.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import erf, erfcx

from infra.validate import float_array, instance_of
from theory.folds import Fold, ood_folds
from theory.noise import NoiseModel, estimator_variance
from theory.world import check_positive_int, check_sigma

#: Gauss-Legendre nodes per panel of the mu integral.
NODES = 16
#: Panel edges about each breakpoint, in posterior sd s: fine where the integrand turns over (scale s),
#: out to 12 s, beyond which a Gaussian's weight is < Phi(-12) ~ 2e-33.
GRADING = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0)
#: Largest variation of the log-density over the interval for which moments come from Gauss-Legendre with
#: WEAK_NODES nodes: exp(k u) on [0, 1] with k <= 4 is integrated to ~4^40 / 40! ~ 1e-24 by 20 nodes.
WEAK_TILT, WEAK_NODES = 4.0, 20
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


@lru_cache(maxsize=8)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return leggauss(n)


def truncated_moments(mu, v, lo, hi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mass, mean and variance of N(mu, v) on [lo, hi] (v > 0; arrays broadcast).

    mass = Phi(b) - Phi(a), mean = mu + s r, var = v (1 + q - r^2) with a = (lo - mu)/s,
    b = (hi - mu)/s, r = [phi(a) - phi(b)] / mass, q = [a phi(a) - b phi(b)] / mass. Computed
    without cancellation: reflected so that mu <= (lo + hi)/2 (then b >= |a|); for a <= 0 the mass is
    the sum (erf(b/sqrt2) + erf(-a/sqrt2)) / 2; for a > 0 (mu below the interval) every ratio is
    scaled by phi(a) and the tail written with erfcx, so nothing overflows or underflows to 0/0.

    Returns
    -------
    mass, mean, var : ndarrays of the broadcast shape
    """
    mu, v, lo, hi = np.broadcast_arrays(*(np.asarray(z, dtype=float) for z in (mu, v, lo, hi)))
    shape = mu.shape
    mu, v, lo, hi = (z.ravel() for z in (mu, v, lo, hi))
    s = np.sqrt(v)
    c = 0.5 * (lo + hi)
    flip = mu > c
    m = np.where(flip, 2.0 * c - mu, mu)
    a, b = (lo - m) / s, (hi - m) / s
    tilt = np.exp(-0.5 * (b - a) * (b + a))  # phi(b) / phi(a), <= 1
    one_minus = -np.expm1(-0.5 * (b - a) * (b + a))  # 1 - tilt, accurate when tilt ~ 1
    inside = a <= 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        # a <= 0 <= b: mass is a sum of two non-negative terms.
        mass_in = 0.5 * (erf(b / np.sqrt(2.0)) + erf(-a / np.sqrt(2.0)))
        phi_a = _INV_SQRT_2PI * np.exp(-0.5 * a * a)
        r_in = phi_a * one_minus / mass_in
        q_in = phi_a * (a - b * tilt) / mass_in
        # 0 < a < b: mass = phi(a) sqrt(2 pi) (erfcx(a/sqrt2) - erfcx(b/sqrt2) tilt) / 2.
        scaled = 0.5 * (erfcx(a / np.sqrt(2.0)) - erfcx(b / np.sqrt(2.0)) * tilt)
        r_out = _INV_SQRT_2PI * one_minus / scaled
        q_out = _INV_SQRT_2PI * (a - b * tilt) / scaled
        mass_out = np.exp(-0.5 * a * a) * scaled
    r = np.where(inside, r_in, r_out)
    q = np.where(inside, q_in, q_out)
    mass = np.where(inside, mass_in, mass_out)
    mean = m + s * r
    var = np.maximum(v * (1.0 + q - r * r), 0.0)
    # A wide posterior on a short interval is nearly flat there: 1 + q - r^2 ~ (b - a)^2 / 12 then cancels
    # (relative error ~ eps v / (hi - lo)^2). Where log-density varies by <= WEAK_TILT over the interval,
    # Gauss-Legendre on it is exact to rounding, so the mean and variance are taken from it instead.
    weak = (b - a) * np.maximum(np.abs(a), np.abs(b)) + 0.5 * (b - a) ** 2 <= WEAK_TILT
    if np.any(weak):
        mass[weak], mean[weak], var[weak] = _flat_moments(m[weak], v[weak], lo[weak], hi[weak])
    mean = np.where(flip, 2.0 * c - mean, mean)
    return mass.reshape(shape), mean.reshape(shape), var.reshape(shape)


def _flat_moments(mu, v, lo, hi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mass, mean and variance of N(mu, v) on [lo, hi] by Gauss-Legendre, for nearly flat densities, shape (n,)."""
    g, w = _legendre(WEAK_NODES)
    x = lo[:, None] + (hi - lo)[:, None] * (g + 1.0) / 2.0
    log_d = -((x - mu[:, None]) ** 2) / (2.0 * v[:, None])
    top = log_d.max(axis=1, keepdims=True)
    d = w * np.exp(log_d - top)
    mass = d.sum(axis=1) * np.exp(top[:, 0]) * (hi - lo) / 2.0 * _INV_SQRT_2PI / np.sqrt(v)
    mean = (d * x).sum(axis=1) / d.sum(axis=1)
    return mass, mean, (d * (x - mean[:, None]) ** 2).sum(axis=1) / d.sum(axis=1)


def posterior_mean(mu, error_variance, low=-0.5, high=0.5) -> np.ndarray:
    """E[x* | mu] under x* ~ U[low, high]^D and mu | x* ~ N(x*, diag v): the truncated-normal mean.

    Parameters
    ----------
    mu : ndarray, shape (..., D), sufficient statistic (the running mean, or GLS mean under AR(1))
    error_variance : ndarray, shape (D,) or broadcastable, v_d > 0
    low, high : float or ndarray (D,), the box

    Returns
    -------
    m : ndarray, shape (..., D), inside [low, high]
    """
    mu = float_array("mu", mu)
    v = float_array("error_variance", error_variance)
    if np.any(v <= 0):
        raise ValueError(f"error_variance={error_variance!r} must be > 0 for a posterior mean")
    low, high = _check_box(low, high)
    return truncated_moments(mu, v, low, high)[1]


@lru_cache(maxsize=4096)
def _interval_mse(v: float, lo: float, hi: float, low: float, high: float, nodes: int) -> float:
    """Bayes MSE of one coordinate on x in [lo, hi], prior U[low, high], noise variance v (module docstring)."""
    if v == 0.0:
        return 0.0
    s = np.sqrt(v)
    breaks = np.array([low, lo, hi, high])
    grid = np.array(GRADING)
    edges = np.concatenate([breaks[:, None] - s * grid, breaks[:, None] + s * grid]).ravel()
    edges = np.unique(np.clip(edges, low - GRADING[-1] * s, high + GRADING[-1] * s))
    edges = edges[np.concatenate([[True], np.diff(edges) > 0])]
    g, w = _legendre(nodes)
    left, width = edges[:-1, None], np.diff(edges)[:, None]
    mu = (left + width * (g + 1.0) / 2.0).ravel()
    weight = (width * w / 2.0).ravel()
    _, m, _ = truncated_moments(mu, v, low, high)
    mass, mean, var = truncated_moments(mu, v, lo, hi)
    return float(np.sum(weight * mass * (var + (mean - m) ** 2)) / (hi - lo))


def region_intervals(fold: Fold | None, D: int, low, high) -> tuple[np.ndarray, np.ndarray]:
    """Per-coordinate interval [lo_d, hi_d] of a fold's held-out region in the box (the box if no fold).

    Orthant k takes [c_d, high_d] where bit d of k is set, else [low_d, c_d], c the box's centre;
    half-space j takes [c_j, high_j] for coordinate j and the whole box elsewhere (:mod:`theory.folds`).

    Returns
    -------
    lo, hi : ndarrays, shape (D,)
    """
    low, high = (np.broadcast_to(z, (D,)).astype(float) for z in _check_box(low, high))
    lo, hi = low.copy(), high.copy()
    if fold is None:
        return lo, hi
    instance_of("fold", fold, Fold)
    if fold.D != D:
        raise ValueError(f"fold has D={fold.D}; error_variance has D={D}")
    c = 0.5 * (low + high)
    if fold.scheme == "halfspace":
        lo[fold.index] = c[fold.index]
        return lo, hi
    upper = ((fold.index >> np.arange(D)) & 1).astype(bool)
    return np.where(upper, c, low), np.where(upper, high, c)


def bayes_mse(error_variance, fold: Fold | None = None, low=-0.5, high=0.5, nodes: int = NODES) -> np.ndarray:
    """Per-coordinate MSE of the posterior mean on the fold's held-out region (the whole box if None).

    Parameters
    ----------
    error_variance : ndarray, shape (..., D), v_d = Var(mu_d | x*) >= 0
    fold : held-out region, or None for the whole box
    low, high : float or ndarray (D,), the box of the uniform prior
    nodes : Gauss-Legendre nodes per panel

    Returns
    -------
    mse : ndarray, shape (..., D), E[(x*_d - E[x*_d | mu])^2 | x* in the region]
    """
    v = _check_variance(error_variance)
    nodes = check_positive_int("nodes", nodes, 2)
    D = v.shape[-1]
    lo, hi = region_intervals(fold, D, low, high)
    box_lo, box_hi = region_intervals(None, D, low, high)
    out = np.empty(v.shape)
    for idx in np.ndindex(v.shape):  # a few hundred nodes each; cached per distinct (v, interval)
        d = idx[-1]
        out[idx] = _interval_mse(float(v[idx]), float(lo[d]), float(hi[d]), float(box_lo[d]), float(box_hi[d]),
                                 nodes)
    return out


def bayes_reference_variance(fold: Fold | None, normalisation: str, D: int, low=-0.5, high=0.5) -> float:
    """Denominator of r^2, pooled over coordinates: the box's variance (``fullrange``) or the held-out
    region's (``heldout``), each U[lo, hi] coordinate contributing (hi - lo)^2 / 12. On the toolkit's cube
    this is :func:`theory.ceilings.reference_variance`."""
    if normalisation not in ("fullrange", "heldout"):
        raise ValueError(f"normalisation={normalisation!r} must be one of ('fullrange', 'heldout')")
    if normalisation == "heldout" and fold is None:
        raise ValueError("normalisation='heldout' needs a fold (the held-out region)")
    lo, hi = region_intervals(fold if normalisation == "heldout" else None, D, low, high)
    return float(np.mean((hi - lo) ** 2) / 12.0)


def r2_bayes(error_variance, fold: Fold | None = None, normalisation: str = "fullrange",
             low=-0.5, high=0.5) -> np.ndarray:
    """The Bayes bound: pooled r^2 of E[x* | mu] on the fold's held-out region (whole box if None).

    r^2 = 1 - mean_d MSE_d / reference, the reference as :func:`theory.ceilings.r2_protocol`'s; compare it
    row by row with ``r2_protocol(v, fold, normalisation)`` (the linear-on-mu line).

    Parameters
    ----------
    error_variance : ndarray, shape (..., D), v_d = sigma_d^2 / t (or :func:`sufficient_variance`)

    Returns
    -------
    r2 : ndarray, shape (...)

    Examples
    --------
    >>> v = [0.2**2 / 20] * 2   # sigma 0.2, t 20: above the linear line 1 / (1 + 12 v)
    >>> bool(r2_bayes(v) > 1 / (1 + 12 * v[0]))
    True
    """
    v = _check_variance(error_variance)
    ref = bayes_reference_variance(fold, normalisation, v.shape[-1], low, high)
    return 1.0 - bayes_mse(v, fold, low, high).mean(axis=-1) / ref


def r2_bayes_whole_cube(sigma, t, D: int) -> float:
    """The Bayes bound on the whole cube [-1/2, 1/2]^D: 1 - 12 mean_d E[Var(x*_d | X)], v_d = sigma_d^2 / t.

    sigma : float or ndarray (D,) (anisotropic), > 0; t : number of samples, > 0.
    """
    D = check_positive_int("D", D)
    s = check_sigma(sigma, D)
    return float(r2_bayes(np.broadcast_to(s**2 / _check_t(t), (D,))))


def r2_bayes_fold_mean(error_variance, normalisation: str = "fullrange", scheme: str = "auto") -> np.ndarray:
    """Mean over :func:`theory.folds.ood_folds` of :func:`r2_bayes` per fold, the convention of the network
    rows (verify.networks.experiment.fold_mean). error_variance : shape (..., D) -> shape (...)."""
    v = _check_variance(error_variance)
    return np.mean([r2_bayes(v, f, normalisation) for f in ood_folds(v.shape[-1], scheme)], axis=0)


def bayes_line(sigma: float, t: float, D: int, normalisation: str) -> dict:
    """The Bayes bound beside a network row's linear line (isotropic Gaussian noise, v = sigma^2 / t):
    ``r2_bayes`` (mean over the OOD folds, the rows' convention) and ``r2_bayes_whole_cube``."""
    v = np.full(check_positive_int("D", D), float(check_sigma(sigma)) ** 2 / _check_t(t))
    return {"r2_bayes": float(r2_bayes_fold_mean(v, normalisation)),
            "r2_bayes_whole_cube": r2_bayes_whole_cube(sigma, t, D)}


def sufficient_variance(model: NoiseModel, t) -> np.ndarray:
    """Var(mu_d | x*) of the Gaussian sufficient statistic after t samples, shape (..., D).

    Gaussian and anisotropic noise: the running mean, sigma_d^2 / t. AR(1): the likelihood of x* is
    Gaussian with precision 1^T R^-1 1 / sigma^2 (R_rs = a^|r-s|), so the GLS mean 1^T R^-1 X / 1^T R^-1 1
    is sufficient, with variance sigma^2 (1 + a) / (t (1 - a) + 2 a) (docs/theory.md §4, noise variants;
    :func:`theory.noise.estimator_variance` with ``"gls"``). Gumbel noise has no Gaussian sufficient
    statistic (:mod:`theory.bayes_noise`).
    """
    instance_of("model", model, NoiseModel)
    if model.kind == "gumbel":
        raise ValueError("noise='gumbel' has no Gaussian sufficient statistic; use theory.bayes_noise")
    return estimator_variance(model, t, "gls" if model.kind == "ar1" else "mean")


def _check_t(t) -> float:
    t_arr = float_array("t", t)
    if t_arr.ndim != 0 or t_arr <= 0:
        raise ValueError(f"t={t!r} must be a single number > 0")
    return float(t_arr)


def _check_box(low, high) -> tuple[np.ndarray, np.ndarray]:
    low, high = float_array("low", low), float_array("high", high)
    if low.ndim > 1 or high.ndim > 1 or np.any(high <= low):
        raise ValueError(f"low={low!r}, high={high!r} must be scalars or shape (D,) with high > low")
    return low, high


def _check_variance(error_variance) -> np.ndarray:
    v = float_array("error_variance", error_variance, finite=False)
    if v.ndim < 1:
        raise ValueError(f"error_variance must have shape (..., D); got shape {v.shape}")
    if np.any(~np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"error_variance={error_variance!r} must be finite and >= 0")
    return v
