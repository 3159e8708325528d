"""Bootstrap intervals over networks x folds for medians of trained-network measurements.

A measurement on trained networks (an OOD r^2, an angle) varies from network to network far
more than from trial to trial: per-network medians of OOD r^2 at N = 24 span ~0.2 while the
optimal agent's trial-sampling SE is ~3e-4. The honest unit of replication is therefore the
network, and within a network the fold. :func:`bootstrap_medians` resamples hierarchically:

    1. draw K networks with replacement from the K trained networks;
    2. for each drawn network, draw F of its folds with replacement;
    3. take the median of the K x F resampled values.

The percentile interval of B such medians is the interval of the reported median. Differences
between two settings (e.g. N = 2 vs N = 24, networks trained separately) resample each side
independently (:func:`bootstrap_difference`).

A claim "value < threshold" is decided only when the whole interval lies on one side
(:func:`decide`); otherwise it is *undecided* at this budget.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.world import as_generator, check_positive_int

#: Bootstrap replicates by default: the 2.5% / 97.5% percentiles of 2000 replicates move by
#: ~0.1 of the interval's width from one seed to another.
N_BOOT = 2000
#: Two-sided coverage of the reported intervals.
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A median with its quartiles and bootstrap interval.

    Attributes
    ----------
    median, q25, q75 : float, over all K x F values
    ci_low, ci_high : float, percentile bootstrap interval of the median (level ``level``)
    n_networks, n_folds : int, the K x F the values came from
    """

    median: float
    q25: float
    q75: float
    ci_low: float
    ci_high: float
    n_networks: int
    n_folds: int
    level: float = LEVEL

    def to_dict(self) -> dict:
        return {"median": self.median, "q25": self.q25, "q75": self.q75, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "n_networks": self.n_networks, "n_folds": self.n_folds}


def _values(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2 or v.size == 0:
        raise ValueError(f"values must have shape (K networks, F folds) with K, F >= 1; got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values must be finite (no NaN or inf)")
    return v


def _check_level(level: float) -> float:
    if not (0 < level < 1):
        raise ValueError(f"level={level!r} must be in (0, 1)")
    return float(level)


def bootstrap_medians(values, rng, n_boot: int = N_BOOT) -> np.ndarray:
    """Medians of hierarchical resamples (networks, then folds within each network).

    Parameters
    ----------
    values : ndarray, shape (K, F) (or (K,): one value per network)
    rng : seed or numpy Generator
    n_boot : number of replicates B

    Returns
    -------
    medians : ndarray, shape (B,)
    """
    v = _values(values)
    n_boot = check_positive_int("n_boot", n_boot)
    rng = as_generator(rng)
    K, F = v.shape
    nets = rng.integers(0, K, size=(n_boot, K))
    folds = rng.integers(0, F, size=(n_boot, K, F))
    resampled = v[nets[..., None], folds]                      # (B, K, F)
    return np.median(resampled.reshape(n_boot, -1), axis=-1)


def interval(values, rng, n_boot: int = N_BOOT, level: float = LEVEL) -> Interval:
    """Median, quartiles and the percentile bootstrap interval of the median of ``values`` (K, F)."""
    v = _values(values)
    level = _check_level(level)
    meds = bootstrap_medians(v, rng, n_boot)
    lo, hi = np.percentile(meds, [50 * (1 - level), 50 * (1 + level)])
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return Interval(float(med), float(q25), float(q75), float(lo), float(hi), int(v.shape[0]), int(v.shape[1]),
                    level)


def bootstrap_difference(a, b, rng, n_boot: int = N_BOOT, level: float = LEVEL) -> tuple[float, float, float]:
    """median(b) - median(a) and its percentile interval, a and b resampled independently.

    Parameters
    ----------
    a, b : ndarray, shape (K_a, F) and (K_b, F'), values of two separately trained groups

    Returns
    -------
    difference, ci_low, ci_high : floats
    """
    level = _check_level(level)
    rng = as_generator(rng)
    ra, rb = rng.spawn(2)
    diff = bootstrap_medians(b, rb, n_boot) - bootstrap_medians(a, ra, n_boot)
    lo, hi = np.percentile(diff, [50 * (1 - level), 50 * (1 + level)])
    return float(np.median(_values(b)) - np.median(_values(a))), float(lo), float(hi)


def decide(ci_low: float, ci_high: float, threshold: float, claim: str) -> tuple[bool, bool]:
    """Decide "value < threshold" (``claim="below"``) or "value > threshold" (``"above"``) from an interval.

    Returns
    -------
    passed, decided : bool, bool
        decided is False when the interval contains the threshold; passed is then False too
        (an undecided claim is neither confirmed nor refuted).

    Examples
    --------
    >>> decide(0.1, 0.2, 0.0, "above"), decide(-0.1, 0.2, 0.0, "above"), decide(-0.3, -0.1, 0.0, "above")
    ((True, True), (False, False), (False, True))
    """
    if claim not in ("below", "above"):
        raise ValueError(f"claim={claim!r} must be 'below' or 'above'")
    if not (ci_low <= ci_high):
        raise ValueError(f"ci_low={ci_low!r} must be <= ci_high={ci_high!r}")
    if claim == "below":
        if ci_high < threshold:
            return True, True
        return False, bool(ci_low > threshold)
    if ci_low > threshold:
        return True, True
    return False, bool(ci_high < threshold)
