"""Monte-Carlo twins of the closed forms in :mod:`theory.ceilings`, :mod:`theory.accuracy` and
:mod:`theory.angles`: each simulates the quantity directly and returns it with a standard error.

One simulation of T evidence steps gives every t = 1..T at once (the estimators of
:mod:`theory.noise` are running sums). Standard errors:

- per-trial averages (r^2 of the estimator itself, accuracy, cross-entropy, covariance entries):
  sd of the per-trial values / sqrt(n_trials), trials being independent;
- the evaluation protocol (a decoder fit, then tested): sd over independent replicates (each
  with fresh training and test sets) / sqrt(replicates), which includes the fit's variability;
- angle spreads: delta method on the mean squared deviation from 90 degrees over independent
  random designs.

Agreement is judged with :meth:`analysis.estimates.MCEstimate.agrees`: |estimate - prediction| <= k
SE, with k from :func:`analysis.estimates.family_k` so that a family of n comparisons has a false-alarm
probability <= alpha
(Bonferroni on a two-sided normal tail, or a Student-t tail when the SE comes from a handful of
replicates).
"""
from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr

from optimal.agent import optimal_probits
from optimal.trilateration import recover_mu_from_probits
from theory.accuracy import decision_scale
from theory.angles import factor_angles
from theory.ceilings import reference_variance
from theory.designs import Design
from theory.folds import Fold
from theory.noise import NoiseModel, estimate, estimator_variance, sample_noise
from theory.world import as_generator, check_positive_int, sample_latents

from analysis.estimates import MCEstimate, mean_se, r2_estimate

#: Bound on the number of floats in one (trials, T, D) block; larger runs go in chunks of trials.
_BLOCK_FLOATS = 4_000_000


def _chunks(n_trials: int, T: int, D: int):
    size = max(1, _BLOCK_FLOATS // (T * D))
    for start in range(0, n_trials, size):
        yield min(size, n_trials - start)


def simulate_estimates(noise: NoiseModel, rng, n_trials: int, T: int, estimator: str = "mean",
                       x_star: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw x* (uniform cube unless given), evidence over T steps, and the estimates mu(1..T).

    Returns
    -------
    x_star : ndarray, shape (n_trials, D);  mu : ndarray, shape (n_trials, T, D)
    """
    rng = as_generator(rng)
    if x_star is None:
        x_star = sample_latents(rng, n_trials, noise.D)
    X = x_star[:, None, :] + sample_noise(noise, rng, x_star.shape[0], T)
    return x_star, estimate(noise, X, estimator)


def mc_r2(noise: NoiseModel, T: int, n_trials: int, rng, estimator: str = "mean"
          ) -> tuple[MCEstimate, MCEstimate]:
    """r^2 = 1 - MSE / (1/12) of the estimator at every t = 1..T, by simulation.

    Returns
    -------
    (pooled, per_coordinate) : MCEstimate with value and se of shape (T,) (MSE pooled over
        coordinates per trial) and (T, D)
    """
    rng = as_generator(rng)
    T = check_positive_int("T", T)
    n_trials = check_positive_int("n_trials", n_trials, minimum=2)
    parts = []
    for n in _chunks(n_trials, T, noise.D):
        x, mu = simulate_estimates(noise, rng, n, T, estimator)
        parts.append((mu - x[:, None, :]) ** 2)  # (n, T, D)
    sq = np.concatenate(parts, axis=0)
    return r2_estimate(sq.mean(axis=2)), r2_estimate(sq)


def _fit_affine_decoders(F: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Least-squares [W; w0] for x ~ [F, 1] at each leading index. F (K, n, D), x (n, D) -> (K, D+1, D)."""
    Fa = np.concatenate([F, np.ones(F.shape[:2] + (1,))], axis=2)
    gram = np.matmul(np.swapaxes(Fa, 1, 2), Fa)
    rhs = np.matmul(np.swapaxes(Fa, 1, 2), x)
    return np.linalg.solve(gram, rhs)


def _protocol_mse(mu_tr, x_tr, mu_te, x_te) -> np.ndarray:
    """Pooled test MSE (K,) of the decoders fit on (mu_tr (K, n, D), x_tr) and scored on the test set."""
    coef = _fit_affine_decoders(mu_tr, x_tr)  # (K, D+1, D)
    pred = np.matmul(mu_te, coef[:, :-1]) + coef[:, None, -1]
    return ((pred - x_te) ** 2).mean(axis=(1, 2))


def mc_protocol_r2(noise: NoiseModel, t, folds: list[Fold], n_train: int, n_test: int, replicates: int,
                   rng, estimator: str = "mean", normalisation: str = "fullrange",
                   extrapolate: bool = False) -> MCEstimate:
    """r^2 of the evaluation protocol, simulated: fit a least-squares decoder with intercept from
    mu(t) to x* on a fold's training region, score it on the held-out region.

    Replicate r uses fold ``folds[r % len(folds)]``; each replicate draws fresh training and test
    trials. The estimate is the mean over replicates of the pooled r^2 and the SE is their
    sd / sqrt(replicates) (conservative if folds differ in expectation).

    A decoder fit on n trials scores r^2(n) = r^2(inf) + c / n + O(1 / n^2): its coefficients
    carry O(D / n) estimation error. With ``extrapolate`` each replicate reports the
    large-sample limit by Richardson extrapolation in 1/n from a fit on all n training trials
    and one on the first n/2 of them, 2 r^2(n) - r^2(n/2) = r^2(inf) + O(1 / n^2), scored on the
    same test set (the replicate spread, hence the SE, includes the extrapolation).

    Parameters
    ----------
    t : ndarray of ints >= 1, shape (K,), evidence lengths to score
    folds : non-empty list of :class:`~theory.folds.Fold`

    Returns
    -------
    MCEstimate with value and se of shape (K,)
    """
    rng = as_generator(rng)
    t = np.atleast_1d(np.asarray(t))
    if t.ndim != 1 or np.any(t < 1) or np.any(t != np.round(t)):
        raise ValueError(f"t={t!r} must be a 1-D list of integers >= 1")
    if not folds:
        raise ValueError("folds must be a non-empty list of Fold")
    replicates = check_positive_int("replicates", replicates, minimum=2)
    n_train = check_positive_int("n_train", n_train, minimum=2 * (noise.D + 2) if extrapolate else noise.D + 2)
    n_test = check_positive_int("n_test", n_test)
    T, idx = int(t.max()), t.astype(int) - 1
    r2 = np.empty((replicates, t.size))
    for r in range(replicates):  # a handful of independent replicates, each vectorised
        fold = folds[r % len(folds)]
        x_tr, mu_tr = simulate_estimates(noise, rng, n_train, T, estimator, fold.sample(rng, n_train, "train"))
        x_te, mu_te = simulate_estimates(noise, rng, n_test, T, estimator, fold.sample(rng, n_test, "test"))
        mu_tr, mu_te = np.swapaxes(mu_tr[:, idx], 0, 1), np.swapaxes(mu_te[:, idx], 0, 1)  # (K, n, D)
        mse = _protocol_mse(mu_tr, x_tr, mu_te, x_te)
        if extrapolate:
            half = n_train // 2
            mse = 2.0 * mse - _protocol_mse(mu_tr[:, :half], x_tr[:half], mu_te, x_te)
        r2[r] = 1.0 - mse / reference_variance(fold, normalisation)
    return mean_se(r2)


def mc_accuracy(design: Design, noise: NoiseModel, T: int, n_trials: int, rng, estimator: str = "mean"
                ) -> tuple[MCEstimate, MCEstimate]:
    """Accuracy and decision-step cross-entropy (nats) of the optimal agent at t = 1..T.

    The agent decides sign(c_i . mu(t) + b_i) and outputs Phi(z_i), z_i = (c_i . mu + b_i) / tau_i,
    tau_i^2 = c_i^T V(t) c_i with V(t) its estimator's error variance; both are averaged over
    tasks per trial.

    Returns
    -------
    (accuracy, cross_entropy) : MCEstimate each, shape (T,)
    """
    rng = as_generator(rng)
    T = check_positive_int("T", T)
    n_trials = check_positive_int("n_trials", n_trials)
    if design.D != noise.D:
        raise ValueError(f"design has D={design.D} but the noise model has D={noise.D}")
    tau = decision_scale(design, estimator_variance(noise, np.arange(1, T + 1), estimator))  # (T, N)
    correct, ce = [], []
    for n in _chunks(n_trials, T, max(design.D, design.ntask)):
        x, mu = simulate_estimates(noise, rng, n, T, estimator)
        label = x @ design.C.T + design.b > 0  # (n, N)
        z = (mu @ design.C.T + design.b) / tau  # (n, T, N)
        signed = np.where(label[:, None, :], z, -z)
        correct.append((signed > 0).mean(axis=2))
        ce.append(-log_ndtr(signed).mean(axis=2))
    return mean_se(np.concatenate(correct)), mean_se(np.concatenate(ce))


def mc_imperfect_outputs(design: Design, sigma: float, t: int, v: float, n_trials: int, rng) -> MCEstimate:
    """Covariance of trilateration error when the optimal probits carry i.i.d. N(0, v) errors.

    Simulates x*, mu(t) (Gaussian noise), the optimal probits z, perturbs them by N(0, v), and
    trilaterates; the error is measured against the agent's own mu(t). Entries are
    mean(e_j e_k) (the error has mean zero by construction) with their per-trial SE.

    Returns
    -------
    MCEstimate with value and se of shape (D, D)
    """
    rng = as_generator(rng)
    n_trials = check_positive_int("n_trials", n_trials)
    t = check_positive_int("t", t)
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"v={v!r} must be finite and >= 0")
    x = sample_latents(rng, n_trials, design.D)
    mu = x + rng.standard_normal(x.shape) * np.asarray(sigma, dtype=float) / np.sqrt(t)
    z = optimal_probits(mu, design, sigma, t) + np.sqrt(v) * rng.standard_normal((n_trials, design.ntask))
    e = recover_mu_from_probits(z, design, sigma, t) - mu
    return mean_se(e[:, :, None] * e[:, None, :])


def mc_angle_spread(ntask: int, D: int, n_designs: int, rng) -> MCEstimate:
    """RMS deviation from 90 degrees of the output-space factor angles of random designs.

    Per design the squared deviations of all D (D - 1) / 2 angles are averaged (designs are
    independent, angles within one are not); spread = sqrt(mean), SE by the delta method
    SE(sqrt(M)) = SE(M) / (2 sqrt(M)).

    Returns
    -------
    MCEstimate of the spread in degrees (scalars)
    """
    rng = as_generator(rng)
    ntask = check_positive_int("ntask", ntask)
    D = check_positive_int("D", D, minimum=2)
    n_designs = check_positive_int("n_designs", n_designs, minimum=2)
    G = rng.standard_normal((n_designs, ntask, D))
    C = G / np.linalg.norm(G, axis=2, keepdims=True)
    j, k = np.triu_indices(D, 1)
    dev2 = ((factor_angles(C)[:, j, k] - 90.0) ** 2).mean(axis=1)
    msd = mean_se(dev2)
    spread = np.sqrt(msd.value)
    return MCEstimate(spread, msd.se / (2.0 * spread), msd.dof)
