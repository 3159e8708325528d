"""Output-space factor angles (theory.angles): even design, Corollary B.9 spread, tasks needed."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import ortho_group

from theory.angles import angle_spread, factor_angles, tasks_for_spread
from theory.designs import even_design, random_design
from theory.symbolic import sphere_fourth_moment

#: arccos near 0 loses precision: an angle computed from a cosine of rounding size ~1e-16 is off
#: by ~1e-14 degrees.
ANGLE_ATOL = 1e-12


@given(N=st.integers(2, 200))
def test_even_design_factors_are_exactly_orthogonal_in_output_space(N):
    np.testing.assert_allclose(factor_angles(even_design(N))[0, 1], 90.0, rtol=0, atol=ANGLE_ATOL)


@given(seed=st.integers(0, 2**32 - 1), N=st.integers(2, 30), D=st.integers(2, 6))
def test_angles_are_symmetric_with_zero_diagonal_and_between_0_and_180(seed, N, D):
    theta = factor_angles(random_design(N, D, seed))
    np.testing.assert_allclose(theta, theta.T, rtol=0, atol=ANGLE_ATOL)
    np.testing.assert_allclose(np.diag(theta), 0.0, rtol=0, atol=1e-5)  # arccos(1 - eps) ~ 1e-6 deg
    assert np.all((theta >= 0) & (theta <= 180))


@given(seed=st.integers(0, 2**32 - 1), N=st.integers(2, 12))
def test_angles_are_invariant_to_rotating_output_space_and_rescaling_factors(seed, N):
    rng = np.random.default_rng(seed)
    C = random_design(N, 3, rng).C
    Q = ortho_group.rvs(N, random_state=rng) if N > 1 else np.eye(1)
    scale = rng.uniform(0.1, 10.0, 3)
    # Angles depend only on C^T C up to column scaling: Q C and C diag(scale) keep them.
    # The tolerance allows arccos's error amplification near 0 and 180 degrees.
    np.testing.assert_allclose(factor_angles(Q @ C * scale), factor_angles(C), rtol=0, atol=1e-5)


@pytest.mark.parametrize("D", [2, 3, 5, 10])
@given(N=st.integers(1, 10_000))
def test_angle_spread_is_the_sd_of_a_normalised_cosine_built_from_the_sphere_moment(D, N):
    # cos ~ (sum_i c_i1 c_i2) / (N / D): variance N E[u1^2 u2^2] (D / N)^2 with the exact moment.
    variance = float(D**2 * sphere_fourth_moment(D) / N)
    np.testing.assert_allclose(angle_spread(N, D), np.degrees(np.sqrt(variance)), rtol=1e-14)


@pytest.mark.parametrize("D", [2, 3, 8])
@given(eps=st.floats(1e-3, 1.0))
def test_tasks_for_spread_is_the_smallest_N_reaching_the_spread(D, eps):
    N = tasks_for_spread(eps, D)
    assert np.radians(angle_spread(N, D)) <= eps * (1 + 1e-12)
    if N > 1:
        assert np.radians(angle_spread(N - 1, D)) > eps * (1 - 1e-12)


def test_tasks_for_spread_solves_the_spread_formula_symbolically():
    N, D, eps = sp.symbols("N D epsilon", positive=True)
    spread = sp.sqrt(D / (N * (D + 2)))
    solution = sp.solve(sp.Eq(spread, eps), N)
    assert len(solution) == 1 and sp.simplify(solution[0] - D / ((D + 2) * eps**2)) == 0


@pytest.mark.parametrize("call, word", [
    (lambda: factor_angles(np.zeros(3)), "shape"),
    (lambda: factor_angles(np.array([[1.0, 0.0], [2.0, 0.0]])), "zero column"),
    (lambda: factor_angles(np.array([[np.nan, 1.0]])), "finite"),
    (lambda: angle_spread(10, 1), "D=1"),
    (lambda: angle_spread(0, 2), "ntask"),
    (lambda: tasks_for_spread(0.0, 2), "eps"),
])
def test_angle_functions_reject_bad_input_naming_it(call, word):
    with pytest.raises(ValueError, match=word):
        call()
