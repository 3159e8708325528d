"""Output-space factor angles (docs/theory.md §3, Corollary B.9).

Latent factor j moves the outputs' probits along column j of C (an N-vector). The angle between
factors j and k in output space is

    theta_jk = arccos( (C^T C)_jk / sqrt((C^T C)_jj (C^T C)_kk) ),

90 degrees when the factors are orthogonal in output space. For the even 2-D design C^T C =
(N/2) I, so theta = 90 degrees exactly for every N >= 2.

For random unit normals (Corollary B.9, derived): E[c_ij^2 c_ik^2] = 1/(D (D + 2)) on the unit
sphere, so cos theta_jk is approximately N(0, D / (N (D + 2))) for large N, and

    spread of theta around 90 degrees ~ sqrt(D / (N (D + 2)))  radians,
    tasks needed for a spread eps (radians):  N >~ D / ((D + 2) eps^2).

These are large-N approximations (the relative error is O(1/N)); they are poor at N ~ D.
"""
from __future__ import annotations

import numpy as np

from theory.designs import Design
from theory.world import check_positive_int


def factor_angles(C) -> np.ndarray:
    """Angles (degrees) between the columns of C, for one or a stack of designs.

    Parameters
    ----------
    C : ndarray, shape (..., N, D), or a :class:`~theory.designs.Design`

    Returns
    -------
    theta : ndarray, shape (..., D, D), degrees; the diagonal is 0

    Examples
    --------
    >>> from theory.designs import even_design
    >>> bool(np.allclose(factor_angles(even_design(5))[0, 1], 90.0))
    True
    """
    C = np.asarray(C.C if isinstance(C, Design) else C, dtype=float)
    if C.ndim < 2:
        raise ValueError(f"C must have shape (..., N, D); got shape {C.shape}")
    if not np.all(np.isfinite(C)):
        raise ValueError("C must be finite")
    G = np.swapaxes(C, -1, -2) @ C
    norms = np.sqrt(np.diagonal(G, axis1=-2, axis2=-1))
    if np.any(norms == 0):
        raise ValueError("C has an all-zero column: that factor does not move any output")
    cos = np.clip(G / (norms[..., :, None] * norms[..., None, :]), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def angle_spread(ntask, D: int) -> np.ndarray:
    """Predicted sd (degrees) of an output-space factor angle around 90, random design, large N.

    spread = (180 / pi) sqrt(D / (N (D + 2))).

    Examples
    --------
    >>> round(float(angle_spread(200, 2)), 4) == round(float(np.degrees(np.sqrt(2 / 800))), 4)
    True
    """
    D = check_positive_int("D", D)
    if D < 2:
        raise ValueError(f"D={D} must be >= 2 for an angle between factors to exist")
    N = np.asarray(ntask, dtype=float)
    if np.any(~np.isfinite(N)) or np.any(N < 1):
        raise ValueError(f"ntask={ntask!r} must be >= 1")
    return np.degrees(np.sqrt(D / (N * (D + 2.0))))


def tasks_for_spread(eps, D: int) -> np.ndarray:
    """Number of random tasks N = ceil(D / ((D + 2) eps^2)) for an angular spread eps (radians)."""
    D = check_positive_int("D", D)
    eps = np.asarray(eps, dtype=float)
    if np.any(~np.isfinite(eps)) or np.any(eps <= 0):
        raise ValueError(f"eps={eps!r} must be a positive angle in radians")
    return np.ceil(D / ((D + 2.0) * eps**2)).astype(int)
