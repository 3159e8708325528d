"""Closed-form r^2 ceilings of docs/theory.md §4.

With an estimator mu(t) of x* whose error has per-coordinate variance v_j (independent of x*),
the reference score r^2 = 1 - MSE / Var(x*_j), MSE pooled over coordinates, is

    r^2 = 1 - mean_j(v_j) / (1/12),       v_j = sigma^2 / t for the Gaussian MLE,

i.e. 1 - 12 sigma^2 / t, the same for every D and N (once rank C = D).

Under the evaluation protocol (docs/theory.md §6) a least-squares decoder with intercept is fit on
the training region of a fold and tested on the held-out region. In the large-sample limit, with
training mean m and covariance S of x*, held-out mean m_q and covariance S_q, and noise
covariance V = diag(v):

    A = S (S + V)^-1,   intercept (I - A) m,
    test MSE (summed over coordinates)
        = tr[(I - A)(S_q + (m_q - m)(m_q - m)^T)(I - A)^T] + tr(A V A^T).

Two normalisations, never mixed silently: ``fullrange`` divides the pooled MSE by the
full-cube variance 1/12 (the paper's convention), ``heldout`` by the held-out region's own
per-coordinate variance (pooled over coordinates).

Free reaction time: evidence continues through the decision step, so a network evaluated at
``timing`` has seen t = timing + 1 samples (:func:`free_rt_samples`).
"""
from __future__ import annotations

import numpy as np

from infra.validate import float_array, instance_of
from theory.folds import Fold
from theory.world import LATENT_VARIANCE

NORMALISATIONS = ("fullrange", "heldout")


def r2_from_mse(mse, reference_variance) -> np.ndarray:
    """r^2 = 1 - MSE / reference variance (both per coordinate, pooled the same way)."""
    mse = float_array("mse", mse)
    ref = float_array("reference_variance", reference_variance)
    if np.any(ref <= 0):
        raise ValueError(f"reference_variance={reference_variance!r} must be > 0")
    return 1.0 - mse / ref


def r2_ceiling(error_variance) -> np.ndarray:
    """Pooled r^2 of an estimator with per-coordinate error variance v: 1 - 12 mean_j(v_j).

    Parameters
    ----------
    error_variance : ndarray, shape (..., D), e.g. from :func:`theory.noise.estimator_variance`

    Returns
    -------
    r2 : ndarray, shape (...)
    """
    v = _check_variance(error_variance)
    return r2_from_mse(v.mean(axis=-1), LATENT_VARIANCE)


def r2_ceiling_per_coordinate(error_variance) -> np.ndarray:
    """Per-coordinate r^2 = 1 - 12 v_j, shape (..., D) (anisotropic noise differs by coordinate)."""
    return r2_from_mse(_check_variance(error_variance), LATENT_VARIANCE)


def r2_ceiling_gaussian(sigma, t) -> np.ndarray:
    """r^2 = 1 - 12 sigma^2 / t for isotropic Gaussian noise, broadcast over sigma and t.

    Examples
    --------
    >>> round(float(r2_ceiling_gaussian(0.2, 20)), 6)
    0.976
    """
    sigma = float_array("sigma", sigma, finite=False)
    t = float_array("t", t, finite=False)
    if np.any(~np.isfinite(sigma)) or np.any(sigma < 0):
        raise ValueError(f"sigma={sigma!r} must be finite and >= 0")
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"t={t!r} must be finite and > 0")
    return 1.0 - sigma**2 / (t * LATENT_VARIANCE)


def free_rt_samples(timing) -> np.ndarray:
    """Samples seen at evaluation in the free-reaction-time task: t = timing + 1 (docs/theory.md §7.1)."""
    checked = float_array("timing", timing)
    timing = np.asarray(timing)
    if np.any(checked < 0) or np.any(checked != np.round(checked)):
        raise ValueError(f"timing={timing!r} must be whole numbers >= 0")
    return timing + 1


def region_moments(fold: Fold, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of x* uniform over a fold's ``"train"`` or ``"test"`` region.

    An orthant with sign vector e is the box prod_j [0, 1/2] e_j: mean e/4, covariance I/48.
    The training region of an orthant fold is the cube minus that orthant, a mixture with weight
    -1/(M - 1) on the orthant and M/(M - 1) on the cube (M = 2^D):
        m = -e / (4 (M - 1)),
        E[x x^T] = [M I/12 - (I/48 + e e^T/16)] / (M - 1),   S = E[x x^T] - m m^T.
    Half-space fold j: train x_j < 0, test x_j > 0; coordinate j has mean -/+1/4 and variance
    1/48, the others mean 0 and variance 1/12. (Confirmed by direct integration in
    :mod:`theory.symbolic`.)

    Returns
    -------
    m : ndarray, shape (D,);  S : ndarray, shape (D, D)
    """
    instance_of("fold", fold, Fold)
    if part not in ("train", "test"):
        raise ValueError(f"part={part!r} must be 'train' or 'test'")
    D = fold.D
    orthant_var = LATENT_VARIANCE / 4.0  # U(0, 1/2): (1/2)^2 / 12 = 1/48
    if fold.scheme == "halfspace":
        m = np.zeros(D)
        m[fold.index] = 0.25 if part == "test" else -0.25
        var = np.full(D, LATENT_VARIANCE)
        var[fold.index] = orthant_var
        return m, np.diag(var)
    e = 2.0 * ((fold.index >> np.arange(D)) & 1) - 1.0
    if part == "test":
        return e / 4.0, orthant_var * np.eye(D)
    M = 2.0**D
    m = -e / (4.0 * (M - 1.0))
    second = (M * LATENT_VARIANCE * np.eye(D) - (orthant_var * np.eye(D) + np.outer(e, e) / 16.0)) / (M - 1.0)
    return m, second - np.outer(m, m)


def protocol_mse(error_variance, fold: Fold) -> np.ndarray:
    """Large-sample test MSE per coordinate of the least-squares decoder of the protocol.

    Parameters
    ----------
    error_variance : ndarray, shape (..., D), per-coordinate variance v of the estimator's error
        (independent of x*; only second moments enter a least-squares fit)
    fold : the held-out region

    Returns
    -------
    mse : ndarray, shape (..., D), diagonal of the test error covariance
        (I - A) (S_q + d d^T) (I - A)^T + A V A^T, d = m_q - m, A = S (S + V)^-1
    """
    v = _check_variance(error_variance, instance_of("fold", fold, Fold).D)
    return _decoder_test_mse(v, *region_moments(fold, "train"), *region_moments(fold, "test"))


def in_distribution_mse(error_variance, fold: Fold) -> np.ndarray:
    """Large-sample MSE per coordinate on the fold's held-out region of a least-squares decoder
    fit on the whole cube (the ID comparison of the protocol): m = 0, S = I/12 in
    :func:`protocol_mse`. For Gaussian errors of variance s^2 on a quadrant this is
    s^2 (1/12) / (1/12 + s^2), i.e. r^2 = 1 / (1 + 12 s^2) with the full-range normalisation,
    above 1 - 12 s^2 because the fitted decoder shrinks the noisy estimate.
    """
    v = _check_variance(error_variance, instance_of("fold", fold, Fold).D)
    return _decoder_test_mse(v, np.zeros(fold.D), LATENT_VARIANCE * np.eye(fold.D), *region_moments(fold, "test"))


def _decoder_test_mse(v, m, S, mq, Sq) -> np.ndarray:
    """diag[(I - A)(S_q + d d^T)(I - A)^T + A V A^T], A = S (S + V)^-1, d = m_q - m, V = diag(v)."""
    D = len(m)
    d = mq - m
    V = v[..., :, None] * np.eye(D)  # (..., D, D)
    # A = S (S + V)^-1 = [(S + V)^-1 S]^T since both are symmetric.
    A = np.swapaxes(np.linalg.solve(S + V, np.broadcast_to(S, V.shape)), -1, -2)
    R = np.eye(D) - A
    shrink = R @ (Sq + np.outer(d, d)) @ np.swapaxes(R, -1, -2)
    noise = A @ V @ np.swapaxes(A, -1, -2)
    return np.diagonal(shrink + noise, axis1=-2, axis2=-1)


def r2_in_distribution(error_variance, fold: Fold, normalisation: str = "fullrange") -> np.ndarray:
    """Pooled r^2 on the held-out region of the decoder fit on the whole cube (see
    :func:`in_distribution_mse`), with either normalisation."""
    mse = in_distribution_mse(error_variance, fold)
    return r2_from_mse(mse.mean(axis=-1), reference_variance(fold, normalisation))


def r2_protocol(error_variance, fold: Fold, normalisation: str = "fullrange") -> np.ndarray:
    """The protocol ceiling: pooled r^2 of the least-squares decoder on the held-out region.

    ``normalisation="fullrange"`` divides by 1/12 (the paper), ``"heldout"`` by the held-out
    region's per-coordinate variance, pooled over coordinates.

    Examples
    --------
    >>> from theory.folds import ood_folds
    >>> r = r2_protocol([0.002, 0.002], ood_folds(2)[0])
    >>> bool(r < 1 - 12 * 0.002)   # shrinkage costs a little on the held-out quadrant
    True
    """
    mse = protocol_mse(error_variance, fold)
    return r2_from_mse(mse.mean(axis=-1), reference_variance(fold, normalisation))


def reference_variance(fold: Fold | None, normalisation: str) -> float:
    """Denominator of r^2: 1/12 (``fullrange``) or the held-out per-coordinate variance, pooled."""
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation={normalisation!r} must be one of {NORMALISATIONS}")
    if normalisation == "fullrange":
        return LATENT_VARIANCE
    if fold is None:
        raise ValueError("normalisation='heldout' needs a fold (the held-out region)")
    return float(np.trace(region_moments(fold, "test")[1]) / fold.D)


def _check_variance(error_variance, D: int | None = None) -> np.ndarray:
    v = float_array("error_variance", error_variance, finite=False)
    if v.ndim < 1 or (D is not None and v.shape[-1] != D):
        raise ValueError(f"error_variance must have shape (..., D={D}); got shape {v.shape}")
    if np.any(~np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"error_variance={error_variance!r} must be finite and >= 0")
    return v
