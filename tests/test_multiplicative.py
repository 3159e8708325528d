"""Multiplicative-boundary variant (theory.multiplicative; outside Theorem 3.1): labels against the
reference's rule, posterior probabilities against adaptive 2-D integration, mpmath, limits and a
Monte-Carlo twin."""
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import norm

from theory.multiplicative import (BLOCK_SIGNS, label_probability, label_probability_mc, multiplicative_labels,
                                   reference_thresholds)

K_SE = 4.0
#: Composite Gauss-Legendre against adaptive integration asked for 1e-13: both near 1e-15.
QUAD_ATOL = 1e-12


def reference_rule(x, thr):
    """The reference's per-trial rule, written independently (sign tests, not block signs)."""
    K = len(thr)
    y = np.zeros(4 * K, dtype=bool)
    x1, x2 = x
    if x1 > 0 and x2 > 0:
        y[:K] = x1 * x2 > thr
    elif x1 < 0 and x2 > 0:
        y[K:2 * K] = x1 * x2 < -thr
    elif x1 < 0 and x2 < 0:
        y[2 * K:3 * K] = x1 * x2 > thr
    elif x1 > 0 and x2 < 0:
        y[3 * K:] = x1 * x2 < -thr
    return y


def test_reference_thresholds_are_a_fifth_of_the_linspace_from_one_over_2n_to_one():
    np.testing.assert_allclose(reference_thresholds(4), [0.2 / 8])
    np.testing.assert_allclose(reference_thresholds(12), 0.2 * np.array([1 / 24, (1 / 24 + 1) / 2, 1]))


def test_labels_follow_the_reference_rule_trial_by_trial():
    thr = reference_thresholds(12)
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2000, 2))
    want = np.array([reference_rule(xi, thr) for xi in x])
    np.testing.assert_array_equal(multiplicative_labels(x, thr), want)
    assert want.any(axis=0).all()  # every task is on somewhere: the comparison is not vacuous


#: Adaptive 2-D integration takes ~2 s a case, so these run with -m slow; the default run checks
#: the same probabilities against an mpmath 1-D integral (independent of the split at (r, r)),
#: the thr = 0 closed form and the Monte-Carlo twin.
DBLQUAD_CASES = [((0.04, 0.1), 0), ((0.1, 0.2), 0), ((-0.3, 0.05), 1), ((0.02, -0.01), 3)]


@pytest.mark.slow
@pytest.mark.parametrize("mu, block", DBLQUAD_CASES)
def test_label_probability_matches_adaptive_two_dimensional_integration(mu, block):
    # The region u = a x1 > 0, v = b x2 > thr / u, integrated over the +-10 s window of the
    # posterior (mass outside < 1e-22), with the hyperbola as the inner lower limit.
    s, thr = 0.2 / np.sqrt(20), reference_thresholds(8)
    p = label_probability(np.array([mu]), s, thr)[0]
    a, b = BLOCK_SIGNS[block]
    m1, m2 = a * mu[0], b * mu[1]
    dens = lambda v, u: norm.pdf(u, m1, s) * norm.pdf(v, m2, s)
    for k, th in enumerate(thr):
        want, _ = integrate.dblquad(dens, max(m1 - 10 * s, 1e-12), m1 + 10 * s,
                                    lambda u, th=th: max(th / u, m2 - 10 * s),
                                    lambda u, th=th: max(th / u, m2 + 10 * s),
                                    epsabs=1e-14, epsrel=1e-13)
        np.testing.assert_allclose(p[block * len(thr) + k], want, rtol=0, atol=QUAD_ATOL)


@pytest.mark.parametrize("mu, block, th", [((0.15, 0.12), 0, 0.02), ((0.04, 0.1), 0, 0.005),
                                           ((-0.2, 0.1), 1, 0.03), ((0.1, -0.3), 3, 0.05)])
@mpmath.workdps(30)
def test_label_probability_matches_an_mpmath_one_dimensional_integral(mu, block, th):
    s = 0.2 / np.sqrt(20)
    a, b = BLOCK_SIGNS[block]
    m1, m2 = a * mu[0], b * mu[1]
    f = lambda u: mpmath.npdf(u, m1, s) * mpmath.ncdf((m2 - th / u) / s)  # u = a x1 > 0, P(b x2 > thr / u | u)
    want = mpmath.quad(f, [0] + [m1 + k * s for k in (-3, 0, 3) if m1 + k * s > 0] + [mpmath.inf])
    got = label_probability(np.array([mu]), s, [th])[0, block]
    np.testing.assert_allclose(got, float(want), rtol=0, atol=1e-15)


@given(m1=st.floats(-0.6, 0.6), m2=st.floats(-0.6, 0.6), s=st.floats(0.01, 0.5))
def test_zero_threshold_gives_the_quadrant_probability(m1, m2, s):
    p = label_probability(np.array([[m1, m2]]), s, [0.0])[0]
    want = [norm.cdf(a * m1 / s) * norm.cdf(b * m2 / s) for a, b in BLOCK_SIGNS]
    np.testing.assert_allclose(p, want, rtol=0, atol=1e-14)


@given(m1=st.floats(-0.5, 0.5), m2=st.floats(-0.5, 0.5), s=st.floats(0.01, 0.3))
def test_probabilities_are_symmetric_and_fall_with_the_threshold(m1, m2, s):
    thr = np.array([0.005, 0.02, 0.08])
    p = label_probability(np.array([[m1, m2], [m2, m1], [-m1, m2]]), s, thr).reshape(3, 4, 3)
    # Swapping x1 and x2 leaves Q1 and Q3 and exchanges Q2 with Q4; mirroring x1 swaps Q1 <-> Q2, Q3 <-> Q4.
    np.testing.assert_allclose(p[1], p[0][[0, 3, 2, 1]], rtol=0, atol=1e-14)
    np.testing.assert_allclose(p[2], p[0][[1, 0, 3, 2]], rtol=0, atol=1e-14)
    assert np.all(np.diff(p[0], axis=-1) <= 1e-15)
    assert np.all(p.sum(axis=1) <= 1 + 1e-12)  # the four quadrants are disjoint


def test_small_noise_outputs_tend_to_the_hard_labels():
    x = np.random.default_rng(2).uniform(-0.5, 0.5, (500, 2))
    thr = reference_thresholds(12)
    x = x[np.min(np.abs(np.abs(x[:, :1] * x[:, 1:]) - thr), axis=1) > 0.01]  # away from the hyperbolas
    x = x[np.min(np.abs(x), axis=1) > 0.01]
    np.testing.assert_allclose(label_probability(x, 1e-3, thr), multiplicative_labels(x, thr), rtol=0, atol=1e-12)


def test_label_probability_matches_its_monte_carlo_twin():
    mu = np.random.default_rng(3).uniform(-0.5, 0.5, (40, 2))
    s, thr, n = 0.2 / np.sqrt(20), reference_thresholds(12), 20_000
    p = label_probability(mu, s, thr)
    p_mc, _ = label_probability_mc(mu, s, thr, 4, n)
    se = np.sqrt(p * (1 - p) / n) + 1.0 / n  # binomial SE from the quadrature value, floored at one draw
    assert np.all(np.abs(p_mc - p) < K_SE * se)
    # A wrong prediction (outputs ignoring the noise: the hard labels) is rejected by the twin.
    assert np.any(np.abs(p_mc - multiplicative_labels(mu, thr)) > K_SE * se)


def test_monte_carlo_twin_is_reproducible_from_its_seed():
    mu, thr = np.array([[0.1, 0.1]]), reference_thresholds(4)
    np.testing.assert_array_equal(label_probability_mc(mu, 0.1, thr, 9, 100)[0],
                                  label_probability_mc(mu, 0.1, thr, 9, 100)[0])


@pytest.mark.parametrize("call, match", [
    (lambda: reference_thresholds(6), "ntask=6"),
    (lambda: reference_thresholds(0), "ntask=0"),
    (lambda: multiplicative_labels(np.zeros((3, 3)), [0.1]), "shape"),
    (lambda: multiplicative_labels(np.zeros((3, 2)), [-0.1]), "thresholds="),
    (lambda: label_probability(np.zeros((3, 2)), 0.0, [0.1]), "s=0.0"),
    (lambda: label_probability(np.zeros(2), 0.1, [0.1]), "shape"),
    (lambda: label_probability_mc(np.zeros((1, 2)), 0.1, [0.1], 0, 1), "n_samples=1"),
])
def test_bad_multiplicative_arguments_raise_a_named_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
