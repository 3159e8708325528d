"""Task boundary designs (docs/theory.md §1): N affine boundaries c_i . x + b_i = 0.

Task i asks whether x* lies on the positive side, c_i . x* + b_i > 0. ``C`` stacks the
normals as rows (shape (N, D)), ``b`` the offsets (shape (N,)).

- ``even`` (D = 2): lines through the origin at phi_i = (i + 1/2) pi / N; the label is
  y_i = [x2 > tan(phi_i) x1], i.e. the positive side of the normal (-tan phi_i, 1), made unit
  length. Then C^T C = (N/2) I exactly.
- ``random`` (any D): c_i = g_i / |g_i|, g_i ~ N(0, I_D); b = 0, or b_i ~ U(-1/4, 1/4) with
  ``offsets=True`` so every boundary still cuts the cube.
- user-supplied C and b via :func:`make_design`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infra.validate import float_array, instance_of
from theory.world import as_generator, check_positive_int, check_sigma

DESIGNS = ("even", "random")
#: What a ``--design`` option accepts: a named design, or ``auto`` (see :func:`resolve_design`).
DESIGN_CHOICES = ("auto",) + DESIGNS

#: Half-width of the uniform distribution of random offsets b_i (latent units); 1/4 keeps
#: every boundary through the cube's inner half, so every task has both labels.
OFFSET_HALF_WIDTH = 0.25


@dataclass(frozen=True)
class Design:
    """A set of N affine task boundaries in R^D.

    Attributes
    ----------
    C : ndarray, shape (N, D), boundary normals c_i (rows; not necessarily unit length)
    b : ndarray, shape (N,), offsets b_i
    name : str, how the design was made
    """

    C: np.ndarray
    b: np.ndarray
    name: str = "user"

    @property
    def ntask(self) -> int:
        return self.C.shape[0]

    @property
    def D(self) -> int:
        return self.C.shape[1]

    @property
    def norms(self) -> np.ndarray:
        """|c_i|, shape (N,)."""
        return np.linalg.norm(self.C, axis=1)


def check_design(design) -> Design:
    """``design`` if it is a :class:`Design`, else a ValueError naming its type."""
    return instance_of("design", design, Design)


def make_design(C, b=None, name: str = "user") -> Design:
    """Validate a user-given (C, b) and wrap it as a read-only :class:`Design`.

    Every row of C must be finite and non-zero (a zero normal defines no boundary).
    """
    C = np.array(float_array("C", C, finite=False), dtype=float)
    if C.ndim != 2 or C.shape[0] < 1 or C.shape[1] < 1:
        raise ValueError(f"C must have shape (ntask, D) with ntask, D >= 1; got shape {C.shape}")
    b = np.zeros(C.shape[0]) if b is None else np.array(float_array("b", b, finite=False), dtype=float)
    if b.shape != (C.shape[0],):
        raise ValueError(f"b must have shape (ntask,)=({C.shape[0]},); got shape {b.shape}")
    if not (np.all(np.isfinite(C)) and np.all(np.isfinite(b))):
        raise ValueError("C and b must be finite (no NaN or inf)")
    zero = np.flatnonzero(np.linalg.norm(C, axis=1) == 0)
    if zero.size:
        raise ValueError(f"C has all-zero rows {zero.tolist()}: every task needs a non-zero normal c_i")
    C.flags.writeable = False
    b.flags.writeable = False
    return Design(C=C, b=b, name=name)


def even_design(ntask: int) -> Design:
    """The reference 2-D design: unit normals of the lines at phi_i = (i + 1/2) pi / N.

    The normal of "x2 > tan(phi) x1" is (-tan phi, 1) / |(-tan phi, 1)|
    = sign(cos phi) (-sin phi, cos phi), whose second component is always positive.

    Examples
    --------
    >>> d = even_design(4)
    >>> np.allclose(d.C.T @ d.C, 2 * np.eye(2))
    True
    """
    ntask = check_positive_int("ntask", ntask)
    phi = (np.arange(ntask) + 0.5) * np.pi / ntask
    sign = np.where(np.cos(phi) >= 0, 1.0, -1.0)
    C = sign[:, None] * np.stack([-np.sin(phi), np.cos(phi)], axis=1)
    return make_design(C, np.zeros(ntask), name="even")


def random_design(ntask: int, D: int, rng, offsets: bool = False) -> Design:
    """Random unit normals c_i = g_i / |g_i|, g_i ~ N(0, I_D); b = 0 unless ``offsets``."""
    ntask = check_positive_int("ntask", ntask)
    D = check_positive_int("D", D)
    rng = as_generator(rng)
    G = rng.standard_normal((ntask, D))
    C = G / np.linalg.norm(G, axis=1, keepdims=True)
    b = rng.uniform(-OFFSET_HALF_WIDTH, OFFSET_HALF_WIDTH, ntask) if offsets else np.zeros(ntask)
    return make_design(C, b, name="random")


def resolve_design(design: str, D: int) -> str:
    """The design a run uses: ``auto`` is ``even`` for D = 2 and ``random`` otherwise.

    ValueError for an unknown name, or for ``even`` with D != 2 (the even design is 2-D).

    Examples
    --------
    >>> resolve_design("auto", 2), resolve_design("auto", 3), resolve_design("random", 2)
    ('even', 'random', 'random')
    """
    if not isinstance(design, str) or design not in DESIGN_CHOICES:
        raise ValueError(f"design={design!r} must be one of {DESIGN_CHOICES}")
    D = check_positive_int("D", D)
    if design == "auto":
        return "even" if D == 2 else "random"
    if design == "even" and D != 2:
        raise ValueError(f"design='even' needs D=2; got D={D}")
    return design


def build_design(kind: str, ntask: int, D: int, rng=None, offsets: bool = False) -> Design:
    """Build a named design: ``"even"`` (needs D = 2), ``"random"`` or ``"auto"`` (:func:`resolve_design`).

    ``offsets`` adds random b_i ~ U(-1/4, 1/4) to either design.
    """
    kind = resolve_design(kind, D)
    rng = as_generator(rng)
    if kind == "random":
        return random_design(ntask, D, rng, offsets)
    d = even_design(ntask)
    if offsets:
        d = make_design(d.C, rng.uniform(-OFFSET_HALF_WIDTH, OFFSET_HALF_WIDTH, ntask), name="even")
    return d


def labels(x: np.ndarray, design: Design) -> np.ndarray:
    """Task labels y_i = [c_i . x + b_i > 0].

    Parameters
    ----------
    x : ndarray, shape (..., D)

    Returns
    -------
    y : ndarray of bool, shape (..., N)
    """
    check_design(design)
    x = float_array("x", x, min_ndim=1, last_dim=design.D, last_name="D")
    return x @ design.C.T + design.b > 0


def noise_scale(design: Design, sigma) -> np.ndarray:
    """s_i = sqrt(c_i^T diag(sigma^2) c_i), the sd of c_i . X(s) around c_i . x* (latent units).

    Returns
    -------
    s : ndarray, shape (N,); equals sigma |c_i| for scalar sigma
    """
    s = check_sigma(sigma, check_design(design).D)
    return np.sqrt((design.C**2) @ np.broadcast_to(s**2, (design.D,)))


def hard_outputs(x: np.ndarray, design: Design) -> np.ndarray:
    """The sigma = 0 limit of the optimal outputs: the step function [c_i . x + b_i > 0] as 0/1.

    Returns
    -------
    y : ndarray of float, shape (..., N)
    """
    check_design(design)
    x = float_array("x", x, min_ndim=1, last_dim=design.D, last_name="D")
    return (x @ design.C.T + design.b > 0).astype(float)
