"""Out-of-distribution folds of the latent cube (docs/theory.md §4 and §6).

A fold splits [-1/2, 1/2]^D into a training region and a held-out test region:

- ``orthant`` folds (the reference for D = 2: quadrants): test on one orthant, train on the
  other 2^D - 1; 2^D folds.
- ``halfspace`` folds (for large D, where 2^D is too many): test on x_j > 0, train on x_j < 0;
  D folds.

Orthants are numbered by sign bits: orthant k holds x with x_j > 0 exactly where bit j of k is
set. For D = 2 the paper's quadrants Q1..Q4 (counter-clockwise from (+, +)) are orthants
3, 2, 0, 1: see :data:`QUADRANT_TO_ORTHANT`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.world import as_generator, check_positive_int

SCHEMES = ("orthant", "halfspace")

#: Paper quadrant number (1..4, counter-clockwise from (+, +)) -> orthant index (sign bits).
QUADRANT_TO_ORTHANT = {1: 3, 2: 2, 3: 0, 4: 1}

#: Largest D for which ``scheme="auto"`` uses orthant folds (2^D folds); above it, half-spaces.
MAX_ORTHANT_D = 3


@dataclass(frozen=True)
class Fold:
    """Held-out region: orthant ``index`` (scheme ``orthant``) or half-space x_index > 0."""

    scheme: str
    index: int
    D: int

    @property
    def name(self) -> str:
        if self.scheme == "halfspace":
            return f"x{self.index + 1}>0"
        if self.D == 2:
            q = {v: k for k, v in QUADRANT_TO_ORTHANT.items()}[self.index]
            return f"Q{q}"
        return "orthant(" + "".join("+" if (self.index >> j) & 1 else "-" for j in range(self.D)) + ")"

    def in_test(self, x: np.ndarray) -> np.ndarray:
        """Mask of points in the held-out region. x : shape (..., D) -> bool (...)."""
        x = np.asarray(x)
        if self.scheme == "halfspace":
            return x[..., self.index] > 0
        return orthant_index(x) == self.index

    def sample(self, rng, n: int, part: str) -> np.ndarray:
        """Draw n points uniformly from the ``"train"`` or ``"test"`` region, shape (n, D)."""
        if part not in ("train", "test"):
            raise ValueError(f"part={part!r} must be 'train' or 'test'")
        rng = as_generator(rng)
        n = check_positive_int("n", n)
        u = rng.uniform(0.0, 0.5, size=(n, self.D))
        if self.scheme == "halfspace":
            signs = np.where(rng.random((n, self.D)) < 0.5, -1.0, 1.0)
            signs[:, self.index] = 1.0 if part == "test" else -1.0
            return u * signs
        if part == "test":
            orthants = np.full(n, self.index)
        else:  # uniform over the other 2^D - 1 orthants
            orthants = rng.integers(0, 2**self.D - 1, size=n)
            orthants = orthants + (orthants >= self.index)
        return u * orthant_signs(orthants, self.D)


def orthant_index(x: np.ndarray) -> np.ndarray:
    """Orthant of each point: sum_j 2^j [x_j > 0]. x : shape (..., D) -> int (...)."""
    x = np.asarray(x)
    return ((x > 0) * (2 ** np.arange(x.shape[-1]))).sum(axis=-1)


def orthant_signs(orthants: np.ndarray, D: int) -> np.ndarray:
    """Sign vectors of orthants: +1 where bit j is set, else -1. shape (n,) -> (n, D)."""
    bits = (np.asarray(orthants)[..., None] >> np.arange(D)) & 1
    return 2.0 * bits - 1.0


def ood_folds(D: int, scheme: str = "auto") -> list[Fold]:
    """The folds of a cross-validation: all orthants, or the D half-spaces.

    ``scheme="auto"`` uses orthants for D <= MAX_ORTHANT_D and half-spaces above.

    Examples
    --------
    >>> [f.name for f in ood_folds(2)]
    ['Q3', 'Q4', 'Q2', 'Q1']
    """
    D = check_positive_int("D", D)
    if scheme == "auto":
        scheme = "orthant" if D <= MAX_ORTHANT_D else "halfspace"
    if scheme not in SCHEMES:
        raise ValueError(f"scheme={scheme!r} must be 'auto' or one of {SCHEMES}")
    n = 2**D if scheme == "orthant" else D
    return [Fold(scheme, k, D) for k in range(n)]
