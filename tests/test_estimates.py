"""The optimal agent's estimate matched to the noise (optimal.estimates): GLS, per-axis scales, probits."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimal.agent import optimal_probits, running_mle
from optimal.estimates import matched_probits, matched_sigma, noise_model, running_estimate
from tests.strategies import designs, seeds
from theory.designs import even_design
from theory.noise import make_noise, sample_noise

EPS = np.finfo(float).eps
#: Monte-Carlo agreement threshold: two-sided p ~ 6e-5 per comparison at a fixed seed.
K_SE = 4.0
# AR(1) coefficients bounded away from +-1 (the process mixes slowly near the boundary) and noise sds
# across two decades around the reference 0.2.
ar1_coefficients = st.floats(-0.95, 0.95)
noise_sds = st.floats(0.01, 2.0)


def ar1_covariance(t, a, sigma):
    """Sigma_rs = sigma^2 a^|r - s|, the covariance of t consecutive stationary AR(1) samples."""
    lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
    return sigma**2 * a**lag


@given(a=ar1_coefficients, t=st.integers(1, 40), sigma=noise_sds, seed=seeds)
def test_gls_estimate_and_variance_equal_the_solve_with_the_explicit_covariance(a, t, sigma, seed):
    X = 0.2 + sample_noise(make_noise("ar1", sigma, D=1, a=a), seed, 3, t)          # (3, t, 1)
    mu, var = running_estimate(X, "ar1", sigma, ar1_a=a)
    w = np.linalg.solve(ar1_covariance(t, a, sigma), np.ones(t))                     # Sigma^-1 1
    want_mu, want_var = X[:, :, 0] @ w / w.sum(), 1.0 / w.sum()
    # a backward-stable solve loses ~t eps cond(Sigma), cond(Sigma) <= (1 + |a|) / (1 - |a|); the closed
    # form sums t terms: 8 t eps cond bounds both (relative to the size of the evidence for mu)
    tol = 8 * t * EPS * (1 + abs(a)) / (1 - abs(a))
    np.testing.assert_allclose(mu[:, -1, 0], want_mu, rtol=0, atol=tol * np.abs(X).max())
    np.testing.assert_allclose(var[-1, 0], want_var, rtol=tol)


@given(a=ar1_coefficients, t=st.integers(1, 500), sigma=noise_sds)
def test_matched_ar1_variance_is_never_above_the_sample_means_and_below_it_from_three_samples(a, t, sigma):
    X = np.zeros((1, t, 1))
    _, v_gls = running_estimate(X, "ar1", sigma, ar1_a=a)
    _, v_mean = running_estimate(X, "ar1", sigma, ar1_a=a, estimator="mean")
    # Gauss-Markov; 1e-12 relative slack for rounding. The GLS weights differ from 1/t only for t >= 3
    # (at t <= 2 the two ends are all there is) and a != 0.
    assert v_gls[-1, 0] <= v_mean[-1, 0] * (1 + 1e-12)
    if t >= 3 and abs(a) > 0.05:
        assert v_gls[-1, 0] < v_mean[-1, 0] * (1 - 1e-6)


def test_gls_estimate_is_unbiased_with_its_closed_form_variance_by_monte_carlo():
    sigma, a, t = 0.2, 0.7, 20
    x_star = np.array([0.1, -0.2])
    X = x_star + sample_noise(make_noise("ar1", sigma, D=2, a=a), 7, 40_000, t)
    mu, var = running_estimate(X, "ar1", sigma, ar1_a=a)
    err, n = mu[:, -1] - x_star, X.shape[0]
    np.testing.assert_array_less(np.abs(err.mean(axis=0)), K_SE * np.sqrt(var[-1] / n))
    dev2 = (err - err.mean(axis=0)) ** 2
    np.testing.assert_array_less(np.abs(dev2.mean(axis=0) - var[-1]), K_SE * dev2.std(axis=0, ddof=1) / np.sqrt(n))


def test_anisotropic_estimate_is_the_sample_mean_with_per_axis_variance():
    X = np.random.default_rng(2).standard_normal((4, 6, 2))
    mu, var = running_estimate(X, "anisotropic", 0.2, aniso_scales=(1.0, 2.0))
    np.testing.assert_array_equal(mu, running_mle(X))
    t = np.arange(1, 7)[:, None]
    np.testing.assert_allclose(var, np.array([0.2, 0.4]) ** 2 / t, rtol=4 * EPS)


def test_running_estimate_accepts_any_leading_shape():
    X = np.random.default_rng(3).standard_normal((3, 5, 7, 2))
    mu, _ = running_estimate(X, "gumbel", 0.2)
    flat, _ = running_estimate(X.reshape(15, 7, 2), "gumbel", 0.2)
    np.testing.assert_array_equal(mu, flat.reshape(X.shape))
    single, _ = running_estimate(X[1, 2], "gumbel", 0.2)
    np.testing.assert_array_equal(single, mu[1, 2])


def test_running_estimate_from_a_noise_model_equals_from_its_kind_and_parameters():
    X = np.random.default_rng(4).standard_normal((4, 8, 2))
    model = noise_model("ar1", 0.3, 2, ar1_a=0.7)
    for got, want in zip(running_estimate(X, model), running_estimate(X, "ar1", 0.3, ar1_a=0.7)):
        np.testing.assert_array_equal(got, want)


@given(designs(max_D=4), seeds, st.integers(1, 50))
def test_matched_probits_equal_optimal_probits_at_the_matched_sd(design, seed, t):
    rng = np.random.default_rng(seed)
    mu = rng.uniform(-0.5, 0.5, (5, design.D))
    var = rng.uniform(1e-4, 1.0, design.D)
    # the same quotient formed in two orders: a few ulps of each factor, 16 eps relative
    np.testing.assert_allclose(matched_probits(mu, var, design),
                               optimal_probits(mu, design, matched_sigma(var, t), t), rtol=16 * EPS, atol=16 * EPS)


def test_matched_probits_reduce_to_the_isotropic_formula_for_gaussian_noise():
    design = even_design(6)
    X = np.random.default_rng(5).standard_normal((3, 20, 2))
    mu, var = running_estimate(X, "gaussian", 0.2)
    t = np.arange(1, 21)
    np.testing.assert_allclose(matched_probits(mu, var, design), optimal_probits(running_mle(X), design, 0.2, t),
                               rtol=16 * EPS, atol=16 * EPS)


def test_matched_probits_of_ar1_have_unit_spread_around_the_true_distance():
    """For a fixed x*, z_i - (c_i . x* + b_i) / s_i ~ N(0, 1) exactly for the matched (GLS) agent; the
    sample-mean agent scored with the GLS variance would spread wider (its variance is larger)."""
    design, sigma, a, t = even_design(3), 0.2, 0.7, 20
    x_star = np.array([0.05, -0.1])
    X = x_star + sample_noise(make_noise("ar1", sigma, D=2, a=a), 8, 20_000, t)
    mu, var = running_estimate(X, "ar1", sigma, ar1_a=a)
    z = matched_probits(mu[:, -1], var[-1], design) - matched_probits(x_star, var[-1], design)
    n = z.shape[0]
    # SE of a sample variance of unit normals: sqrt(2 / (n - 1))
    np.testing.assert_array_less(np.abs(z.var(axis=0, ddof=1) - 1.0), K_SE * np.sqrt(2.0 / (n - 1)))
    wrong = matched_probits(running_mle(X)[:, -1], var[-1], design) - matched_probits(x_star, var[-1], design)
    assert np.all(wrong.var(axis=0, ddof=1) - 1.0 > K_SE * np.sqrt(2.0 / (n - 1)))


@pytest.mark.parametrize("call, word", [
    (lambda: noise_model("gaussian", 0.2, 2, aniso_scales=(1, 2)), "aniso_scales"),
    (lambda: noise_model("anisotropic", 0.2, 2, aniso_scales=(1, 2, 3)), "aniso_scales"),
    (lambda: noise_model("anisotropic", 0.2, 2, aniso_scales=(1, 0)), "aniso_scales"),
    (lambda: noise_model("anisotropic", [0.2, 0.3], 2, aniso_scales=(1, 2)), "sigma"),
    (lambda: noise_model("anisotropic", 0.2, 2), "anisotropic"),
    (lambda: noise_model("ar1", 0.2, 2), "ar1_a"),
    (lambda: noise_model("ar1", 0.2, 2, ar1_a=1.0), "a=1.0"),
    (lambda: noise_model("gumbel", 0.2, 2, ar1_a=0.5), "ar1_a"),
    (lambda: running_estimate(np.zeros(3), "gaussian", 0.2), "evidence"),
    (lambda: running_estimate(np.zeros((2, 3, 2)), "gaussian"), "sigma"),
    (lambda: running_estimate(np.zeros((2, 3, 2)), make_noise("gaussian", 0.2, 2), 0.2), "NoiseModel"),
    (lambda: running_estimate(np.zeros((2, 3, 3)), make_noise("gaussian", 0.2, 2)), "D=3"),
    (lambda: running_estimate(np.zeros((2, 3, 2)), "gaussian", 0.2, estimator="median"), "estimator"),
    (lambda: matched_sigma([-1.0, 0.1], 20), "var"),
    (lambda: matched_sigma([1.0, 0.1], 0), "t="),
    (lambda: matched_probits(np.zeros(2), [0.0, 0.1], even_design(2)), "var"),
    (lambda: matched_probits(np.zeros(2), [0.1, 0.1, 0.1], even_design(2)), "var"),
])
def test_bad_estimate_arguments_raise_value_error_naming_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()
