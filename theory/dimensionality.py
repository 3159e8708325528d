"""Protocol ceilings against the latent dimension D (paper Fig. 5b), with the N < D failure.

Random unit-normal designs c_i = g_i / |g_i| have rank C = min(N, D) almost surely.

Identifiable (N >= D). The optimal agent's outputs give mu = x* + N(0, s^2 I), s^2 = sigma^2 / t,
whatever the design, so the ceiling is :func:`theory.ceilings.r2_protocol` averaged over the folds
of ``theory.folds.ood_folds(D, "auto")``: orthants for D <= 3, half-spaces x_j > 0 above. For a
half-space fold the decoder is diagonal and, with a = (1/48) / (1/48 + s^2) (held-out coordinate:
training variance 1/48, mean shift 1/2) and b = (1/12) / (1/12 + s^2) (the others),

    MSE_held  = (1 - a)^2 (1/48 + 1/4) + a^2 s^2,   MSE_other = s^2 b,
    r^2 = 1 - 12 [MSE_held + (D - 1) MSE_other] / D   ->  1 / (1 + 12 s^2) as D -> inf,

the same for every fold (:func:`halfspace_ceiling`).

Not identifiable (N < D). Only the projection of mu onto the k-dimensional row space of C is
determined (:mod:`theory.identifiability`); with B (k x D) an orthonormal basis of it the decoder
sees f = B (x* + eps). The least-squares decoder x^ = W f + c fit on (m, S) has
W = S B^T [B (S + V) B^T]^-1, c = (I - W B) m, and on the held-out region (m_q, S_q), d = m_q - m,

    test error covariance = (I - W B)(S_q + d d^T)(I - W B)^T + W B V B^T W^T,

which is :func:`theory.ceilings._decoder_test_mse` when B = I. Fit and scored on the whole cube
(m = 0, S = I/12) this is r^2 = (k / D) / (1 + 12 s^2): the row space carries k of D equal
variances (:func:`r2_projection_whole_cube`). Under the protocol the value depends on how the row
space meets the held-out direction, so the prediction for random designs is a Monte-Carlo mean
over designs with its standard error (:func:`expected_projection_ceiling`).
"""
from __future__ import annotations

import numpy as np

from theory.ceilings import r2_from_mse, r2_protocol, region_moments
from theory.designs import Design, random_design
from theory.folds import Fold, ood_folds
from theory.identifiability import diagnose
from theory.world import LATENT_VARIANCE, as_generator, check_positive_int


def _check_s2(s2) -> float:
    s2 = float(s2)
    if not (np.isfinite(s2) and s2 >= 0):
        raise ValueError(f"s2={s2!r} (the error variance sigma^2 / t) must be finite and >= 0")
    return s2


def identifiable_ceiling(D: int, s2: float, scheme: str = "auto") -> float:
    """Mean over ``ood_folds(D, scheme)`` of the protocol ceiling at error variance s2 (N >= D)."""
    s2 = _check_s2(s2)
    return float(np.mean([r2_protocol(np.full(f.D, s2), f) for f in ood_folds(D, scheme)]))


def halfspace_ceiling(D: int, s2: float) -> float:
    """Closed form of the half-space protocol ceiling (module docstring); equal on every fold."""
    D, s2 = check_positive_int("D", D), _check_s2(s2)
    held_var, other_var = LATENT_VARIANCE / 4.0, LATENT_VARIANCE
    a, b = held_var / (held_var + s2), other_var / (other_var + s2)
    mse_held = (1 - a) ** 2 * (held_var + 0.25) + a**2 * s2
    mse_other = s2 * b
    return float(r2_from_mse((mse_held + (D - 1) * mse_other) / D, LATENT_VARIANCE))


def row_basis(design: Design) -> np.ndarray:
    """Orthonormal basis B of the row space of C, shape (rank, D), from its projector."""
    diag = diagnose(design)
    w, U = np.linalg.eigh(diag.row_projector)  # eigenvalues 0 (null space) and 1 (row space)
    return U[:, w > 0.5].T


def projection_test_mse(B, v, m, S, mq, Sq) -> np.ndarray:
    """Per-coordinate test MSE of the least-squares decoder of x* from f = B (x* + eps).

    Parameters
    ----------
    B : ndarray, shape (k, D), full row rank
    v : ndarray, shape (D,), Var(eps_j) (eps independent of x*)
    m, S : training mean (D,) and covariance (D, D) of x*;  mq, Sq : the held-out ones

    Returns
    -------
    mse : ndarray, shape (D,)
    """
    B, V = np.asarray(B, dtype=float), np.diag(np.asarray(v, dtype=float))
    W = np.linalg.solve(B @ (S + V) @ B.T, B @ S).T  # S B^T [B (S + V) B^T]^-1, shape (D, k)
    R = np.eye(len(m)) - W @ B
    d = mq - m
    cov = R @ (Sq + np.outer(d, d)) @ R.T + W @ B @ V @ B.T @ W.T
    return np.diagonal(cov).copy()


def r2_protocol_projection(B, s2: float, fold: Fold) -> float:
    """Pooled full-range r^2 on one fold of the decoder that sees only f = B mu."""
    s2 = _check_s2(s2)
    mse = projection_test_mse(B, np.full(fold.D, s2), *region_moments(fold, "train"), *region_moments(fold, "test"))
    return float(r2_from_mse(mse.mean(), LATENT_VARIANCE))


def r2_projection_whole_cube(rank: int, D: int, s2: float) -> float:
    """r^2 = (k / D) / (1 + 12 s^2) of a decoder fit and scored on the whole cube from a k-dim projection."""
    D = check_positive_int("D", D)
    rank = check_positive_int("rank", rank)
    if rank > D:
        raise ValueError(f"rank={rank} must be <= D={D}")
    return (rank / D) / (1.0 + _check_s2(s2) / LATENT_VARIANCE)


def design_ceiling(design: Design, s2: float, scheme: str = "auto") -> float:
    """The protocol ceiling of one design: :func:`identifiable_ceiling` when rank C = D, else the
    mean over folds of the row-space projection decoder's r^2."""
    B = row_basis(design)
    if B.shape[0] == design.D:
        return identifiable_ceiling(design.D, s2, scheme)
    return float(np.mean([r2_protocol_projection(B, s2, f) for f in ood_folds(design.D, scheme)]))


def expected_projection_ceiling(ntask: int, D: int, s2: float, rng, n_designs: int = 200,
                                scheme: str = "auto") -> tuple[float, float]:
    """Mean and standard error over random unit-normal designs of :func:`design_ceiling`.

    For N >= D every design gives the same value (standard error 0).
    """
    ntask, D = check_positive_int("ntask", ntask), check_positive_int("D", D)
    n_designs = check_positive_int("n_designs", n_designs, minimum=2)
    if ntask >= D:
        return identifiable_ceiling(D, s2, scheme), 0.0
    rng = as_generator(rng)
    r2 = np.array([design_ceiling(random_design(ntask, D, rng), s2, scheme) for _ in range(n_designs)])
    return float(r2.mean()), float(r2.std(ddof=1) / np.sqrt(n_designs))


def dimensionality_rows(Ds, ntasks, sigma: float, t: float, seed: int = 0, n_designs: int = 200) -> list[dict]:
    """Theory rows of the D sweep: ``D``, ``ntask``, ``identifiable`` (N >= D, the rank of a random
    design), ``fold_scheme``, ``r2_protocol`` and its ``r2_protocol_se`` (0 when identifiable),
    ``r2_whole_cube`` = (min(N, D) / D) / (1 + 12 s^2)."""
    s2 = _check_s2(sigma**2 / t)
    streams = np.random.SeedSequence(seed).spawn(len(Ds) * len(ntasks))
    rows = []
    for i, (D, N) in enumerate((D, N) for D in Ds for N in ntasks):
        mean, se = expected_projection_ceiling(N, D, s2, np.random.default_rng(streams[i]), n_designs)
        rows.append({"D": int(D), "ntask": int(N), "identifiable": bool(N >= D), "fold_scheme": ood_folds(D)[0].scheme,
                     "r2_protocol": mean, "r2_protocol_se": se,
                     "r2_whole_cube": r2_projection_whole_cube(min(N, D), D, s2)})
    return rows
