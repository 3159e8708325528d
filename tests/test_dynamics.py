"""Tests of analysis.dynamics: PCA, fixed points of known maps, multipliers, attractor signature."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import brentq

from analysis.dynamics import (DEDUP_TOL, RESIDUAL_TOL, count_near_unit, find_fixed_points,
                             numerical_jacobian, pca)

EPS = np.finfo(float).eps


def _constant_jacobian(A):
    return lambda h: np.broadcast_to(A, (h.shape[0],) + A.shape)


def _orthogonal(rng, H):
    return np.linalg.qr(rng.standard_normal((H, H)))[0]


@given(seed=st.integers(0, 2**32 - 1), H=st.integers(2, 6))
def test_linear_map_has_one_fixed_point_with_the_eigenvalues_of_A(seed, H):
    # F(h) = A h + c with no eigenvalue of A at 1: h* = (I - A)^-1 c, multipliers = eig(A),
    # whether h* is stable or not (eigenvalues drawn away from 1 on both sides).
    rng = np.random.default_rng(seed)
    lam = np.where(rng.random(H) < 0.5, rng.uniform(-0.8, 0.8, H), rng.uniform(1.2, 2.5, H))
    Q = _orthogonal(rng, H)
    A = Q @ np.diag(lam) @ Q.T
    c = rng.standard_normal(H)
    fp = find_fixed_points(lambda h: h @ A.T + c, rng.standard_normal((20, H)), _constant_jacobian(A))
    assert fp.points.shape == (1, H) and fp.n_rejected == 0 and fp.basin_counts[0] == 20
    # I - A has singular values >= 0.2 here: location error <= residual / 0.2.
    np.testing.assert_allclose(fp.points[0], np.linalg.solve(np.eye(H) - A, c), rtol=0,
                               atol=RESIDUAL_TOL / 0.2)
    # Symmetric A: eigenvalues are real and well-conditioned (backward error ~ eps |A|).
    np.testing.assert_allclose(np.sort(fp.multipliers[0].real), np.sort(lam), atol=1e3 * EPS)
    np.testing.assert_allclose(fp.rates, fp.multipliers - 1.0)


def test_plane_attractor_has_two_unit_multipliers_at_every_fixed_point():
    # F(h) = P h with P = Q diag(1, 1, lam_3..lam_H) Q^T: every point of the plane spanned by
    # Q[:, :2] is fixed; the other multipliers are well inside the unit circle.
    rng = np.random.default_rng(0)
    H = 6
    Q = _orthogonal(rng, H)
    P = Q @ np.diag([1.0, 1.0, 0.3, -0.5, 0.7, 0.1]) @ Q.T
    fp = find_fixed_points(lambda h: h @ P.T, rng.standard_normal((40, H)), _constant_jacobian(P))
    assert fp.n_rejected == 0 and fp.points.shape[0] == 40  # a continuum: no two starts merge
    off_plane = fp.points @ Q[:, 2:]
    np.testing.assert_allclose(off_plane, 0.0, atol=RESIDUAL_TOL / 0.3)  # 1 - lam >= 0.3 off-plane
    np.testing.assert_array_equal(fp.n_near_unit(), 2)
    np.testing.assert_allclose(np.abs(fp.multipliers[:, :2] - 1), 0.0, atol=1e3 * EPS)


def test_relu_plane_attractor_is_found_with_its_multipliers():
    # A hand-built ReLU map: units 1, 2 copy themselves (plus input from 3, 4); units 3, 4 are
    # held below threshold by a negative bias. Fixed set {h1, h2 > 0, h3 = h4 = 0}; there the
    # Jacobian diag(relu'(W h + b)) W has rows 3, 4 zero: multipliers (1, 1, 0, 0).
    W = np.array([[1.0, 0.0, 0.4, -0.2], [0.0, 1.0, 0.3, 0.5], [0.0, 0.0, 0.5, 0.2], [0.0, 0.0, -0.3, 0.1]])
    b = np.array([0.0, 0.0, -0.1, -0.1])

    def F(h):
        return np.maximum(h @ W.T + b, 0.0)

    def jac(h):
        return (h @ W.T + b > 0)[:, :, None] * W

    rng = np.random.default_rng(1)
    starts = np.hstack([rng.uniform(0.2, 1.0, (30, 2)), rng.uniform(0.0, 0.1, (30, 2))])
    fp = find_fixed_points(F, starts, jac)
    assert fp.n_rejected == 0
    np.testing.assert_allclose(fp.points[:, 2:], 0.0, atol=RESIDUAL_TOL)
    assert np.all(fp.points[:, :2] > 0)
    np.testing.assert_allclose(np.sort(np.abs(fp.multipliers), axis=1), [[0, 0, 1, 1]] * len(fp.points),
                               atol=1e3 * EPS)
    np.testing.assert_array_equal(fp.n_near_unit(), 2)


def test_bistable_tanh_map_has_nine_fixed_points_with_known_multipliers():
    # Two uncoupled units h -> tanh(2 h): fixed points {-a, 0, a}^2, a = tanh(2 a) (brentq,
    # an independent root finder), multiplier 2 (1 - tanh(2h)^2) per unit.
    a = brentq(lambda u: np.tanh(2 * u) - u, 0.5, 1.0, xtol=1e-15)
    g = np.linspace(-1.2, 1.2, 9)
    starts = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    fp = find_fixed_points(lambda h: np.tanh(2 * h), starts)  # numerical Jacobian
    expected = np.array([[u, v] for u in (-a, 0.0, a) for v in (-a, 0.0, a)])
    order = np.lexsort(fp.points.T[::-1])
    # Central differences with step 1e-6 make the Jacobian good to ~1e-10; Levenberg-Marquardt
    # still drives the residual below RESIDUAL_TOL, and |dF/dh - I| >= 0.83 here.
    np.testing.assert_allclose(fp.points[order], expected, atol=RESIDUAL_TOL / 0.8)
    mult = 2 * (1 - np.tanh(2 * fp.points) ** 2)
    np.testing.assert_allclose(np.sort(fp.multipliers.real, axis=1), np.sort(mult, axis=1), atol=1e-8)
    assert fp.basin_counts.sum() == len(starts)


def test_map_without_fixed_points_rejects_every_slow_point():
    # F(h) = h + 0.1 + h^2: F(h) - h = 0.1 + h^2 > 0, a slow point at 0 but no fixed point.
    fp = find_fixed_points(lambda h: h + 0.1 + h**2, np.linspace(-1, 1, 7)[:, None],
                           lambda h: (1 + 2 * h)[:, :, None])
    assert fp.points.shape == (0, 1) and fp.n_rejected == 7
    assert fp.multipliers.shape == (0, 1)


def test_nearby_solutions_merge_within_the_dedup_tolerance_only():
    # The plane attractor with starts in two tight clusters: each cluster projects to points
    # within ~1e-8 of each other, so they merge at the default tolerance, not at 1e-12.
    rng = np.random.default_rng(2)
    P = np.diag([1.0, 0.2, 0.1])
    centres = np.array([[0.3, 1.0, -1.0], [-0.5, 0.5, 0.5]])
    starts = np.repeat(centres, 5, axis=0) + np.c_[1e-8 * rng.standard_normal(10), np.zeros((10, 2))]
    merged = find_fixed_points(lambda h: h @ P.T, starts, _constant_jacobian(P))
    np.testing.assert_array_equal(merged.basin_counts, [5, 5])
    assert 1e-8 < DEDUP_TOL
    split = find_fixed_points(lambda h: h @ P.T, starts, _constant_jacobian(P), dedup_tol=1e-12)
    assert split.points.shape[0] == 10


def test_float32_map_is_solved_to_its_own_precision_when_the_tolerance_allows():
    A = np.diag([0.5, -0.3, 0.8]).astype(np.float32)
    c = np.array([1.0, 2.0, -1.0], dtype=np.float32)
    starts = np.random.default_rng(4).standard_normal((6, 3))
    fp = find_fixed_points(lambda h: (h.astype(np.float32) @ A.T + c), starts,
                           _constant_jacobian(A.astype(float)), residual_tol=1e-5, dedup_tol=1e-4)
    assert fp.points.shape == (1, 3)
    # float32 rounding of F is ~6e-8 |h|; the fixed point is good to ~1e-6 (|I - A|^-1 <= 5).
    np.testing.assert_allclose(fp.points, [np.linalg.solve(np.eye(3) - A, c)], atol=1e-5)


@given(seed=st.integers(0, 2**32 - 1))
def test_numerical_jacobian_matches_the_analytic_one(seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((3, 3))
    h = rng.standard_normal((4, 3))
    J = numerical_jacobian(lambda u: np.tanh(u @ W.T), h)
    exact = (1 - np.tanh(h @ W.T) ** 2)[:, :, None] * W
    # Central differences, step 1e-6: truncation ~ step^2 |F'''| ~ 1e-11 |W|^3, rounding ~ eps / step.
    np.testing.assert_allclose(J, exact, atol=1e-8 * (1 + np.abs(W).max() ** 3))


def test_count_near_unit_counts_within_the_tolerance():
    lam = np.array([[1.01, 0.99 + 0.02j, 0.5, 1.2], [-1.0, 0.96, 1.0, 0.0]])
    np.testing.assert_array_equal(count_near_unit(lam, 0.05), [2, 2])
    np.testing.assert_array_equal(count_near_unit(lam, 0.015), [1, 1])


def test_pca_of_a_plane_explains_all_variance_in_two_components():
    rng = np.random.default_rng(3)
    basis = np.linalg.qr(rng.standard_normal((7, 2)))[0]
    coords = rng.standard_normal((500, 2)) * [3.0, 1.0]
    states = (coords @ basis.T + rng.standard_normal(7)).reshape(50, 10, 7)  # (trials, time, H)
    res = pca(states)
    np.testing.assert_allclose(res.explained[:2].sum(), 1.0, atol=1e-12)
    # Independent method: eigenvalues of the population covariance matrix.
    cov_eig = np.sort(np.linalg.eigvalsh(np.cov(states.reshape(-1, 7).T, bias=True)))[::-1]
    np.testing.assert_allclose(res.variance, cov_eig, atol=1e-12)
    # The first two axes span the plane: projector onto them equals basis basis^T.
    V = res.components[:2]
    np.testing.assert_allclose(V.T @ V, basis @ basis.T, atol=1e-10)
    np.testing.assert_allclose(res.project(states, 2).reshape(-1, 2) @ V + res.mean,
                               states.reshape(-1, 7), atol=1e-12)


def test_pca_with_fewer_samples_than_units_returns_that_many_axes():
    states = np.random.default_rng(5).standard_normal((4, 9))
    res = pca(states)
    # 4 centred samples span at most 3 directions: the 4th variance is rounding (~eps).
    assert res.components.shape == (4, 9) and res.variance.shape == (4,)
    np.testing.assert_allclose(res.explained[:3].sum(), 1.0, atol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: pca(np.zeros(5)), "states"),
    (lambda: pca(np.ones((5, 3))), "do not vary"),
    (lambda: pca(np.full((5, 3), np.nan)), "finite"),
    (lambda: find_fixed_points(lambda h: h, np.zeros((0, 3))), "starts"),
    (lambda: find_fixed_points(lambda h: h, np.full((2, 3), np.inf)), "finite"),
    (lambda: find_fixed_points(lambda h: h, np.zeros((2, 3)), dedup_tol=0.0), "dedup_tol"),
    (lambda: find_fixed_points(lambda h: h, np.zeros((2, 3)), residual_tol=-1.0), "residual_tol"),
    (lambda: find_fixed_points(lambda h: h[:, :2], np.zeros((2, 3))), "F must map"),
    (lambda: find_fixed_points(lambda h: h.astype(np.float32), np.zeros((2, 3))), "float32"),
    (lambda: count_near_unit(np.ones(3), tol=np.nan), "tol"),
    (lambda: numerical_jacobian(lambda h: h, np.zeros(3)), "h must"),
])
def test_bad_input_raises_value_error_naming_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()
