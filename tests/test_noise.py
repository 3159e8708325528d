"""Noise models and estimators (theory.noise): samplers, estimators and their closed-form variances."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimal.agent import running_mle
from scipy.special import psi

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


# --- the flat-prior posterior mean (the optimal agent's estimate) ---------------------------------

def gumbel_log_posterior(x, X, beta):
    """log p(x | X) + const under a flat prior, summed with scipy's Gumbel density (independent of the
    closed form's algebra)."""
    from scipy.stats import gumbel_r
    return float(np.sum(gumbel_r.logpdf(X, loc=x, scale=beta)))


@given(beta=st.floats(0.05, 2.0), t=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
def test_gumbel_posterior_mean_and_variance_equal_the_numerically_integrated_posterior(beta, t, seed):
    from scipy.integrate import quad
    from scipy.optimize import minimize_scalar
    m = make_noise("gumbel", beta, D=1)
    X = 0.3 + sample_noise(m, seed, 1, t)                                   # (1, t, 1)
    est = estimate(m, X, "posterior")[0, -1, 0]
    var = estimator_variance(m, t, "posterior")[0]
    # mode by numerical maximisation, then the posterior's moments by quadrature around it: the log-gamma
    # posterior has an exponential left tail of rate t / beta and a doubly-exponential right tail
    xs = X[0, :, 0]
    mode = minimize_scalar(lambda x: -gumbel_log_posterior(x, xs, beta), bracket=(xs.min() - beta, xs.max()),
                           options={"xtol": 1e-12}).x
    top = gumbel_log_posterior(mode, xs, beta)
    lo, hi = mode - beta * (60.0 / t + 12.0 / np.sqrt(t)), mode + beta * 12.0 / np.sqrt(t)
    dens = lambda x: np.exp(gumbel_log_posterior(x, xs, beta) - top)      # noqa: E731
    kw = dict(points=[mode], epsabs=0.0, epsrel=1e-12, limit=200)
    z0 = quad(dens, lo, hi, **kw)[0]
    mean = quad(lambda x: (x - mode) * dens(x), lo, hi, **kw)[0] / z0 + mode
    second = quad(lambda x: (x - mode) ** 2 * dens(x), lo, hi, **kw)[0] / z0
    sd = np.sqrt(var)
    # quadrature at relative accuracy ~1e-12 of moments of size sd, plus the rounding of a log-density
    # summed over t terms of size ~|X| / beta (~ t eps |X| / beta relative): 1e-8 sd covers both
    np.testing.assert_allclose(mean, est, rtol=0, atol=1e-8 * sd)
    np.testing.assert_allclose(second - (mean - mode) ** 2, var, rtol=1e-7)


@pytest.mark.parametrize("t", [1, 5, 20])
def test_gumbel_posterior_mean_is_unbiased_with_variance_beta2_trigamma(t):
    m = make_noise("gumbel", 0.2, D=2)
    x_star = np.array([0.1, -0.3])
    mu = estimate(m, x_star + sample_noise(m, 11, 40_000, t), "posterior")[:, -1]    # (n, D)
    err, n = mu - x_star, mu.shape[0]
    v = estimator_variance(m, t, "posterior")
    np.testing.assert_array_less(np.abs(err.mean(axis=0)), K_SE * np.sqrt(v / n))
    dev2 = (err - err.mean(axis=0)) ** 2
    np.testing.assert_array_less(np.abs(dev2.mean(axis=0) - v), K_SE * dev2.std(axis=0, ddof=1) / np.sqrt(n))


def test_gumbel_sample_mean_is_biased_by_euler_gamma_times_beta_and_the_correction_removes_it():
    from scipy.special import digamma
    beta, t = 0.2, 20
    m = make_noise("gumbel", beta, D=2)
    x_star = np.array([0.1, -0.3])
    X = x_star + sample_noise(m, 12, 40_000, t)
    raw, corrected = running_mle(X)[:, -1] - x_star, estimate(m, X, "mean")[:, -1] - x_star
    se = raw.std(axis=0, ddof=1) / np.sqrt(raw.shape[0])
    gamma_e = -digamma(1.0)        # Euler-Mascheroni, derived: the mean of a standard Gumbel is -psi(1)
    np.testing.assert_array_less(np.abs(raw.mean(axis=0) - gamma_e * beta), K_SE * se)
    np.testing.assert_array_less(np.abs(corrected.mean(axis=0)), K_SE * se)
    # the unbiasedness check can fail: it rejects the uncorrected mean by a wide margin
    assert np.all(np.abs(raw.mean(axis=0)) > 10 * K_SE * se)


@given(t=st.integers(1, 10_000))
def test_gumbel_posterior_variance_is_at_most_the_corrected_means_with_equality_at_one_sample(t):
    m = make_noise("gumbel", 0.3, D=1)
    post, mean = estimator_variance(m, t, "posterior")[0], estimator_variance(m, t, "mean")[0]
    # psi'(t) = sum_k 1/(t+k)^2 <= (1/t) sum_k 1/(k+1)^2 = pi^2 / (6t); equality at t = 1 (rounding: 4 eps)
    assert post <= mean * (1 + 4 * np.finfo(float).eps)
    if t == 1:
        np.testing.assert_allclose(post, mean, rtol=4 * np.finfo(float).eps)


def test_gumbel_posterior_after_one_sample_is_the_bias_corrected_sample():
    m = make_noise("gumbel", 0.3, D=2)
    X = np.random.default_rng(4).standard_normal((5, 1, 2))
    # beta [psi(1) - log e^(-X / beta)] = X - gamma_E beta: equal up to a few ulps of |X| + beta
    ulps = 8 * np.finfo(float).eps * (np.abs(X).max() + 0.3)
    np.testing.assert_allclose(estimate(m, X, "posterior"), estimate(m, X, "mean"), rtol=0, atol=ulps)


def test_gumbel_posterior_stays_finite_when_evidence_dwarfs_the_scale():
    m = make_noise("gumbel", 1e-3, D=1)
    X = np.array([[[1.0], [-1.0], [0.5]]])          # X / beta up to 1e3: e^(-X / beta) overflows float64
    mu = estimate(m, X, "posterior")
    assert np.all(np.isfinite(mu))
    # the smallest sample dominates: log S ~ 1/beta, mu(t) ~ min_s X(s) + beta (psi(t) - log 1)
    np.testing.assert_allclose(mu[0, -1, 0], -1.0 + 1e-3 * psi(3), rtol=0, atol=1e-12)


def test_posterior_estimator_of_a_noiseless_gumbel_coordinate_is_the_evidence():
    from theory.noise import NoiseModel
    m = NoiseModel("gumbel", np.array([0.0, 0.2]))  # sd 0 as nets.trials.noise_model builds for noiseless trials
    X = np.broadcast_to(np.array([0.25, 0.1]), (2, 4, 2)).copy()
    np.testing.assert_allclose(estimate(m, X, "posterior")[..., 0], 0.25, rtol=0, atol=0)


@pytest.mark.parametrize("kind, sigma, a, same_as", [("gaussian", 0.2, 0.0, "mean"),
                                                     ("anisotropic", [0.2, 0.4], 0.0, "mean"),
                                                     ("ar1", 0.2, 0.7, "gls")])
def test_posterior_estimator_is_the_mean_for_gaussian_kinds_and_gls_for_ar1(kind, sigma, a, same_as):
    m = make_noise(kind, sigma, D=2, a=a)
    X = np.random.default_rng(5).standard_normal((3, 9, 2))
    np.testing.assert_array_equal(estimate(m, X, "posterior"), estimate(m, X, same_as))
    np.testing.assert_array_equal(estimator_variance(m, np.arange(1, 10), "posterior"),
                                  estimator_variance(m, np.arange(1, 10), same_as))
