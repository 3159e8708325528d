"""Geometry of a representation: CCGP, parallelism, shattering dimensionality, participation ratio, DCI.

Pure functions of a batch of states and their latents, vectorised over the batch (networks, or
independent replicate samples of one agent):
    states : ndarray (B, n, p)     x_star : ndarray (B, n, D) or (n, D)
Conditions are the orthants of x*: c = sum_d [x_d > 0] 2^d. The dichotomy "x_d" is the sign of x_d.

The linear classifier is the least-squares one (ridge regression onto +-1 labels, intercept free,
decision sign(w.z + w0)), fit in closed form. Its features are centred and divided by one common scale,
the root mean variance sqrt(tr Cov / p), and the penalty is ``ridge`` x |w|^2 in those units, so every
classifier-based measure is invariant to rotations, translations and isotropic scalings of the state.
Accuracy counts an exact tie (w.z + w0 = 0) as half correct.

Measures (Bernardi et al. 2020, Cell; Eastwood & Williams 2018, ICLR):
- :func:`ccgp`: train on the conditions with x_e > 0, test on those with x_e < 0, and the other way round,
  for every other coordinate e (at D > 2 each held-out set is the half of the orthants on one side of one
  other coordinate, so both classes and all values of the remaining coordinates are present); mean accuracy.
- :func:`parallelism_bernardi`: mean cosine of the coding vectors m_{c+} - m_{c-} (condition centroids),
  maximum over all one-to-one pairings of the x_d > 0 with the x_d < 0 conditions (D <= 3).
- :func:`parallelism_mean_pairs`: mean cosine over the pairs of conditions differing only in x_d.
- :func:`parallelism_regressor_cosine`: cosine between the classifiers fit on the two halves x_e > 0, x_e < 0.
- :func:`shattering_dimensionality`: mean held-out accuracy over all balanced dichotomies of the conditions
  (fit on the even-indexed trials, tested on the odd ones).
- :func:`participation_ratio`: (tr Cov)^2 / tr(Cov^2) of the state covariance.
- :func:`dci`: ridge regression of each z-scored x_d on the z-scored units (even trials); importance
  R_jd = |w_jd|; disentanglement and completeness by :func:`theory.geometry.importance_scores`;
  informativeness = held-out r^2 (odd trials), mean over d. DCI is invariant to translations and to
  per-unit scalings and permutations, not to rotations: it is the one measure here that sees the basis.

Nulls: :func:`shuffle_null` (states permuted across trials against their latents: chance geometry),
:func:`unit_shuffle_null` (each unit permuted on its own: no correlations; the null of the participation
ratio) and :func:`geometric_null` (Bernardi's random model: condition centroids replaced by Gaussian
points of the same spread, within-condition scatter kept).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from theory.geometry import balanced_dichotomies, importance_scores
from theory.world import as_generator, check_positive_int

#: Default ridge penalty (in units of the mean feature variance): small enough to leave a well-sampled
#: linear code untouched, large enough to keep rank-deficient states (N > D probits) solvable.
RIDGE = 1e-3
#: Largest D for the Bernardi parallelism: its pairings grow as (2^(D-1))!.
MAX_BERNARDI_D = 3


def _inputs(states, x_star) -> tuple[np.ndarray, np.ndarray]:
    states = np.asarray(states, dtype=float)
    if states.ndim != 3:
        raise ValueError(f"states must have shape (B, n, p); got shape {states.shape}")
    x = np.asarray(x_star, dtype=float)
    if x.ndim == 2:
        x = np.broadcast_to(x, (states.shape[0],) + x.shape)
    if x.ndim != 3 or x.shape[:2] != states.shape[:2]:
        raise ValueError(f"x_star must have shape (n, D) or (B, n, D) matching states {states.shape}; got {x.shape}")
    if not (np.all(np.isfinite(states)) and np.all(np.isfinite(x))):
        raise ValueError("states and x_star must be finite")
    return states, x


def _dim(dim, D: int, need_other: bool = True) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 0 <= dim < D:
        raise ValueError(f"dim={dim!r} must be an integer in [0, D={D})")
    if need_other and D < 2:
        raise ValueError(f"D={D} must be >= 2: the measure holds out conditions along another coordinate")
    return int(dim)


def conditions(x_star) -> np.ndarray:
    """Orthant index c = sum_d [x_d > 0] 2^d, shape x_star.shape[:-1]."""
    x = np.asarray(x_star)
    return np.sum((x > 0) << np.arange(x.shape[-1]), axis=-1)


def fit_classifier(states, train, Y, ridge=RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares linear classifiers, one per training mask and label vector.

    Parameters
    ----------
    states : ndarray (B, n, p)
    train : ndarray bool (B, G, n), G training sets
    Y : ndarray (B, G, F, n), +-1 targets (F label vectors per training set)

    Returns
    -------
    w : ndarray (B, G, F, p), w0 : ndarray (B, G, F); decision sign(z.w + w0)
    """
    if not (np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge={ridge!r} must be finite and >= 0")
    W = np.asarray(train, dtype=float)
    n_w = W.sum(-1)                                                          # (B, G)
    if np.any(n_w < 2):
        raise ValueError("every training set needs at least 2 trials")
    m = np.einsum("bgn,bnp->bgp", W, states) / n_w[..., None]
    zc = states[:, None] - m[:, :, None]                                     # (B, G, n, p), centred first
    S = np.swapaxes(zc * W[..., None], -1, -2) @ zc / n_w[..., None, None]
    scale2 = np.trace(S, axis1=-2, axis2=-1) / states.shape[-1]
    scale2 = np.where(scale2 > 0, scale2, 1.0)
    y_mean = np.einsum("bgn,bgfn->bgf", W, Y) / n_w[..., None]
    Sxy = ((Y - y_mean[..., None]) * W[:, :, None]) @ zc / n_w[..., None, None]
    lhs = S + (ridge * scale2 + 1e-12 * scale2)[..., None, None] * np.eye(states.shape[-1])
    w = np.linalg.solve(lhs[:, :, None], Sxy[..., None])[..., 0]
    return w, y_mean - np.einsum("bgfp,bgp->bgf", w, m)


def accuracy(states, w, w0, test, Y) -> np.ndarray:
    """Accuracy of sign(z.w + w0) on each test mask (ties count 1/2); shapes as :func:`fit_classifier`."""
    score = np.swapaxes(states[:, None] @ np.swapaxes(w, -1, -2), -1, -2) + w0[..., None]
    right = np.where(score * Y > 0, 1.0, np.where(score == 0, 0.5, 0.0))
    T = np.asarray(test, dtype=float)[:, :, None, :]
    return (right * T).sum(-1) / T.sum(-1)


def _halves(x, dim) -> tuple[np.ndarray, np.ndarray]:
    """Train/test masks (B, 2(D-1), n): x_e > 0 then x_e < 0 (and reversed) for each e != dim."""
    others = [e for e in range(x.shape[-1]) if e != dim]
    pos = np.stack([x[..., e] > 0 for e in others], axis=1)
    return np.concatenate([pos, ~pos], axis=1), np.concatenate([~pos, pos], axis=1)


def ccgp(states, x_star, dim: int = 0, ridge=RIDGE) -> np.ndarray:
    """Cross-condition generalisation of the sign of x_dim; shape (B,). 1 for a factorised code, 1/2 at chance."""
    states, x = _inputs(states, x_star)
    dim = _dim(dim, x.shape[-1])
    train, test = _halves(x, dim)
    y = np.where(x[..., dim] > 0, 1.0, -1.0)
    Y = np.broadcast_to(y[:, None, None, :], train.shape[:2] + (1, y.shape[-1]))
    w, w0 = fit_classifier(states, train, Y, ridge)
    return accuracy(states, w, w0, test, Y)[..., 0].mean(-1)


def centroids(states, x_star) -> np.ndarray:
    """Mean state of each orthant, shape (B, 2^D, p) (NaN for an empty orthant)."""
    states, x = _inputs(states, x_star)
    onehot = conditions(x)[..., None] == np.arange(2 ** x.shape[-1])        # (B, n, M)
    count = onehot.sum(1)
    total = np.einsum("bnm,bnp->bmp", onehot.astype(float), states)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count[..., None]


def _mean_cosine(V) -> np.ndarray:
    """Mean cosine over the distinct pairs of the vectors V (..., K, p)."""
    U = V / np.linalg.norm(V, axis=-1, keepdims=True)
    G = U @ np.swapaxes(U, -1, -2)
    K = V.shape[-2]
    i, j = np.triu_indices(K, 1)
    return G[..., i, j].mean(-1)


def parallelism_mean_pairs(states, x_star, dim: int = 0) -> np.ndarray:
    """Mean cosine of the coding vectors of x_dim over condition pairs differing only in x_dim; (B,)."""
    states, x = _inputs(states, x_star)
    dim = _dim(dim, x.shape[-1])
    m = centroids(states, x)
    neg = np.array([c for c in range(m.shape[1]) if not (c >> dim) & 1])
    return _mean_cosine(m[:, neg + 2 ** dim] - m[:, neg])


def parallelism_bernardi(states, x_star, dim: int = 0) -> np.ndarray:
    """Bernardi's parallelism score of x_dim: max over pairings of the mean coding-vector cosine; (B,)."""
    states, x = _inputs(states, x_star)
    dim = _dim(dim, x.shape[-1])
    if x.shape[-1] > MAX_BERNARDI_D:
        raise ValueError(f"D={x.shape[-1]} must be <= {MAX_BERNARDI_D} for the Bernardi score (pairings grow "
                         "as (2^(D-1))!); use parallelism_mean_pairs")
    m = centroids(states, x)
    neg = np.array([c for c in range(m.shape[1]) if not (c >> dim) & 1])
    perms = np.array(list(itertools.permutations(neg)))                      # (P, K)
    V = m[:, neg + 2 ** dim][:, None] - m[:, perms]                          # (B, P, K, p)
    return _mean_cosine(V).max(-1)


def parallelism_regressor_cosine(states, x_star, dim: int = 0, ridge=RIDGE) -> np.ndarray:
    """Cosine between the x_dim classifiers fit on x_e > 0 and on x_e < 0, mean over e != dim; (B,)."""
    states, x = _inputs(states, x_star)
    dim = _dim(dim, x.shape[-1])
    train, _ = _halves(x, dim)
    y = np.where(x[..., dim] > 0, 1.0, -1.0)
    Y = np.broadcast_to(y[:, None, None, :], train.shape[:2] + (1, y.shape[-1]))
    w = fit_classifier(states, train, Y, ridge)[0][:, :, 0]                  # (B, 2(D-1), p)
    half = w.shape[1] // 2
    a, b = w[:, :half], w[:, half:]
    cos = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return cos.mean(-1)


def shattering_dimensionality(states, x_star, ridge=RIDGE) -> np.ndarray:
    """Mean held-out accuracy over all balanced dichotomies of the orthants; (B,)."""
    states, x = _inputs(states, x_star)
    labels = balanced_dichotomies(x.shape[-1])                               # (M, 2^D)
    Y = np.where(labels[:, conditions(x)], 1.0, -1.0).transpose(1, 0, 2)[:, None]   # (B, 1, M, n)
    even = (np.arange(states.shape[1]) % 2 == 0)
    train = np.broadcast_to(even, (states.shape[0], 1, states.shape[1]))
    w, w0 = fit_classifier(states, train, Y, ridge)
    return accuracy(states, w, w0, ~train, Y)[:, 0].mean(-1)


def participation_ratio(states) -> np.ndarray:
    """(tr Cov)^2 / tr(Cov^2) of the states' covariance over trials; (B,). Between 1 and rank Cov."""
    states = np.asarray(states, dtype=float)
    if states.ndim != 3 or states.shape[1] < 2 or not np.all(np.isfinite(states)):
        raise ValueError(f"states must be a finite (B, n >= 2, p) array; got shape {states.shape}")
    z = states - states.mean(1, keepdims=True)
    cov = np.swapaxes(z, 1, 2) @ z / (z.shape[1] - 1)
    return np.trace(cov, axis1=1, axis2=2) ** 2 / np.sum(cov * cov, axis=(1, 2))


def _zscore(a, train) -> np.ndarray:
    m = a[:, train].mean(1, keepdims=True)
    s = a[:, train].std(1, keepdims=True)
    return np.divide(a - m, s, out=np.zeros_like(a), where=s > 0)


def dci(states, x_star, ridge=RIDGE) -> dict:
    """Disentanglement, completeness and informativeness (held-out r^2) with ridge importances; each (B,)."""
    states, x = _inputs(states, x_star)
    if not (np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge={ridge!r} must be finite and >= 0")
    train = np.arange(states.shape[1]) % 2 == 0
    z, y = _zscore(states, train), _zscore(x, train)
    zt, yt = z[:, train], y[:, train]
    S = np.swapaxes(zt, 1, 2) @ zt / zt.shape[1]
    w = np.linalg.solve(S + (ridge + 1e-12) * np.eye(S.shape[-1]), np.swapaxes(zt, 1, 2) @ yt / zt.shape[1])
    resid = y[:, ~train] - z[:, ~train] @ w
    sst = ((y[:, ~train] - y[:, ~train].mean(1, keepdims=True)) ** 2).sum(1)
    dis, comp = importance_scores(np.abs(w))
    return {"disentanglement": dis, "completeness": comp,
            "informativeness": np.mean(1 - (resid ** 2).sum(1) / sst, -1)}


def shuffle_null(metric: Callable, states, x_star, rng, n_draws: int = 20) -> np.ndarray:
    """``metric`` on states permuted across trials (each batch member its own permutation); (n_draws, B)."""
    states, x = _inputs(states, x_star)
    n_draws = check_positive_int("n_draws", n_draws)
    rng = as_generator(rng)
    idx = np.broadcast_to(np.arange(states.shape[1]), states.shape[:2])
    return np.stack([metric(np.take_along_axis(states, rng.permuted(idx, axis=1)[..., None], 1), x)
                     for _ in range(n_draws)])


def unit_shuffle_null(metric: Callable, states, rng, n_draws: int = 20) -> np.ndarray:
    """``metric`` on states whose units are permuted across trials independently (no correlations); (n_draws, B)."""
    states = np.asarray(states, dtype=float)
    n_draws = check_positive_int("n_draws", n_draws)
    rng = as_generator(rng)
    return np.stack([metric(rng.permuted(states, axis=1)) for _ in range(n_draws)])


def geometric_null(metric: Callable, states, x_star, rng, n_draws: int = 20) -> np.ndarray:
    """``metric`` under Bernardi's random model; (n_draws, B).

    z_i -> z_i - m_c(i) + g_c(i), g_c ~ N(mean_c m_c, s^2 I_p), s^2 = mean_c |m_c - mean m|^2 / p: the
    condition centroids are placed at random with the same spread, the within-condition scatter is kept.
    """
    states, x = _inputs(states, x_star)
    n_draws = check_positive_int("n_draws", n_draws)
    rng = as_generator(rng)
    m = centroids(states, x)
    if np.any(~np.isfinite(m)):
        raise ValueError("every orthant needs at least one trial for the geometric null")
    c = conditions(x)
    resid = states - np.take_along_axis(m, c[..., None], 1)
    centre = m.mean(1, keepdims=True)
    s = np.sqrt(np.mean(np.sum((m - centre) ** 2, -1), -1) / m.shape[-1])[:, None, None]
    out = []
    for _ in range(n_draws):
        g = centre + s * rng.standard_normal(m.shape)
        out.append(metric(resid + np.take_along_axis(g, c[..., None], 1), x))
    return np.stack(out)
