"""How many state dimensions linear decoding needs (the reviewers' hidden-size question).

A linear decoder x^ = W h + c of an H-dimensional state h has rank W <= H, so whatever h is (any
nonlinear function of the evidence), x^ lies in an affine subspace c + range(W) of dimension at most
H. Hence, with P the orthogonal projector onto range(W) and any region with covariance S_r,

    E|x* - x^|^2 >= E|(I - P)(x* - c)|^2 >= sum of the D - H smallest eigenvalues of S_r.

- Whole cube (S_r = I/12), any state: pooled r^2 <= min(H, D) / D (:func:`r2_bound_any_state`).
- Whole cube, an affine state h = G mu + g of the optimal agent's mu = x* + N(0, s^2 I): the best
  r^2 is (min(H, D) / D) / (1 + 12 s^2), reached by any G of full rank
  (:func:`r2_linear_state`, from :func:`theory.dimensionality.r2_projection_whole_cube`).
- Held-out region of a fold, any state and any fit: r^2 <= 1 - 12 (sum of the D - H smallest
  eigenvalues of S_q) / D (:func:`r2_heldout_bound`; loose, the held-out region is small).
- Protocol ceiling of the best affine H-dim state (:func:`best_protocol_r2_linear_state`): for
  H >= D the identifiable ceiling of :mod:`theory.dimensionality`; for H < D the maximum over
  H-dimensional subspaces of the row-space projection ceiling, found numerically.

So the latent state needs at least D dimensions: with H < D no readout of any network generalises
to the full ceiling, and with H >= D nothing in the theory forbids it.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from theory.ceilings import region_moments
from theory.dimensionality import identifiable_ceiling, r2_projection_whole_cube, r2_protocol_projection
from theory.folds import Fold, ood_folds
from theory.world import LATENT_VARIANCE, as_generator, check_positive_int


def r2_bound_any_state(H: int, D: int) -> float:
    """Upper bound min(H, D) / D on the whole-cube pooled r^2 of a linear readout of any H-dim state."""
    H, D = check_positive_int("H", H), check_positive_int("D", D)
    return min(H, D) / D


def r2_linear_state(H: int, D: int, s2: float) -> float:
    """Best whole-cube r^2 from an affine H-dim state of mu: (min(H, D) / D) / (1 + 12 s^2)."""
    H, D = check_positive_int("H", H), check_positive_int("D", D)
    return r2_projection_whole_cube(min(H, D), D, s2)


def r2_heldout_bound(H: int, fold: Fold) -> float:
    """1 - 12 (sum of the D - H smallest eigenvalues of the held-out covariance) / D."""
    H = check_positive_int("H", H)
    if H >= fold.D:
        return 1.0
    eig = np.linalg.eigvalsh(region_moments(fold, "test")[1])  # ascending
    return float(1.0 - eig[:fold.D - H].sum() / (fold.D * LATENT_VARIANCE))


def _orthonormal_rows(Z: np.ndarray) -> np.ndarray:
    Q, _ = np.linalg.qr(Z.T)
    return Q.T


def best_protocol_r2_linear_state(H: int, D: int, s2: float, rng=0, restarts: int = 8,
                                  scheme: str = "auto") -> float:
    """Largest fold-averaged protocol r^2 over affine H-dim states of mu (module docstring).

    For H < D: Nelder-Mead over an H x D matrix whose row space is the state, from ``restarts``
    random starts (the objective depends on the subspace only).
    """
    H, D = check_positive_int("H", H), check_positive_int("D", D)
    if H >= D:
        return identifiable_ceiling(D, s2, scheme)
    restarts = check_positive_int("restarts", restarts)
    folds = ood_folds(D, scheme)

    def loss(z):
        B = _orthonormal_rows(z.reshape(H, D))
        return -np.mean([r2_protocol_projection(B, s2, f) for f in folds])

    rng = as_generator(rng)
    best = max(-minimize(loss, rng.standard_normal(H * D), method="Nelder-Mead",
                         options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000}).fun for _ in range(restarts))
    return float(best)
