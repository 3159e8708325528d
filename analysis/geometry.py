"""Geometry of a representation: CCGP, parallelism, shattering dimensionality, participation ratio, DCI.

Pure functions of a batch of states and their latents, vectorised over the batch (networks, or
independent replicate samples of one agent):
    states : ndarray (B, n, p)     x_star : ndarray (B, n, D) or (n, D)
Conditions are the orthants of x*: c = sum_d [x_d > 0] 2^d. The dichotomy "x_d" is the sign of x_d.

The linear classifier is the least-squares one (ridge regression onto +-1 labels, intercept free,
decision sign(w.z + w0)). By default (``ridge="cv"``) its penalty is chosen by the same inner
cross-validation as the r^2 decoders' (:func:`analysis.decoders.auto_ridge`), inside the training trials
only; a number fixes it, in units of the mean feature variance tr Cov / p. Either way every
classifier-based measure is invariant to rotations, translations and isotropic scalings of the state.
Accuracy counts an exact tie (w.z + w0 = 0) as half correct.

Measures (Bernardi et al. 2020, Cell; Eastwood & Williams 2018, ICLR):
- :func:`ccgp`: hold out one condition with x_d > 0 and one with x_d < 0, train on all other conditions,
  test on the held-out pair; mean accuracy over the pairs (by default those differing only in x_d, as
  decodanda; at D = 2 that is training on x_e > 0 and testing on x_e < 0 and the reverse).
  :func:`ccgp_binomial_se` is its test-trial binomial error.
- :func:`parallelism_bernardi`: mean cosine of the coding vectors m_{c+} - m_{c-} (condition centroids),
  maximum over all one-to-one pairings of the x_d > 0 with the x_d < 0 conditions (D <= 3).
- :func:`parallelism_mean_pairs`: mean cosine over the pairs of conditions differing only in x_d.
- :func:`parallelism_regressor_cosine`: cosine between the classifiers fit on the two halves x_e > 0, x_e < 0.
- :func:`shattering_dimensionality`: mean held-out accuracy over all balanced dichotomies of the conditions
  (fit on the even-indexed trials, tested on the odd ones).
- :func:`participation_ratio`: (tr Cov)^2 / tr(Cov^2) of the state covariance.
- :func:`dci`: Eastwood & Williams' lasso regression of each z-scored x_d on the z-scored units (even
  trials), importance R_jd = |w_jd|; disentanglement and completeness by
  :func:`theory.geometry.importance_scores`; informativeness = held-out NRMSE (odd trials), mean over d.
  :func:`dci_ridge` is the ridge-importance variant. DCI is invariant to translations and to per-unit
  scalings and permutations, not to rotations: it is the one measure here that sees the basis.
:func:`clip_interval` clips an interval to a measure's range and says whether it did.

Nulls: :func:`shuffle_null` (states permuted across trials against their latents: chance geometry),
:func:`unit_shuffle_null` (each unit permuted on its own: no correlations; the null of the participation
ratio) and :func:`geometric_null` (Bernardi's random model: condition centroids replaced by Gaussian
points of the same spread, within-condition scatter kept).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from analysis.decoders import auto_ridge, fit_linear_decoder
from analysis.lasso import lasso, lasso_cv
from theory.geometry import balanced_dichotomies, importance_scores
from theory.world import as_generator, check_positive_int

#: The fixed ridge penalty of the ``ridge=<number>`` classifiers and of :func:`dci_ridge` (in units of the
#: mean feature variance): small enough to leave a well-sampled linear code untouched, large enough to keep
#: rank-deficient states (N > D probits) solvable. The default classifiers choose theirs (``ridge="cv"``).
RIDGE = 1e-3
#: The classifiers' default: the penalty chosen by inner cross-validation (:func:`analysis.decoders.auto_ridge`).
CV = "cv"
#: Which held-out pairs :func:`ccgp` averages over: ``adjacent`` (the pair differs only in x_dim; decodanda's
#: default, max_semantic_dist = 1) or ``all`` (every pair of one x_dim > 0 and one x_dim < 0 condition).
PAIRS = ("adjacent", "all")
#: Range of each measure, for clipping intervals (:func:`clip_interval`); None: the number of units p.
RANGES = {"ccgp": (0.0, 1.0), "shattering_dimensionality": (0.0, 1.0), "parallelism_bernardi": (-1.0, 1.0),
          "parallelism_mean_pairs": (-1.0, 1.0), "parallelism_regressor_cosine": (-1.0, 1.0),
          "participation_ratio": (1.0, None), "disentanglement": (0.0, 1.0), "completeness": (0.0, 1.0),
          "informativeness": (0.0, np.inf), "r2": (-np.inf, 1.0)}
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


def _parity_halves(train) -> list[np.ndarray]:
    """The training trials split by the parity of their position among them: two masks like ``train``."""
    rank = np.cumsum(train, -1) - 1
    return [train & (rank % 2 == 0), train & (rank % 2 == 1)]


def _two_classes(mask, y) -> bool:
    """Every batch member has trials of both labels (+-1) in ``mask``; mask, y (B, n)."""
    return bool(np.all((mask & (y > 0)).any(-1)) and np.all((mask & (y < 0)).any(-1)))


def fit_classifiers(states, train, Y, ridge=CV, inner=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares linear classifiers with a fixed penalty or one chosen by inner cross-validation.

    ``ridge`` a number: :func:`fit_classifier`. ``ridge="cv"``: for each training set the penalty (one per
    batch member, shared by its F label vectors) is chosen as :func:`analysis.decoders.auto_ridge` chooses the
    r^2 decoders' (``ridge_cv``): on the grid ``RIDGE_GRID`` x the mean squared singular value of the centred
    training states, the one with the least squared error of the +-1 targets on inner held-out sets inside
    the training set (``inner[g]``, default the two parity halves of the training trials). The held-out
    trials of the measure are never seen.

    Parameters
    ----------
    states : ndarray (B, n, p); train : bool ndarray (B, G, n); Y : ndarray (B, G, F, n)
    inner : list of G lists of bool ndarrays (B, n), optional

    Returns
    -------
    w : ndarray (B, G, F, p), w0 : ndarray (B, G, F), penalty : ndarray (B, G) relative to the mean feature
    variance (the ``ridge`` of :func:`fit_classifier`)
    """
    if not isinstance(ridge, str):
        w, w0 = fit_classifier(states, train, Y, ridge)
        return w, w0, np.full(train.shape[:2], float(ridge))
    if ridge != CV:
        raise ValueError(f"ridge={ridge!r} must be a number >= 0 or {CV!r}")
    B, G, F, n = Y.shape
    w, w0, penalty = np.empty((B, G, F, states.shape[-1])), np.empty((B, G, F)), np.empty((B, G))
    for g in range(G):
        tr = train[:, g]
        Yg = np.swapaxes(Y[:, g], -1, -2)                                     # (B, n, F)
        sets = _parity_halves(tr) if inner is None or not inner[g] else inner[g]
        r = auto_ridge(states, Yg, tr, sets, "fullrange")      # fullrange r^2 is monotone in the squared error
        fit = fit_linear_decoder(states, Yg, r, weights=tr)
        w[:, g], w0[:, g] = np.swapaxes(fit.W, -1, -2), fit.b
        wn = tr / tr.sum(-1, keepdims=True)
        centred = states - np.einsum("bn,bnp->bp", wn, states)[:, None]
        scale = np.einsum("bn,bnp->b", tr.astype(float), centred ** 2) / states.shape[-1]
        penalty[:, g] = r / np.where(scale > 0, scale, 1.0)
    return w, w0, penalty


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


def held_out_pairs(D: int, dim: int, pairs: str = "adjacent") -> list[tuple[int, int]]:
    """The (x_dim < 0, x_dim > 0) condition pairs CCGP holds out in turn, one condition per side.

    ``adjacent``: the 2^(D-1) pairs differing only in x_dim; ``all``: all 4^(D-1) pairs. At D = 2
    ``adjacent`` holds out one side of the other coordinate, x_e > 0 or x_e < 0.
    """
    if pairs not in PAIRS:
        raise ValueError(f"pairs={pairs!r} must be one of {PAIRS}")
    neg = [c for c in range(2 ** D) if not (c >> dim) & 1]
    if pairs == "adjacent":
        return [(c, c + 2 ** dim) for c in neg]
    return [(c, p + 2 ** dim) for c in neg for p in neg]


def ccgp_detail(states, x_star, dim: int = 0, ridge=CV, pairs: str = "adjacent") -> dict:
    """CCGP of the sign of x_dim (Bernardi et al. 2020) with what its binomial error needs.

    For each held-out pair (one x_dim > 0 and one x_dim < 0 condition, :func:`held_out_pairs`) a classifier
    of sign(x_dim) is trained on the trials of all other conditions and tested on the pair's trials; CCGP is
    the mean accuracy over the pairs. With ``ridge="cv"`` the inner held-out sets are the other pairs inside
    the training conditions where the rest keeps both labels (D >= 3), else the parity halves (D = 2).

    Returns
    -------
    dict with ``value`` (B,), ``accuracy`` (B, G) per pair, ``n_test`` (B, G) test trials per pair,
    ``se`` (B,) the binomial standard error of ``value`` (:func:`ccgp_binomial_se`), ``penalty`` (B, G)
    """
    states, x = _inputs(states, x_star)
    dim = _dim(dim, x.shape[-1])
    c = conditions(x)
    choice = held_out_pairs(x.shape[-1], dim, pairs)
    test = np.stack([(c == a) | (c == b) for a, b in choice], axis=1)          # (B, G, n)
    train = ~test
    y = np.where(x[..., dim] > 0, 1.0, -1.0)
    inner = [[test[:, h] for h in range(len(choice)) if h != g and not np.any(test[:, h] & test[:, g])
              and _two_classes(test[:, h], y) and _two_classes(train[:, g] & ~test[:, h], y)]
             for g in range(len(choice))]
    Y = np.broadcast_to(y[:, None, None, :], train.shape[:2] + (1, y.shape[-1]))
    w, w0, penalty = fit_classifiers(states, train, Y, ridge, inner)
    acc = accuracy(states, w, w0, test, Y)[..., 0]
    n_test = test.sum(-1)
    return {"value": acc.mean(-1), "accuracy": acc, "n_test": n_test,
            "se": ccgp_binomial_se(acc, n_test, disjoint=pairs == "adjacent"), "penalty": penalty}


def ccgp(states, x_star, dim: int = 0, ridge=CV, pairs: str = "adjacent") -> np.ndarray:
    """Cross-condition generalisation of the sign of x_dim; shape (B,). 1 for a factorised code, 1/2 at chance.

    See :func:`ccgp_detail`.
    """
    return ccgp_detail(states, x_star, dim, ridge, pairs)["value"]


def ccgp_binomial_se(accuracy, n_test, disjoint: bool = True) -> np.ndarray:
    """Binomial standard error of a CCGP from its held-out accuracies and test-trial counts; (...,).

    Given the fitted classifiers, each test trial is right or wrong independently, so the accuracy a_g of
    pair g on n_g trials has variance a_g (1 - a_g) / n_g. The pairs of ``adjacent`` CCGP hold out disjoint
    trials, so the mean over G pairs has SE sqrt(sum_g a_g (1 - a_g) / n_g) / G. With overlapping test sets
    (``disjoint=False``, the ``all`` pairs) the errors correlate; the SE of a mean is at most the mean of the
    SEs (Minkowski), which is returned. An accuracy of 0 or 1 gives SE 0 (no observed error).

    Parameters
    ----------
    accuracy : ndarray (..., G), in [0, 1]; n_test : ndarray (..., G), counts >= 1
    """
    a, n = np.asarray(accuracy, dtype=float), np.asarray(n_test, dtype=float)
    if not (np.all(a >= 0) and np.all(a <= 1)):
        raise ValueError("accuracy must lie in [0, 1]")
    if not np.all(n >= 1):
        raise ValueError("n_test must be >= 1 for every held-out pair")
    var = a * (1 - a) / n
    if disjoint:
        return np.sqrt(var.sum(-1)) / a.shape[-1]
    return np.sqrt(var).mean(-1)


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


def parallelism_regressor_cosine(states, x_star, dim: int = 0, ridge=CV) -> np.ndarray:
    """Cosine between the x_dim classifiers fit on x_e > 0 and on x_e < 0, mean over e != dim; (B,).

    ``ridge`` as :func:`fit_classifiers` (inner sets: the parity halves of each half's trials).
    """
    states, x = _inputs(states, x_star)
    dim = _dim(dim, x.shape[-1])
    train, _ = _halves(x, dim)
    y = np.where(x[..., dim] > 0, 1.0, -1.0)
    Y = np.broadcast_to(y[:, None, None, :], train.shape[:2] + (1, y.shape[-1]))
    w = fit_classifiers(states, train, Y, ridge)[0][:, :, 0]                 # (B, 2(D-1), p)
    half = w.shape[1] // 2
    a, b = w[:, :half], w[:, half:]
    cos = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return cos.mean(-1)


def shattering_dimensionality(states, x_star, ridge=CV) -> np.ndarray:
    """Mean held-out accuracy over all balanced dichotomies of the orthants; (B,).

    Fit on the even-indexed trials, tested on the odd ones; ``ridge`` as :func:`fit_classifiers` (one
    penalty for all dichotomies, inner sets the parity halves of the even trials).
    """
    states, x = _inputs(states, x_star)
    labels = balanced_dichotomies(x.shape[-1])                               # (M, 2^D)
    Y = np.where(labels[:, conditions(x)], 1.0, -1.0).transpose(1, 0, 2)[:, None]   # (B, 1, M, n)
    even = (np.arange(states.shape[1]) % 2 == 0)
    train = np.broadcast_to(even, (states.shape[0], 1, states.shape[1]))
    w, w0, _ = fit_classifiers(states, train, Y, ridge)
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


def _dci_scores(W, z, y, test, keep_r2: bool) -> dict:
    """D, C from R = |W| (p x D per batch member), informativeness as E&W's NRMSE on the test trials."""
    err = z[:, test] @ W - y[:, test]                                        # training means are 0 (z-scored)
    sd = y[:, test].std(1)
    nrmse = np.sqrt(np.mean(err ** 2, 1)) / np.where(sd > 0, sd, np.nan)     # (B, D)
    dis, comp = importance_scores(np.abs(W))
    out = {"disentanglement": dis, "completeness": comp, "informativeness": np.mean(nrmse, -1)}
    if keep_r2:
        out["r2"] = np.mean(1 - nrmse ** 2, -1)
    return out


def dci(states, x_star, alpha=CV, keep_r2: bool = False) -> dict:
    """Disentanglement, completeness and informativeness (Eastwood & Williams 2018) with lasso importances.

    As E&W: the units and the latents are z-scored (training trials' moments); each latent x_d is regressed
    on the units by the lasso (:mod:`analysis.lasso`, fit on the even-indexed trials), R_jd = |w_jd|;
    disentanglement and completeness by :func:`theory.geometry.importance_scores`; informativeness is the
    prediction error, the normalised RMSE sqrt(mean (x_hat_d - x_d)^2) / sd(x_d) on the odd-indexed trials,
    mean over d (0 for perfect prediction, 1 for predicting the mean). ``alpha="cv"`` chooses the penalty per
    latent by 3-fold inner cross-validation inside the training trials (:func:`analysis.lasso.lasso_cv`;
    E&W chose theirs on a validation split); a number fixes it (scikit-learn's ``Lasso(alpha)`` units).
    ``keep_r2`` adds ``r2`` = mean_d (1 - NRMSE_d^2), the held-out r^2.

    DCI is invariant to translations and to per-unit scalings and permutations, not to rotations: it sees
    the basis of the units.

    Returns
    -------
    dict of ndarrays (B,): ``disentanglement``, ``completeness``, ``informativeness`` (and ``r2``)
    """
    states, x = _inputs(states, x_star)
    train = np.arange(states.shape[1]) % 2 == 0
    z, y = _zscore(states, train), _zscore(x, train)
    if isinstance(alpha, str):
        if alpha != CV:
            raise ValueError(f"alpha={alpha!r} must be a number >= 0 or {CV!r}")
        W = lasso_cv(z, y, train)[0]
    else:
        if not (np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha={alpha!r} must be a number >= 0 or {CV!r}")
        W = lasso(z, y, alpha, mask=train)[0]
    return _dci_scores(W, z, y, ~train, keep_r2)


def dci_ridge(states, x_star, ridge=RIDGE, keep_r2: bool = False) -> dict:
    """DCI with ridge importances instead of E&W's lasso: R_jd = |w_jd| of a ridge regression (penalty
    ``ridge`` in units of the z-scored units' variance) of each z-scored x_d on the z-scored units; the rest
    as :func:`dci`. On rank-deficient units (N > D probits) the ridge spreads each latent's weight over all
    collinear units, where the lasso keeps the fewest."""
    states, x = _inputs(states, x_star)
    if not (np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge={ridge!r} must be finite and >= 0")
    train = np.arange(states.shape[1]) % 2 == 0
    z, y = _zscore(states, train), _zscore(x, train)
    zt, yt = z[:, train], y[:, train]
    S = np.swapaxes(zt, 1, 2) @ zt / zt.shape[1]
    W = np.linalg.solve(S + (ridge + 1e-12) * np.eye(S.shape[-1]), np.swapaxes(zt, 1, 2) @ yt / zt.shape[1])
    return _dci_scores(W, z, y, ~train, keep_r2)


def clip_interval(low, high, metric: str, units: int | None = None) -> tuple[float, float, bool]:
    """An interval clipped to the range of ``metric`` (:data:`RANGES`), and whether it was clipped.

    Cosines lie in [-1, 1], accuracies and D, C in [0, 1], the participation ratio in [1, p] (``units`` = p),
    the NRMSE in [0, inf). A t interval around a mean near a bound can cross it; the clipped interval keeps
    only values the measure can take (and says so, for the report).
    """
    if metric not in RANGES:
        raise ValueError(f"metric={metric!r} must be one of {tuple(RANGES)}")
    lo, hi = RANGES[metric]
    if hi is None:
        if units is None or isinstance(units, bool) or units < 1:
            raise ValueError(f"units={units!r} must be the number of units (>= 1) for metric={metric!r}")
        hi = float(units)
    new_low, new_high = float(np.clip(low, lo, hi)), float(np.clip(high, lo, hi))   # NaN stays NaN
    return new_low, new_high, bool(low < lo or low > hi or high < lo or high > hi)


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
