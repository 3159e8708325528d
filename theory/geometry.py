"""Representation geometry of the optimal agent, in closed form (large-sample limits).

The optimal agent's state is an affine image of the running mean,
    z = A mu + a,   mu | x* ~ N(x*, (sigma^2 / t) I),   x* ~ U([-1/2, 1/2]^D),
(its probits z_i = sqrt(t) (c_i . mu + b_i) / s_i have A = sqrt(t) diag(1/s) C, paper section 3).
Conditions are the 2^D orthants of x*; a dichotomy splits them in two halves. The measures are those of
Bernardi et al. (2020, Cell) and Eastwood & Williams (2018); :mod:`analysis.geometry` computes them from
states. Every linear classifier there is the least-squares one (ridge regression onto +-1 labels), whose
population weights are w = Cov(mu)^-1 Cov(mu, y).

Derived here (s^2 = sigma^2 / t, k = sqrt(t) / sigma):

- CCGP of the sign of x_d (one x_d > 0 and one x_d < 0 condition held out, differing only in x_d). The
  reflection x_d -> -x_d maps the training conditions to themselves and flips the label, and the
  least-squares loss is convex, so its minimiser has w_e = 0 (e != d) and w0 = 0: the boundary is
  mu_d = 0 whichever pair is held out. Held-out accuracy = P(sign mu_d = sign x_d)
      = 2 int_0^(1/2) Phi(k x) dx = Phi(k/2) + 2 (phi(k/2) - phi(0)) / k
  (antiderivative x Phi(kx) + phi(kx)/k). It depends on mu only: the same for every N, every design with
  rank C = D, every invertible mixing A. It saturates at 1 as k -> infinity.
- Shattering dimensionality: a dichotomy y(c) has population weights w proportional to the degree-one
  Fourier coefficients y^_d = mean_c c_d y(c) (Cov(mu) = (1/12 + s^2) I, E[x_d | c] = c_d / 4), so its
  accuracy is E_x[Phi(y(c(x)) w^.x / s)] (1/2 when w = 0, e.g. XOR). At D = 2: (2 CCGP + 1/2) / 3.
- Parallelism: every centroid is A c / 4 + a, so all coding vectors of x_d equal A e_d / 2 and every
  parallelism score is 1 for every affine code. With n_c trials per condition, an isometric A (even
  designs: C^T C = (N/2) I) and two independent centroid errors of covariance w I / n_c,
  w = 1/48 + s^2 (Var(x_d | sign) = 1/48), to first order E[cos] = 1 - 8 (D - 1) w / n_c; the classifiers
  fit on the two halves have E[cos] = 1 - sr^2 (1/h + (D-2)/v) / (n_train w1^2) (:func:`regressor_cosine_linear`).
- Finite samples: the held-out pair is an extrapolation, so the CCGP of n_train training trials is lower
  by k (phi(0) - phi(k/2)) E[u^2], u the boundary's error there (:func:`ccgp_optimal`).
- Participation ratio: Cov z = A Cov(mu) A^T, Cov(mu) = diag(1/12 + sigma_d^2 / t); PR = (tr)^2 / tr(^2).
  It equals D for any isometric A (all even designs, every N), so it saturates at D. The sample PR of n
  trials is lower by (D-1)(kappa + D - 1)/n (:func:`participation_ratio_sample`).
- DCI (Eastwood & Williams' lasso importances on z-scored units and latents): the z-scored units
  u_j = A~_j.(mu - E mu) / sqrt(v) (A~ the row-normalised A, v = 1/12 + s^2) span only the D directions of
  mu, and the best prediction of the z-scored x_d is sqrt(rho) mu_d / sqrt(v), rho = 1/(1 + 12 s^2). Every
  least-squares weight vector w_d therefore satisfies A~^T w_d = sqrt(rho) e_d, and as the penalty vanishes
  the lasso picks the one of least |w_d|_1 (:func:`dci_linear`, a linear programme). In the plane (D = 2)
  the least-|w|_1 representation of e_d uses the unit directions next to e_d: the one on it if there is
  one, else the two on either side, with weights in the ratio of the sines of the opposite angles.
  For the even design (unit directions at angles (i + 1/2) pi / N + pi/2 mod pi) x1 lies on a unit
  direction when N is odd and midway between two otherwise, x2 always midway; for N >= 3 the units
  used for x1 and for x2 are different, so every unit with non-zero importance serves one latent:
  disentanglement 1. At N = 2 both units serve both latents equally: 0. Completeness is the mean over d
  of 1 - H_N(weights of x_d): 1 for a unit on the axis, 1 - ln 2 / ln N for two equal weights, so
  1 - ln 2 / ln N (N even) and 1 - ln 2 / (2 ln N) (N odd) (:func:`dci_even_design`). Informativeness,
  E&W's prediction error (NRMSE), is sqrt(1 - rho) for every code. The ridge variant
  (:func:`dci_linear_ridge`) spreads each weight over all collinear units (the minimum-|w|_2 solution):
  disentanglement 0.16-0.20 for the even designs at N = 6-24, which measures the regressor, not the code.
  CCGP, parallelism, shattering and PR saturate for every linear code; DCI with lasso importances sees
  the basis and finds the optimal agent's probits disentangled (one unit per latent) for N >= 3.
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog
from scipy.special import ndtr
from scipy.stats import norm

from theory.world import check_positive_int, check_sigma

#: Largest D for the quadrature of :func:`linear_decodability` ((2 x QUAD_NODES)^D grid points).
MAX_QUAD_D = 4
QUAD_NODES = 24


def _k(sigma, t) -> np.ndarray:
    sigma = check_sigma(sigma, allow_zero=False)
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"t={t!r} must be finite and > 0")
    return np.sqrt(t) / sigma


def ccgp_optimal(sigma, t, n_train=None, D: int = 2) -> np.ndarray:
    """CCGP of the sign of x_d: Phi(k/2) + 2 (phi(k/2) - phi(0)) / k, k = sqrt(t) / sigma_d (large sample).

    CCGP holds out one x_d > 0 and one x_d < 0 condition differing only in x_d (an orthant o of the other
    coordinates) and trains on the rest; the held-out set is symmetric under x_d -> -x_d, so the
    population boundary is still mu_d = 0. With ``n_train`` training trials the first-order
    finite-sample value subtracts
        k (phi(0) - phi(k/2)) E[u^2],  E[u^2] = sr^2 L / (n_train w1^2),
    the curvature of the accuracy in the boundary shift u times the variance of the least-squares
    boundary at the held-out conditions (w1 = (1/4)/v, sr^2 = 1 - w1^2 v, v = 1/12 + s^2, h = 1/48 + s^2).
    L = tr(M^-1 S) is the mean leverage of the held-out trials: M and S the second moments of
    (1, mu_rest) over the training and the held-out trials (E[mu_e | sign] = +-1/4, Var = h);
    L = 2 + 1/(4h) at D = 2 (:func:`ccgp_leverage`).

    Parameters
    ----------
    sigma : float or ndarray (D,), per-step noise sd (> 0)
    t : evidence samples behind mu
    n_train : training trials, n (1 - 2^(1-D)) of n (None: the large-sample limit)
    D : latent dimension (enters the finite-sample term only)

    Returns
    -------
    ndarray, shape of ``sigma``: one value per dimension d

    Examples
    --------
    >>> round(float(ccgp_optimal(0.2, 20)), 6)
    0.964318
    """
    k = _k(sigma, t)
    value = ndtr(k / 2) + 2 * (norm.pdf(k / 2) - norm.pdf(0.0)) / k
    if n_train is None:
        return value
    D = check_positive_int("D", D, 2)
    n_train = _check_count("n_train", n_train)
    v, h = 1 / 12 + 1 / k ** 2, 1 / 48 + 1 / k ** 2
    w1 = 0.25 / v
    u2 = (1 - w1 ** 2 * v) * np.vectorize(lambda hh: ccgp_leverage(D, hh))(h) / (n_train * w1 ** 2)
    return value - k * (norm.pdf(0.0) - norm.pdf(k / 2)) * u2


def ccgp_leverage(D: int, h: float) -> float:
    """Mean leverage tr(M^-1 S) of one held-out orthant o of the other D - 1 coordinates (see :func:`ccgp_optimal`).

    M = mean over the other orthants q of (1, q/4)(1, q/4)^T + diag(0, h I), S = (1, o/4)(1, o/4)^T + diag(0, h I).

    Examples
    --------
    >>> h = 1 / 48 + 0.002
    >>> bool(np.isclose(ccgp_leverage(2, h), 2 + 1 / (4 * h)))
    True
    """
    D = check_positive_int("D", D, 2)
    signs = orthant_signs(D - 1)
    held = signs[0]                                   # every orthant is equivalent by the reflections x_e -> -x_e
    noise = np.diag(np.r_[0.0, np.full(D - 1, h)])
    rows = np.hstack([np.ones((len(signs) - 1, 1)), signs[1:] / 4])
    M = rows.T @ rows / len(rows) + noise
    o = np.r_[1.0, held / 4]
    return float(np.trace(np.linalg.solve(M, np.outer(o, o) + noise)))


def regressor_cosine_linear(D: int, sigma, t, n_train) -> float:
    """First-order expected cosine of the classifiers fit on two opposite halves, isometric linear code.

    1 - sr^2 (1/h + (D - 2)/v) / (n_train w1^2) (notation of :func:`ccgp_optimal`): the perpendicular
    weights have variance sr^2 / (n_train w1^2 Var(mu_e | half)) in each half, independently.
    """
    D = check_positive_int("D", D, 2)
    k = float(_k(sigma, t))
    n_train = _check_count("n_train", n_train)
    v, h = 1 / 12 + 1 / k ** 2, 1 / 48 + 1 / k ** 2
    w1 = 0.25 / v
    return 1.0 - (1 - w1 ** 2 * v) * (1 / h + (D - 2) / v) / (n_train * w1 ** 2)


def _check_count(name: str, n) -> float:
    if isinstance(n, bool) or not (np.isfinite(n) and n > 0):
        raise ValueError(f"{name}={n!r} must be finite and > 0")
    return float(n)


def balanced_dichotomies(D: int) -> np.ndarray:
    """All balanced dichotomies of the 2^D orthants, each once (the half without orthant 0 is labelled True).

    Orthant c has bit d set when x_d > 0 (c = sum_d [x_d > 0] 2^d). C(2^D, 2^(D-1)) / 2 dichotomies: 3 at
    D = 2 (x1, x2, XOR), 35 at D = 3.

    Returns
    -------
    ndarray bool, shape (M, 2^D)
    """
    D = check_positive_int("D", D)
    M = 2 ** D
    if D > MAX_QUAD_D:
        raise ValueError(f"D={D} must be <= {MAX_QUAD_D}: the dichotomies grow as C(2^D, 2^(D-1)) / 2")
    rows = [np.isin(np.arange(M), s, invert=True) for s in itertools.combinations(range(M), M // 2) if 0 in s]
    return np.array(rows, dtype=bool)


def orthant_signs(D: int) -> np.ndarray:
    """c_d = +-1 of each orthant (bit d of the index), shape (2^D, D)."""
    D = check_positive_int("D", D)
    return np.where((np.arange(2 ** D)[:, None] >> np.arange(D)) & 1, 1.0, -1.0)


def linear_decodability(dichotomy, sigma, t) -> float:
    """Large-sample accuracy of the least-squares linear classifier of ``dichotomy`` from mu (isotropic noise).

    accuracy = E_x[Phi(y(c(x)) w^.x / s)], w = (y^_1..y^_D), y^_d = mean_c c_d y(c); 1/2 when w = 0.
    Computed by Gauss-Legendre quadrature on each orthant (the integrand is smooth there).

    Parameters
    ----------
    dichotomy : bool array (2^D,), the label of each orthant
    """
    y = np.where(np.asarray(dichotomy, dtype=bool), 1.0, -1.0)
    D = int(np.log2(y.size))
    if 2 ** D != y.size or D > MAX_QUAD_D:
        raise ValueError(f"dichotomy has {y.size} entries; it must have 2^D entries with 1 <= D <= {MAX_QUAD_D}")
    k = float(_k(sigma, t))
    signs = orthant_signs(D)
    w = signs.T @ y / y.size
    if np.allclose(w, 0, atol=1e-12):
        return 0.5
    w = w / np.linalg.norm(w)
    u, g = np.polynomial.legendre.leggauss(QUAD_NODES)
    u, g = (u + 1) / 4, g / 4                      # nodes and weights on (0, 1/2)
    grid = np.stack(np.meshgrid(*[u] * D, indexing="ij"), -1).reshape(-1, D)
    weight = np.prod(np.stack(np.meshgrid(*[g] * D, indexing="ij"), -1).reshape(-1, D), axis=1)
    x = signs[:, None, :] * grid[None]             # (2^D, nodes^D, D): every orthant
    return float(np.sum(weight * ndtr(k * y[:, None] * (x @ w))))


def shattering_optimal(D: int, sigma, t) -> float:
    """Mean :func:`linear_decodability` over :func:`balanced_dichotomies`; (2 CCGP + 1/2) / 3 at D = 2."""
    return float(np.mean([linear_decodability(d, sigma, t) for d in balanced_dichotomies(D)]))


def parallelism_linear(D: int, sigma, t, n_per_condition) -> float:
    """First-order expected cosine of two coding vectors of an isometric linear code: 1 - 8 (D-1) w / n_c.

    w = 1/48 + sigma^2 / t is the within-orthant variance of mu_d; n_c the trials per condition. The
    large-sample value (n_c -> infinity) is 1 for every affine code.
    """
    D = check_positive_int("D", D, 2)
    k = float(_k(sigma, t))
    return 1.0 - 8 * (D - 1) * (1 / 48 + 1 / k ** 2) / _check_count("n_per_condition", n_per_condition)


def participation_ratio_affine(A, sigma, t) -> float:
    """PR of Cov(A mu) = A diag(1/12 + sigma_d^2 / t) A^T: (tr Cov)^2 / tr(Cov^2).

    Parameters
    ----------
    A : ndarray, shape (p, D), the linear part of the code
    sigma : float or ndarray (D,)
    """
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or not np.all(np.isfinite(A)) or not np.any(A):
        raise ValueError(f"A must be a finite, non-zero (p, D) matrix; got shape {A.shape}")
    k = _k(np.broadcast_to(sigma, (A.shape[1],)), t)
    cov = (A * (1 / 12 + 1 / k ** 2)) @ A.T
    return float(np.trace(cov) ** 2 / np.sum(cov * cov))


def participation_ratio_sample(D: int, sigma, t, n) -> float:
    """First-order expected PR of the sample covariance of n trials of an isometric code: D - (D-1)(kappa + D - 1)/n.

    With S = v (I + E), PR = D + (tr E)^2 / D - tr E^2 + O(n^-3/2); E[(tr E)^2] = D (kappa - 1)/n and
    E[tr E^2] = D (kappa - 1)/n + D (D - 1)/n for independent coordinates of kurtosis
    kappa = E[mu_d^4] / v^2 = (1/80 + s^2/2 + 3 s^4) / (1/12 + s^2)^2 (uniform x*: 9/5 at s = 0).
    """
    D = check_positive_int("D", D)
    s2 = 1 / float(_k(sigma, t)) ** 2
    kappa = (1 / 80 + s2 / 2 + 3 * s2 ** 2) / (1 / 12 + s2) ** 2
    return D - (D - 1) * (kappa + D - 1) / _check_count("n", n)


def _unit_code(A, sigma, t) -> tuple[np.ndarray, float]:
    """A~ (rows of A normalised) and rho = 1/(1 + 12 s^2), after validating A."""
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or not np.all(np.isfinite(A)):
        raise ValueError(f"A must be a finite (p, D) matrix; got shape {A.shape}")
    norms = np.linalg.norm(A, axis=1)
    if np.any(norms == 0) or np.linalg.matrix_rank(A) < A.shape[1]:
        raise ValueError(f"A must be a (p, D) matrix of rank D without zero rows; got shape {A.shape}")
    return A / norms[:, None], 1 / (1 + 12 / float(_k(sigma, t)) ** 2)


def _dci_from_weights(W, At, rho) -> dict:
    """D, C from R = |W| and the population NRMSE sqrt(1 - 2 c_d.w_d + w_d.G.w_d), G = A~ A~^T,
    c_d = sqrt(rho) A~ e_d."""
    G, c = At @ At.T, np.sqrt(rho) * At
    mse = 1 - 2 * np.sum(W * c, 0) + np.sum(W * (G @ W), 0)
    d, comp = importance_scores(np.abs(W))
    return {"disentanglement": float(d), "completeness": float(comp),
            "informativeness": float(np.mean(np.sqrt(np.maximum(mse, 0.0)))), "importance": np.abs(W)}


def dci_linear(A, sigma, t, alpha: float = 0.0) -> dict:
    """DCI of the code z = A mu + a with E&W's lasso importances (isotropic sigma), in the population.

    The z-scored units have Gram matrix G = A~ A~^T and cross-moment c_d = sqrt(rho) A~ e_d with the
    z-scored x_d. ``alpha = 0`` (the limit of a vanishing penalty, which inner cross-validation approaches
    as the sample grows): w_d = argmin |w|_1 subject to A~^T w = sqrt(rho) e_d, a linear programme
    (w = w+ - w-, w+- >= 0). ``alpha > 0`` (the limit of a sample lasso with that fixed penalty): on the
    support S and signs s of the alpha = 0 solution the lasso's stationarity condition is linear,
    G_SS w_S = c_S - alpha s_S; that solution is the lasso's when it satisfies the optimality (KKT)
    conditions, sign(w_S) = s_S and |c_j - G_j. w| <= alpha off S, which is checked (a larger alpha,
    which changes the support, is refused).
    R = |W|; informativeness = the population NRMSE (sqrt(1 - rho) at alpha = 0).

    Returns
    -------
    dict with ``disentanglement``, ``completeness``, ``informativeness`` (floats) and ``importance``
    (ndarray (p, D))
    """
    At, rho = _unit_code(A, sigma, t)
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha={alpha!r} must be finite and >= 0")
    p, D = At.shape
    G = At @ At.T
    W = np.zeros((p, D))
    for d in range(D):
        target = np.sqrt(rho) * np.eye(D)[d]
        u = linprog(np.ones(2 * p), A_eq=np.hstack([At.T, -At.T]), b_eq=target, bounds=(0, None),
                    method="highs").x
        w = u[:p] - u[p:]
        if alpha > 0:
            # the LP's zeros are exact to its tolerance (~1e-9 of the weights)
            S = np.abs(w) > 1e-8 * np.abs(w).max()
            sign = np.sign(w[S])
            c = At @ target
            w = np.zeros(p)
            w[S] = np.linalg.solve(G[np.ix_(S, S)], c[S] - alpha * sign)
            slack = np.abs(c - G @ w)[~S]
            if np.any(np.sign(w[S]) != sign) or np.any(slack > alpha * (1 + 1e-9)):
                raise ValueError(f"alpha={alpha!r} must be small enough to keep the support of the vanishing-"
                                 "penalty solution (the lasso's optimality conditions fail there)")
        W[:, d] = w
    return _dci_from_weights(W, At, rho)


def dci_even_design(N: int, sigma, t) -> dict:
    """DCI (lasso importances, vanishing penalty) of the probits of the even 2-D design, in closed form.

    Disentanglement 1 for N >= 3 and 0 at N = 2; completeness 1 - ln 2 / ln N (N even) or
    1 - ln 2 / (2 ln N) (N odd); informativeness sqrt(1 - rho) = sqrt(12 s^2 / (1 + 12 s^2)), s^2 = sigma^2/t
    (derivation in the module docstring).
    """
    N = check_positive_int("N", N, 2)
    rho = 1 / (1 + 12 / float(_k(sigma, t)) ** 2)
    completeness = 1 - np.log(2) / np.log(N) if N % 2 == 0 else 1 - np.log(2) / (2 * np.log(N))
    return {"disentanglement": 0.0 if N == 2 else 1.0, "completeness": float(completeness),
            "informativeness": float(np.sqrt(1 - rho))}


def dci_linear_ridge(A, sigma, t, ridge: float = 0.0) -> dict:
    """DCI of the code z = A mu + a with ridge importances on z-scored units (:func:`analysis.geometry.dci_ridge`).

    The population ridge weights are W = sqrt(rho) (A~ A~^T + ridge I)^-1 A~ (the minimum-norm
    sqrt(rho) pinv(A~^T) as ridge -> 0); informativeness the population NRMSE (sqrt(1 - rho) at ridge 0).
    """
    At, rho = _unit_code(A, sigma, t)
    if not (np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge={ridge!r} must be finite and >= 0")
    c = np.sqrt(rho) * At
    W = np.linalg.pinv(At.T) * np.sqrt(rho) if ridge == 0 else np.linalg.solve(At @ At.T + ridge * np.eye(len(At)), c)
    return _dci_from_weights(W, At, rho)


def importance_scores(R) -> tuple[float, float]:
    """Disentanglement and completeness of an importance matrix R (p units x D latents), Eastwood & Williams.

    D = sum_j rho_j (1 - H_D(R_j. / sum_d R_jd)), rho_j = sum_d R_jd / sum R;
    C = mean_d (1 - H_p(R_.d / sum_j R_jd)); entropies in base D and p (0 log 0 = 0).
    """
    R = np.asarray(R, dtype=float)
    p, D = R.shape[-2:]
    row = R.sum(-1, keepdims=True)
    P = np.divide(R, row, out=np.full_like(R, 1 / D), where=row > 0)
    Hr = -np.sum(P * np.log(np.where(P > 0, P, 1.0)), -1) / np.log(D) if D > 1 else np.zeros(R.shape[:-1])
    total = row[..., 0].sum(-1, keepdims=True)
    rho = np.divide(row[..., 0], total, out=np.full(row.shape[:-1], 1 / p), where=total > 0)
    col = R.sum(-2, keepdims=True)
    Q = np.divide(R, col, out=np.full_like(R, 1 / p), where=col > 0)
    Hc = -np.sum(Q * np.log(np.where(Q > 0, Q, 1.0)), -2) / np.log(p) if p > 1 else np.zeros(R.shape[:-2] + (D,))
    return np.sum(rho * (1 - Hr), -1), np.mean(1 - Hc, -1)
