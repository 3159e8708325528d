"""Tests of analysis.tuning: the stimulus grid, unit correlations, lifetime sparseness."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.tuning import (GRID_SIDE, fraction_active, grid_latents, lifetime_sparseness,
                           unit_correlations)


def test_grid_is_eight_by_eight_bin_centres_symmetric_and_off_the_quadrant_boundaries():
    x = grid_latents()
    assert x.shape == (GRID_SIDE**2, 2) == (64, 2)
    np.testing.assert_allclose(np.unique(x[:, 0]), (np.arange(8) + 0.5) / 8 - 0.5)
    np.testing.assert_allclose(np.sort(-x, axis=0), np.sort(x, axis=0))  # x -> -x symmetric
    assert np.all(x != 0) and np.all(np.abs(x) < 0.5)
    # Coordinate 0 varies slowest: reshaping restores the grid.
    np.testing.assert_array_equal(x.reshape(8, 8, 2)[:, 0, 0], np.unique(x[:, 0]))
    np.testing.assert_array_equal(x.reshape(8, 8, 2)[0, :, 1], np.unique(x[:, 1]))


def test_correlations_recover_the_mixing_of_linear_units():
    # Rates r = x A + c over the grid, where x1 and x2 are uncorrelated and equally spread on
    # the grid: corr(r_k, x_j) = A_jk / |A_:k|.
    x = grid_latents()
    A = np.array([[1.0, 0.0, 2.0, -1.0], [0.0, 3.0, 2.0, 0.5]])
    rho = unit_correlations((x @ A + 5.0)[None], x)
    np.testing.assert_allclose(rho[0], (A / np.linalg.norm(A, axis=0)).T, atol=1e-12)  # ~ eps


@given(scale=st.floats(0.01, 100.0), shift=st.floats(-10.0, 10.0), seed=st.integers(0, 2**32 - 1))
def test_correlations_are_invariant_to_positive_affine_changes_of_rate(scale, shift, seed):
    rng = np.random.default_rng(seed)
    x = grid_latents()
    r = np.maximum(x @ rng.standard_normal((2, 5)) + 0.1, 0.0) + rng.uniform(0, 0.1, (64, 5))
    np.testing.assert_allclose(unit_correlations(scale * r + shift, x), unit_correlations(r, x), atol=1e-10)


def test_dead_units_get_nan_correlation_and_nan_sparseness():
    x = grid_latents()
    r = np.c_[x[:, 0] + 1.0, np.zeros(64)]
    assert np.isnan(unit_correlations(r, x)[1]).all() and not np.isnan(unit_correlations(r, x)[0]).any()
    S = lifetime_sparseness(r)
    assert np.isnan(S[1]) and np.isfinite(S[0])


def test_sparseness_is_zero_for_constant_and_one_for_one_hot_responses():
    m = 64
    constant = np.full((m, 1), 0.7)
    one_hot = np.zeros((m, 1))
    one_hot[17] = 3.0
    np.testing.assert_allclose(lifetime_sparseness(constant), [0.0], atol=1e-15)
    np.testing.assert_allclose(lifetime_sparseness(one_hot), [1.0], rtol=1e-14)


@given(m=st.integers(2, 200), data=st.data())
def test_sparseness_of_binary_responses_is_the_fraction_of_silent_stimuli_rescaled(m, data):
    # k of m stimuli give rate c > 0: mean r = c k/m, mean r^2 = c^2 k/m, so
    # S = (1 - k/m) / (1 - 1/m) = (m - k) / (m - 1).
    k = data.draw(st.integers(1, m))
    c = data.draw(st.floats(0.1, 10.0))
    r = np.zeros((m, 1))
    r[:k] = c
    np.testing.assert_allclose(lifetime_sparseness(r), [(m - k) / (m - 1)], rtol=1e-12, atol=1e-14)


@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 1e3))
def test_sparseness_of_non_negative_rates_is_in_unit_interval_and_scale_free(seed, scale):
    rng = np.random.default_rng(seed)
    r = rng.exponential(1.0, (3, 20, 4)) * (rng.random((3, 20, 4)) < 0.5)  # sparse, non-negative
    r[:, 0] += 0.01  # no all-silent unit
    S = lifetime_sparseness(r)
    assert S.shape == (3, 4)
    assert np.all((S >= -1e-12) & (S <= 1 + 1e-12))  # Cauchy-Schwarz bounds, up to rounding
    np.testing.assert_allclose(lifetime_sparseness(scale * r), S, rtol=1e-12)


def test_fraction_active_counts_positive_rates_per_network():
    r = np.zeros((2, 4, 5))
    r[0, :2, :] = 1.0
    r[1, 0, 0] = 0.5
    np.testing.assert_allclose(fraction_active(r), [0.5, 1 / 20])


@pytest.mark.parametrize("call, match", [
    (lambda: grid_latents(0), "n_side"),
    (lambda: grid_latents(8, 0), "D"),
    (lambda: unit_correlations(np.zeros(5), np.zeros((5, 2))), "rates"),
    (lambda: unit_correlations(np.zeros((5, 3)), np.zeros((4, 2))), "m=5"),
    (lambda: unit_correlations(np.zeros((5, 3)), np.zeros((5, 2))), "vary"),
    (lambda: lifetime_sparseness(np.zeros((1, 3))), "m >= 2"),
    (lambda: lifetime_sparseness(np.full((4, 3), np.nan)), "finite"),
])
def test_bad_input_raises_value_error_naming_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()
