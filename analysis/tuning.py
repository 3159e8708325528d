"""Tuning of hidden units to the latents, and their lifetime sparseness (docs/theory.md §6 and §7).

Units are probed with noiseless stimuli on a regular grid of x* (8 x 8 for D = 2): the
rate of each unit at the final step, per stimulus, gives its tuning map. Reported per unit:
- the Pearson correlation of its rate with each latent coordinate x*_j over the grid;
- lifetime sparseness over m stimuli (Vinje & Gallant 2000),
      S = [1 - (mean_s r)^2 / mean_s(r^2)] / (1 - 1/m),
  0 for a unit that responds equally to every stimulus, 1 for one that responds to exactly one;
- the fraction of (stimulus, unit) pairs with a positive rate.
"""
from __future__ import annotations

import numpy as np

from theory.world import check_positive_int

#: Points per axis of the reference tuning grid (8 x 8 for D = 2).
GRID_SIDE = 8


def grid_latents(n_side: int = GRID_SIDE, D: int = 2) -> np.ndarray:
    """Noiseless x* on a regular grid: the centres of n_side equal bins of [-1/2, 1/2] per axis.

    Bin centres ((k + 1/2) / n_side - 1/2, k = 0..n_side-1) keep every point off the quadrant
    boundaries and the cube faces and make the grid symmetric under x -> -x. Coordinate 0 varies
    slowest, so ``rates.reshape(n_side, ..., n_side, H)`` restores the grid.

    Returns
    -------
    x : ndarray, shape (n_side ** D, D)

    Examples
    --------
    >>> grid_latents(2, 2)
    array([[-0.25, -0.25],
           [-0.25,  0.25],
           [ 0.25, -0.25],
           [ 0.25,  0.25]])
    """
    n_side = check_positive_int("n_side", n_side)
    D = check_positive_int("D", D)
    axis = (np.arange(n_side) + 0.5) / n_side - 0.5
    return np.stack(np.meshgrid(*([axis] * D), indexing="ij"), axis=-1).reshape(-1, D)


def _check_rates(rates) -> np.ndarray:
    r = np.asarray(rates, dtype=float)
    if r.ndim < 2:
        raise ValueError(f"rates must have shape (..., m, H); got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("rates must be finite (no NaN or inf)")
    return r


def unit_correlations(rates, x) -> np.ndarray:
    """Pearson correlation of each unit's rate with each latent coordinate over the stimuli.

    Parameters
    ----------
    rates : ndarray, shape (..., m, H), e.g. (K, 64, H) for K networks on the 8 x 8 grid
    x : ndarray, shape (m, D), the stimuli

    Returns
    -------
    rho : ndarray, shape (..., H, D); NaN for a unit whose rate does not vary (e.g. a dead
        ReLU unit), whose correlation is undefined
    """
    r = _check_rates(rates)
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] != r.shape[-2]:
        raise ValueError(f"x must have shape (m={r.shape[-2]}, D); got shape {x.shape}")
    rc = r - r.mean(axis=-2, keepdims=True)
    xc = x - x.mean(axis=0)
    x_sd = np.sqrt((xc**2).sum(axis=0))
    if np.any(x_sd == 0):
        raise ValueError("every latent coordinate must vary over the stimuli")
    r_sd = np.sqrt((rc**2).sum(axis=-2))
    cov = np.swapaxes(rc, -1, -2) @ xc
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = cov / (r_sd[..., :, None] * x_sd)
    return np.where(r_sd[..., :, None] > 0, rho, np.nan)


def lifetime_sparseness(rates) -> np.ndarray:
    """S = [1 - (mean r)^2 / mean(r^2)] / (1 - 1/m) per unit, over the m stimuli (axis -2).

    Meant for non-negative rates (ReLU units); NaN for a unit that is silent on every stimulus.

    Parameters
    ----------
    rates : ndarray, shape (..., m, H), m >= 2

    Returns
    -------
    S : ndarray, shape (..., H), in [0, 1] for non-negative rates

    Examples
    --------
    >>> lifetime_sparseness(np.array([[1.0, 2.0], [0.0, 2.0], [0.0, 2.0]]))
    array([1., 0.])
    """
    r = _check_rates(rates)
    m = r.shape[-2]
    if m < 2:
        raise ValueError(f"need m >= 2 stimuli for lifetime sparseness; got m={m}")
    mean = r.mean(axis=-2)
    mean_sq = (r**2).mean(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        S = (1.0 - mean**2 / mean_sq) / (1.0 - 1.0 / m)
    return np.where(mean_sq > 0, S, np.nan)


def fraction_active(rates) -> np.ndarray:
    """Fraction of (stimulus, unit) pairs with a positive rate, per network: shape (...)."""
    r = _check_rates(rates)
    return (r > 0).mean(axis=(-2, -1))
