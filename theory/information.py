"""Information form of Theorem 3.1 (docs/theory.md §3): I(x*; Yhat(t)) = I(x*; mu(t)) when rank(C) = D.

All mutual informations are in nats, for x* ~ U([-1/2, 1/2]^D) and mu(t) | x* ~ N(x*, Sigma / t).

- Latent MLE: coordinates are independent, so I(x*; mu(t)) = sum_j i(s_j), s_j = sigma_j / sqrt(t),
  where i(s) = I(U; U + s xi), U ~ U(-1/2, 1/2), xi ~ N(0, 1). With v = Var(U) = 1/12 and g the
  normal density of variance s^2 + v (the maximum-entropy density with Var(U + s xi)),

      i(s) = h(U + s xi) - (1/2) log(2 pi e s^2) = (1/2) log(1 + v / s^2) - KL(p || g),
      p(y) = Phi((y + 1/2) / s) - Phi((y - 1/2) / s),

  and KL(p || g) = int p (log p - log g) dy is integrated by Gauss-Legendre quadrature on pieces
  split geometrically around the edge y = 1/2 of the cube (in units of s). Absolute error
  <= ~1e-15 for s in [1e-3, 30] (against mpmath at 30 digits; see tests). For s > 30 the
  large-s series below is used instead (its truncation error there is ~1e-22).
  Asymptotics (derived, tested): i(s) = -log(s sqrt(2 pi e)) + 2 c s + O(s Phi(-1/(2s))^2) as
  s -> 0, c = -int Phi(u) log Phi(u) du; and KL(p || g) ~ gamma4^2 / 48 as s -> inf,
  gamma4 = -1 / (120 (s^2 + v)^2) the excess kurtosis of U + s xi, so
  i(s) = 1/(24 s^2) - 1/(576 s^4) + O(s^-6).
- Outputs: Yhat(t) is a bijective function of C mu(t) + b, hence of V^T mu, V an orthonormal
  basis of the row space of C (rank k). If k = D this is mu itself. Otherwise
  I(x*; Yhat) = I(x*; A x* + xi_k), A = L^-1 V^T, L L^T = V^T Sigma V / t (whitening). If the row
  space is spanned by coordinate axes, this is the sum of i(s_j) over those axes (exact);
  otherwise, for k <= 2, it is estimated by Monte Carlo (:func:`mi_gaussian_channel_mc`).
- sigma = 0: Yhat is the 0/1 label pattern, the cell of the hyperplane arrangement holding x*;
  I(x*; Yhat) = H(cell) (finite, estimated by Monte Carlo) while I(x*; mu) is infinite.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr

from theory.designs import hard_outputs
from theory.identifiability import diagnose
from theory.designs import Design
from theory.world import LATENT_VARIANCE, as_generator, check_positive_int, check_sigma, sample_latents

#: Piece boundaries y = 1/2 + s tau (clipped at 0); p(y) < Phi(-64), so p log p ~ 0, beyond the last.
_EDGE_TAU = np.array([-64.0, -32.0, -16.0, -8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
#: Gauss-Legendre nodes per piece; every piece spans at most a factor 2 in distance to the edge.
_GL_NODES = 40
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_GL_NODES)
#: Above this s, i(s) = (1/2) log(1 + v/s^2) - gamma4^2/48 (1 + O(gamma4)), |gamma4| < 1e-5 and
#: KL < 3e-18, so the series is exact to ~1e-22 while the quadrature's error grows like eps s.
_SERIES_MIN_S = 30.0
#: Largest row-space rank estimated by Monte Carlo: the mixture density needs m >> (1/s)^k samples.
MAX_MC_RANK = 2
#: A row-space projector entry counts as 0 or 1 (axis-aligned row space) within this tolerance.
_AXIS_TOL = 1e-12
#: Rows of y per block of the (n, m) mixture-density matrix (bounds memory to ~_ROW_BLOCK * m floats).
_ROW_BLOCK = 256


@dataclass(frozen=True)
class MIEstimate:
    """A mutual information (nats) with its uncertainty.

    ``value`` is the estimate; ``se`` its Monte-Carlo standard error (0 when exact); ``lower`` and
    ``upper`` bracket the estimator's expectation around the true value (``lower <= I <= upper``
    in expectation; equal to ``value`` when unbiased), each with standard error ``se``.
    ``method`` says how it was computed; ``exact`` is True for closed forms and quadrature.
    """

    value: float
    se: float
    lower: float
    upper: float
    method: str
    exact: bool = False


def check_sigma_array(name: str, value) -> np.ndarray:
    """``value`` as a float array, or ValueError naming ``name`` if any entry is NaN, inf or < 0."""
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name}={value!r} must be finite and >= 0")
    return a


def _check_t(t) -> np.ndarray:
    a = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"t={t!r} must be finite and > 0")
    return a


def log_density_uniform_plus_normal(y, s) -> np.ndarray:
    """log p(y) for Y = U + s xi, U ~ U(-1/2, 1/2), xi ~ N(0, 1), accurate far in the tails.

    p(y) = Phi(a) - Phi(b), a = (1/2 - |y|) / s, b = -(|y| + 1/2) / s (p is even), computed as
    log Phi(a) + log(1 - Phi(b) / Phi(a)).

    Parameters
    ----------
    y : array_like; s : array_like, > 0, broadcastable against y
    """
    y, s = np.abs(np.asarray(y, dtype=float)), np.asarray(s, dtype=float)
    la, lb = log_ndtr((0.5 - y) / s), log_ndtr(-(y + 0.5) / s)
    return la + np.log1p(-np.exp(lb - la))


def mi_uniform_gaussian(s) -> np.ndarray:
    """i(s) = I(U; U + s xi) in nats, U ~ U(-1/2, 1/2), xi ~ N(0, 1); inf at s = 0.

    Parameters
    ----------
    s : array_like, >= 0, noise sd in latent units

    Returns
    -------
    i : ndarray, shape of ``s``

    Examples
    --------
    >>> bool(abs(mi_uniform_gaussian(100.0) - 1 / (24 * 100.0**2)) < 1e-8)
    True
    """
    s = check_sigma_array("s", s)
    out = np.full(s.shape, np.inf)
    far = s > _SERIES_MIN_S
    gamma4 = -(1.0 / 120.0) / (s[far] ** 2 + LATENT_VARIANCE) ** 2     # excess kurtosis of U + s xi
    out[far] = 0.5 * np.log1p(LATENT_VARIANCE / s[far] ** 2) - gamma4**2 / 48
    pos = (s > 0) & ~far
    sp = s[pos][:, None]                                              # (n, 1)
    edges = np.concatenate([np.zeros_like(sp), np.maximum(0.5 + sp * _EDGE_TAU, 0.0)], axis=1)
    half = 0.5 * (edges[:, 1:] - edges[:, :-1])[..., None]            # (n, pieces, 1)
    y = half * _GL_X + 0.5 * (edges[:, 1:] + edges[:, :-1])[..., None]
    var = sp[..., None] ** 2 + LATENT_VARIANCE
    log_p = log_density_uniform_plus_normal(y, sp[..., None])
    log_g = -0.5 * np.log(2 * np.pi * var) - y * y / (2 * var)
    kl = 2.0 * np.sum(half * _GL_W * np.exp(log_p) * (log_p - log_g), axis=(1, 2))  # p is even
    out[pos] = 0.5 * np.log1p(LATENT_VARIANCE / s[pos] ** 2) - kl
    return out


def mi_latent_mle(sigma, t, D: int) -> np.ndarray:
    """I(x*; mu(t)) = sum_j i(sigma_j / sqrt(t)) in nats (infinite when sigma = 0).

    Parameters
    ----------
    sigma : float or ndarray (D,), per-step noise sd (latent units), >= 0
    t : scalar or ndarray, evidence samples behind mu(t), > 0
    D : int, latent dimensions

    Returns
    -------
    I : ndarray, shape of ``t``

    Examples
    --------
    >>> float(mi_latent_mle(0.2, 20, 2)) == 2 * float(mi_uniform_gaussian(0.2 / np.sqrt(20)))
    True
    """
    D = check_positive_int("D", D)
    sig = np.broadcast_to(check_sigma(sigma, D), (D,))
    t = _check_t(t)
    return np.sum(mi_uniform_gaussian(sig / np.sqrt(t)[..., None]), axis=-1)


def whitened_row_map(design: Design, sigma, t) -> np.ndarray:
    """A = L^-1 V^T, shape (k, D), with I(x*; Yhat(t)) = I(x*; A x* + xi), xi ~ N(0, I_k).

    V (D, k) is an orthonormal basis of the row space of C, L the Cholesky factor of the noise
    covariance V^T Sigma V / t of V^T mu(t).
    """
    V = np.linalg.svd(design.C)[2][:diagnose(design).rank].T
    sig2 = np.broadcast_to(check_sigma(sigma, design.D, allow_zero=False) ** 2, (design.D,))
    L = np.linalg.cholesky((V.T * sig2) @ V / float(_check_t(t)))
    return np.linalg.solve(L, V.T)


def _log_mixture(y: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """log[(1/m) sum_j exp(-|y_i - c_j|^2 / 2)] for y (n, k), centres (m, k)."""
    a = y @ centres.T - 0.5 * np.sum(centres**2, axis=1)           # -|y - c|^2/2 + |y|^2/2
    a_max = a.max(axis=1, keepdims=True)
    return (np.log(np.exp(a - a_max).sum(axis=1)) + a_max[:, 0] - 0.5 * np.sum(y**2, axis=1)
            - np.log(len(centres)))


def _control_variate(f: np.ndarray, log_phi: np.ndarray, k: int) -> tuple[float, float]:
    """Mean of f_i + log phi(xi_i) and its SE, using E[log phi(xi)] = -k/2 as a control variate.

    log phi(xi_i) = -|xi_i|^2 / 2 has known mean -k/2, so mean(f) + beta (mean(log phi) + k/2)
    is unbiased for E[f] for any beta; beta = -Cov(f, log phi) / Var(log phi) minimises the variance
    (its estimation adds an O(1/n) bias, far below the SE).
    """
    g = log_phi + 0.5 * k
    beta = -np.cov(f, g)[0, 1] / np.var(g, ddof=1)
    h = f + beta * g
    return float(h.mean() - 0.5 * k), float(h.std(ddof=1) / np.sqrt(len(h)))


def mi_gaussian_channel_mc(A, rng, n: int = 4000, m: int = 4000) -> MIEstimate:
    """Monte-Carlo I(x; A x + xi), x ~ U([-1/2, 1/2]^D), xi ~ N(0, I_k), in nats.

    I = h(y) - h(xi) = E[log phi(xi) - log p(y)] with p(y) = E_x'[phi(y - A x')]. For n pairs
    (x_i, y_i), p(y_i) is estimated by p_i = (1/m) sum_j phi(y_i - A x'_j) over an independent
    sample x'_1..x'_m. By Jensen E[-log p_i] >= -log p(y_i), so the plug-in
        upper = mean_i [log phi(xi_i) - log p_i]
    overestimates I in expectation (bias ~ E[Var_j phi_ij / p(y)^2] / (2m)); the contrastive
    (InfoNCE) estimate with the true x_i added to the m others,
        lower = mean_i [log phi(xi_i) - log((phi(xi_i) + m p_i) / (m + 1))],
    underestimates it. So lower <= I <= upper in expectation, and upper - lower bounds the bias.
    Both use log phi(xi_i), of known mean -k/2 (constant (2 pi)^(-k/2) dropped throughout), as a
    control variate. ``value`` is the midpoint; ``se`` the larger of the two standard errors
    (sd over the n independent pairs / sqrt(n)).

    Parameters
    ----------
    A : ndarray, shape (k, D)
    rng : Generator or seed
    n, m : int, pairs and mixture samples
    """
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or not np.all(np.isfinite(A)):
        raise ValueError(f"A must be a finite matrix of shape (k, D); got shape {A.shape}")
    n, m = check_positive_int("n", n, 2), check_positive_int("m", m)
    rng = as_generator(rng)
    k, D = A.shape
    x = sample_latents(rng, n, D)
    y = x @ A.T + rng.standard_normal((n, k))
    return mixture_mi_estimate(x, y, A, sample_latents(rng, m, D))


def mixture_mi_estimate(x, y, A, x_ref) -> MIEstimate:
    """The estimator of :func:`mi_gaussian_channel_mc` from given samples.

    Parameters
    ----------
    x : ndarray, shape (n, D), latents; y : ndarray, shape (n, k), with y | x ~ N(A x, I_k)
    A : ndarray, shape (k, D)
    x_ref : ndarray, shape (m, D), latents independent of (x, y), for the mixture density p(y)
    """
    x, y, A, x_ref = (np.asarray(a, dtype=float) for a in (x, y, A, x_ref))
    k, D = A.shape
    if x.ndim != 2 or x.shape[1] != D or y.shape != (len(x), k) or x_ref.ndim != 2 or x_ref.shape[1] != D:
        raise ValueError(f"shapes x {x.shape}, y {y.shape}, x_ref {x_ref.shape} do not fit A {A.shape}")
    n, m = len(x), len(x_ref)
    if n < 2 or m < 1:
        raise ValueError(f"need n >= 2 pairs and m >= 1 reference latents; got n={n}, m={m}")
    centres = x_ref @ A.T
    log_phi_true = -0.5 * np.sum((y - x @ A.T) ** 2, axis=1)   # (2 pi)^(-k/2) dropped throughout
    log_p = np.concatenate([_log_mixture(y[i:i + _ROW_BLOCK], centres) for i in range(0, n, _ROW_BLOCK)])
    upper = _control_variate(-log_p, log_phi_true, k)
    lower = _control_variate(-(np.logaddexp(log_phi_true, np.log(m) + log_p) - np.log(m + 1)), log_phi_true, k)
    lo, hi = lower[0], upper[0]
    se = max(lower[1], upper[1])
    return MIEstimate(0.5 * (lo + hi), se, lo, hi, f"Monte Carlo mixture density (n={n}, m={m})")


def cell_entropy_mc(design: Design, rng, n: int = 20000) -> MIEstimate:
    """H(cell) = -sum_c p_c log p_c, the information the sigma = 0 outputs carry about x*.

    Plug-in estimate from n latents: the label pattern of x* names its cell. The plug-in entropy is
    biased low by about (K - 1) / (2n) for K cells seen (Miller-Madow); ``upper`` adds that
    correction. ``se`` is sqrt(Var(-log p_cell(x*)) / n + (K - 1) / (2 n^2)): the delta method plus
    the sd of the chi-square fluctuation of the plug-in entropy.
    """
    n = check_positive_int("n", n, 2)
    y = hard_outputs(sample_latents(as_generator(rng), n, design.D), design)
    _, cell, counts = np.unique(y, axis=0, return_inverse=True, return_counts=True)
    surprisal = -np.log(counts[cell.ravel()] / n)
    value = float(surprisal.mean())
    # delta-method variance plus the second-order (chi^2_{K-1} / 2n) term that dominates when
    # the cells are equally likely and the first-order term vanishes
    se = float(np.sqrt(surprisal.var(ddof=1) / n + (len(counts) - 1) / (2.0 * n * n)))
    return MIEstimate(value, se, value,
                      value + (len(counts) - 1) / (2.0 * n), f"plug-in cell entropy (n={n}, {len(counts)} cells)")


def _square_angle_cdf(theta: np.ndarray) -> np.ndarray:
    """Area of the unit square [-1/2, 1/2]^2 seen from its centre between angles 0 and theta in [0, 2 pi].

    Within |phi| <= pi/4 of an axis the square's edge is at radius 1 / (2 cos phi), so the area
    swept is int r^2/2 dphi = tan(phi) / 8; each quarter turn adds 1/4.
    """
    j = np.round(theta / (np.pi / 2))
    return j / 4 + np.tan(theta - j * np.pi / 2) / 8


def cell_entropy_central_2d(design: Design) -> float:
    """Exact H(cell) for D = 2 boundaries through the origin (b = 0), in nats.

    Line i splits the plane along the rays at angles theta_i and theta_i + pi (direction
    perpendicular to c_i). The 2N rays cut the square into sectors, each a cell with its own label
    pattern; p_cell is the sector's area (:func:`_square_angle_cdf`), and H = -sum p log p.

    Examples
    --------
    >>> from theory.designs import even_design
    >>> bool(np.isclose(cell_entropy_central_2d(even_design(2)), np.log(4)))  # the two diagonals
    True
    """
    if design.D != 2 or np.any(design.b != 0):
        raise ValueError(f"design must have D=2 and b=0 (central lines); got D={design.D}, b={design.b}")
    theta = np.mod(np.arctan2(-design.C[:, 0], design.C[:, 1]), np.pi)
    rays = np.sort(np.concatenate([theta, theta + np.pi]))
    area = np.diff(_square_angle_cdf(np.append(rays, rays[0] + 2 * np.pi)))  # F(r + 2 pi) = F(r) + 1
    area = area[area > 0]
    return float(-np.sum(area * np.log(area)))


def axis_aligned_axes(design: Design) -> np.ndarray | None:
    """Indices of the coordinate axes spanning the row space of C, or None if it is not axis-aligned."""
    P = diagnose(design).row_projector
    d = np.diag(P)
    if np.max(np.abs(P - np.diag(d))) > _AXIS_TOL or np.max(np.minimum(np.abs(d), np.abs(d - 1))) > _AXIS_TOL:
        return None
    return np.flatnonzero(d > 0.5)


def mi_outputs(design: Design, sigma, t, rng=None, n: int = 4000, m: int = 4000) -> MIEstimate:
    """I(x*; Yhat(t)) in nats for the optimal agent's outputs on ``design``.

    - sigma = 0: the cell entropy (:func:`cell_entropy_mc`, n latents).
    - rank(C) = D: I(x*; mu(t)) exactly (trilateration makes Yhat a bijection of mu).
    - axis-aligned row space of rank k < D: sum of i(s_j) over those k axes, exactly.
    - otherwise, rank k <= 2: :func:`mi_gaussian_channel_mc` with the whitened row map.

    Parameters
    ----------
    design : Design; sigma : float or ndarray (D,), >= 0; t : scalar > 0
    rng : Generator or seed, used only by the Monte-Carlo cases; n, m : sample sizes
    """
    sig = np.broadcast_to(check_sigma(sigma, design.D), (design.D,))
    t_arr = _check_t(t)
    if t_arr.ndim:
        raise ValueError(f"t={t!r} must be a scalar here")
    if np.any(sig == 0):
        if np.any(sig > 0):
            raise ValueError(f"sigma={sigma!r} must be all zero or all positive")
        return cell_entropy_mc(design, rng, n)
    rank = diagnose(design).rank
    axes = np.arange(design.D) if rank == design.D else axis_aligned_axes(design)
    if axes is not None:
        value = float(np.sum(mi_uniform_gaussian(sig[axes] / np.sqrt(t_arr))))
        return MIEstimate(value, 0.0, value, value, f"exact (quadrature over {len(axes)} axes)", exact=True)
    if rank > MAX_MC_RANK:
        raise ValueError(f"rank(C)={rank}: a general (not axis-aligned) row space is supported only for "
                         f"rank <= {MAX_MC_RANK}")
    return mi_gaussian_channel_mc(whitened_row_map(design, sig, t_arr), rng, n, m)
