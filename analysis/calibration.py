"""Calibration of a network's outputs against the optimal agent, trial by trial.

The optimal agent answers task i with Phi(z_i), z_i = sqrt(t) (c_i . mu(t) + b_i) / s_i
(s_i = sqrt(sum_d c_id^2 sigma_d^2), :func:`theory.designs.noise_scale`; sigma |c_i| for a scalar sigma),
so its sigmoid-output logit is
l*(z) = log Phi(z) - log Phi(-z): about 1.6 z near 0 and z^2 / 2 in the tails. A network's
logits l on the same trials (same evidence) can be compared with z directly:

- the *calibration curve*: mean logit per bin of z (equal-count bins over all trials and tasks);
- the *calibrated line*: the per-network least-squares slope a in l ~ a z (through the origin);
- *mu agreement* r^2(mu_hat, mu) (full-range normalisation) of mu trilaterated from the logits
  (:func:`optimal.trilateration.recover_mu_from_probits`) with
    ``exact``:      z_hat = Phi^-1(s(l)) (probit inversion, :mod:`analysis.optimality`);
    ``calibrated``: z_hat = l / a (the network's own fitted slope);
  and ``optimal``: the same exact inversion applied to the optimal agent's own logits l*(z),
  which is 1 up to rounding (the reference value).

``sigma`` is a scalar or one sd per axis. Under noise other than i.i.d. Gaussian, ``mu`` is the
matched estimate and ``sigma`` its matched sd sqrt(t v_d) (:func:`optimal.estimates.running_estimate`,
:func:`optimal.estimates.matched_sigma`): anisotropic noise gives sigma * aniso_scales, AR(1) the GLS
variance's, Gumbel the posterior's.

A network whose logits saturate in the tails (logit 15 where l*(z) is 48) loses exact agreement
through the inversion's compression of large distances, not through a wrong ordering of trials.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr

from optimal.trilateration import recover_mu_from_probits
from theory.designs import Design, noise_scale
from theory.world import check_positive_int
from analysis.decoders import r2_score
from analysis.optimality import probits_from_logits

#: Equal-count bins of z in the calibration curve.
N_BINS = 20


def optimal_probits(mu, design: Design, sigma, t) -> np.ndarray:
    """z_i = sqrt(t) (c_i . mu + b_i) / s_i. mu : (..., n, D) -> (..., n, N); sigma scalar or (D,)."""
    mu = np.asarray(mu, dtype=float)
    if mu.shape[-1] != design.D:
        raise ValueError(f"mu must have last dimension D={design.D}; got shape {mu.shape}")
    if not (np.ndim(t) == 0 and t > 0):
        raise ValueError(f"t={t!r} must be a scalar > 0")
    return np.sqrt(t) * (mu @ design.C.T + design.b) / noise_scale(design, sigma)


def optimal_logits(z) -> np.ndarray:
    """l*(z) = log Phi(z) - log Phi(-z), the logit of the optimal output Phi(z), exact in the tails."""
    z = np.asarray(z, dtype=float)
    return log_ndtr(z) - log_ndtr(-z)


def logit_slope(logits, z) -> np.ndarray:
    """Least-squares slope a of l ~ a z through the origin, over the last two axes (trials, tasks).

    logits, z : ndarray (..., n, N) -> a : ndarray (...)
    """
    logits, z = np.broadcast_arrays(np.asarray(logits, float), np.asarray(z, float))
    zz = np.sum(z * z, axis=(-2, -1))
    if np.any(zz <= 0):
        raise ValueError("z is identically 0: the slope is undefined")
    return np.sum(logits * z, axis=(-2, -1)) / zz


@dataclass(frozen=True)
class Calibration:
    """Calibration of K networks sharing a design.

    Attributes
    ----------
    z_centre : ndarray (K, B), each network's mean z in each bin (bins shared by all networks)
    logit_mean : ndarray (K, B), mean network logit per bin
    optimal_mean : ndarray (K, B), mean optimal logit l*(z) per bin
    slope : ndarray (K,), the calibrated line l = a z of each network
    exact, calibrated : ndarray (K,), r^2(mu_hat, mu) with z_hat = Phi^-1(s(l)) or l / a (NaN when a <= 0)
    optimal : float, exact agreement of the optimal agent's own logits (1 up to rounding)
    """

    z_centre: np.ndarray
    logit_mean: np.ndarray
    optimal_mean: np.ndarray
    slope: np.ndarray
    exact: np.ndarray
    calibrated: np.ndarray
    optimal: float


def calibrate(logits, mu, design: Design, sigma, t, n_bins: int = N_BINS) -> Calibration:
    """Calibration curve, calibrated line and mu agreement of K networks on the same design.

    Parameters
    ----------
    logits : ndarray (K, n, N), sigmoid-output pre-activations at the decision step
    mu : ndarray (K, n, D), the optimal agent's mu(t) on the evidence each network saw
    design, sigma, t : the task design, per-step noise sd (> 0; a scalar or one per axis, shape (D,):
        the matched sd of :func:`optimal.estimates.matched_sigma` for non-Gaussian or correlated
        noise) and evidence samples
    n_bins : equal-count bins of z

    Returns
    -------
    Calibration
    """
    logits = np.asarray(logits, dtype=float)
    mu = np.asarray(mu, dtype=float)
    n_bins = check_positive_int("n_bins", n_bins)
    if logits.ndim != 3 or logits.shape[-1] != design.ntask or logits.shape[:2] != mu.shape[:2]:
        raise ValueError(f"logits must have shape (K, n, N={design.ntask}) matching mu (K, n, D); got "
                         f"{logits.shape} and {mu.shape}")
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits must be finite (no NaN or inf)")
    z = optimal_probits(mu, design, sigma, t)
    edges = np.quantile(z, np.linspace(0, 1, n_bins + 1))
    which = np.clip(np.searchsorted(edges, z, side="right") - 1, 0, n_bins - 1)      # (K, n, N)
    onehot = which[..., None] == np.arange(n_bins)                                   # (K, n, N, B)
    count = onehot.sum(axis=(1, 2))                                                  # (K, B)
    with np.errstate(invalid="ignore", divide="ignore"):      # an empty bin of one network: NaN
        logit_mean, z_centre, optimal_mean = (np.einsum("knib,kni->kb", onehot, v) / count
                                              for v in (logits, z, optimal_logits(z)))
    slope = logit_slope(logits, z)
    exact = r2_score(mu, recover_mu_from_probits(probits_from_logits(logits), design, sigma, t))
    # a network whose logits fall with z (slope <= 0, e.g. untrained) has no calibrated inverse: NaN
    safe = np.where(slope > 0, slope, 1.0)[:, None, None]
    calibrated = np.where(slope > 0, r2_score(mu, recover_mu_from_probits(logits / safe, design, sigma, t)), np.nan)
    own = recover_mu_from_probits(probits_from_logits(optimal_logits(z)), design, sigma, t)
    return Calibration(z_centre, logit_mean, optimal_mean, slope, exact, calibrated, float(np.min(r2_score(mu, own))))
