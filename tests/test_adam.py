"""Adam (infra.adam) against an independent scalar implementation of Kingma & Ba's Algorithm 1."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.adam import adam_init, adam_step


def _scalar_adam(p, grads, lr, b1, b2, eps):
    """Algorithm 1 of Kingma & Ba (2015), one Python float at a time, eps after the square root."""
    m = v = 0.0
    for s, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**s)) / (math.sqrt(v / (1 - b2**s)) + eps)
    return p


@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 12),
       lr=st.floats(1e-4, 1e-1), b1=st.floats(0.0, 0.99), b2=st.floats(0.5, 0.9999))
def test_adam_matches_scalar_reference_implementation(seed, steps, lr, b1, b2):
    rng = np.random.default_rng(seed)
    p0 = rng.normal(size=(3, 4))
    grads = rng.normal(size=(steps, 3, 4))
    params, state = {"w": p0}, adam_init({"w": p0})
    for g in grads:
        params, state = adam_step(params, {"w": g}, state, lr, b1, b2, 1e-8)
    expected = np.vectorize(lambda i, j: _scalar_adam(p0[i, j], grads[:, i, j], lr, b1, b2, 1e-8))(
        *np.indices(p0.shape))
    # same float64 operations in the same order, vectorised: equal to a few ulps
    np.testing.assert_allclose(params["w"], expected, rtol=1e-14, atol=1e-15)
    assert state.step == steps


def test_first_adam_step_moves_each_parameter_by_lr_against_its_gradient_sign():
    """At s = 1, m^ = g and v^ = g^2, so the step is lr g / (|g| + eps) = lr sign(g) (1 - O(eps / |g|))."""
    g = np.array([3.0, -0.5, 1e-2])
    p, _ = adam_step({"w": np.zeros(3)}, {"w": g}, adam_init({"w": np.zeros(3)}), lr=0.01)
    # relative deviation eps / |g| <= 1e-8 / 1e-2 = 1e-6
    np.testing.assert_allclose(p["w"], -0.01 * np.sign(g), rtol=1e-6)


def test_adam_leaves_its_inputs_untouched_and_keeps_float32():
    p = {"w": np.ones(4, dtype=np.float32)}
    g = {"w": np.full(4, 0.5, dtype=np.float32)}
    state = adam_init(p)
    copies = (p["w"].copy(), g["w"].copy(), state.m["w"].copy())
    p1, s1 = adam_step(p, g, state)
    np.testing.assert_array_equal(p["w"], copies[0])
    np.testing.assert_array_equal(g["w"], copies[1])
    np.testing.assert_array_equal(state.m["w"], copies[2])
    assert p1["w"].dtype == np.float32 and s1.m["w"].dtype == np.float32 and s1.v["w"].dtype == np.float32


def test_adam_minimises_a_convex_quadratic():
    """On L = |w - w*|^2 / 2 Adam converges; after 2000 steps at lr 1e-2 it is within 1e-2 of w*
    (Adam's steps shrink with its oscillation around the minimum; 1e-2 = lr is its natural scale)."""
    target = np.array([0.3, -1.2, 2.0])
    p, s = {"w": np.zeros(3)}, adam_init({"w": np.zeros(3)})
    for _ in range(2000):
        p, s = adam_step(p, {"w": p["w"] - target}, s, lr=1e-2)
    np.testing.assert_allclose(p["w"], target, atol=1e-2)


def test_adam_rejects_gradients_that_do_not_match_the_parameters():
    p = {"w": np.zeros(2)}
    with pytest.raises(ValueError, match="grads keys"):
        adam_step(p, {"v": np.zeros(2)}, adam_init(p))
