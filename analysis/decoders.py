"""Linear probes of hidden states: decoders, OOD and ID r^2 over folds, decoder angles (SPEC 6).

A linear decoder with intercept maps a hidden state h (shape (H,)) to an estimate of x*:
    x_hat = W^T h + b,        W : (H, D), b : (D,),
fit by (optionally ridge-penalised, optionally weighted) least squares. Out-of-distribution
(OOD) r^2: fit on a fold's training region, test on its held-out region (quadrants for D = 2,
orthants or half-spaces above; see :mod:`theory.folds`). In-distribution (ID) r^2: fit on
trials from the whole cube, test on each fold's held-out region.

Two normalisations, never mixed silently:
- ``fullrange`` (the reference): r^2 = 1 - MSE / (1/12), MSE pooled over coordinates;
- ``heldout``: r^2 = 1 - sum_j MSE_j / sum_j Var_test(x*_j), the pooled error divided by the
  pooled variance of x* over the held-out trials themselves (1/48 per coordinate for a
  quadrant), the convention of ``theory.ceilings.r2_protocol``.

Everything is vectorised over K networks: hidden states arrive as shape (K, n_trials, H).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.folds import QUADRANT_TO_ORTHANT, Fold, ood_folds, orthant_signs
from theory.world import LATENT_VARIANCE, as_generator, check_positive_int

NORMALISATIONS = ("fullrange", "heldout")

#: Relative ridge penalties tried by ``ridge="auto"`` (see :func:`auto_ridge`): 0 and 1e-6..1.
RIDGE_GRID = (0.0,) + tuple(np.logspace(-6, 0, 13))

#: The reference code's fold defect (SPEC section 6): its held-out quadrants 2 and 4 were
#: sampled from quadrants 1 and 3. Labelled held-out orthant -> orthant actually sampled.
REFERENCE_DEFECT_SOURCE = {QUADRANT_TO_ORTHANT[2]: QUADRANT_TO_ORTHANT[1],
                           QUADRANT_TO_ORTHANT[4]: QUADRANT_TO_ORTHANT[3]}


@dataclass(frozen=True)
class Decoder:
    """Affine read-out x_hat = h @ W + b, stacked over any leading (network) axes.

    Attributes
    ----------
    W : ndarray, shape (..., H, D); column j is the weight vector that decodes x*_j
    b : ndarray, shape (..., D), intercept
    """

    W: np.ndarray
    b: np.ndarray

    def predict(self, hidden: np.ndarray) -> np.ndarray:
        """x_hat = h @ W + b. hidden : shape (..., n, H) -> (..., n, D)."""
        return np.asarray(hidden, dtype=float) @ self.W + self.b[..., None, :]


def _check_finite(name: str, a: np.ndarray) -> None:
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")


def fit_linear_decoder(hidden, x, ridge=0.0, weights=None) -> Decoder:
    """Least-squares affine decoder from hidden states to latents, batched over networks.

    Minimises  sum_i w_i |x_i - W^T h_i - b|^2 + ridge |W|_F^2  (the intercept b is not
    penalised). Centring on the weighted means removes b; with the weighted, centred hidden
    states A and targets Y, and A^T A = V diag(s^2) V^T:  W = V diag(1 / (s^2 + ridge)) V^T A^T Y.
    Modes with s^2 <= max(n, H) eps s_max^2 are dropped, so with ridge = 0 this is the
    minimum-norm solution even when units are dead or collinear.

    Parameters
    ----------
    hidden : ndarray, shape (..., n, H)
    x : ndarray, shape (n, D) or (..., n, D), targets (x* or mu)
    ridge : float >= 0, or ndarray broadcastable to the leading axes (one per network), penalty
        on |W|_F^2 (in units of summed weight x squared latent units)
    weights : ndarray of shape (n,) or (..., n), non-negative, optional; 0/1 weights select
        trials, so a boolean mask is a valid weight

    Returns
    -------
    Decoder with W : (..., H, D), b : (..., D)
    """
    ridge = np.asarray(ridge, dtype=float)
    path = ridge_path(hidden, x, ridge[None], weights)
    return Decoder(W=path.W[0], b=path.b[0])


def ridge_path(hidden, x, ridges, weights=None) -> Decoder:
    """Decoders for several ridge penalties from one eigen-decomposition: W (R, ..., H, D), b (R, ..., D).

    ``ridges`` has shape (R,) or (R, ...) broadcastable to (R,) + the leading axes; see
    :func:`fit_linear_decoder` for the rest.
    """
    hidden = np.asarray(hidden, dtype=float)
    x = np.asarray(x, dtype=float)
    ridges = np.asarray(ridges, dtype=float)
    if hidden.ndim < 2:
        raise ValueError(f"hidden must have shape (..., n, H); got shape {hidden.shape}")
    if x.ndim < 2 or x.shape[-2] != hidden.shape[-2]:
        raise ValueError(f"x must have shape (n={hidden.shape[-2]}, D) or (..., n, D); got shape {x.shape}")
    _check_finite("hidden", hidden)
    _check_finite("x", x)
    if ridges.ndim < 1 or not (np.all(np.isfinite(ridges)) and np.all(ridges >= 0)):
        raise ValueError(f"ridge={ridges.squeeze()!r} must be finite and >= 0")
    n, H = hidden.shape[-2:]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if w.shape[-1:] != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be finite, >= 0, with last axis n={n}; got shape {w.shape}")
    wsum = w.sum(axis=-1)
    if np.any(wsum <= 0):
        raise ValueError("weights select no trial for at least one fit (all weights are 0)")
    lead = np.broadcast_shapes(hidden.shape[:-2], x.shape[:-2], w.shape[:-1])
    hidden = np.broadcast_to(hidden, lead + (n, H))
    x = np.broadcast_to(x, lead + x.shape[-2:])
    w = np.broadcast_to(w, lead + (n,))
    wn = (w / w.sum(axis=-1, keepdims=True))[..., None]
    h_mean = (wn * hidden).sum(axis=-2)
    x_mean = (wn * x).sum(axis=-2)
    root_w = np.sqrt(w)[..., None]
    A = root_w * (hidden - h_mean[..., None, :])
    Y = root_w * (x - x_mean[..., None, :])
    # Eigen-decomposition of the H x H Gram matrix A^T A = V diag(s^2) V^T (n x H^2 work, not the
    # n x H x min(n, H) of an SVD of A); W = V diag(1 / (s^2 + ridge)) V^T A^T Y on the kept modes.
    s2, V = np.linalg.eigh(np.swapaxes(A, -1, -2) @ A)
    keep = s2 > max(n, H) * np.finfo(float).eps * s2[..., -1:]
    # ridges (R,) + s, s right-aligned against the leading axes: pad s on the left, add the mode axis
    padded = ridges.reshape(ridges.shape[:1] + (1,) * (len(lead) - ridges.ndim + 1) + ridges.shape[1:])
    r = np.broadcast_to(padded, ridges.shape[:1] + lead)[..., None]
    gain = np.where(keep, 1.0 / np.where(keep, s2 + r, 1.0), 0.0)          # (R, ..., H)
    W = V @ (gain[..., None] * (np.swapaxes(V, -1, -2) @ (np.swapaxes(A, -1, -2) @ Y)))
    b = x_mean - (h_mean[..., None, :] @ W)[..., 0, :]
    return Decoder(W=W, b=b)


def auto_ridge(hidden, x_star, train, inner_tests, normalisation: str = "fullrange") -> np.ndarray:
    """Ridge penalty per network chosen inside a fold's training region only.

    Inner cross-validation: for each inner held-out region (e.g. each of the three training
    quadrants), fit on the rest of the training region with every penalty of
    lam * tr(A^T A) / H, lam in RIDGE_GRID (relative to the mean squared singular value of the
    centred training states), test on the inner region; keep the penalty with the best mean
    inner r^2. The fold's own held-out region is never seen.

    Parameters
    ----------
    hidden : ndarray (K, n, H); x_star : ndarray (n, D) or (K, n, D)
    train : bool ndarray (..., n), the training region; inner_tests : list of bool (..., n)

    Returns
    -------
    ridge : ndarray (K,)
    """
    hidden = np.asarray(hidden, dtype=float)
    w = np.broadcast_to(train, hidden.shape[:-1]).astype(float)
    wn = w / w.sum(axis=-1, keepdims=True)
    centred = hidden - np.einsum("kn,knh->kh", wn, hidden)[:, None, :]
    scale = np.einsum("kn,knh->k", w, centred**2) / hidden.shape[-1]
    ridges = np.asarray(RIDGE_GRID)[:, None] * scale[None, :]             # (R, K)
    scores = np.zeros_like(ridges)
    for inner in inner_tests:
        path = ridge_path(hidden, x_star, ridges, weights=train & ~inner)
        scores += r2_score(x_star, path.predict(hidden), normalisation, weights=train & inner)
    return ridges[np.argmax(scores, axis=0), np.arange(hidden.shape[0])]


def r2_score(x_true, x_pred, normalisation: str = "fullrange", weights=None) -> np.ndarray:
    """Coefficient of determination of a latent estimate, pooled over coordinates.

    ``fullrange``: r^2 = 1 - mean_{i,j} (x_hat_ij - x_ij)^2 / (1/12).
    ``heldout``:   r^2 = 1 - sum_j MSE_j / sum_j Var(x_j), with Var(x_j) the (weighted,
    population) variance of the evaluated targets themselves, pooled over coordinates as in
    ``theory.ceilings.reference_variance``.

    Parameters
    ----------
    x_true, x_pred : ndarray, shape (..., n, D), broadcastable
    weights : ndarray (n,) or (..., n), optional; 0/1 weights select the evaluated trials

    Returns
    -------
    r2 : ndarray, shape (...)
    """
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation={normalisation!r} must be one of {NORMALISATIONS}")
    x_true, x_pred = np.broadcast_arrays(np.asarray(x_true, float), np.asarray(x_pred, float))
    if x_true.ndim < 2:
        raise ValueError(f"x_true and x_pred must have shape (..., n, D); got shape {x_true.shape}")
    w = np.ones(x_true.shape[-2]) if weights is None else np.asarray(weights, dtype=float)
    wsum = w.sum(axis=-1)
    if np.any(wsum <= 0):
        raise ValueError("weights select no trial to evaluate (empty held-out region?)")
    wn = (w / wsum[..., None])[..., None]
    mse = (wn * (x_pred - x_true) ** 2).sum(axis=-2)
    if normalisation == "fullrange":
        return 1.0 - mse.mean(axis=-1) / LATENT_VARIANCE
    mean = (wn * x_true).sum(axis=-2, keepdims=True)
    var = (wn * (x_true - mean) ** 2).sum(axis=-2)
    if np.any(var.sum(axis=-1) <= 0):
        raise ValueError("normalisation='heldout' needs targets that vary within the evaluated trials")
    return 1.0 - mse.sum(axis=-1) / var.sum(axis=-1)


def _defect_source(fold: Fold) -> int | None:
    """Orthant the reference actually sampled for this fold's test set, or None if correct."""
    if fold.scheme != "orthant" or fold.D != 2:
        raise ValueError(f"reference_defect applies to D=2 quadrant folds only; got fold {fold.name}")
    return REFERENCE_DEFECT_SOURCE.get(fold.index)


def fold_masks(x_star, folds, reference_defect: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Train and test trial masks of each fold, for one set of trials over the whole cube.

    With ``reference_defect`` (D = 2 quadrants only), folds Q2 and Q4 are tested on trials
    from Q1 and Q3 as in the reference code. So that those test trials are still fresh draws
    (as the reference's were), trials are split by index parity into two independent halves:
    a defective fold trains on the even half outside its labelled quadrant and tests on the
    odd half inside the source quadrant. Correct folds use all trials.

    Parameters
    ----------
    x_star : ndarray, shape (..., n, D)
    folds : sequence of theory.folds.Fold

    Returns
    -------
    train, test : ndarray of bool, shape (F, ..., n)
    """
    x_star = np.asarray(x_star, dtype=float)
    if x_star.ndim < 2:
        raise ValueError(f"x_star must have shape (..., n, D); got shape {x_star.shape}")
    even = np.arange(x_star.shape[-2]) % 2 == 0
    train, test = [], []
    for fold in folds:
        if fold.D != x_star.shape[-1]:
            raise ValueError(f"fold {fold.name} has D={fold.D}; x_star has D={x_star.shape[-1]}")
        held_out = fold.in_test(x_star)
        source = _defect_source(fold) if reference_defect else None
        if source is None:
            train.append(~held_out)
            test.append(held_out)
        else:
            train.append(~held_out & even)
            test.append(Fold("orthant", source, 2).in_test(x_star) & ~even)
    return np.stack(train), np.stack(test)


@dataclass(frozen=True)
class CrossValidation:
    """OOD and ID r^2 of linear decoders over networks x folds.

    Attributes
    ----------
    ood : ndarray (K, F), decoder fit on the fold's training region, tested on its held-out one
    id : ndarray (K, F), decoder fit on the even-indexed trials of the whole cube, tested on
        the odd-indexed trials of the fold's held-out region (fresh trials, as for OOD)
    angles : ndarray (K, P), degrees between decoder weight vectors (all trials), pairs i < j
    fold_names : tuple of str
    normalisation : str
    reference_defect : bool
    ridge : ndarray (K, F), the ridge penalty each fold's OOD decoder used
    """

    ood: np.ndarray
    id: np.ndarray
    angles: np.ndarray
    fold_names: tuple
    normalisation: str
    reference_defect: bool
    ridge: np.ndarray | None = None


def quadrant_cv(hidden, x_star, folds=None, normalisation: str = "fullrange", ridge=0.0,
                reference_defect: bool = False) -> CrossValidation:
    """Quadrant (orthant / half-space) cross-validation of linear decoders, all networks at once.

    One set of trials over the whole cube is split by each fold's masks (:func:`fold_masks`).

    Parameters
    ----------
    hidden : ndarray, shape (K, n, H), hidden states at the decision step of K networks
    x_star : ndarray, shape (n, D) (same trials for every network) or (K, n, D)
    folds : list of Fold, default ``theory.folds.ood_folds(D)``
    normalisation : ``"fullrange"`` (reference) or ``"heldout"``
    ridge : float >= 0 (see :func:`fit_linear_decoder`), or ``"auto"``: per network and fold,
        chosen by inner cross-validation over the other folds' regions inside the training
        region (:func:`auto_ridge`); the ID and angle decoders then use the median choice
    reference_defect : reproduce the reference's fold defect (off by default)

    Returns
    -------
    CrossValidation
    """
    hidden = np.asarray(hidden, dtype=float)
    x_star = np.asarray(x_star, dtype=float)
    if hidden.ndim != 3:
        raise ValueError(f"hidden must have shape (K, n, H); got shape {hidden.shape}")
    if x_star.ndim not in (2, 3) or x_star.shape[-2] != hidden.shape[1]:
        raise ValueError(f"x_star must have shape (n={hidden.shape[1]}, D) or (K, n, D); got {x_star.shape}")
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation={normalisation!r} must be one of {NORMALISATIONS}")
    folds = ood_folds(x_star.shape[-1]) if folds is None else list(folds)
    if not (isinstance(ridge, str) and ridge == "auto") and not (
            isinstance(ridge, (int, float, np.floating)) and np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge={ridge!r} must be 'auto' or a finite number >= 0")
    train, test = fold_masks(x_star, folds, reference_defect)
    odd = np.arange(hidden.shape[1]) % 2 == 1
    ood, chosen = [], []
    for k in range(len(folds)):
        if np.any(test[k].sum(axis=-1) == 0) or np.any((test[k] & odd).sum(axis=-1) == 0):
            raise ValueError(f"fold {folds[k].name} has no held-out trials; draw more trials")
        r = ridge
        if ridge == "auto":
            inner = [test[j] for j in range(len(folds)) if j != k and np.all((train[k] & test[j]).any(axis=-1))]
            r = auto_ridge(hidden, x_star, train[k], inner, normalisation)
        chosen.append(np.broadcast_to(r, hidden.shape[:1]))
        dec = fit_linear_decoder(hidden, x_star, r, weights=train[k])
        ood.append(r2_score(x_star, dec.predict(hidden), normalisation, weights=test[k]))
    chosen = np.stack(chosen, axis=-1)
    shared = np.median(chosen, axis=-1)
    id_pred = fit_linear_decoder(hidden, x_star, shared, weights=~odd).predict(hidden)
    id_r2 = [r2_score(x_star, id_pred, normalisation, weights=test[k] & odd) for k in range(len(folds))]
    full = fit_linear_decoder(hidden, x_star, shared)
    return CrossValidation(ood=np.stack(ood, axis=-1), id=np.stack(id_r2, axis=-1),
                           angles=pairwise_angles(full.W), fold_names=tuple(f.name for f in folds),
                           normalisation=normalisation, reference_defect=reference_defect, ridge=chosen)


def sample_fold_latents(rng, folds, n_train: int, n_test: int, reference_defect: bool = False
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Draw x* per fold the reference way: n_train from the training region, n_test held out.

    With ``reference_defect``, the test trials of folds Q2 and Q4 are drawn from Q1 and Q3.

    Returns
    -------
    x_train : ndarray, shape (F, n_train, D)
    x_test : ndarray, shape (F, n_test, D)
    """
    rng = as_generator(rng)
    n_train = check_positive_int("n_train", n_train)
    n_test = check_positive_int("n_test", n_test)
    x_train, x_test = [], []
    for fold in folds:
        source = _defect_source(fold) if reference_defect else None
        tested = fold if source is None else Fold("orthant", source, 2)
        x_train.append(fold.sample(rng, n_train, "train"))
        x_test.append(tested.sample(rng, n_test, "test"))
    return np.stack(x_train), np.stack(x_test)


def sample_orthants(rng, n: int, orthants, D: int) -> np.ndarray:
    """x* uniform over the union of the given orthants (sign-bit numbering), shape (n, D)."""
    rng = as_generator(rng)
    n = check_positive_int("n", n)
    D = check_positive_int("D", D)
    orthants = np.asarray(orthants, dtype=int).ravel()
    if orthants.size == 0 or np.any(orthants < 0) or np.any(orthants >= 2**D):
        raise ValueError(f"orthants={orthants.tolist()} must be a non-empty list of ints in [0, {2**D})")
    chosen = orthants[rng.integers(0, orthants.size, size=n)]
    return rng.uniform(0.0, 0.5, size=(n, D)) * orthant_signs(chosen, D)


def heldout_r2(hidden_train, x_train, hidden_test, x_test, normalisation: str = "fullrange",
               ridge: float = 0.0) -> np.ndarray:
    """r^2 of decoders fit on separately drawn training trials and tested on held-out trials.

    Parameters
    ----------
    hidden_train : ndarray, shape (..., n_train, H); hidden_test : (..., n_test, H)
    x_train : ndarray (..., n_train, D); x_test : (..., n_test, D), broadcastable against the
        hidden states' leading axes (e.g. (F, n, D) with hidden (K, F, n, H))

    Returns
    -------
    r2 : ndarray, shape (...), e.g. (K, F)
    """
    dec = fit_linear_decoder(hidden_train, x_train, ridge)
    return r2_score(x_test, dec.predict(hidden_test), normalisation)


def pairwise_angles(V) -> np.ndarray:
    """Angles (degrees, in [0, 180]) between the columns of V, for every pair i < j.

    V : ndarray, shape (..., H, D) -> ndarray, shape (..., D (D - 1) / 2), pairs in the order of
    ``np.triu_indices(D, 1)``. 90 degrees means orthogonal decoder directions.

    Examples
    --------
    >>> pairwise_angles(np.array([[1.0, 1.0], [0.0, 1.0]]))
    array([45.])
    """
    V = np.asarray(V, dtype=float)
    if V.ndim < 2:
        raise ValueError(f"V must have shape (..., H, D); got shape {V.shape}")
    norms = np.linalg.norm(V, axis=-2)
    if np.any(norms == 0):
        raise ValueError("V has an all-zero column: its angle is undefined")
    gram = np.swapaxes(V, -1, -2) @ V / (norms[..., :, None] * norms[..., None, :])
    i, j = np.triu_indices(V.shape[-1], 1)
    return np.degrees(np.arccos(np.clip(gram[..., i, j], -1.0, 1.0)))


def summarize(values) -> dict:
    """Median and 25th / 75th percentiles over all entries (e.g. networks x folds).

    Returns
    -------
    dict with ``median``, ``q25``, ``q75`` (floats) and ``n`` (number of values)

    Examples
    --------
    >>> summarize([[1.0, 2.0], [3.0, 4.0]])
    {'median': 2.5, 'q25': 1.75, 'q75': 3.25, 'n': 4}
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"values must be non-empty and finite; got {v.size} values")
    q25, median, q75 = np.percentile(v, [25, 50, 75])
    return {"median": float(median), "q25": float(q25), "q75": float(q75), "n": int(v.size)}
