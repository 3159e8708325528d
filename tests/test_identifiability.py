"""Identifiability diagnostics: rank, null space, projector, conditioning."""
import numpy as np
from hypothesis import given

from theory.identifiability import diagnose
from theory.designs import even_design, make_design
from tests.strategies import designs

EPS = np.finfo(float).eps


@given(designs(full_rank=False))
def test_null_space_and_row_projector_are_complementary(design):
    diag = diagnose(design)
    assert diag.rank <= design.ntask < design.D and not diag.identifiable
    V, P = diag.null_space, diag.row_projector
    k = 64 * max(design.C.shape) * EPS
    np.testing.assert_allclose(design.C @ V, 0, atol=k * np.linalg.norm(design.C, 2))
    np.testing.assert_allclose(P + V @ V.T, np.eye(design.D), atol=k)
    np.testing.assert_allclose(P @ P, P, atol=k)
    assert "null-space" in diag.explain()


@given(designs())
def test_full_rank_designs_are_identifiable_with_finite_condition(design):
    diag = diagnose(design)
    assert diag.identifiable and diag.null_space.shape == (design.D, 0)
    np.testing.assert_allclose(diag.condition, np.linalg.cond(design.C), rtol=1e-10)


def test_even_design_is_perfectly_conditioned():
    assert diagnose(even_design(5)).condition == 1.0 or abs(diagnose(even_design(5)).condition - 1) < 8 * EPS


def test_duplicate_rows_do_not_add_rank():
    diag = diagnose(make_design([[1.0, 2.0], [2.0, 4.0], [-1.0, -2.0]]))
    assert diag.rank == 1 and "rank-deficient" in diag.explain()
