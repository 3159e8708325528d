"""Ceilings against D (theory.dimensionality): the half-space closed form, the row-space projection
decoder (reductions, invariance, whole-cube closed form) and a Monte-Carlo twin of the N < D protocol."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import special_ortho_group

from theory.ceilings import _decoder_test_mse, r2_protocol, region_moments
from theory.designs import make_design, random_design
from theory.dimensionality import (design_ceiling, dimensionality_rows, expected_projection_ceiling,
                                   halfspace_ceiling, identifiable_ceiling, projection_test_mse,
                                   r2_projection_whole_cube, r2_protocol_projection, row_basis)
from theory.folds import Fold, ood_folds
from theory.symbolic import protocol_r2_exact
from theory.world import LATENT_VARIANCE

#: Closed forms against small linear solves in float64: relative error a few hundred ulps at most
#: (condition of S + V is <= (1/12 + s2) / s2 for the s2 drawn).
RTOL = 1e-12
K_SE = 4.0

noise = st.floats(1e-6, 1.0)


@given(D=st.integers(1, 12), s2=noise)
def test_halfspace_closed_form_equals_the_matrix_protocol_on_every_fold(D, s2):
    for fold in ood_folds(D, "halfspace"):
        np.testing.assert_allclose(halfspace_ceiling(D, s2), r2_protocol(np.full(D, s2), fold), rtol=RTOL)


@pytest.mark.parametrize("D", [2, 3])
def test_halfspace_closed_form_equals_the_exact_symbolic_protocol(D):
    # The closed form written in sympy, against the rational function theory.symbolic integrates.
    s2, exact = protocol_r2_exact(Fold("halfspace", 0, D), "fullrange")
    held, other = sp.Rational(1, 48), sp.Rational(1, 12)
    a, b = held / (held + s2), other / (other + s2)
    closed = 1 - 12 * ((1 - a) ** 2 * (held + sp.Rational(1, 4)) + a**2 * s2 + (D - 1) * s2 * b) / D
    assert sp.simplify(closed - exact) == 0
    np.testing.assert_allclose(halfspace_ceiling(D, 0.002), float(closed.subs(s2, sp.Rational(1, 500))), rtol=RTOL)


@given(s2=noise)
def test_halfspace_ceiling_tends_to_the_whole_cube_value_as_D_grows(s2):
    # The held-out coordinate's error is 1/D of the pooled MSE; the others are decoded as on the cube.
    big = halfspace_ceiling(10**9, s2)
    np.testing.assert_allclose(big, 1 / (1 + 12 * s2), rtol=0, atol=1e-8)
    assert halfspace_ceiling(4, s2) < halfspace_ceiling(10, s2) < big


def test_auto_scheme_switches_from_orthants_to_halfspaces_above_three_dimensions():
    s2 = 0.002
    for D in (2, 3):
        assert identifiable_ceiling(D, s2) == identifiable_ceiling(D, s2, "orthant")
    for D in (4, 7):
        assert identifiable_ceiling(D, s2) == identifiable_ceiling(D, s2, "halfspace") == halfspace_ceiling(D, s2)
    assert identifiable_ceiling(3, s2, "orthant") != identifiable_ceiling(3, s2, "halfspace")


@given(D=st.integers(1, 4), s2=noise, seed=st.integers(0, 2**32 - 1))
def test_projection_decoder_with_the_identity_basis_is_the_protocol_decoder(D, s2, seed):
    fold = ood_folds(D)[seed % len(ood_folds(D))]
    moments = (*region_moments(fold, "train"), *region_moments(fold, "test"))
    v = np.full(D, s2)
    np.testing.assert_allclose(projection_test_mse(np.eye(D), v, *moments), _decoder_test_mse(v, *moments), rtol=RTOL)
    # Any invertible mixing G of the features gives the same affine decoder and the same error.
    G = np.random.default_rng(seed).standard_normal((D, D)) + 3 * np.eye(D)
    np.testing.assert_allclose(projection_test_mse(G, v, *moments), _decoder_test_mse(v, *moments), rtol=1e-9)


@given(D=st.integers(2, 8), data=st.data(), s2=noise, seed=st.integers(0, 2**32 - 1))
def test_whole_cube_projection_r2_is_rank_over_D_shrunk_by_the_noise(D, data, s2, seed):
    k = data.draw(st.integers(1, D))
    B = special_ortho_group.rvs(D, random_state=seed)[:k]
    S = LATENT_VARIANCE * np.eye(D)
    mse = projection_test_mse(B, np.full(D, s2), np.zeros(D), S, np.zeros(D), S)
    np.testing.assert_allclose(1 - mse.mean() / LATENT_VARIANCE, r2_projection_whole_cube(k, D, s2), rtol=RTOL)


def test_row_basis_is_an_orthonormal_basis_of_the_design_row_space():
    design = make_design([[1.0, 0, 0], [2.0, 0, 0], [0, 1.0, 1.0]])  # N = D = 3 but rank 2
    B = row_basis(design)
    assert B.shape == (2, 3)
    np.testing.assert_allclose(B @ B.T, np.eye(2), atol=1e-15)
    np.testing.assert_allclose(design.C @ (np.eye(3) - B.T @ B), 0.0, atol=1e-15)  # C's rows lie in span(B)
    # Rank-deficient even though N >= D: the ceiling is the projection's, below the identifiable one.
    assert design_ceiling(design, 0.002) < identifiable_ceiling(3, 0.002) - 0.1


def test_projection_protocol_matches_a_monte_carlo_twin():
    # D = 4, N = 3 random design, half-space fold x1 > 0: fit least squares on f = B mu from the
    # training half, score on the held-out half; K_SE standard errors of the i.i.d. test errors.
    rng = np.random.default_rng(5)
    design, fold, s2, n = random_design(3, 4, rng), Fold("halfspace", 0, 4), 0.002, 200_000
    B = row_basis(design)
    x, xq = fold.sample(rng, n, "train"), fold.sample(rng, n, "test")
    f, fq = ((a + np.sqrt(s2) * rng.standard_normal(a.shape)) @ B.T for a in (x, xq))
    W = np.linalg.lstsq(np.column_stack([f, np.ones(n)]), x, rcond=None)[0]
    err2 = ((np.column_stack([fq, np.ones(n)]) @ W - xq) ** 2).mean(axis=1)
    want_mse = (1 - r2_protocol_projection(B, s2, fold)) * LATENT_VARIANCE
    se = err2.std(ddof=1) / np.sqrt(n)
    assert abs(err2.mean() - want_mse) < K_SE * se
    # The identifiable ceiling is the wrong prediction for N < D and must be rejected.
    assert abs(err2.mean() - (1 - halfspace_ceiling(4, s2)) * LATENT_VARIANCE) > 100 * se


def test_rows_mark_n_below_D_as_not_identifiable_with_a_lower_ceiling():
    rows = dimensionality_rows([2, 4, 8], [3, 6], 0.2, 20, seed=1, n_designs=20)
    s2 = 0.2**2 / 20
    for r in rows:
        assert r["identifiable"] == (r["ntask"] >= r["D"])
        assert r["fold_scheme"] == ("orthant" if r["D"] <= 3 else "halfspace")
        if r["identifiable"]:
            assert r["r2_protocol"] == identifiable_ceiling(r["D"], s2) and r["r2_protocol_se"] == 0.0
        else:
            assert r["r2_protocol"] + K_SE * r["r2_protocol_se"] < identifiable_ceiling(r["D"], s2)
    assert rows == dimensionality_rows([2, 4, 8], [3, 6], 0.2, 20, seed=1, n_designs=20)  # seeded


def test_expected_projection_ceiling_is_the_mean_of_per_design_ceilings():
    mean, se = expected_projection_ceiling(2, 5, 0.002, np.random.default_rng(3), n_designs=10)
    rng = np.random.default_rng(3)
    each = [design_ceiling(random_design(2, 5, rng), 0.002) for _ in range(10)]
    np.testing.assert_allclose([mean, se], [np.mean(each), np.std(each, ddof=1) / np.sqrt(10)], rtol=1e-15)


@pytest.mark.parametrize("call, match", [
    (lambda: halfspace_ceiling(0, 0.1), "D=0"),
    (lambda: halfspace_ceiling(3, -0.1), "s2=-0.1"),
    (lambda: r2_projection_whole_cube(4, 3, 0.1), "rank=4"),
    (lambda: expected_projection_ceiling(2, 4, 0.1, 0, n_designs=1), "n_designs=1"),
    (lambda: identifiable_ceiling(3, 0.1, "box"), "scheme='box'"),
])
def test_bad_dimensionality_arguments_raise_a_named_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
