"""Linear probes of hidden states: named decoders, OOD and ID r^2 over folds, angles (paper section 4).

A linear decoder with intercept maps a hidden state h (shape (H,)) to an estimate of x*:
    x_hat = W^T h + b,        W : (H, D), b : (D,),
fit by (optionally ridge-penalised, optionally weighted) least squares. Out-of-distribution
(OOD) r^2: fit on a fold's training region, test on its held-out region (quadrants for D = 2,
orthants or half-spaces above; see :mod:`theory.folds`).

Four named decoders (:data:`DECODERS`), each a function of (hidden states, x*, folds) that works
on any agent's states (a network's or the optimal agent's mu):
- ``ridge_cv`` (the headline): ridge penalty chosen per network and fold by inner
  cross-validation over the other folds' regions inside the training region;
- ``lstsq``: least squares on the training region (extrapolates poorly when it leans on weak,
  purely non-linear hidden directions);
- ``whole_cube``: least squares on trials of the whole cube, tested on each held-out region
  (the direct test of Theorem 3.1: is there one linear read-out of x* everywhere?);
- ``reference_adam``: the reference code's decoder, a linear layer trained by Adam (lr 3e-3)
  on mini-batches of 16 for a fixed number of steps per N, 5 fits per fold.

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

from infra.adam import adam_update
from theory.ceilings import NORMALISATIONS
from theory.folds import QUADRANT_TO_ORTHANT, Fold, ood_folds, orthant_index
from theory.world import LATENT_VARIANCE, as_generator

#: Relative ridge penalties tried by ``ridge="auto"`` (see :func:`auto_ridge`): 0 and 1e-6..1.
RIDGE_GRID = (0.0,) + tuple(np.logspace(-6, 0, 13))

#: The reference code's fold defect: a held-out quadrant q is drawn as U(0, 1)^2 times a corner
#: picked at random from the 1-D array corners[q - 1]; for Q2 = (-1/2, 1/2) and Q4 = (1/2, -1/2)
#: that array is two scalars, so the "held-out" trials are Q1 or Q3 with probability 1/2 each
#: (both inside the training region). Labelled held-out orthant -> orthants actually sampled.
REFERENCE_DEFECT_SOURCE = {QUADRANT_TO_ORTHANT[q]: (QUADRANT_TO_ORTHANT[1], QUADRANT_TO_ORTHANT[3]) for q in (2, 4)}

#: The reference decoder's Adam steps (mini-batches of 16) per number of tasks N; another N
#: takes the count of the largest listed N below it (3000 below N = 2).
REFERENCE_ADAM_STEPS = {2: 3000, 3: 3000, 6: 2000, 12: 1000, 24: 1000}
REFERENCE_ADAM = dict(lr=3e-3, batch=16, fits=5, beta1=0.9, beta2=0.999, eps=1e-8)


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


def _defect_source(fold: Fold) -> tuple | None:
    """Orthants the reference actually sampled for this fold's test set, or None if correct."""
    if fold.scheme != "orthant" or fold.D != 2:
        raise ValueError(f"reference_defect applies to D=2 quadrant folds only; got fold {fold.name}")
    return REFERENCE_DEFECT_SOURCE.get(fold.index)


def fold_masks(x_star, folds, reference_defect: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Train and test trial masks of each fold, for one set of trials over the whole cube.

    With ``reference_defect`` (D = 2 quadrants only), folds Q2 and Q4 are tested on trials
    from Q1 U Q3 (each with probability 1/2, as in the reference code). So that those test
    trials are fresh draws (as the reference's were), trials are split by index parity: a
    defective fold trains on the even half outside its labelled quadrant and tests on the odd
    half inside Q1 U Q3. Correct folds use all trials.

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
            test.append(np.isin(orthant_index(x_star), source) & ~even)
    return np.stack(train), np.stack(test)


@dataclass(frozen=True)
class Splits:
    """The folds of one set of trials per network, as masks.

    Attributes
    ----------
    train, test : bool ndarray (F, K, n), each fold's training and test trials
    held_out : bool ndarray (F, K, n), each fold's true held-out region (for inner CV)
    names : tuple of F fold names
    """

    train: np.ndarray
    test: np.ndarray
    held_out: np.ndarray
    names: tuple

    @property
    def odd(self) -> np.ndarray:
        """Odd-indexed trials, shape (n,): the fresh half that whole-cube decoders are tested on."""
        return np.arange(self.train.shape[-1]) % 2 == 1


def fold_splits(x_star, folds=None, reference_defect: bool = False) -> Splits:
    """:class:`Splits` of x* (shape (K, n, D)); folds default to ``theory.folds.ood_folds(D)``."""
    x_star = np.asarray(x_star, dtype=float)
    if x_star.ndim != 3:
        raise ValueError(f"x_star must have shape (K, n, D); got shape {x_star.shape}")
    folds = ood_folds(x_star.shape[-1]) if folds is None else list(folds)
    train, test = fold_masks(x_star, folds, reference_defect)
    odd = np.arange(x_star.shape[1]) % 2 == 1
    for k, fold in enumerate(folds):
        if np.any((test[k] & odd).sum(axis=-1) == 0) or np.any(train[k].sum(axis=-1) == 0):
            raise ValueError(f"fold {fold.name} has no held-out or no training trials; draw more trials")
    held = np.stack([f.in_test(x_star) for f in folds])
    return Splits(train, test, held, tuple(f.name for f in folds))


@dataclass(frozen=True)
class DecoderFit:
    """r^2 of one named decoder over networks x folds.

    Attributes
    ----------
    r2 : ndarray (K, F), held-out r^2 of each network's decoder on each fold
    ridge : ndarray (K, F), the penalty used (0 for least squares; NaN for Adam)
    r2_fits : ndarray (K, F, fits) or None, every fit's r^2 (repeated fits only)
    """

    r2: np.ndarray
    ridge: np.ndarray
    r2_fits: np.ndarray | None = None


def _checked(hidden, x_star, splits: Splits) -> tuple[np.ndarray, np.ndarray]:
    hidden = np.asarray(hidden, dtype=float)
    x_star = np.asarray(x_star, dtype=float)
    if hidden.ndim != 3 or x_star.shape != hidden.shape[:2] + x_star.shape[-1:]:
        raise ValueError(f"hidden (K, n, H) and x_star (K, n, D) must share K and n; got {hidden.shape}, "
                         f"{x_star.shape}")
    if splits.train.shape[1:] != hidden.shape[:2]:
        raise ValueError(f"splits are for (K, n) = {splits.train.shape[1:]}; hidden has {hidden.shape[:2]}")
    return hidden, x_star


def lstsq(hidden, x_star, splits: Splits, normalisation: str = "fullrange", **_) -> DecoderFit:
    """Least squares on each fold's training region, tested on its test trials."""
    hidden, x_star = _checked(hidden, x_star, splits)
    r2 = [r2_score(x_star, fit_linear_decoder(hidden, x_star, 0.0, weights=tr).predict(hidden), normalisation,
                   weights=te) for tr, te in zip(splits.train, splits.test)]
    return DecoderFit(np.stack(r2, axis=-1), np.zeros((hidden.shape[0], len(splits.names))))


def ridge_cv(hidden, x_star, splits: Splits, normalisation: str = "fullrange", **_) -> DecoderFit:
    """Ridge decoders, the penalty per network and fold chosen inside the training region only.

    Inner cross-validation (:func:`auto_ridge`) over the other folds' held-out regions
    intersected with this fold's training region; the fold's own test trials are never seen.
    """
    hidden, x_star = _checked(hidden, x_star, splits)
    r2, chosen = [], []
    for k, (tr, te) in enumerate(zip(splits.train, splits.test)):
        inner = [splits.held_out[j] & tr for j in range(len(splits.names))
                 if j != k and np.all((splits.held_out[j] & tr).any(axis=-1))]
        r = auto_ridge(hidden, x_star, tr, inner, normalisation)
        chosen.append(r)
        r2.append(r2_score(x_star, fit_linear_decoder(hidden, x_star, r, weights=tr).predict(hidden), normalisation,
                           weights=te))
    return DecoderFit(np.stack(r2, axis=-1), np.stack(chosen, axis=-1))


def whole_cube(hidden, x_star, splits: Splits, normalisation: str = "fullrange", **_) -> DecoderFit:
    """Least squares on the even-indexed trials of the whole cube, tested on the odd-indexed
    test trials of each fold (fresh trials): in-distribution r^2 per region."""
    hidden, x_star = _checked(hidden, x_star, splits)
    pred = fit_linear_decoder(hidden, x_star, 0.0, weights=~splits.odd).predict(hidden)
    r2 = [r2_score(x_star, pred, normalisation, weights=te & splits.odd) for te in splits.test]
    return DecoderFit(np.stack(r2, axis=-1), np.zeros((hidden.shape[0], len(splits.names))))


def reference_steps(ntask) -> np.ndarray:
    """Adam steps of the reference decoder for each N (see :data:`REFERENCE_ADAM_STEPS`)."""
    ntask = np.atleast_1d(np.asarray(ntask))
    keys = np.array(sorted(REFERENCE_ADAM_STEPS))
    idx = np.searchsorted(keys, ntask, side="right") - 1
    return np.array([REFERENCE_ADAM_STEPS[int(keys[max(i, 0)])] for i in idx])


def batch_mse_grad(h, W, b, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loss mean_{i,j} (h_i W + b - x_i)_j^2 of a batch and its gradients, stacked over leading axes.

    h : (..., B, H); W : (..., H, D); b : (..., D); x : (..., B, D) -> loss (...), dW (..., H, D), db (..., D)
    """
    err = np.einsum("...bh,...hd->...bd", h, W) + b[..., None, :] - x
    scale = 2.0 / (err.shape[-2] * err.shape[-1])
    return (err**2).mean(axis=(-2, -1)), scale * np.einsum("...bh,...bd->...hd", h, err), scale * err.sum(axis=-2)


def reference_adam(hidden, x_star, splits: Splits, normalisation: str = "fullrange", rng=None, ntask=24,
                   steps=None, fits: int = REFERENCE_ADAM["fits"], **_) -> DecoderFit:
    """The reference's decoder: nn.Linear(H, D) trained by Adam on mini-batches of 16, 5 fits.

    Each fit starts from PyTorch's default initialisation (weights and bias U(-1/sqrt H, 1/sqrt H))
    and minimises the batch MSE mean_{i,j} (x_hat_ij - x_ij)^2 for ``steps`` Adam steps (lr
    3e-3, betas 0.9 / 0.999, eps 1e-8). Batches walk a random permutation of the fold's
    training trials (cycled when steps x 16 exceeds them), so every batch is fresh until the
    pool is used up. All fits x networks x folds run at once. r^2 per network and fold is the
    median over the fits (``r2_fits`` keeps every fit: the reference pools them in its percentiles).

    Parameters
    ----------
    ntask : int or ndarray (K,), N of each network (sets the step count); ``steps`` overrides
    """
    hidden, x_star = _checked(hidden, x_star, splits)
    rng = as_generator(rng)
    K, n, H = hidden.shape
    F, D = len(splits.names), x_star.shape[-1]
    steps = np.broadcast_to(reference_steps(ntask) if steps is None else np.asarray(steps), (K,))
    a = REFERENCE_ADAM
    B, total = a["batch"], int(steps.max())
    train = np.swapaxes(splits.train, 0, 1)                                  # (K, F, n)
    n_train = train.sum(axis=-1)                                              # (K, F)
    keys = np.where(train, rng.random((fits, K, F, n)), 2.0)
    order = np.argsort(keys, axis=-1)                                         # train trials first
    bound = 1.0 / np.sqrt(H)
    W = rng.uniform(-bound, bound, (fits, K, F, H, D))
    b = rng.uniform(-bound, bound, (fits, K, F, D))
    m = [np.zeros_like(W), np.zeros_like(b)]
    v = [np.zeros_like(W), np.zeros_like(b)]
    kk = np.arange(K)[None, :, None, None]
    pos = np.arange(B)
    for step in range(total):
        slot = (step * B + pos) % n_train[None, :, :, None]                   # (1, K, F, B)
        idx = np.take_along_axis(order, np.broadcast_to(slot, (fits, K, F, B)), axis=-1)
        h, x = hidden[kk, idx], x_star[kk, idx]                               # (fits, K, F, B, H|D)
        grads = batch_mse_grad(h, W, b, x)[1:]
        live = (step < steps)[None, :, None]                                  # networks still training
        for i, (p, g) in enumerate(zip((W, b), grads)):
            upd, m[i], v[i] = adam_update(g, m[i], v[i], step + 1, a["lr"], a["beta1"], a["beta2"], a["eps"])
            p -= np.where(live[(...,) + (None,) * (p.ndim - 3)], upd, 0.0)
    r2 = np.empty((fits, K, F))
    for f in range(F):
        pred = hidden[None] @ W[:, :, f] + b[:, :, f, None, :]                # (fits, K, n, D)
        r2[:, :, f] = r2_score(x_star, pred, normalisation, weights=splits.test[f])
    return DecoderFit(np.median(r2, axis=0), np.full((K, F), np.nan), np.moveaxis(r2, 0, -1))


#: The named decoders, headline first.
DECODERS = {"ridge_cv": ridge_cv, "lstsq": lstsq, "whole_cube": whole_cube, "reference_adam": reference_adam}
HEADLINE = "ridge_cv"


def encoding_axes(hidden, x_star) -> np.ndarray:
    """Encoding axes: the least-squares regression h ~ A x* + c, columns of A^T (K, H, D).

    Their angles (:func:`pairwise_angles`) say how the representation lays out the factors,
    independent of which decoder reads it out.
    """
    return np.swapaxes(fit_linear_decoder(x_star, hidden).W, -1, -2)


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
