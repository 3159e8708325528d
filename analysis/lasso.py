"""Lasso regression, exact along its path (homotopy), batched, with its penalty chosen by inner cross-validation.

The estimator of Eastwood & Williams' (2018) DCI importances. For centred features X (n, p) and a centred
target y (n,), the lasso minimises (scikit-learn's convention, so ``alpha`` means the same there)
    L(w) = |y - X w|^2 / (2 n) + alpha |w|_1,
a function of the Gram matrix G = X^T X / n and c = X^T y / n only. Its solution is piecewise linear in alpha
(Osborne, Presnell & Turlach 2000; Efron et al. 2004, LARS with the lasso modification): with the active set A
and the signs s of the residual correlations r = c - G w there, |r_A| = alpha and w_A moves along
G_AA^-1 s_A as alpha falls, until an inactive r_j reaches +-alpha (j joins) or an active w_j reaches 0
(j leaves). Following these knots gives the exact solution at every alpha, in at most a few steps per
unit. (Cyclic coordinate descent, the usual solver, needs more than 10^4 sweeps to converge on the
optimal agent's probits, N units spanning only D dimensions; the homotopy is exact there too.)
The duality gap (:func:`duality_gap`, scikit-learn's stopping certificate) checks a solution.

Batched over leading axes and several targets by a loop over problems (each a few p x p solves).
Units with G_jj = 0 (constant) keep weight 0.
"""
from __future__ import annotations

import numpy as np

#: Penalties tried by :func:`lasso_cv`, as fractions of alpha_max = max_j |c_j| (the smallest penalty with
#: w = 0): a log grid down to 1e-5 alpha_max, where the lasso is the least-squares fit to ~5 digits.
ALPHA_GRID = tuple(np.logspace(0, -5, 16))
#: A step shorter than this fraction of alpha_max is a tie (several events at one knot), not a new knot.
TIE = 1e-12
#: Reciprocal condition number below which G_AA is singular: the active units span no new direction, which
#: (units in general position) happens only once the residual is orthogonal to every unit, at alpha = 0.
SINGULAR = 1e-10


def duality_gap(G, c, yy, w, alpha) -> np.ndarray:
    """Duality gap of the lasso at w, in the Gram form; (..., F) for each problem and target.

    With the residual r = y - X w: |r|^2 / n = yy - 2 c.w + w.G.w, r.y / n = yy - c.w and X^T r / n = c - G w.
    The dual point r s / n, s = min(1, alpha / |X^T r / n|_inf), is feasible; the gap is
    |r|^2 (1 + s^2) / (2n) + alpha |w|_1 - s r.y / n (>= 0, 0 exactly at the optimum).

    Parameters
    ----------
    G : ndarray (..., p, p); c : ndarray (..., p, F); yy : ndarray (..., F), the targets' y^T y / n
    w : ndarray (..., p, F); alpha : float or ndarray broadcastable to (..., F)
    """
    Gw = G @ w
    r2 = yy - 2 * np.sum(c * w, -2) + np.sum(w * Gw, -2)
    ry = yy - np.sum(c * w, -2)
    dual_norm = np.max(np.abs(c - Gw), axis=-2)
    s = np.where(dual_norm > alpha, alpha / np.where(dual_norm > 0, dual_norm, 1.0), 1.0)
    return 0.5 * r2 * (1 + s ** 2) + alpha * np.sum(np.abs(w), -2) - s * ry


def lasso_path(G, c, alpha_stop: float) -> tuple[np.ndarray, np.ndarray]:
    """Knots of the lasso path of one problem from alpha_max down to ``alpha_stop``.

    Parameters
    ----------
    G : ndarray (p, p); c : ndarray (p,); alpha_stop : float >= 0

    Returns
    -------
    alphas : ndarray (K,), decreasing; W : ndarray (K, p), the solution at each knot (linear in between)
    """
    p = c.size
    w = np.zeros(p)
    a = float(np.max(np.abs(c))) if p else 0.0
    alphas, W = [a], [w.copy()]
    tie = TIE * a
    active = [int(j) for j in np.flatnonzero(np.abs(c) >= a - tie)] if a > 0 else []   # every unit tied at the top
    left = -1                                            # the unit that just left may not rejoin at once
    while a > alpha_stop and active:
        A = np.array(active)
        corr = c - G @ w
        s = np.sign(corr[A])
        GAA = G[np.ix_(A, A)]
        if 1 / np.linalg.cond(GAA) < SINGULAR:
            break                                        # residual orthogonal to every unit: w is final
        d = np.linalg.solve(GAA, s)
        Gd = G[:, A] @ d
        step, event = a - alpha_stop, None
        inactive = np.setdiff1d(np.arange(p), A)
        for j in inactive:
            for num, den in ((a - corr[j], 1 - Gd[j]), (a + corr[j], 1 + Gd[j])):
                # a tie (a step of ~0) joins at once: units with equal correlations enter together; the unit
                # that just left may rejoin later on the path, never at once (it would cycle)
                if den > 0 and -tie <= num / den < step and not (j == left and num / den <= tie):
                    step, event = max(num / den, 0.0), ("join", int(j))
        for k, j in enumerate(A):
            if d[k] != 0 and tie < -w[j] / d[k] < step:
                step, event = -w[j] / d[k], ("drop", int(j))
        w[A] += step * d
        a -= step
        left = -1
        if event is not None and event[0] == "drop":
            w[event[1]] = 0.0
            active.remove(event[1])
            left = event[1]
        elif event is not None:
            active.append(event[1])
        alphas.append(a)
        W.append(w.copy())
    if alphas[-1] > alpha_stop:                          # the path is flat below its last knot
        alphas.append(alpha_stop)
        W.append(w.copy())
    return np.array(alphas), np.array(W)


def _at(alphas, W, alpha) -> np.ndarray:
    """The piecewise-linear path (knots ``alphas`` decreasing, ``W``) at penalties ``alpha`` (m,); (m, p)."""
    alpha = np.minimum(alpha, alphas[0])
    return np.stack([np.interp(-alpha, -alphas, W[:, j]) for j in range(W.shape[1])], -1)


def lasso_gram(G, c, alpha) -> np.ndarray:
    """Exact lasso weights from the Gram form, batched; (..., p, F).

    Parameters
    ----------
    G : ndarray (..., p, p), X^T X / n of centred features
    c : ndarray (..., p, F), X^T Y / n for F centred targets
    alpha : float or ndarray broadcastable to (..., F) or (R, ..., F) for R penalties per problem, >= 0

    Returns
    -------
    W : ndarray (..., p, F), or (R, ..., p, F) when ``alpha`` has the extra leading axis
    """
    G, c = np.asarray(G, dtype=float), np.asarray(c, dtype=float)
    lead = c.shape[:-2] + c.shape[-1:]
    alpha = np.asarray(alpha, dtype=float)
    many = alpha.ndim == len(lead) + 1
    alpha = np.broadcast_to(alpha if many else alpha[None], alpha.shape[:1] * many + (1,) * (not many) + lead)
    if not (np.all(np.isfinite(alpha)) and np.all(alpha >= 0)):
        raise ValueError(f"alpha={alpha!r} must be finite and >= 0")
    out = np.zeros(alpha.shape[:1] + c.shape[:-2] + (c.shape[-1], c.shape[-2]))
    for idx in np.ndindex(*lead):
        g, f = idx[:-1], idx[-1]
        a = alpha[(slice(None),) + idx]
        knots, W = lasso_path(G[g], c[g][:, f], float(a.min()))
        out[(slice(None),) + idx] = _at(knots, W, a)
    out = np.swapaxes(out, -1, -2)
    return out if many else out[0]


def _moments(X, Y, mask) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gram, cross-moment and means of the trials in ``mask``; X (..., n, p), Y (..., n, F)."""
    m = np.asarray(mask, dtype=float)[..., None]
    n = m.sum(-2, keepdims=True)
    mx, my = (m * X).sum(-2, keepdims=True) / n, (m * Y).sum(-2, keepdims=True) / n
    Xc, Yc = (X - mx) * m, (Y - my) * m
    return np.swapaxes(Xc, -1, -2) @ Xc / n, np.swapaxes(Xc, -1, -2) @ Yc / n, mx[..., 0, :], my[..., 0, :]


def _checked(X, Y, mask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    if X.ndim < 2 or Y.ndim != X.ndim or Y.shape[:-1] != X.shape[:-1]:
        raise ValueError(f"X (..., n, p) and Y (..., n, F) must share their leading axes; got {X.shape}, {Y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise ValueError("X and Y must be finite")
    mask = np.ones(X.shape[:-1], dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), X.shape[:-1])
    return X, Y, mask


def lasso(X, Y, alpha, mask=None) -> tuple[np.ndarray, np.ndarray]:
    """Lasso fit with a free (unpenalised) intercept on the trials in ``mask``: Y ~ X W + b.

    Parameters
    ----------
    X : ndarray (..., n, p); Y : ndarray (..., n, F)
    alpha : float or ndarray broadcastable to (..., F), penalties >= 0
    mask : bool ndarray (..., n), the training trials (default all)

    Returns
    -------
    W : ndarray (..., p, F), b : ndarray (..., F)
    """
    X, Y, mask = _checked(X, Y, mask)
    if np.any(mask.sum(-1) < 2):
        raise ValueError("mask must select at least 2 trials for every fit")
    G, c, mx, my = _moments(X, Y, mask)
    W = lasso_gram(G, c, alpha)
    return W, my - (mx[..., None, :] @ W)[..., 0, :]


def lasso_cv(X, Y, train=None, folds: int = 3, grid=ALPHA_GRID) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lasso with its penalty per problem and target chosen by inner cross-validation inside ``train``.

    The training trials are split into ``folds`` interleaved folds (the k-th training trial goes to fold
    k mod folds); for each penalty alpha = g alpha_max (g in ``grid``, alpha_max = max_j |c_j| on all
    training trials) the lasso is fit on all but one fold (one path per fold, read at every penalty) and its
    squared error summed over the held-out fold; the penalty with the least total error is kept and the
    lasso refit on all training trials with it. The trials outside ``train`` are never seen.

    Parameters
    ----------
    X : ndarray (..., n, p); Y : ndarray (..., n, F); train : bool ndarray (n,) or (..., n) (default all)

    Returns
    -------
    W : ndarray (..., p, F), b : ndarray (..., F), alpha : ndarray (..., F) the chosen penalties
    """
    X, Y, train = _checked(X, Y, train)
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds={folds!r} must be an integer >= 2")
    if np.any(train.sum(-1) < 2 * folds):
        raise ValueError(f"train must select at least {2 * folds} trials (2 per fold) for every fit")
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size == 0 or not (np.all(np.isfinite(grid)) and np.all(grid >= 0)):
        raise ValueError(f"grid={grid!r} must be a non-empty 1-D array of finite penalties >= 0")
    rank = np.cumsum(train, -1) - 1                                            # position among training trials
    G, c, mx, my = _moments(X, Y, train)
    alphas = grid[(slice(None),) + (None,) * (c.ndim - 1)] * np.max(np.abs(c), axis=-2)    # (R, ..., F)
    error = np.zeros(alphas.shape)
    for k in range(folds):
        held = train & (rank % folds == k)
        Gk, ck, mxk, myk = _moments(X, Y, train & ~held)
        W = lasso_gram(Gk, ck, alphas)                                         # (R, ..., p, F)
        pred = X @ W + (myk - (mxk[..., None, :] @ W)[..., 0, :])[..., None, :]
        error += np.sum(held[..., None] * (pred - Y) ** 2, -2)
    alpha = np.take_along_axis(alphas, np.argmin(error, 0)[None], 0)[0]
    W = lasso_gram(G, c, alpha)
    return W, my - (mx[..., None, :] @ W)[..., 0, :], alpha
