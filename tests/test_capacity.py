"""State-dimension bounds (theory.capacity): the min(H, D) / D bound against nonlinear states fit by
least squares, the best affine state against a grid over directions, and the held-out bound."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory.capacity import best_protocol_r2_linear_state, r2_bound_any_state, r2_heldout_bound, r2_linear_state
from theory.dimensionality import identifiable_ceiling, r2_protocol_projection
from theory.folds import ood_folds
from theory.world import LATENT_VARIANCE, sample_latents

K_SE = 4.0


def pooled_r2_of_least_squares(h, x):
    """Whole-cube pooled r^2 (full-range normalisation) of the least-squares affine readout of x from h."""
    F = np.column_stack([h, np.ones(len(h))])
    resid = x - F @ np.linalg.lstsq(F, x, rcond=None)[0]
    return 1 - (resid**2).mean() / LATENT_VARIANCE, (resid**2).mean(axis=1)


@pytest.mark.parametrize("D, state", [
    (2, lambda x: np.tanh(3 * x[:, :1]) + np.sin(5 * x[:, 1:2])),                     # nonlinear, H = 1
    (3, lambda x: np.column_stack([x[:, 0] * x[:, 1], np.exp(x[:, 0] + x[:, 2])])),  # nonlinear, H = 2
], ids=["H1-D2", "H2-D3"])
def test_no_state_of_H_dimensions_beats_min_H_D_over_D(D, state):
    x = sample_latents(0, 100_000, D)
    h = state(x)
    r2, err2 = pooled_r2_of_least_squares(h, x)
    se = err2.std(ddof=1) / np.sqrt(len(x)) / LATENT_VARIANCE
    assert r2 <= r2_bound_any_state(h.shape[1], D) + K_SE * se


def test_a_coordinate_state_reaches_the_bound():
    x = sample_latents(1, 100_000, 2)
    r2, err2 = pooled_r2_of_least_squares(x[:, :1], x)  # h = x1: x1 exact, x2 decoded as its mean
    se = err2.std(ddof=1) / np.sqrt(len(x)) / LATENT_VARIANCE
    assert abs(r2 - r2_bound_any_state(1, 2)) < K_SE * se


@given(H=st.integers(1, 6), D=st.integers(1, 6), s2=st.floats(0, 1))
def test_linear_state_r2_is_the_bound_shrunk_by_the_noise_and_saturates_at_H_equal_D(H, D, s2):
    np.testing.assert_allclose(r2_linear_state(H, D, s2), r2_bound_any_state(H, D) / (1 + 12 * s2), rtol=1e-15)
    assert r2_linear_state(H + D, D, s2) == r2_linear_state(D, D, s2)


def test_best_one_dimensional_state_matches_a_grid_over_directions_and_the_heldout_bound():
    s2 = 0.2**2 / 20
    angles = np.linspace(0, np.pi, 721)
    grid = max(np.mean([r2_protocol_projection(np.array([[np.cos(a), np.sin(a)]]), s2, f) for f in ood_folds(2)])
               for a in angles)
    best = best_protocol_r2_linear_state(1, 2, s2, rng=0, restarts=3)
    # The grid spacing (0.25 degrees) costs at most O(spacing^2) ~ 1e-5 at a smooth maximum.
    np.testing.assert_allclose(best, grid, rtol=0, atol=1e-4)
    assert best >= grid - 1e-12
    assert best < min(r2_heldout_bound(1, f) for f in ood_folds(2))
    assert best < identifiable_ceiling(2, s2) - 0.5  # one dimension is far from enough


def test_enough_dimensions_give_the_identifiable_ceiling():
    assert best_protocol_r2_linear_state(5, 4, 0.002) == identifiable_ceiling(4, 0.002)
    assert r2_heldout_bound(4, ood_folds(4)[0]) == 1.0


@pytest.mark.parametrize("call, match", [
    (lambda: r2_bound_any_state(0, 2), "H=0"),
    (lambda: r2_linear_state(1, 0, 0.1), "D=0"),
    (lambda: r2_linear_state(1, 2, -0.1), "s2=-0.1"),
    (lambda: best_protocol_r2_linear_state(1, 2, 0.1, restarts=0), "restarts=0"),
])
def test_bad_capacity_arguments_raise_a_named_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
