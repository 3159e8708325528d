"""Calibration of network logits against the optimal probit z (analysis.calibration)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from analysis.calibration import calibrate, logit_slope, optimal_logits, optimal_probits
from optimal.estimates import matched_probits, matched_sigma, running_estimate
from optimal.trilateration import recover_mu_from_probits
from theory.noise import make_noise, sample_noise
from theory.designs import even_design
from theory.world import sample_latents

SIGMA, T = 0.2, 20


def _mu(K=2, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = sample_latents(rng, K * n, 2).reshape(K, n, 2)
    return x + SIGMA / np.sqrt(T) * rng.normal(size=x.shape)


def test_optimal_probits_invert_trilateration_exactly():
    design = even_design(6)
    mu = _mu()
    z = optimal_probits(mu, design, SIGMA, T)
    np.testing.assert_allclose(recover_mu_from_probits(z, design, SIGMA, T), mu, atol=1e-12)


@given(st.floats(-30, 30))
@settings(deadline=None, max_examples=50)
def test_optimal_logit_is_the_log_odds_of_phi(z):
    """Against 50-digit mpmath: log Phi(z) - log Phi(-z) (float64 log_ndtr is accurate to ~1e-14 relative)."""
    import mpmath
    with mpmath.workdps(50):
        expected = float(mpmath.log(mpmath.ncdf(z)) - mpmath.log(mpmath.ncdf(-z)))
    assert optimal_logits(z) == pytest.approx(expected, rel=1e-12, abs=1e-13)


def test_the_optimal_agents_own_logits_agree_exactly_and_calibrate_to_themselves():
    design = even_design(6)
    mu = _mu()
    logits = optimal_logits(optimal_probits(mu, design, SIGMA, T))
    cal = calibrate(logits, mu, design, SIGMA, T)
    np.testing.assert_allclose(cal.exact, 1.0, atol=1e-10)      # machine precision through log space
    assert cal.optimal == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(cal.logit_mean, cal.optimal_mean, rtol=1e-12)


def test_linearly_scaled_logits_recover_their_slope_and_calibrated_agreement_is_one():
    """l = a z (a network linear in z, e.g. an unsaturated logistic read-out): the fitted slope is a
    to machine precision, mu from l / a is exact, mu from the probit of s(l) is not."""
    design = even_design(4)
    mu = _mu()
    z = optimal_probits(mu, design, SIGMA, T)
    a = np.array([1.63, 0.9])
    cal = calibrate(a[:, None, None] * z, mu, design, SIGMA, T, n_bins=10)
    np.testing.assert_allclose(cal.slope, a, rtol=1e-12)
    np.testing.assert_allclose(cal.calibrated, 1.0, atol=1e-10)
    assert np.all(cal.exact < 0.999)
    np.testing.assert_allclose(cal.logit_mean, a[:, None] * cal.z_centre, rtol=1e-9, atol=1e-12)


def test_a_network_answering_backwards_has_no_calibrated_agreement():
    design = even_design(4)
    mu = _mu(2, 500)
    logits = optimal_logits(optimal_probits(mu, design, SIGMA, T)) * np.array([1.0, -1.0])[:, None, None]
    cal = calibrate(logits, mu, design, SIGMA, T)
    assert cal.slope[1] < 0 and np.isnan(cal.calibrated[1]) and cal.calibrated[0] == pytest.approx(1, abs=0.05)


def test_logit_slope_is_the_least_squares_slope_through_the_origin():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(3, 50, 4))
    logits = 1.5 * z + 0.1 * rng.normal(size=z.shape)
    expected = [np.linalg.lstsq(z[k].reshape(-1, 1), logits[k].ravel(), rcond=None)[0][0] for k in range(3)]
    np.testing.assert_allclose(logit_slope(logits, z), expected, rtol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: calibrate(np.zeros((1, 10, 3)), np.zeros((1, 10, 2)), even_design(4), SIGMA, T), "logits"),
    (lambda: calibrate(np.full((1, 10, 4), np.nan), np.zeros((1, 10, 2)), even_design(4), SIGMA, T), "finite"),
    (lambda: optimal_probits(np.zeros((5, 3)), even_design(4), SIGMA, T), "mu"),
    (lambda: optimal_probits(np.zeros((5, 2)), even_design(4), SIGMA, 0), "t="),
])
def test_bad_input_raises_value_error_naming_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_calibrate_with_a_per_axis_sigma_scores_the_anisotropic_optimal_agent_exactly():
    """Anisotropic noise sd (0.2, 0.4): the matched agent's logits agree exactly given the sigma vector;
    the same logits judged with the scalar 0.2 do not (the check fails on the wrong noise model)."""
    design = even_design(6)
    sigma = SIGMA * np.array([1.0, 2.0])
    rng = np.random.default_rng(3)
    x = sample_latents(rng, 2 * 3000, 2).reshape(2, 3000, 2)
    mu = x + sigma / np.sqrt(T) * rng.normal(size=x.shape)
    logits = optimal_logits(optimal_probits(mu, design, sigma, T))
    cal = calibrate(logits, mu, design, sigma, T)
    np.testing.assert_allclose(cal.exact, 1.0, atol=1e-10)      # machine precision through log space
    assert cal.optimal == pytest.approx(1.0, abs=1e-10)
    assert np.all(calibrate(logits, mu, design, SIGMA, T).exact < 1 - 1e-3)


def test_calibrate_with_the_matched_sigma_of_gls_scores_the_ar1_optimal_agent_exactly():
    design, a = even_design(4), 0.7
    rng = np.random.default_rng(4)
    x = sample_latents(rng, 2000, 2)
    X = x[:, None] + sample_noise(make_noise("ar1", SIGMA, 2, a), rng, 2000, T)
    mu, var = running_estimate(X, "ar1", SIGMA, ar1_a=a)
    mu, var = mu[None, :, -1], var[-1]
    logits = optimal_logits(matched_probits(mu, var, design))
    cal = calibrate(logits, mu, design, matched_sigma(var, T), T)
    np.testing.assert_allclose(cal.exact, 1.0, atol=1e-10)
    assert np.all(calibrate(logits, mu, design, SIGMA, T).exact < 1 - 1e-3)
