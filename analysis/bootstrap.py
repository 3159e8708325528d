"""Intervals over networks x folds for trained-network measurements, and the decision rule.

A measurement on trained networks (an OOD r^2, an angle) varies from network to network far
more than from trial to trial: per-network medians of OOD r^2 at N = 24 span ~0.2 while the
optimal agent's trial-sampling SE is ~3e-4. The honest unit of replication is therefore the
network, and within a network the fold.

Verdict intervals (the defaults, chosen by the coverage study benchmarks/coverage.py, table in
benchmarks/coverage.md): :func:`interval` is the Student-t interval of the mean over networks
(:func:`analysis.intervals.cluster_t`), :func:`bootstrap_difference` Welch's interval of the
difference of two groups' means (:func:`analysis.intervals.welch_difference`). Both reach their
nominal 95% from K = 2 networks when network effects are normal; with fewer than
:data:`MIN_NETWORKS` networks they are (-inf, inf), so every claim is undecided.

The earlier method stays available as ``method="percentile_bootstrap"`` (descriptive bands only):
a hierarchical percentile bootstrap of the median (:func:`bootstrap_medians`):

    1. draw K networks with replacement from the K trained networks;
    2. for each drawn network, draw F of its folds with replacement;
    3. take the median of the K x F resampled values.

It covers 55-95% at K = 2 and 76-96% at K = 3 (least when networks differ more than folds: a
bootstrap over K clusters sees only K^K resamples and no uncertainty in their spread), so it must
not decide verdicts at the budgets the report runs.

A claim "value < threshold" is decided only when the whole interval lies on one side
(:func:`decide`); otherwise it is *undecided* at this budget.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.intervals import DESCRIPTIONS, DIFFERENCE_METHOD, METHOD, MIN_NETWORKS, cluster_t, welch_difference
from theory.world import as_generator, check_positive_int

__all__ = ["DESCRIPTIONS", "DIFFERENCE_METHOD", "Interval", "LEVEL", "METHOD", "MIN_NETWORKS", "N_BOOT",
           "bootstrap_difference", "bootstrap_medians", "decide", "interval"]

#: Bootstrap replicates by default (percentile method only): the 2.5% / 97.5% percentiles of 2000
#: replicates move by ~0.1 of the interval's width from one seed to another.
N_BOOT = 2000
#: Two-sided coverage of the reported intervals.
LEVEL = 0.95
_ONE_SAMPLE = ("cluster_t", "percentile_bootstrap")
_DIFFERENCE = ("welch_t", "percentile_bootstrap")


@dataclass(frozen=True)
class Interval:
    """A central value with its interval, plus the median and quartiles of the values.

    Attributes
    ----------
    estimate : float, the value the interval is for: the mean over networks of the network means
        (``cluster_t``) or the median of all K x F values (``percentile_bootstrap``)
    ci_low, ci_high : float, interval of ``estimate`` at level ``level``; (-inf, inf) when
        ``cluster_t`` has fewer than MIN_NETWORKS networks
    median, q25, q75 : float, over all K x F values (descriptive)
    n_networks, n_folds : int, the K x F the values came from
    method : str, a key of DESCRIPTIONS
    """

    estimate: float
    ci_low: float
    ci_high: float
    median: float
    q25: float
    q75: float
    n_networks: int
    n_folds: int
    level: float = LEVEL
    method: str = METHOD

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high, "median": self.median,
                "q25": self.q25, "q75": self.q75, "n_networks": self.n_networks, "n_folds": self.n_folds,
                "method": self.method}


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


def _check_method(method: str, allowed: tuple) -> str:
    if method not in allowed:
        raise ValueError(f"method={method!r} must be one of {allowed}")
    return method


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


def _percentiles(replicates: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.percentile(replicates, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def interval(values, rng, n_boot: int = N_BOOT, level: float = LEVEL, method: str = METHOD) -> Interval:
    """The interval of ``values`` (K, F) by ``method``, with the values' median and quartiles.

    ``method="cluster_t"`` (default): the mean over networks and its t_{K-1} interval (rng and
    n_boot unused). ``"percentile_bootstrap"``: the median and its percentile bootstrap interval.
    """
    v = _values(values)
    level = _check_level(level)
    _check_method(method, _ONE_SAMPLE)
    q25, med, q75 = (float(q) for q in np.percentile(v, [25, 50, 75]))
    if method == "cluster_t":
        est, lo, hi = (float(x) for x in cluster_t(v, level))
    else:
        est, (lo, hi) = med, _percentiles(bootstrap_medians(v, rng, n_boot), level)
    return Interval(est, lo, hi, med, q25, q75, int(v.shape[0]), int(v.shape[1]), level, method)


def bootstrap_difference(a, b, rng, n_boot: int = N_BOOT, level: float = LEVEL,
                         method: str = DIFFERENCE_METHOD) -> tuple[float, float, float]:
    """Difference b - a of two separately trained groups and its interval.

    ``method="welch_t"`` (default): mean over networks of b minus that of a, Welch's interval
    (rng and n_boot unused). ``"percentile_bootstrap"``: median(b) - median(a), a and b
    resampled independently, percentile interval.

    Parameters
    ----------
    a, b : ndarray, shape (K_a, F) and (K_b, F'), values of two separately trained groups

    Returns
    -------
    difference, ci_low, ci_high : floats
    """
    level = _check_level(level)
    _check_method(method, _DIFFERENCE)
    a, b = _values(a), _values(b)
    if method == "welch_t":
        return tuple(float(x) for x in welch_difference(a, b, level))
    ra, rb = as_generator(rng).spawn(2)
    lo, hi = _percentiles(bootstrap_medians(b, rb, n_boot) - bootstrap_medians(a, ra, n_boot), level)
    return float(np.median(b) - np.median(a)), lo, hi


def decide(ci_low: float | None, ci_high: float | None, threshold: float, claim: str) -> tuple[bool, bool]:
    """Decide "value < threshold" (``claim="below"``) or "value > threshold" (``"above"``) from an interval.

    A bound of None (how strict JSON stores the infinite bounds of an interval with too few
    networks) is unbounded on its side.

    Returns
    -------
    passed, decided : bool, bool
        decided is False when the interval contains the threshold; passed is then False too
        (an undecided claim is neither confirmed nor refuted).

    Examples
    --------
    >>> decide(0.1, 0.2, 0.0, "above"), decide(-0.1, 0.2, 0.0, "above"), decide(-0.3, -0.1, 0.0, "above")
    ((True, True), (False, False), (False, True))
    >>> decide(None, None, 0.0, "above")
    (False, False)
    """
    if claim not in ("below", "above"):
        raise ValueError(f"claim={claim!r} must be 'below' or 'above'")
    ci_low = -np.inf if ci_low is None else ci_low
    ci_high = np.inf if ci_high is None else ci_high
    if not (ci_low <= ci_high):
        raise ValueError(f"ci_low={ci_low!r} must be <= ci_high={ci_high!r}")
    if claim == "below":
        if ci_high < threshold:
            return True, True
        return False, bool(ci_low > threshold)
    if ci_low > threshold:
        return True, True
    return False, bool(ci_high < threshold)
