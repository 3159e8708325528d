"""Tests of analysis.optimality: trilateration of sigmoid outputs and trial-by-trial comparison."""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import expit, log_ndtr, ndtr

from optimal.agent import optimal_probits
from theory.designs import even_design, random_design
from theory.world import LATENT_VARIANCE, sample_evidence, sample_latents
from analysis.optimality import (_sigmoid_probit_gap, decode_mu, log_sigmoid_outputs,
                               probits_from_logits, sigmoid_probit_slope, trial_optimality)

EPS = np.finfo(float).eps
SIGMA, T = 0.2, 20


def _optimal_logits(z):
    """Logits l with s(l) = Phi(z) exactly: l = log Phi(z) - log Phi(-z) (log-odds)."""
    return log_ndtr(z) - log_ndtr(-z)


def _trials(seed, n, design, t=T, sigma=SIGMA):
    rng = np.random.default_rng(seed)
    x = sample_latents(rng, n, design.D)
    mu = sample_evidence(rng, x, t, sigma).mean(axis=1)
    return x, mu


def test_sigmoid_probit_slope_is_a_stationary_minimum_of_the_squared_gap():
    a = sigmoid_probit_slope()
    # Independent condition: d/da int (s(z) - Phi(a z))^2 dz = -2 int (s - Phi(a z)) z phi(a z) dz = 0.
    grad, _ = integrate.quad(lambda z: (expit(z) - ndtr(a * z)) * z * np.exp(-0.5 * (a * z) ** 2),
                             -np.inf, np.inf, epsabs=1e-13)
    assert abs(grad) < 1e-8  # quadrature accuracy ~1e-12 times a curvature of O(1)
    # Strictly a minimum: the gap grows on both sides by a step of 1e-3.
    assert _sigmoid_probit_gap(a - 1e-3) > _sigmoid_probit_gap(a) < _sigmoid_probit_gap(a + 1e-3)


@given(z=st.floats(-35.0, 35.0))
@example(z=0.0).via("the midpoint, s = 1/2")
@example(z=30.0).via("Phi(30) rounds to 1 in float64; the log-odds do not")
def test_probit_of_sigmoid_inverts_the_log_odds_of_phi(z):
    # l = logit(Phi(z)) carries rounding ~eps |l| ~ eps z^2 / 2; dz/dl ~ 1/|z| in the tail, so the
    # round trip is good to ~eps (1 + |z|); 64 eps allows for log1p/logaddexp and ndtri_exp.
    out = probits_from_logits(_optimal_logits(np.array(z)))
    np.testing.assert_allclose(out, z, rtol=0, atol=64 * EPS * (1 + abs(z)))


def test_log_sigmoid_outputs_sum_to_one_in_probability():
    logit = np.array([-800.0, -30.0, -1.0, 0.0, 2.5, 40.0, 800.0])
    log_p, log_q = log_sigmoid_outputs(logit)
    np.testing.assert_allclose(np.logaddexp(log_p, log_q), 0.0, atol=4 * EPS)
    np.testing.assert_allclose(log_p - log_q, logit, rtol=4 * EPS)  # log-odds are the logit itself


@pytest.mark.parametrize("design", [even_design(6), random_design(9, 3, 1)], ids=["even6", "random9x3"])
def test_optimal_network_outputs_recover_mu_trial_by_trial(design):
    x, mu = _trials(0, 2000, design)
    z = optimal_probits(mu, design, SIGMA, T)
    logits = np.stack([_optimal_logits(z), _optimal_logits(z)])  # K = 2 identical optimal nets
    res = trial_optimality(logits, mu, x, design, SIGMA, T)
    # Trilateration is exact up to rounding: |z| <~ 30 here, conditioning of C ~ 1.
    assert np.all(res.rmse_mu < 1e-12)
    np.testing.assert_allclose(res.r2_mu, 1.0, atol=1e-20)  # = 1 - 12 rmse^2 with rmse < 1e-12
    np.testing.assert_allclose(res.r2_xstar, res.r2_optimal, atol=1e-12)
    # The optimal agent's own score sits at the ceiling within Monte-Carlo error:
    # SE of the pooled MSE from its per-trial values.
    sq = ((mu - x) ** 2).mean(axis=1)
    se = sq.std() / np.sqrt(sq.size) / LATENT_VARIANCE
    assert abs(res.r2_optimal - res.ceiling) < 4 * se
    np.testing.assert_allclose(res.ceiling, 1 - 12 * SIGMA**2 / T, rtol=1e-15)


def test_imperfect_outputs_lose_r2_as_predicted_by_probit_noise():
    # Probit errors e ~ N(0, v) i.i.d.: mu_hat - mu = (sigma / sqrt t) C^+ e, per-coordinate
    # variance (sigma^2 / t) v (C^T C)^-1 = (sigma^2 / t) v (2 / N) for the even design (docs/theory.md §3).
    design, v, n = even_design(4), 0.5, 20_000
    x, mu = _trials(1, n, design)
    e = np.sqrt(v) * np.random.default_rng(2).standard_normal((n, design.ntask))
    z = optimal_probits(mu, design, SIGMA, T) + e
    res = trial_optimality(_optimal_logits(z)[None], mu, x, design, SIGMA, T)
    per_coord = SIGMA**2 / T * v * 2 / design.ntask
    predicted = 1 - per_coord / LATENT_VARIANCE
    # The pooled MSE averages 2n squared Gaussians of variance per_coord: SE = per_coord sqrt(2/(2n)).
    se = per_coord * np.sqrt(1.0 / n) / LATENT_VARIANCE
    assert abs(res.r2_mu[0] - predicted) < 4 * se
    # A check fed the wrong prediction (the perfect agent's r^2 = 1) fails.
    assert abs(res.r2_mu[0] - 1.0) > 4 * se


def test_networks_with_their_own_noise_draws_are_compared_with_their_own_mu():
    design = even_design(3)
    x, mu0 = _trials(6, 300, design)
    _, mu1 = _trials(7, 300, design)
    mu = np.stack([mu0, mu1])  # (K, n, D): each network saw a different noise draw
    logits = _optimal_logits(optimal_probits(mu, design, SIGMA, T))
    res = trial_optimality(logits, mu, x, design, SIGMA, T)
    assert res.r2_mu.shape == res.r2_optimal.shape == (2,)
    np.testing.assert_allclose(res.r2_xstar, res.r2_optimal, atol=1e-12)  # exact recovery, ~eps
    swapped = trial_optimality(logits, mu[::-1], x, design, SIGMA, T)  # mismatched noise: not optimal
    assert np.all(swapped.r2_mu < 1 - 0.5 * 12 * SIGMA**2 / T)  # E|mu0 - mu1|^2 = 2 s2 per coord


def test_trial_check_flags_a_network_decoded_with_the_wrong_noise_level():
    design = even_design(6)
    x, mu = _trials(3, 2000, design)
    logits = _optimal_logits(optimal_probits(mu, design, SIGMA, T))[None]
    res = trial_optimality(logits, mu, x, design, 2 * SIGMA, T)  # decoder assumes sd 0.4
    # mu_hat = 2 mu, so r^2(mu_hat, mu) = 1 - E|mu|^2 / D / (1/12) ~ 1 - (1/12 + s2) 12 < 0.
    assert res.r2_mu[0] < 0.0


def test_linear_method_inverts_logits_scaled_by_the_fitted_slope():
    design = even_design(3)
    x, mu = _trials(4, 500, design)
    z = optimal_probits(mu, design, SIGMA, T)
    mu_hat = decode_mu(z / sigmoid_probit_slope(), design, SIGMA, T, method="linear")
    np.testing.assert_allclose(mu_hat, mu, rtol=0, atol=1e-13)  # linear algebra only, ~100 eps


def test_decode_mu_accepts_one_t_per_time_step():
    design = even_design(2)
    rng = np.random.default_rng(5)
    X = sample_evidence(rng, sample_latents(rng, 50, 2), 10, SIGMA)
    mu_t = np.cumsum(X, axis=1) / np.arange(1, 11)[:, None]
    t = np.arange(1, 11)
    logits = _optimal_logits(optimal_probits(mu_t, design, SIGMA, t))
    np.testing.assert_allclose(decode_mu(logits, design, SIGMA, t), mu_t, rtol=0, atol=1e-13)


@pytest.mark.parametrize("call, match", [
    (lambda: decode_mu(np.zeros((5, 3)), even_design(2), SIGMA, T), "ntask=2"),
    (lambda: decode_mu(np.zeros((5, 2)), even_design(2), SIGMA, T, method="tanh"), "method"),
    (lambda: decode_mu(np.full((5, 2), np.nan), even_design(2), SIGMA, T), "finite"),
    (lambda: decode_mu(np.zeros((5, 2)), even_design(2), -0.1, T), "sigma"),
    (lambda: decode_mu(np.zeros((5, 2)), even_design(2), SIGMA, 0), "t must"),
    (lambda: trial_optimality(np.zeros((4, 2)), np.zeros((5, 2)), np.zeros((5, 2)), even_design(2), SIGMA, T),
     "share n"),
    (lambda: trial_optimality(np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 3)), even_design(2), SIGMA, T),
     "x_star"),
    (lambda: trial_optimality(np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 2)), even_design(2), SIGMA, [1, 2]),
     "scalar"),
])
def test_bad_input_raises_value_error_naming_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()
