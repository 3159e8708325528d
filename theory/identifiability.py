"""What the outputs of an optimal agent identify (docs/theory.md §3, conditions of Theorem 3.1).

The probits determine C mu + b. If rank(C) = D (so N >= D), mu is unique. If rank(C) = k < D
only the projection of mu onto the row space of C is identified; components along the null
space of C change no output at all.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.designs import Design


@dataclass(frozen=True)
class Identifiability:
    """Diagnostics of a boundary matrix C (shape (N, D)).

    Attributes
    ----------
    rank : numerical rank of C (singular values above the rtol threshold)
    singular_values : ndarray (min(N, D),), descending
    condition : sigma_max / sigma_min of C (inf when rank < D)
    null_space : ndarray (D, D - rank), orthonormal basis of {v : C v = 0}
    row_projector : ndarray (D, D), orthogonal projector onto the row space of C (C^+ C)
    """

    ntask: int
    D: int
    rank: int
    singular_values: np.ndarray
    condition: float
    null_space: np.ndarray
    row_projector: np.ndarray

    @property
    def identifiable(self) -> bool:
        """True when C mu + b pins mu down uniquely: rank(C) = D."""
        return self.rank == self.D

    def explain(self) -> str:
        """One sentence saying what is and is not recoverable."""
        if self.identifiable:
            return (f"rank(C) = D = {self.D} <= N = {self.ntask}: mu is identified "
                    f"(condition number {self.condition:.3g})")
        why = f"N = {self.ntask} < D = {self.D}" if self.ntask < self.D else "C is rank-deficient"
        return (f"{why}: rank(C) = {self.rank} < D = {self.D}, so only the projection of mu onto the "
                f"{self.rank}-dimensional row space of C is recoverable; the {self.D - self.rank} "
                f"null-space direction(s) change no output and are invisible")


def diagnose(design: Design, rtol: float | None = None) -> Identifiability:
    """Rank, null space, conditioning and row-space projector of ``design.C``.

    ``rtol`` defaults to max(N, D) * eps (numpy's ``matrix_rank`` convention), relative to the
    largest singular value.
    """
    C = design.C
    U, sv, Vt = np.linalg.svd(C)
    tol = (max(C.shape) * np.finfo(float).eps if rtol is None else rtol) * sv[0]
    rank = int(np.sum(sv > tol))
    V_row, V_null = Vt[:rank].T, Vt[rank:].T
    condition = float(sv[0] / sv[rank - 1]) if rank == C.shape[1] else float("inf")
    return Identifiability(ntask=C.shape[0], D=C.shape[1], rank=rank, singular_values=sv,
                           condition=condition, null_space=V_null, row_projector=V_row @ V_row.T)
