"""Exact Bayes outputs under the uniform prior, against independent oracles."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import truncnorm

from optimal.agent import optimal_probits, outputs
from optimal.bayes import compare_with_flat_prior, exact_outputs
from theory.designs import even_design, labels, make_design, random_design


@given(st.floats(-0.7, 0.7), st.floats(0.01, 1.0), st.integers(1, 50), st.floats(-0.45, 0.45))
def test_one_dimensional_output_is_the_truncated_normal_tail(mu, sigma, t, b):
    """D = 1, c = 1: P(x > -b) with x ~ N(mu, sigma^2/t) truncated to [-1/2, 1/2] (scipy.stats oracle).

    Tolerance 1e-9: both are closed forms in float64; the oracle's CDF differences lose a few digits."""
    s = sigma / np.sqrt(t)
    oracle = truncnorm.sf(-b, (-0.5 - mu) / s, (0.5 - mu) / s, loc=mu, scale=s)
    got = exact_outputs(np.array([[mu]]), make_design([[1.0]], [b]), sigma, t)[0, 0]
    np.testing.assert_allclose(got, oracle, atol=1e-9)


@pytest.mark.parametrize("D, mu", [(2, [0.45, -0.3]), (2, [-0.52, 0.49]), (3, [0.4, -0.45, 0.1])])
def test_exact_outputs_match_rejection_sampling_of_the_posterior(D, mu):
    """Posterior = N(mu, s^2 I) restricted to the cube; 4e5 proposals, binomial SE, 5 SE allowed."""
    rng = np.random.default_rng(0)
    design = even_design(3) if D == 2 else random_design(4, 3, 1, offsets=True)
    sigma, t = 0.2, 20
    mu = np.array([mu])
    x = mu + sigma / np.sqrt(t) * rng.standard_normal((400_000, D))
    x = x[np.all(np.abs(x) <= 0.5, axis=1)]
    freq = labels(x, design).mean(axis=0)
    se = np.sqrt(np.maximum(freq * (1 - freq), 1 / len(x)) / len(x))
    np.testing.assert_array_less(np.abs(exact_outputs(mu, design, sigma, t)[0] - freq), 5 * se + 1e-12)


@given(st.floats(-0.6, 0.6), st.floats(-0.6, 0.6), st.floats(0.02, 0.5), st.integers(1, 40))
def test_flat_prior_error_is_bounded_by_the_posterior_mass_outside_the_cube(m1, m2, sigma, t):
    """|P_exact - P_flat| <= (1 - m) / m, m = flat-posterior mass inside the cube (derived:
    P_exact = E[f 1_cube] / m and P_flat = E[f 1_cube] + E[f 1_out], with 0 <= f <= 1).
    Tolerance 1e-9 for the quadrature."""
    from scipy.special import ndtr

    mu = np.array([[m1, m2]])
    s = sigma / np.sqrt(t)
    m = np.prod(ndtr((0.5 - mu) / s) - ndtr((-0.5 - mu) / s))
    diff = compare_with_flat_prior(mu, even_design(4), sigma, t)["max_abs_diff"]
    with np.errstate(divide="ignore"):  # m underflows to 0 far outside the cube: no bound then
        bound = (1 - m) / m
    assert diff <= bound + 1e-9


def test_flat_and_exact_agree_at_the_centre_and_differ_near_faces():
    design = even_design(4)
    g = np.linspace(-0.55, 0.55, 23)
    mu = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    report = compare_with_flat_prior(mu, design, 0.2, 20)
    centre = np.argmin(np.abs(mu).sum(axis=1))
    assert np.abs(report["diff"][centre]).max() < 1e-12
    assert report["max_abs_diff"] > 0.1 and report["face_distance"] < 0.1
    np.testing.assert_allclose(exact_outputs(mu[centre:centre + 1], design, 0.2, 20),
                               outputs(optimal_probits(mu[centre:centre + 1], design, 0.2, 20)), atol=1e-12)


def test_exact_outputs_reject_high_dimensions_and_bad_shapes():
    with pytest.raises(ValueError, match="D=4"):
        exact_outputs(np.zeros((1, 4)), random_design(4, 4, 0), 0.2, 20)
    with pytest.raises(ValueError, match="mu must have shape"):
        exact_outputs(np.zeros(2), even_design(3), 0.2, 20)
