"""Confidence intervals for verdicts: cluster Student-t over networks, Welch-t differences, trial-level r^2.

Between networks. K networks x F folds give values ``v[k, f] = mu + b_k + e_kf``. Folds of one
network share its training run, so they are not independent replicates; the network is the unit.
Averaging each network's folds gives K independent network means ``m_k = mu + b_k + mean_f e_kf``
whose expectation is the estimand: the population mean over networks (of a network's fold mean).
The interval is Student's t on those K means,

    mean(m) +- t_{K-1, (1+level)/2} * sd(m) / sqrt(K),

exact (coverage = level) when the network effects are normal, for every K >= 2: the t quantile
carries the uncertainty of an sd estimated from K values. A percentile bootstrap over K clusters
cannot do that: it draws only K^K resamples, treats the K observed networks as the population,
and with K = 2 or 3 its interval is too short (benchmarks/coverage.md: 55-96% coverage,
least when networks differ more than folds).

Non-normal network effects: heavy tails (Student-t_3) keep it at 95-97%; a strong skew (standardised
Gamma(2), skewness -1.41) lowers it to 91-94% at K = 3-10 (benchmarks/coverage.md, robustness rows).

Differences between two separately trained groups (setting A vs setting B) use Welch's interval
on the two sets of network means, mean(m_b) - mean(m_a) +- t_nu * sqrt(s_a^2/K_a + s_b^2/K_b),
with the Welch-Satterthwaite degrees of freedom nu.

Below :data:`MIN_NETWORKS` networks the interval is (-inf, inf): no finite width is honest with
one network, and :func:`analysis.bootstrap.decide` then reports "undecided".

Within one agent (K = 1: one network or one recording) the uncertainty left is trial sampling:
:func:`trial_mean_interval` (a mean of per-trial scores) and :func:`trial_r2_interval` (an r^2
from per-trial squared errors, by the delta method when the reference variance is estimated from
the same trials). These say how well *this* agent was measured, not how another network would do.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from theory.world import as_generator, check_positive_int

#: Key of the one-sample interval method verdicts use (analysis.bootstrap.interval's default).
METHOD = "cluster_t"
#: Key of the difference method verdicts use (analysis.bootstrap.bootstrap_difference's default).
DIFFERENCE_METHOD = "welch_t"
#: What each method key means, for reports.
DESCRIPTIONS = {
    "cluster_t": "Student-t interval (t_{K-1}) of the mean over the K network means (folds averaged per network)",
    "welch_t": "Welch t interval of the difference of the two groups' means over network means",
    "percentile_bootstrap": "percentile bootstrap of the median over networks x folds (networks, then folds)",
}
#: Fewest networks for a finite between-network interval; below it the interval is (-inf, inf) and
#: every claim is undecided. 2 is the least that estimates a between-network sd; the coverage study
#: (benchmarks/coverage.md) finds >= 93% from K = 2 for both the one-sample and the difference interval.
MIN_NETWORKS = 2


def _check_level(level: float) -> float:
    if not (0 < level < 1):
        raise ValueError(f"level={level!r} must be in (0, 1)")
    return float(level)


def _ensemble(values, name: str = "values") -> np.ndarray:
    """(..., K, F) float array; a 1-D input is K networks with one value each."""
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim < 2 or v.shape[-1] == 0 or v.shape[-2] == 0:
        raise ValueError(f"{name} must have shape (..., K networks, F folds) with K, F >= 1; got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return v


def network_means(values) -> np.ndarray:
    """Each network's mean over its folds.

    Parameters
    ----------
    values : ndarray, shape (..., K, F) (or (K,))

    Returns
    -------
    means : ndarray, shape (..., K)
    """
    return _ensemble(values).mean(axis=-1)


def cluster_t(values, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over networks and its Student-t interval on the K network means.

    Parameters
    ----------
    values : ndarray, shape (..., K, F) (or (K,)); leading axes are independent ensembles
    level : two-sided coverage

    Returns
    -------
    estimate, ci_low, ci_high : ndarrays, shape (...); (-inf, inf) when K < MIN_NETWORKS

    Examples
    --------
    >>> est, lo, hi = cluster_t([[1.0, 1.0], [3.0, 3.0]])
    >>> float(est), round(float(hi - est), 4)   # t_{1, 0.975} * sd / sqrt(2) = 12.7062 * 1.4142 / 1.4142
    (2.0, 12.7062)
    """
    level = _check_level(level)
    m = network_means(values)
    K = m.shape[-1]
    est = m.mean(axis=-1)
    if K < MIN_NETWORKS:
        return est, np.full_like(est, -np.inf), np.full_like(est, np.inf)
    half = stats.t.ppf(0.5 + level / 2, K - 1) * m.std(axis=-1, ddof=1) / np.sqrt(K)
    return est, est - half, est + half


def welch_difference(a, b, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mean over networks of b minus that of a, with Welch's t interval on the network means.

    Parameters
    ----------
    a, b : ndarray, shapes (..., K_a, F_a) and (..., K_b, F_b), two independently trained groups
    level : two-sided coverage

    Returns
    -------
    difference, ci_low, ci_high : ndarrays, shape (...); (-inf, inf) when K_a or K_b < MIN_NETWORKS

    Notes
    -----
    nu = (s_a^2/K_a + s_b^2/K_b)^2 / ((s_a^2/K_a)^2/(K_a-1) + (s_b^2/K_b)^2/(K_b-1)), which lies
    between min(K_a, K_b) - 1 and K_a + K_b - 2. When both groups have zero spread the interval is
    the point difference.
    """
    level = _check_level(level)
    ma, mb = network_means(a), network_means(b)
    Ka, Kb = ma.shape[-1], mb.shape[-1]
    diff = mb.mean(axis=-1) - ma.mean(axis=-1)
    if min(Ka, Kb) < MIN_NETWORKS:
        return diff, np.full_like(diff, -np.inf), np.full_like(diff, np.inf)
    va, vb = ma.var(axis=-1, ddof=1) / Ka, mb.var(axis=-1, ddof=1) / Kb
    se2 = va + vb
    denom = va ** 2 / (Ka - 1) + vb ** 2 / (Kb - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        nu = np.where(denom > 0, se2 ** 2 / np.where(denom > 0, denom, 1.0), Ka + Kb - 2)
    half = stats.t.ppf(0.5 + level / 2, nu) * np.sqrt(se2)
    return diff, diff - half, diff + half


def _trials(name: str, x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"{name} must be 1-D with >= 2 trials; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


def trial_mean_interval(scores, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-trial scores of one agent and its t interval over trials (trials independent).

    Parameters
    ----------
    scores : ndarray, shape (n_trials,)

    Returns
    -------
    mean, ci_low, ci_high : floats
    """
    level = _check_level(level)
    s = _trials("scores", scores)
    n = s.size
    half = stats.t.ppf(0.5 + level / 2, n - 1) * s.std(ddof=1) / np.sqrt(n)
    return float(s.mean()), float(s.mean() - half), float(s.mean() + half)


def trial_r2_interval(sq_err, reference_variance=None, target_sq_dev=None,
                      level: float = 0.95) -> tuple[float, float, float]:
    """r^2 = 1 - mean(sq_err) / reference and its trial-sampling interval for one agent.

    Parameters
    ----------
    sq_err : ndarray, shape (n_trials,), per-trial squared error (summed or averaged over coordinates)
    reference_variance : float, a known reference (the "fullrange" normalisation, e.g. D/12 for
        summed errors of x* ~ U(cube)); then r^2 is linear in mean(sq_err) and its interval is
        :func:`trial_mean_interval` mapped through it.
    target_sq_dev : ndarray, shape (n_trials,), ||x*_i - mean(x*)||^2 pooled the same way as sq_err,
        when the reference is the targets' sample variance; then r^2 = 1 - R with the ratio
        R = mean(sq_err) / mean(target_sq_dev), and the delta method gives
        se(R) = sd_i((sq_err_i - R target_sq_dev_i) / mean(target_sq_dev)) / sqrt(n).
    Exactly one of reference_variance, target_sq_dev is given.

    Returns
    -------
    r2, ci_low, ci_high : floats
    """
    level = _check_level(level)
    e = _trials("sq_err", sq_err)
    if (reference_variance is None) == (target_sq_dev is None):
        raise ValueError("give exactly one of reference_variance and target_sq_dev")
    if reference_variance is not None:
        if not (np.isfinite(reference_variance) and reference_variance > 0):
            raise ValueError(f"reference_variance={reference_variance!r} must be finite and > 0")
        m, lo, hi = trial_mean_interval(e, level)
        return 1 - m / reference_variance, 1 - hi / reference_variance, 1 - lo / reference_variance
    d = _trials("target_sq_dev", target_sq_dev)
    if d.shape != e.shape or d.mean() <= 0:
        raise ValueError(f"target_sq_dev must have the shape of sq_err {e.shape} and a positive mean")
    R = e.mean() / d.mean()
    influence = (e - R * d) / d.mean()
    half = stats.t.ppf(0.5 + level / 2, e.size - 1) * influence.std(ddof=1) / np.sqrt(e.size)
    return float(1 - R), float(1 - R - half), float(1 - R + half)


def trial_r2_bootstrap(sq_err, target_sq_dev, rng, n_boot: int = 2000,
                       level: float = 0.95) -> tuple[float, float, float]:
    """The ratio r^2 of :func:`trial_r2_interval` with a percentile bootstrap over trials instead.

    Trials are resampled with replacement, the pairs (sq_err_i, target_sq_dev_i) kept together.
    Kept as the comparison method of the coverage study.
    """
    level = _check_level(level)
    e, d = _trials("sq_err", sq_err), _trials("target_sq_dev", target_sq_dev)
    if d.shape != e.shape:
        raise ValueError(f"target_sq_dev must have the shape of sq_err {e.shape}; got {d.shape}")
    n_boot = check_positive_int("n_boot", n_boot)
    idx = as_generator(rng).integers(0, e.size, size=(n_boot, e.size))
    r2 = 1 - e[idx].mean(axis=1) / d[idx].mean(axis=1)
    lo, hi = np.percentile(r2, [50 * (1 - level), 50 * (1 + level)])
    return float(1 - e.mean() / d.mean()), float(lo), float(hi)
