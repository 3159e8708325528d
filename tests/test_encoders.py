"""The encoder f of theory.encoders: shapes, initialisation, Jacobian, stacking, invertibility."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from theory.encoders import (MLP_WIDTHS, Encoder, draw_encoder, encode, encoder_jacobian, invertibility,
                             stack_encoders)

#: central-difference step and tolerance (float64): truncation h^2 ~ 1e-12 (zero for the piecewise
#: linear ReLU away from kinks), rounding eps |f| / h ~ 1e-10; 1e-7 leaves margin, far below |J| ~ 0.1.
FD_STEP = 1e-6
FD_ATOL = 1e-7


def test_identity_encoder_returns_a_copy_of_its_input():
    X = np.arange(6.0).reshape(3, 2)
    F = encode(draw_encoder("identity", 2), X)
    np.testing.assert_array_equal(F, X)
    F[0, 0] = 99.0
    assert X[0, 0] == 0.0


@given(kind=st.sampled_from(["mlp", "quadratic"]), D=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_mlp_encoder_has_reference_widths_and_uniform_fan_in_init(kind, D, seed):
    f = draw_encoder(kind, D, rng=seed)
    assert [W.shape for W in f.weights] == [(D, 100), (100, 100), (100, 40)]
    assert f.out_dim == MLP_WIDTHS[-1]
    for W, b in zip(f.weights, f.biases):
        bound = 1 / np.sqrt(W.shape[0])
        assert np.all(np.abs(W) <= bound) and np.all(np.abs(b) <= bound)
    assert encode(f, np.zeros((2, 5, D))).shape == (2, 5, 40)


def test_same_seed_same_encoder_and_different_seeds_differ():
    a, b, c = (draw_encoder("mlp", 2, rng=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.weights[1], b.weights[1])
    assert not np.array_equal(a.weights[1], c.weights[1])


def test_quadratic_encoder_squares_the_hidden_layers():
    """A 1-unit quadratic net: f(x) = w3 (w2 (w1 x + b1)^2 + b2)^2 + b3, written out by hand."""
    W = (np.array([[0.5]]), np.array([[-2.0]]), np.array([[3.0]]))
    b = (np.array([0.1]), np.array([0.2]), np.array([-1.0]))
    f = Encoder("quadratic", W, b, 1)
    x = np.array([[0.7], [-0.3]])
    expected = 3.0 * (-2.0 * (0.5 * x + 0.1) ** 2 + 0.2) ** 2 - 1.0
    np.testing.assert_allclose(encode(f, x), expected, rtol=1e-15)


@given(kind=st.sampled_from(["mlp", "quadratic", "identity"]), D=st.integers(1, 3),
       seed=st.integers(0, 2**32 - 1))
def test_encoder_jacobian_matches_central_differences(kind, D, seed):
    f = draw_encoder(kind, D, rng=seed)
    x = np.random.default_rng(seed).uniform(-1, 1, (4, D))
    if kind == "mlp":   # ReLU kinks: keep points whose hidden pre-activations are clear of 0
        h, margin = x, np.inf
        for W, b in zip(f.weights[:-1], f.biases[:-1]):
            a = h @ W + b
            margin, h = min(margin, np.abs(a).min()), np.maximum(a, 0)
        assume(margin > 1e3 * FD_STEP)
    J = encoder_jacobian(f, x)
    numeric = np.stack([(encode(f, x + FD_STEP * e) - encode(f, x - FD_STEP * e)) / (2 * FD_STEP)
                        for e in np.eye(D)], axis=-1)
    np.testing.assert_allclose(J, numeric, atol=FD_ATOL)


def test_stacked_encoders_compute_exactly_what_each_encoder_computes():
    fs = [draw_encoder("mlp", 2, rng=s) for s in range(3)]
    X = np.random.default_rng(0).normal(size=(3, 4, 5, 2)).astype(np.float32)
    stacked = encode(stack_encoders(fs, np.float32), X, dtype=np.float32)
    for k, f in enumerate(fs):
        np.testing.assert_array_equal(stacked[k], encode(f, X[k], dtype=np.float32))


def test_invertibility_accepts_the_reference_encoders():
    for kind in ("identity", "mlp", "quadratic"):
        assert invertibility(draw_encoder(kind, 2, rng=0), rng=1, n_points=512).invertible


def test_invertibility_flags_an_encoder_that_ignores_a_coordinate():
    f = draw_encoder("mlp", 2, rng=0)
    W1 = f.weights[0].copy()
    W1[1] = 0.0                                  # f no longer depends on x2
    blind = Encoder("mlp", (W1,) + f.weights[1:], f.biases, 2)
    report = invertibility(blind, rng=1, n_points=512)
    assert not report.invertible
    assert report.min_singular == 0.0


def test_invertibility_flags_a_quadratic_encoder_that_is_even_in_x():
    """With zero first-layer biases, (W1 x)^2 = (W1 (-x))^2: f(x) = f(-x), a global collision."""
    f = draw_encoder("quadratic", 2, rng=0)
    even = Encoder("quadratic", f.weights, (np.zeros(100),) + f.biases[1:], 2)
    x = np.array([[0.3, -0.2]])
    np.testing.assert_allclose(encode(even, x), encode(even, -x), rtol=1e-14)
    report = invertibility(even, rng=1, n_points=512)
    assert not report.invertible
    assert report.min_ratio < 1e-12            # |f(x) - f(-x)| is rounding only
    assert invertibility(f, rng=1, n_points=512).min_ratio > 1e-3   # the drawn biases break the symmetry


@pytest.mark.parametrize("call, match", [
    (lambda: draw_encoder("cubic", 2), "encoder='cubic'"),
    (lambda: draw_encoder("mlp", 0), "D=0"),
    (lambda: encode(draw_encoder("mlp", 2, rng=0), np.zeros((3, 3))), "last dimension 3"),
    (lambda: encoder_jacobian(draw_encoder("mlp", 2, rng=0), np.zeros(2)), "x must have shape"),
    (lambda: stack_encoders([draw_encoder("mlp", 2, rng=0), draw_encoder("quadratic", 2, rng=0)]),
     "cannot stack"),
    (lambda: encode(stack_encoders([draw_encoder("mlp", 2, rng=0)] * 2), np.zeros((3, 4, 2))), "leading"),
])
def test_bad_input_is_rejected_with_a_message_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call()
