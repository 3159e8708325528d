"""Estimates with standard errors, and how many standard errors a family of comparisons allows.

The statistics every claim module shares (:mod:`verify.curves`, :mod:`verify.sweep`,
:mod:`verify.theorem31`, :mod:`verify.information_mc`, :mod:`verify.geometry`), kept below them so
that no claim module imports another:

- :class:`MCEstimate`: an estimate, its standard error and the degrees of freedom of that SE;
- :func:`family_k`: k such that n two-sided k-SE comparisons all pass with probability >= 1 - alpha
  (Bonferroni; normal or Student-t), with the named rules :data:`K_VARIANTS` and :data:`K_SINGLE`;
- :func:`r2_estimate`: the one r^2 estimator over independent trials, with its SE;
- :func:`mean_se`: a mean over independent values with its SE.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import t as student_t

from theory.world import LATENT_VARIANCE, check_positive_int


@dataclass(frozen=True)
class MCEstimate:
    """A Monte-Carlo estimate, its standard error (arrays of the same shape), and the degrees of
    freedom of that SE (number of independent units - 1): few replicates give a noisy SE, so
    their comparisons use Student-t rather than normal quantiles (see :func:`family_k`)."""

    value: np.ndarray
    se: np.ndarray
    dof: float = np.inf

    def z_score(self, prediction) -> np.ndarray:
        """(estimate - prediction) / SE."""
        return (self.value - np.asarray(prediction, dtype=float)) / self.se

    def agrees(self, prediction, k: float) -> np.ndarray:
        """|estimate - prediction| <= k SE, element-wise."""
        return np.abs(self.z_score(prediction)) <= k


#: Named tolerance rules: the family-wise false-alarm probability each stands for.
#: ``single``: one comparison at 4 SE (two-sided normal p = 6.3e-5), the rule of a lone check;
#: ``screen``: 3 SE (p = 2.7e-3), for a comparison that is one of many rows of a report.
K_VARIANTS = {"single": float(2.0 * ndtr(-4.0)), "screen": float(2.0 * ndtr(-3.0))}


def family_k(n_comparisons: int = 1, alpha: float | None = None, dof: float = np.inf,
             variant: str | None = None) -> float:
    """k such that n two-sided k-SE comparisons all pass with probability >= 1 - alpha.

    k = Phi^-1(1 - alpha / (2 n)) for an exactly known SE (``dof`` infinite), or the Student-t
    quantile with ``dof`` degrees of freedom when the SE is estimated from dof + 1 replicates.
    ``variant`` (a key of :data:`K_VARIANTS`) names the family rate instead of ``alpha``;
    without either, alpha = 0.01.

    Examples
    --------
    >>> round(family_k(1, 0.05), 2)
    1.96
    >>> round(family_k(1, 0.05, dof=7), 2)
    2.36
    >>> round(family_k(variant="single"), 12)
    4.0
    """
    n_comparisons = check_positive_int("n_comparisons", n_comparisons)
    if variant is not None:
        if variant not in K_VARIANTS:
            raise ValueError(f"variant={variant!r} must be one of {tuple(K_VARIANTS)}")
        if alpha is not None:
            raise ValueError(f"give alpha={alpha!r} or variant={variant!r}, not both")
        alpha = K_VARIANTS[variant]
    alpha = 0.01 if alpha is None else alpha
    if not (isinstance(alpha, (int, float)) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha={alpha!r} must lie in (0, 1)")
    if not dof > 0:
        raise ValueError(f"dof={dof!r} must be > 0")
    p = alpha / (2.0 * n_comparisons)
    return float(-ndtri(p)) if np.isinf(dof) else float(student_t.isf(p, dof))


#: The ``single`` rule's k (4 SE): the tolerance of a lone Monte-Carlo check.
K_SINGLE = family_k(variant="single")


def r2_estimate(sq_err, reference_variance: float = LATENT_VARIANCE) -> MCEstimate:
    """r^2 = 1 - mean(sq_err) / reference variance over trials, with its standard error.

    The one estimator of r^2 of the toolkit: trials are independent, so SE = sd(sq_err) /
    (sqrt(n) reference variance), with n - 1 degrees of freedom.

    Parameters
    ----------
    sq_err : array, shape (n_trials, ...), squared error of each trial (already pooled over
        coordinates when a pooled r^2 is wanted); n_trials >= 2, finite
    reference_variance : the denominator of r^2 (default Var(x*_j) = 1/12)

    Returns
    -------
    MCEstimate with value and se of shape (...)

    Examples
    --------
    >>> est = r2_estimate(np.array([0.0, 1 / 6]))
    >>> float(est.value), round(float(est.se), 12)
    (0.0, 1.0)
    """
    sq = np.asarray(sq_err, dtype=float)
    if sq.ndim < 1 or sq.shape[0] < 2:
        raise ValueError(f"sq_err must have shape (n_trials >= 2, ...); got shape {sq.shape}")
    if not np.all(np.isfinite(sq)) or np.any(sq < 0):
        raise ValueError("sq_err must be finite and >= 0")
    if not (np.isfinite(reference_variance) and reference_variance > 0):
        raise ValueError(f"reference_variance={reference_variance!r} must be finite and > 0")
    m = mean_se(sq)
    return MCEstimate(1.0 - m.value / reference_variance, m.se / reference_variance, m.dof)


def mean_se(values: np.ndarray, axis: int = 0) -> MCEstimate:
    """Mean over ``axis`` of independent values with its standard error (sd / sqrt(n), n - 1 dof)."""
    n = values.shape[axis]
    return MCEstimate(values.mean(axis=axis), values.std(axis=axis, ddof=1) / np.sqrt(n), dof=n - 1)
