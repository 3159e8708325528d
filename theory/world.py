"""The generative world of docs/theory.md §1: a latent point in a cube seen through Gaussian noise.

x* ~ Uniform([-1/2, 1/2]^D), one per trial, so Var(x*_j) = 1/12.
X(s) = x* + eps(s), s = 1..t, eps(s) ~ N(0, diag(sigma^2)) i.i.d.

All sampling is vectorised over trials and takes an explicit ``numpy.random.Generator``
(or a seed, normalised by :func:`as_generator`).
"""
from __future__ import annotations

import numbers

import numpy as np

from infra.validate import float_array

#: Variance of one coordinate of x* ~ U(-1/2, 1/2): (1/2 - (-1/2))^2 / 12.
LATENT_VARIANCE = 1.0 / 12.0


def as_generator(seed) -> np.random.Generator:
    """Normalise ``seed`` (None, int, SeedSequence or Generator) to a ``numpy.random.Generator``.

    A Generator is returned unchanged (so callers share its stream); anything else seeds a
    new PCG64 generator, so the same integer always gives bit-identical draws.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(seed, numbers.Integral) and seed < 0:
            raise ValueError(f"seed={seed} must be a non-negative integer")
        return np.random.default_rng(seed)
    raise ValueError(f"seed={seed!r} must be None, a non-negative int, a SeedSequence or a Generator")


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise ValueError naming ``name`` if it is not an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")
    return int(value)


def check_sigma(sigma, D: int | None = None, allow_zero: bool = True) -> np.ndarray:
    """Validate a noise sd: a scalar or one sd per latent dimension, finite and non-negative.

    Returns
    -------
    sigma : ndarray, shape () or (D,)
    """
    s = float_array("sigma", sigma, finite=False)
    if s.ndim > 1 or (s.ndim == 1 and D is not None and s.shape[0] != D):
        raise ValueError(f"sigma must be a scalar or have shape (D,)=({D},); got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"sigma={sigma!r} must be finite")
    if np.any(s < 0) or (not allow_zero and np.any(s == 0)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"sigma={sigma!r} must be {bound}")
    return s


def sample_latents(rng, n_trials: int, D: int) -> np.ndarray:
    """Draw x* ~ Uniform([-1/2, 1/2]^D) for each trial.

    Returns
    -------
    x_star : ndarray, shape (n_trials, D)
    """
    n_trials = check_positive_int("n_trials", n_trials)
    D = check_positive_int("D", D)
    return as_generator(rng).uniform(-0.5, 0.5, size=(n_trials, D))


def sample_evidence(rng, x_star: np.ndarray, t: int, sigma) -> np.ndarray:
    """Draw the evidence stream X(s) = x* + eps(s), eps(s) ~ N(0, diag(sigma^2)), s = 1..t.

    Parameters
    ----------
    x_star : ndarray, shape (n_trials, D)
    t : int, number of evidence samples (time steps)
    sigma : float or ndarray of shape (D,), per-step noise sd (latent units)

    Returns
    -------
    X : ndarray, shape (n_trials, t, D)
    """
    x_star = float_array("x_star", x_star)
    if x_star.ndim != 2:
        raise ValueError(f"x_star must have shape (n_trials, D); got shape {x_star.shape}")
    t = check_positive_int("t", t)
    s = check_sigma(sigma, x_star.shape[1])
    eps = as_generator(rng).standard_normal((x_star.shape[0], t, x_star.shape[1]))
    return x_star[:, None, :] + s * eps
