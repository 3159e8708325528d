"""Noise models and estimators (theory.noise): samplers, estimators and their closed-form variances."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimal.agent import running_mle
from theory.noise import estimate, estimator_variance, make_noise, sample_noise

#: Monte-Carlo agreement threshold for single comparisons: two-sided p ~ 6e-5 at a fixed seed.
K_SE = 4.0

# AR(1) coefficients bounded away from +-1: the closed forms divide by (1 - a)^2 and the process
# mixes slowly near the boundary.
ar1_coefficients = st.floats(-0.95, 0.95)


def ar1_correlation(t, a):
    """R_rs = a^|r - s|, the AR(1) correlation matrix of t consecutive samples."""
    lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
    return a**lag


@pytest.mark.parametrize("kwargs, word", [
    (dict(kind="pink", sigma=0.2, D=2), "noise"),
    (dict(kind="gaussian", sigma=-0.2, D=2), "sigma"),
    (dict(kind="gaussian", sigma=np.nan, D=2), "sigma"),
    (dict(kind="gaussian", sigma=0.0, D=2), "sigma"),
    (dict(kind="gaussian", sigma=[0.2, 0.4], D=2), "anisotropic"),
    (dict(kind="anisotropic", sigma=0.2, D=2), "anisotropic"),
    (dict(kind="anisotropic", sigma=[0.2, 0.4, 0.1], D=2), "sigma"),
    (dict(kind="ar1", sigma=0.2, D=2, a=1.0), "a=1.0"),
    (dict(kind="ar1", sigma=0.2, D=2, a=-1.5), "a=-1.5"),
    (dict(kind="gumbel", sigma=0.2, D=2, a=0.5), "a=0.5"),
    (dict(kind="gaussian", sigma=0.2, D=0), "D"),
])
def test_make_noise_rejects_bad_parameters_naming_them(kwargs, word):
    with pytest.raises(ValueError, match=word):
        make_noise(**kwargs)


@pytest.mark.parametrize("call, word", [
    (lambda m: estimate(m, np.zeros((3, 4))), "shape"),
    (lambda m: estimate(m, np.zeros((3, 4, 2)), "median"), "estimator"),
    (lambda m: estimate(m, np.zeros((3, 4, 2)), "gls"), "gls"),
    (lambda m: estimator_variance(m, 0), "t="),
    (lambda m: estimator_variance(m, 2.5), "t="),
    (lambda m: sample_noise(m, 0, 0, 5), "n_trials"),
])
def test_estimators_reject_bad_input_naming_it(call, word):
    with pytest.raises(ValueError, match=word):
        call(make_noise("gaussian", 0.2, D=2))


@pytest.mark.parametrize("kind, sigma, a", [("gaussian", 0.2, 0.0), ("ar1", 0.3, 0.7), ("gumbel", 0.2, 0.0)])
def test_same_seed_gives_identical_noise_and_different_seeds_differ(kind, sigma, a):
    m = make_noise(kind, sigma, D=2, a=a)
    np.testing.assert_array_equal(sample_noise(m, 5, 10, 7), sample_noise(m, 5, 10, 7))
    assert not np.array_equal(sample_noise(m, 5, 10, 7), sample_noise(m, 6, 10, 7))


def test_anisotropic_noise_has_the_per_coordinate_variances():
    m = make_noise("anisotropic", [0.2, 0.4], D=2)
    eps = sample_noise(m, 0, 20_000, 10).reshape(-1, 2)
    # SE of a sample variance of normals: sigma^2 sqrt(2 / (n - 1)).
    se = m.sigma**2 * np.sqrt(2.0 / (eps.shape[0] - 1))
    assert np.all(np.abs(eps.var(axis=0, ddof=1) - m.sigma**2) <= K_SE * se)


def test_ar1_noise_is_stationary_with_geometric_autocorrelation():
    m = make_noise("ar1", 0.3, D=1, a=0.7)
    eps = sample_noise(m, 1, 40_000, 6)[:, :, 0]  # (n, T): independent trials, correlated steps
    n = eps.shape[0]
    # Every step has variance sigma^2 (stationary from the first step): SE sigma^2 sqrt(2/(n-1)).
    var = eps.var(axis=0, ddof=1)
    assert np.all(np.abs(var - m.sigma[0] ** 2) <= K_SE * m.sigma[0] ** 2 * np.sqrt(2.0 / (n - 1)))
    # Lag-k covariance sigma^2 a^k; per-trial products are i.i.d., SE from their sd.
    for lag in (1, 2, 3):
        prod = eps[:, 0] * eps[:, lag]
        assert abs(prod.mean() - m.sigma[0] ** 2 * m.a**lag) <= K_SE * prod.std(ddof=1) / np.sqrt(n)


def test_gumbel_noise_has_mean_euler_gamma_beta_and_variance_pi2_beta2_over_6():
    m = make_noise("gumbel", 0.25, D=1)
    eps = sample_noise(m, 2, 50_000, 4).ravel()
    se_mean = eps.std(ddof=1) / np.sqrt(eps.size)
    assert abs(eps.mean() - m.mean[0]) <= K_SE * se_mean
    # SE of the sample variance from the i.i.d. squared deviations.
    dev2 = (eps - eps.mean()) ** 2
    assert abs(dev2.mean() - m.step_variance[0]) <= K_SE * dev2.std(ddof=1) / np.sqrt(eps.size)


def test_sample_mean_estimator_is_the_running_mle_for_gaussian_noise():
    m = make_noise("gaussian", 0.2, D=3)
    X = np.random.default_rng(0).standard_normal((5, 8, 3))
    # Identity up to rounding: both are cumsum / t.
    np.testing.assert_allclose(estimate(m, X), running_mle(X), rtol=0, atol=1e-15)


def test_sample_mean_estimator_removes_the_known_gumbel_mean():
    m = make_noise("gumbel", 0.3, D=2)
    X = np.ones((2, 3, 2))
    np.testing.assert_allclose(estimate(m, X), 1.0 - np.euler_gamma * 0.3, rtol=0, atol=1e-15)


def test_estimate_does_not_mutate_its_input():
    m = make_noise("ar1", 0.2, D=2, a=0.5)
    X = np.random.default_rng(1).standard_normal((4, 6, 2))
    before = X.copy()
    estimate(m, X, "gls")
    np.testing.assert_array_equal(X, before)


@given(a=ar1_coefficients, T=st.integers(1, 12))
def test_gls_estimator_equals_explicit_generalised_least_squares_for_every_prefix(a, T):
    m = make_noise("ar1", 1.0, D=1, a=a)
    X = np.random.default_rng(3).standard_normal((2, T, 1))
    got = estimate(m, X, "gls")[:, :, 0]
    for t in range(1, T + 1):
        w = np.linalg.solve(ar1_correlation(t, a), np.ones(t))
        want = X[:, :t, 0] @ w / w.sum()
        # Two different float64 evaluations of the same linear map, conditioning <= (1+a)/(1-a) ~ 40.
        np.testing.assert_allclose(got[:, t - 1], want, rtol=1e-11, atol=1e-12)


@given(a=ar1_coefficients, t=st.integers(1, 200))
def test_ar1_sample_mean_variance_matches_the_double_sum(a, t):
    m = make_noise("ar1", 1.0, D=1, a=a)
    brute = ar1_correlation(t, a).sum() / t**2
    # The closed form cancels terms of size ~ t / (1 - a)^2 to get a result >= ~(1-|a|)/t: bound
    # the rounding error by 8 eps t / ((1 - a)^2 * result).
    rtol = 8 * np.finfo(float).eps * t / ((1 - a) ** 2 * brute)
    np.testing.assert_allclose(estimator_variance(m, t)[0], brute, rtol=max(rtol, 1e-13))


@given(a=ar1_coefficients, t=st.integers(1, 200))
def test_ar1_gls_variance_is_the_inverse_gls_precision(a, t):
    m = make_noise("ar1", 1.0, D=1, a=a)
    precision = np.linalg.solve(ar1_correlation(t, a), np.ones(t)).sum()
    # numpy's solve is backward stable; cond(R) <= (1+|a|)/(1-|a|) <= 39 here.
    np.testing.assert_allclose(estimator_variance(m, t, "gls")[0], 1.0 / precision, rtol=1e-11)


@given(a=ar1_coefficients, t=st.integers(1, 500))
def test_gls_never_does_worse_than_the_sample_mean(a, t):
    m = make_noise("ar1", 0.2, D=1, a=a)
    # Gauss-Markov: GLS is the best linear unbiased estimator; 1e-12 relative slack for rounding.
    assert estimator_variance(m, t, "gls")[0] <= estimator_variance(m, t, "mean")[0] * (1 + 1e-12)
