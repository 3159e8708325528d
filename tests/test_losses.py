"""Read-outs and losses of nets.losses: values against direct formulas, stability, gradients, weights."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nets.losses import loss_and_grad, pointwise_loss, readout

FD_STEP = 1e-6   # float64 central differences: error ~ eps / h + h^2 ~ 1e-10


# |z| <= 10: there the direct formula is itself accurate, its error being ~eps / min(p, 1 - p)
# <= 2.2e-16 e^10 ~ 5e-12 relative; the tails are tested separately below
@given(z=st.floats(-10, 10), y=st.floats(0, 1))
def test_bce_equals_the_direct_formula_and_its_derivative(z, y):
    ell, dl = pointwise_loss(np.array([z]), np.array([y]))
    p = 1 / (1 + np.exp(-z))
    direct = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    np.testing.assert_allclose(ell[0], direct, rtol=1e-10, atol=1e-12)
    num = (pointwise_loss(np.array([z + FD_STEP]), np.array([y]))[0]
           - pointwise_loss(np.array([z - FD_STEP]), np.array([y]))[0]) / (2 * FD_STEP)
    np.testing.assert_allclose(dl[0], num[0], atol=1e-8)


def test_bce_is_finite_far_in_the_tails():
    z = np.array([-800.0, 800.0])
    ell, dl = pointwise_loss(z, np.array([1.0, 0.0]))
    np.testing.assert_allclose(ell, [800.0, 800.0], rtol=1e-15)   # softplus(800) = 800 + log1p(e^-800)
    np.testing.assert_allclose(dl, [-1.0, 1.0])


def test_bce_with_target_one_half_is_at_least_log_2_with_equality_at_z_zero():
    z = np.linspace(-3, 3, 61)
    ell, _ = pointwise_loss(z, np.full_like(z, 0.5))
    assert np.all(ell >= np.log(2) - 1e-15)
    np.testing.assert_allclose(ell[30], np.log(2), rtol=1e-15)


@given(z=st.floats(-4, 4), y=st.floats(-5, 5))
def test_mse_tanh5_matches_direct_formula_and_derivative(z, y):
    ell, dl = pointwise_loss(np.array([z]), np.array([y]), "mse_tanh5")
    np.testing.assert_allclose(ell[0], (5 * np.tanh(z) - y) ** 2, rtol=1e-14, atol=1e-14)
    num = (pointwise_loss(np.array([z + FD_STEP]), np.array([y]), "mse_tanh5")[0]
           - pointwise_loss(np.array([z - FD_STEP]), np.array([y]), "mse_tanh5")[0]) / (2 * FD_STEP)
    np.testing.assert_allclose(dl[0], num[0], atol=1e-7)


def test_weighted_mean_is_taken_per_network_over_weighted_entries_only():
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(2, 3, 4)), rng.uniform(size=(2, 3, 4))
    w = np.zeros((2, 1, 4))
    w[0, :, :2] = 1
    w[1, :, 3] = 1
    L, dz = loss_and_grad(z, y, w)
    ell, dl = pointwise_loss(z, y)
    np.testing.assert_allclose(L, [ell[0, :, :2].mean(), ell[1, :, 3].mean()], rtol=1e-14)
    np.testing.assert_array_equal(dz[0, :, 2:], 0.0)
    np.testing.assert_allclose(dz[1, :, 3], dl[1, :, 3] / 3, rtol=1e-14)


def test_readouts_are_sigmoid_and_five_tanh():
    z = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(readout(z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    np.testing.assert_allclose(readout(z, "mse_tanh5"), 5 * np.tanh(z), rtol=1e-15)


@pytest.mark.parametrize("call, match", [
    (lambda: readout(np.zeros(2), "softmax"), "loss='softmax'"),
    (lambda: pointwise_loss(np.zeros(2), np.zeros(2), "hinge"), "loss='hinge'"),
    (lambda: loss_and_grad(np.zeros((1, 2)), np.zeros((1, 3)), 1.0), "same shape"),
    (lambda: loss_and_grad(np.zeros((2, 2)), np.zeros((2, 2)), np.array([[1.0], [0.0]])), "positive sum"),
    (lambda: loss_and_grad(np.zeros((1, 2)), np.zeros((1, 2)), -1.0), "weights must be >= 0"),
])
def test_bad_input_is_rejected_with_a_message_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call()
