"""The Bayes bound under each noise model (theory.bayes_noise) against its Monte-Carlo twin (theory.bayes_montecarlo).

The twin integrates the whole evidence stream's likelihood on a grid (AR(1): the t x t covariance inverted
numerically), so agreement with the closed forms confirms the sufficient statistics (the GLS mean for AR(1),
S = sum exp(-X / beta) for Gumbel) as well as the quadratures. Tolerance: k = family_k(K, ALPHA) computed SEs
for the K comparisons of a test; each "wrong value" test asserts the twin rejects it at the same k.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import polygamma

import theory.bayes_noise as bn
from theory.bayes_bound import r2_bayes, sufficient_variance
from theory.bayes_montecarlo import mc_r2_bayes
from theory.bayes_noise import bayes_mse_noise, gumbel_interval_mse, r2_bayes_noise
from theory.folds import Fold, ood_folds
from theory.noise import estimator_variance, make_noise
from analysis.estimates import family_k

EPS = np.finfo(float).eps
ALPHA = 1e-3

NOISES = {
    "gaussian": make_noise("gaussian", 0.2, 2),
    "anisotropic": make_noise("anisotropic", [0.2, 0.4], 2),
    "ar1": make_noise("ar1", 0.2, 2, a=0.7),
    "gumbel": make_noise("gumbel", 0.2, 2),
}
CASES = [(name, fold, norm) for name in NOISES for fold, norm in ((None, "fullrange"), (ood_folds(2)[3], "heldout"))]


@pytest.mark.parametrize("name, fold, norm", CASES, ids=lambda c: getattr(c, "name", c))
def test_twin_agrees_with_the_bound_for_every_noise_model(name, fold, norm):
    mc = mc_r2_bayes(NOISES[name], 20, 1500, 7, fold, norm, grid_size=100)
    assert abs(mc.z_score(r2_bayes_noise(NOISES[name], 20, fold, norm))) <= family_k(len(CASES), ALPHA)


def test_gaussian_kinds_reduce_to_the_box_bound_at_the_sufficient_variance():
    for name in ("gaussian", "anisotropic", "ar1"):
        v = sufficient_variance(NOISES[name], 20)
        assert r2_bayes_noise(NOISES[name], 20) == r2_bayes(v)
    np.testing.assert_allclose(sufficient_variance(NOISES["ar1"], 20), estimator_variance(NOISES["ar1"], 20, "gls"),
                               rtol=0)


def test_twin_rejects_the_ar1_bound_at_the_sample_means_variance():
    # The sample mean is not sufficient under AR(1) noise; a bound computed from its variance is too low.
    model = NOISES["ar1"]
    mc = mc_r2_bayes(model, 20, 40_000, 3, grid_size=200)
    k = family_k(2, ALPHA)
    assert abs(mc.z_score(r2_bayes_noise(model, 20))) <= k
    assert abs(mc.z_score(r2_bayes(estimator_variance(model, 20, "mean")))) > k


def test_twin_rejects_the_gaussian_bound_at_the_gumbel_means_variance():
    # Gumbel noise: the best estimator is not a function of the sample mean; treating the mean as a Gaussian
    # statistic of variance pi^2 beta^2 / (6 t) undershoots the bound by ~0.013 at beta 0.2, t 20.
    model = NOISES["gumbel"]
    mc = mc_r2_bayes(model, 20, 1500, 4, grid_size=100)
    k = family_k(2, ALPHA)
    assert abs(mc.z_score(r2_bayes_noise(model, 20))) <= k
    assert abs(mc.z_score(r2_bayes(estimator_variance(model, 20)))) > k


@settings(max_examples=6)  # each example is a fresh 2-D quadrature
@given(beta=st.floats(0.1, 2.0), t=st.integers(1, 30))
def test_gumbel_bound_exceeds_the_linear_lines_on_the_flat_prior_estimates(beta, t):
    # Least-squares decoders on the sample mean (error variance pi^2 beta^2 / (6 t)) and on the flat-prior
    # posterior mean beta [psi(t) - log S] (error variance beta^2 psi'(t), independent of x*) are estimators;
    # the posterior mean under the box prior minimises the MSE over the prior.
    bayes = r2_bayes_noise(make_noise("gumbel", beta, 1), t)
    for v in (np.pi**2 * beta**2 / (6 * t), beta**2 * float(polygamma(1, t))):
        assert bayes >= 1 - 12 * v / (1 + 12 * v) - 1e-12


@pytest.mark.parametrize("beta, t", [(0.2, 20), (1.0, 1), (0.1, 3)])
def test_gumbel_quadrature_is_unchanged_when_nodes_and_panels_double(beta, t, monkeypatch):
    base = gumbel_interval_mse(beta, t, 0.0, 0.5)
    gumbel_interval_mse.cache_clear()
    monkeypatch.setattr(bn, "NODES", 2 * bn.NODES)
    monkeypatch.setattr(bn, "PER_SD", 2 * bn.PER_SD)
    # A few thousand positive terms summed: 1e-12 relative.
    np.testing.assert_allclose(gumbel_interval_mse(beta, t, 0.0, 0.5), base, rtol=1e-12)
    gumbel_interval_mse.cache_clear()


def test_gumbel_folds_are_mirror_images_only_in_pairs():
    # Gumbel noise is skewed: reflection x -> -x is not a symmetry, so Q1 and Q3 differ, while Q2 and Q4
    # (one upper, one lower coordinate each) are exchanged by swapping the coordinates.
    model = NOISES["gumbel"]
    q = {f.name: r2_bayes_noise(model, 20, f) for f in ood_folds(2)}
    assert abs(q["Q1"] - q["Q3"]) > 1e-5
    np.testing.assert_allclose(q["Q2"], q["Q4"], rtol=0, atol=8 * EPS)
    # The whole cube is the mean of the quadrants (equal-probability partition), with the full-range normalisation.
    np.testing.assert_allclose(np.mean(list(q.values())), r2_bayes_noise(model, 20), rtol=0, atol=8 * EPS)


@pytest.mark.parametrize("call, name", [
    (lambda: r2_bayes_noise("gumbel", 20), "model"),
    (lambda: r2_bayes_noise(NOISES["gumbel"], 0), "t"),
    (lambda: gumbel_interval_mse(-1.0, 20, 0.0, 0.5), "beta"),
    (lambda: gumbel_interval_mse(0.2, 20, 0.0, 0.7), "lo, hi"),
    (lambda: sufficient_variance(NOISES["gumbel"], 20), "gumbel"),
    (lambda: bayes_mse_noise(NOISES["gaussian"], 20, Fold("orthant", 0, 3)), "fold"),
    (lambda: mc_r2_bayes(NOISES["gaussian"], 20, 100, 0, grid_size=20), "grid_size"),
    (lambda: mc_r2_bayes(NOISES["gaussian"], 20, 1, 0), "n_trials"),
])
def test_bad_arguments_raise_value_errors_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.slow
@pytest.mark.parametrize("name, fold, norm", CASES, ids=lambda c: getattr(c, "name", c))
def test_twin_with_many_trials_agrees_with_the_bound_for_every_noise_model(name, fold, norm):
    # 5e4 trials: SE ~ 1.5e-4 (whole cube, sigma 0.2), a tenth of the Gumbel and AR(1) gaps to the linear lines.
    mc = mc_r2_bayes(NOISES[name], 20, 50_000, 2027, fold, norm, grid_size=100)
    assert abs(mc.z_score(r2_bayes_noise(NOISES[name], 20, fold, norm))) <= family_k(len(CASES), ALPHA)
