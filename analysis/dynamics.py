"""Dynamics of a recurrent map: PCA of trajectories, fixed points, their multipliers (docs/theory.md §6).

The network is a generic map h_{k+1} = F(h_k) (e.g. an RNN step under fixation input,
F(h) = (1 - alpha) h + alpha relu(W_rec h + W_in u_fix + b)), given as a callable on a batch
of states. Fixed points h* = F(h*) are found by minimising
    q(h) = 1/2 |F(h) - h|^2
from many starting states (states the network visited): scipy's ``least_squares``
(Levenberg-Marquardt, MINPACK) on the residual r(h) = F(h) - h from each start, then batched
Levenberg-Marquardt refinement of all of them at once to near machine precision. Minima with
q > 0 ("slow points") are rejected. Fixed points closer than ``dedup_tol`` merge.

Two conventions for the linearisation at h*, both reported:
- ``multipliers``: eigenvalues lambda of dF/dh (discrete-time map); |lambda| < 1 is stable.
- ``rates``: eigenvalues of d(F(h) - h)/dh = lambda - 1, the reference code's convention.
A D-dimensional continuous attractor shows D multipliers near 1 (rates near 0) at every fixed
point, the rest well inside the unit circle.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
from scipy import optimize

#: Default residual tolerance |F(h*) - h*| (state units) for accepting a fixed point: far below
#: any slow-point speed of interest, far above the ~1e-15 that Newton-type refinement reaches.
RESIDUAL_TOL = 1e-9
#: Default merge distance (state units): 1000 x RESIDUAL_TOL, covering the location error
#: residual / sigma_min(dF/dh - I) of an isolated fixed point whenever sigma_min >= 1e-3.
DEDUP_TOL = 1e-6
#: Default |lambda - 1| below which a multiplier counts as "near unit": such a mode changes by
#: less than 5% per step (at most a factor 0.95^20 ~ 0.36 over a 20-step trial).
UNIT_TOL = 0.05


@dataclass(frozen=True)
class PCA:
    """Principal components of a cloud of states.

    Attributes
    ----------
    mean : ndarray (H,)
    components : ndarray (k, H), k = min(n_samples, H), rows are unit principal axes, by
        decreasing variance
    variance : ndarray (k,), variance along each axis (population, ddof = 0)
    explained : ndarray (k,), fraction of the total variance per axis (sums to 1)
    """

    mean: np.ndarray
    components: np.ndarray
    variance: np.ndarray
    explained: np.ndarray

    def project(self, states: np.ndarray, k: int | None = None) -> np.ndarray:
        """Coordinates on the first k axes: (states - mean) @ components[:k].T, shape (..., k)."""
        return (np.asarray(states, dtype=float) - self.mean) @ self.components[:k].T


def pca(states) -> PCA:
    """PCA by SVD of the centred states (e.g. noiseless trajectories, time and trials pooled).

    Parameters
    ----------
    states : ndarray, shape (..., H); all leading axes are pooled into samples

    Returns
    -------
    PCA
    """
    X = np.asarray(states, dtype=float)
    if X.ndim < 2 or X.shape[-1] < 1:
        raise ValueError(f"states must have shape (..., H) with at least one sample axis; got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("states must be finite (no NaN or inf)")
    X = X.reshape(-1, X.shape[-1])
    mean = X.mean(axis=0)
    _, s, Vt = np.linalg.svd(X - mean, full_matrices=False)
    variance = s**2 / X.shape[0]
    total = variance.sum()
    if total == 0:
        raise ValueError("states do not vary: principal components are undefined")
    return PCA(mean=mean, components=Vt, variance=variance, explained=variance / total)


def numerical_jacobian(F: Callable, h, step: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian dF/dh at each state, all in one call of F.

    Error O(step^2 |F'''|) + O(eps |F| / step).

    Parameters
    ----------
    F : callable, (M, H) -> (M, H)
    h : ndarray, shape (M, H)

    Returns
    -------
    J : ndarray, shape (M, H, H), J[m, i, j] = dF_i / dh_j at h[m]
    """
    h = np.asarray(h, dtype=float)
    if h.ndim != 2:
        raise ValueError(f"h must have shape (M, H); got shape {h.shape}")
    M, H = h.shape
    shift = step * np.eye(H)
    plus = (h[:, None, :] + shift).reshape(M * H, H)
    minus = (h[:, None, :] - shift).reshape(M * H, H)
    diff = (np.asarray(F(plus)) - np.asarray(F(minus))).reshape(M, H, H) / (2 * step)
    return np.swapaxes(diff, -1, -2)


@dataclass(frozen=True)
class FixedPoints:
    """Fixed points of a map and their linearisation.

    Attributes
    ----------
    points : ndarray (P, H), distinct fixed points (after merging within ``dedup_tol``)
    residuals : ndarray (P,), |F(h*) - h*|
    multipliers : ndarray (P, H) complex, eigenvalues of dF/dh at each point, by |lambda| desc.
    basin_counts : ndarray (P,), how many accepted starts merged into each point
    n_starts : int, starting states tried
    n_rejected : int, starts that ended on a slow point (|F(h) - h| > residual_tol)
    """

    points: np.ndarray
    residuals: np.ndarray
    multipliers: np.ndarray
    basin_counts: np.ndarray
    n_starts: int
    n_rejected: int

    @property
    def rates(self) -> np.ndarray:
        """Eigenvalues of d(F(h) - h)/dh = multipliers - 1 (the reference's convention)."""
        return self.multipliers - 1.0

    def n_near_unit(self, tol: float = UNIT_TOL) -> np.ndarray:
        """Per fixed point, the number of multipliers with |lambda - 1| < tol, shape (P,)."""
        return count_near_unit(self.multipliers, tol)


def count_near_unit(multipliers, tol: float = UNIT_TOL) -> np.ndarray:
    """Number of eigenvalues with |lambda - 1| < tol along the last axis (continuous-attractor
    signature: D of them at every fixed point of a D-dimensional attractor)."""
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol={tol!r} must be finite and > 0")
    return np.sum(np.abs(np.asarray(multipliers) - 1.0) < tol, axis=-1)


def _levenberg_marquardt(F, jac, h, steps: int, tol: float) -> np.ndarray:
    """Batched damped Gauss-Newton on r(h) = F(h) - h; each start keeps its own damping."""
    eye = np.eye(h.shape[1])
    r = F(h) - h
    norm = np.linalg.norm(r, axis=1)
    damping = np.full(h.shape[0], 1e-3)
    for _ in range(steps):
        active = norm > 0.01 * tol
        if not np.any(active):
            break
        J = jac(h) - eye
        JtJ = np.swapaxes(J, -1, -2) @ J
        scale = np.trace(JtJ, axis1=-2, axis2=-1) / h.shape[1] + np.finfo(float).tiny
        lhs = JtJ + (damping * scale)[:, None, None] * eye
        rhs = -(np.swapaxes(J, -1, -2) @ r[..., None])
        delta = np.linalg.solve(lhs, rhs)[..., 0]
        trial = h + np.where(active[:, None], delta, 0.0)
        r_trial = F(trial) - trial
        n_trial = np.linalg.norm(r_trial, axis=1)
        better = active & (n_trial < norm)
        h = np.where(better[:, None], trial, h)
        r = np.where(better[:, None], r_trial, r)
        norm = np.where(better, n_trial, norm)
        damping = np.clip(np.where(better, damping / 10, damping * 10), 1e-15, 1e15)
    return h


def find_fixed_points(F: Callable, starts, jac: Callable | None = None,
                      residual_tol: float = RESIDUAL_TOL, dedup_tol: float = DEDUP_TOL,
                      max_nfev: int | None = None, refine_steps: int = 50) -> FixedPoints:
    """Fixed points of h -> F(h) reached from the given starting states.

    Parameters
    ----------
    F : callable, (M, H) -> (M, H), the map (vectorised over states)
    starts : ndarray, shape (M, H), e.g. states visited on noiseless trials
    jac : callable, (M, H) -> (M, H, H), dF/dh per state; default central differences
    residual_tol : accept h* when |F(h*) - h*| <= residual_tol (state units); must be above the
        rounding floor of F (a float32 F needs ~1e-5 and a matching ``dedup_tol``, or cast the
        network to float64 first)
    dedup_tol : merge fixed points closer than this (Euclidean, state units); the point with the
        smallest residual represents its cluster
    max_nfev : evaluations per start for ``scipy.optimize.least_squares`` (default: scipy's)
    refine_steps : batched Levenberg-Marquardt iterations afterwards

    Returns
    -------
    FixedPoints
    """
    starts = np.asarray(starts, dtype=float)
    if starts.ndim != 2 or starts.shape[0] < 1:
        raise ValueError(f"starts must have shape (M, H) with M >= 1; got shape {starts.shape}")
    if not np.all(np.isfinite(starts)):
        raise ValueError("starts must be finite (no NaN or inf)")
    for name, v in (("residual_tol", residual_tol), ("dedup_tol", dedup_tol)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name}={v!r} must be finite and > 0")
    M, H = starts.shape
    out = np.asarray(F(starts))
    if out.shape != starts.shape:
        raise ValueError(f"F must map states of shape (M, H) to (M, H); got {starts.shape} -> {out.shape}")
    # Rounding of F alone leaves |F(h) - h| ~ eps sqrt(H) |h|; ask for at least 10x that.
    floor = 10 * np.finfo(out.dtype).eps * np.sqrt(H) * max(1.0, float(np.abs(starts).max()))
    if residual_tol < floor:
        raise ValueError(f"residual_tol={residual_tol:g} is below what F in {out.dtype} can reach "
                         f"(~{floor:.1e}); evaluate F in float64 or raise residual_tol")
    if jac is None:
        def jac(h):
            return numerical_jacobian(F, h)
    eye = np.eye(H)

    def residual(u):
        return F(u[None])[0] - u

    def residual_jacobian(u):
        return jac(u[None])[0] - eye

    # One small least-squares problem per start (starts are independent problems, not trials).
    solved = np.array([optimize.least_squares(residual, h0, jac=residual_jacobian, method="lm",
                                              xtol=1e-15, ftol=1e-15, gtol=1e-15,
                                              max_nfev=max_nfev).x for h0 in starts])
    h = _levenberg_marquardt(F, jac, solved, refine_steps, residual_tol)
    resid = np.linalg.norm(F(h) - h, axis=1)
    ok = resid <= residual_tol
    h, resid = h[ok][np.argsort(resid[ok])], np.sort(resid[ok])
    dist = np.linalg.norm(h[:, None, :] - h[None, :, :], axis=-1)
    owner = np.full(h.shape[0], -1)
    for i in range(h.shape[0]):  # greedy clustering over candidates (not trials), best first
        if owner[i] < 0:
            owner[(owner < 0) & (dist[i] < dedup_tol)] = i
    keep = np.unique(owner)
    points = h[keep]
    lam = (np.linalg.eigvals(jac(points)) if points.shape[0] else np.zeros((0, H))).astype(complex)
    order = np.argsort(-np.abs(lam), axis=-1, kind="stable")
    return FixedPoints(points=points, residuals=resid[keep],
                       multipliers=np.take_along_axis(lam, order, axis=-1),
                       basin_counts=np.array([np.sum(owner == k) for k in keep], dtype=int),
                       n_starts=M, n_rejected=int(M - ok.sum()))
