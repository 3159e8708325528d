"""Optimal accuracy, cross-entropy and imperfect-output covariance (theory.accuracy)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import log_ndtr
from scipy.stats import norm

from theory.accuracy import (accuracy_from_scale, cross_entropy_from_scale, imperfect_output_covariance,
                             optimal_accuracy, optimal_cross_entropy)
from theory.designs import even_design, make_design, random_design

# Decision-noise sds tau from nearly noiseless to much wider than the cube.
scales = st.floats(1e-3, 1e2)


def accuracy_1d_exact(tau):
    """D = 1, c = 1, b = 0: E_u[Phi(|u| / tau)], u ~ U(-1/2, 1/2), by the antiderivative
    integral Phi(x / tau) dx = x Phi(x / tau) + tau phi(x / tau)."""
    h = 0.5
    return 2 * (h * norm.cdf(h / tau) + tau * (norm.pdf(h / tau) - norm.pdf(0.0)))


@given(tau=scales)
def test_accuracy_in_1d_equals_the_closed_form_antiderivative(tau):
    design = make_design([[1.0]])
    # Gauss-Legendre on polynomial pieces times an analytic factor: near machine precision.
    np.testing.assert_allclose(accuracy_from_scale(design, [tau]), accuracy_1d_exact(tau), rtol=1e-12)


def _phi_abs_antiderivative(z):
    """H(z) with H' = Phi(|z|), H(0) = 0: from G(z) = z Phi(z) + phi(z), G' = Phi."""
    G = lambda x: x * norm.cdf(x) + norm.pdf(x)  # noqa: E731
    return np.where(z >= 0, G(np.abs(z)) - G(0.0), -(G(np.abs(z)) - G(0.0)))


def accuracy_2d_iterated(c, tau):
    """E_x[Phi(|c . x| / tau)] over the unit square: the inner integral (along the coordinate with
    the larger |c_j|) in closed form via H, the outer one by adaptive quad split at the kinks."""
    j = int(np.argmax(np.abs(c)))
    k, other = abs(c[j]) / tau, c[1 - j] / tau  # the inner interval is symmetric, so use |c_j|

    def inner(x):
        return (_phi_abs_antiderivative(other * x + k / 2) - _phi_abs_antiderivative(other * x - k / 2)) / k

    kinks = [x for x in (-k / (2 * other), k / (2 * other)) if abs(x) < 0.5] if other else []
    value, _ = integrate.quad(inner, -0.5, 0.5, points=kinks or None, epsabs=1e-13, epsrel=1e-13, limit=200)
    return value


@pytest.mark.parametrize("ntask", [2, 3, 6])
@pytest.mark.parametrize("t", [1, 20, 1000])
def test_accuracy_of_the_even_design_matches_iterated_integration(ntask, t):
    design, sigma = even_design(ntask), 0.2
    tau = sigma / np.sqrt(t)  # unit normals
    want = np.mean([accuracy_2d_iterated(c, tau) for c in design.C])
    # Independent method (closed-form inner integral, adaptive outer quad at 1e-13): 1e-11.
    np.testing.assert_allclose(optimal_accuracy(design, sigma, t), want, rtol=0, atol=1e-11)


@pytest.mark.parametrize("tau, b", [(0.05, 0.0), (0.3, 0.2), (2.0, -0.1)])
def test_cross_entropy_in_1d_matches_nested_adaptive_quadrature(tau, b):
    design = make_design([[1.0]], [b])

    def expected_ce(u):
        m = abs(u + b) / tau
        inner, _ = integrate.quad(lambda xi: -log_ndtr(m + xi) * norm.pdf(xi), -np.inf, np.inf, epsabs=1e-13)
        return inner

    want, _ = integrate.quad(expected_ce, -0.5, 0.5, points=[-b], epsabs=1e-12, limit=200)
    # Independent nested quad vs Gauss-Hermite x Gauss-Legendre: agreement to the quad tolerance.
    np.testing.assert_allclose(cross_entropy_from_scale(design, [tau]), want, rtol=0, atol=1e-9)


@given(tau=st.floats(1e-3, 10.0), seed=st.integers(0, 2**32 - 1))
def test_accuracy_is_a_probability_between_chance_and_one(tau, seed):
    design = random_design(4, 3, seed)
    acc = accuracy_from_scale(design, np.full(4, tau))
    assert 0.5 <= acc <= 1.0


@given(sigma=st.floats(0.01, 2.0), t=st.integers(1, 200))
def test_accuracy_rises_and_cross_entropy_falls_with_more_evidence(sigma, t):
    design = even_design(3)
    acc = optimal_accuracy(design, sigma, [t, t + 1])
    ce = optimal_cross_entropy(design, sigma, [t, t + 1])
    assert acc[1] > acc[0] and ce[1] < ce[0]


def test_cross_entropy_tends_to_log2_and_accuracy_to_chance_when_evidence_is_useless():
    design = even_design(4)
    # tau = 1e6: Yhat = Phi(N(d/tau, 1)) is a uniform p, E[-log Phi(xi)] = 1 (not log 2!) and
    # accuracy 1/2 + O(E|d| / tau).
    np.testing.assert_allclose(optimal_accuracy(design, 1e6, 1), 0.5, atol=1e-6)
    np.testing.assert_allclose(optimal_cross_entropy(design, 1e6, 1), 1.0, atol=1e-6)


def test_accuracy_check_fails_for_a_wrong_noise_scale():
    # Using sigma instead of sigma |c_i| for non-unit normals is a wrong prediction: detectably off.
    design = make_design([[2.0, 0.0], [0.0, 3.0]])
    right = optimal_accuracy(design, 0.2, 20)
    wrong = accuracy_from_scale(design, np.full(2, 0.2 / np.sqrt(20)))
    assert abs(right - wrong) > 1e-3


def test_imperfect_output_covariance_is_two_over_N_for_the_even_design():
    # C^T C = (N/2) I for the even design, so (sigma^2/t) v (C^T C)^-1 = (2/N)(sigma^2/t) v I.
    for N in (2, 3, 6, 12, 24):
        design = even_design(N)
        np.testing.assert_allclose(imperfect_output_covariance(design, 0.2, 20, 0.5),
                                   (2 / N) * (0.04 / 20) * 0.5 * np.eye(2), rtol=1e-13,
                                   atol=1e-13 * 0.04 / 20)  # off-diagonal zeros: relative to the diagonal


@given(seed=st.integers(0, 2**32 - 1), v=st.floats(0.0, 5.0))
def test_imperfect_output_covariance_is_sigma2_v_over_t_times_inverse_gram_for_unit_normals(seed, v):
    design = random_design(7, 3, seed)
    want = (0.3**2 / 11) * v * np.linalg.inv(design.C.T @ design.C)
    np.testing.assert_allclose(imperfect_output_covariance(design, 0.3, 11, v), want,
                               rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("call, word", [
    (lambda: accuracy_from_scale(even_design(2), [0.1]), "scale"),
    (lambda: accuracy_from_scale(even_design(2), [0.1, -0.1]), "scale"),
    (lambda: optimal_accuracy(even_design(2), 0.2, 0), "t="),
    (lambda: optimal_accuracy(even_design(2), -0.2, 5), "sigma"),
    (lambda: imperfect_output_covariance(make_design([[1.0, 0.0]]), 0.2, 5, 1.0), "rank"),
    (lambda: imperfect_output_covariance(even_design(2), 0.2, 5, -1.0), "v="),
])
def test_accuracy_functions_reject_bad_input_naming_it(call, word):
    with pytest.raises(ValueError, match=word):
        call()
