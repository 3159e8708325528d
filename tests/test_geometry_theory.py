"""The optimal agent's geometry in closed form against quadrature and Monte Carlo."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.stats import norm

from analysis.geometry import (RIDGE, ccgp, dci, dci_ridge, parallelism_mean_pairs, parallelism_regressor_cosine,
                               participation_ratio, shattering_dimensionality)
from analysis.lasso import lasso_gram
from theory.designs import even_design
from theory.geometry import (balanced_dichotomies, ccgp_leverage, ccgp_optimal, dci_even_design, dci_linear,
                             dci_linear_ridge, importance_scores, linear_decodability, parallelism_linear,
                             participation_ratio_affine, participation_ratio_sample, regressor_cosine_linear,
                             shattering_optimal)

PARTS = ("disentanglement", "completeness", "informativeness")
K_SE = 3.0      # Monte-Carlo tolerance: this many standard errors computed over independent replicates
SIGMA, T = 0.2, 20


def probit_states(rng, B, n, D, sigma, t, A):
    """Replicates of a linear agent: z = mu A^T, mu = x* + N(0, sigma^2 / t)."""
    x = rng.uniform(-0.5, 0.5, (B, n, D))
    mu = x + np.asarray(sigma) / np.sqrt(t) * rng.standard_normal(x.shape)
    return mu @ np.asarray(A).T, x


def within_k_se(values, predicted):
    se = values.std(ddof=1) / np.sqrt(values.size)
    return abs(values.mean() - predicted) <= K_SE * se, (values.mean(), predicted, se)


@given(sigma=st.floats(0.01, 5.0), t=st.integers(1, 1000))
def test_ccgp_closed_form_equals_the_integral_of_the_correct_sign_probability(sigma, t):
    k = np.sqrt(t) / sigma
    integral = 2 * quad(lambda x: norm.cdf(k * x), 0, 0.5, epsabs=1e-13, epsrel=1e-13)[0]
    np.testing.assert_allclose(ccgp_optimal(sigma, t), integral, rtol=1e-10)   # quad's accuracy


@given(h=st.floats(1 / 48, 10.0))
def test_ccgp_leverage_at_d2_is_two_plus_one_over_4h(h):
    """At D = 2 the training conditions are one side of x_e (mean 1/4, variance h), the held-out side lies
    1/2 away: leverage 1 + ((1/2)^2 + h) / h (rounding of a 2 x 2 solve)."""
    np.testing.assert_allclose(ccgp_leverage(2, h), 2 + 1 / (4 * h), rtol=1e-12)


def test_ccgp_tends_to_one_half_and_one_at_the_noise_limits():
    assert ccgp_optimal(1e3, 1) - 0.5 < 1e-3 and 1 - ccgp_optimal(1e-3, 100) < 1e-4


@pytest.mark.parametrize("D", [2, 3])
def test_monte_carlo_ccgp_of_a_linear_code_matches_the_finite_sample_closed_form(D):
    rng = np.random.default_rng(10)
    n = 4000
    z, x = probit_states(rng, 24, n, D, SIGMA, T, rng.standard_normal((D + 2, D)))
    ok, info = within_k_se(ccgp(z, x, 0), float(ccgp_optimal(SIGMA, T, n_train=n * (1 - 2.0 ** (1 - D)), D=D)))
    assert ok, info


def test_ccgp_check_fails_a_wrong_prediction():
    rng = np.random.default_rng(10)
    z, x = probit_states(rng, 60, 4000, 2, SIGMA, T, np.eye(2))
    assert not within_k_se(ccgp(z, x, 0), float(ccgp_optimal(SIGMA, T / 2, n_train=2000)))[0]
    assert not within_k_se(ccgp(z, x, 0), float(ccgp_optimal(SIGMA, T)))[0]   # the finite-sample term matters


def test_shattering_at_d2_is_two_coordinates_and_a_chance_xor():
    np.testing.assert_allclose(shattering_optimal(2, SIGMA, T), (2 * ccgp_optimal(SIGMA, T) + 0.5) / 3,
                               rtol=1e-10)   # 24-node Gauss-Legendre on a smooth integrand
    assert linear_decodability(balanced_dichotomies(2)[2], SIGMA, T) == 0.5


@pytest.mark.parametrize("D, B", [(2, 20), (3, 6)])   # 35 dichotomies at D = 3: fewer replicates keep it < 3 s
def test_monte_carlo_shattering_matches_the_quadrature(D, B):
    rng = np.random.default_rng(11)
    z, x = probit_states(rng, B, 4000, D, SIGMA, T, np.eye(D))
    ok, info = within_k_se(shattering_dimensionality(z, x), shattering_optimal(D, SIGMA, T))
    assert ok, info


def test_linear_decodability_matches_a_monte_carlo_of_the_population_classifier():
    """D = 3 majority dichotomy (not a single coordinate): sign(w.mu) with w = y^ against simulated trials."""
    labels = balanced_dichotomies(3)
    signs = np.where((np.arange(8)[:, None] >> np.arange(3)) & 1, 1.0, -1.0)
    major = next(d for d in labels if np.all(np.where(d, 1, -1) == np.sign(signs.sum(1))) or
                 np.all(np.where(d, -1, 1) == np.sign(signs.sum(1))))
    rng = np.random.default_rng(12)
    x = rng.uniform(-0.5, 0.5, (400_000, 3))
    mu = x + SIGMA / np.sqrt(T) * rng.standard_normal(x.shape)
    y = np.where(major[np.sum((x > 0) << np.arange(3), 1)], 1.0, -1.0)
    w = signs.T @ np.where(major, 1.0, -1.0)
    hit = (np.sign(mu @ w) == y).astype(float)
    assert abs(hit.mean() - linear_decodability(major, SIGMA, T)) <= K_SE * hit.std() / np.sqrt(hit.size)


@pytest.mark.parametrize("D", [2, 3])
def test_monte_carlo_parallelism_matches_the_first_order_finite_sample_cosines(D):
    rng = np.random.default_rng(13)
    n = 4000
    z, x = probit_states(rng, 100 if D == 2 else 40, n, D, SIGMA, T, np.eye(D))
    ok, info = within_k_se(parallelism_mean_pairs(z, x, 0), parallelism_linear(D, SIGMA, T, n / 2 ** D))
    assert ok, info
    ok, info = within_k_se(parallelism_regressor_cosine(z, x, 0), regressor_cosine_linear(D, SIGMA, T, n / 2))
    assert ok, info


def test_parallelism_check_fails_a_wrong_prediction():
    rng = np.random.default_rng(13)
    z, x = probit_states(rng, 100, 4000, 2, SIGMA, T, np.eye(2))
    assert not within_k_se(parallelism_mean_pairs(z, x, 0), parallelism_linear(2, SIGMA, T, 250))[0]


def test_participation_ratio_of_an_affine_code_matches_monte_carlo_for_anisotropic_noise():
    rng = np.random.default_rng(14)
    A = rng.standard_normal((5, 2))
    sigma = np.array([0.5, 1.5])
    z, x = probit_states(rng, 20, 4000, 2, sigma, 5, A)
    ok, info = within_k_se(participation_ratio(z), participation_ratio_affine(A, sigma, 5))
    assert ok, info


@pytest.mark.parametrize("D", [2, 3])
def test_monte_carlo_sample_participation_ratio_matches_its_first_order_bias(D):
    rng = np.random.default_rng(16)
    n = 1000
    z, x = probit_states(rng, 100, n, D, SIGMA, T, np.eye(D))
    ok, info = within_k_se(participation_ratio(z), participation_ratio_sample(D, SIGMA, T, n))
    assert ok, info
    assert not within_k_se(participation_ratio(z), float(D))[0]   # the bias is resolved at this n


@given(N=st.integers(2, 48))
def test_participation_ratio_saturates_at_d_for_every_even_design(N):
    np.testing.assert_allclose(participation_ratio_affine(even_design(N).C, SIGMA, T), 2.0, rtol=1e-12)


def test_dci_of_axis_aligned_units_is_one_and_of_45_degree_units_is_zero():
    assert dci_linear(np.eye(2), SIGMA, T)["disentanglement"] == pytest.approx(1.0, abs=1e-12)
    assert dci_linear(even_design(2).C, SIGMA, T)["disentanglement"] == pytest.approx(0.0, abs=1e-12)


def _random_unit_rows(N, D, seed):
    G = np.random.default_rng(seed).standard_normal((N, D))
    return G / np.linalg.norm(G, axis=1, keepdims=True)


@pytest.mark.parametrize("C", [even_design(6).C, even_design(24).C, _random_unit_rows(3, 3, 5)],
                         ids=["even N=6", "even N=24", "random N=D=3"])
def test_monte_carlo_ridge_dci_matches_the_linear_code_after_removing_the_one_over_n_bias(C):
    """Plug-in D and C carry an O(1/n) bias; the Richardson value 2 v(n) - v(n/2) (independent samples)
    removes it, with standard error sqrt(4 se_n^2 + se_{n/2}^2). The ridge enters the prediction: it
    matters for an ill-conditioned random design."""
    rng = np.random.default_rng(15)
    D = C.shape[1]
    A = np.sqrt(T) * C / SIGMA
    full = dci_ridge(*probit_states(rng, 12, 8000, D, SIGMA, T, A))
    half = dci_ridge(*probit_states(rng, 12, 4000, D, SIGMA, T, A))
    predicted = dci_linear_ridge(A, SIGMA, T, RIDGE)
    for key in ("disentanglement", "completeness", "informativeness"):
        value = 2 * full[key].mean() - half[key].mean()
        se = np.sqrt(4 * full[key].var(ddof=1) / 12 + half[key].var(ddof=1) / 12)
        assert abs(value - predicted[key]) <= K_SE * se, (key, value, predicted[key], se)


def test_ridge_dci_of_a_linear_code_tends_to_the_minimum_norm_weights_as_the_ridge_vanishes():
    A = _random_unit_rows(5, 3, 1)
    exact = dci_linear_ridge(A, SIGMA, T)
    # O(ridge / smallest eigenvalue) + eps / ridge of the solve
    np.testing.assert_allclose([dci_linear_ridge(A, SIGMA, T, 1e-8)[k] for k in PARTS], [exact[k] for k in PARTS],
                               rtol=1e-5)
    np.testing.assert_allclose(exact["informativeness"], np.sqrt(1 - 1 / (1 + 12 * SIGMA ** 2 / T)), rtol=1e-7)


#: linprog (HiGHS) solves to a primal feasibility / optimality tolerance of 1e-7 relative
LP = 1e-6


@given(N=st.integers(2, 48))
def test_even_design_lasso_dci_closed_form_equals_the_minimum_l1_linear_programme(N):
    lp = dci_linear(even_design(N).C, SIGMA, T)
    closed = dci_even_design(N, SIGMA, T)
    np.testing.assert_allclose([lp[k] for k in PARTS], [closed[k] for k in PARTS], atol=LP)


@pytest.mark.parametrize("C", [even_design(3).C, even_design(24).C, _random_unit_rows(5, 3, 2)],
                         ids=["even N=3", "even N=24", "random N=5 D=3"])
def test_population_lasso_at_a_small_penalty_equals_the_homotopy_on_the_population_gram(C):
    """Two methods for the population lasso at alpha = 1e-3: the support of the LP solution with its linear
    stationarity condition (theory) and the exact path on G = A~ A~^T, c = sqrt(rho) A~ (analysis.lasso)."""
    alpha = 1e-3
    At = C / np.linalg.norm(C, axis=1, keepdims=True)
    rho = 1 / (1 + 12 * SIGMA ** 2 / T)
    W = lasso_gram(At @ At.T, np.sqrt(rho) * At, alpha)
    np.testing.assert_allclose(dci_linear(C, SIGMA, T, alpha)["importance"], np.abs(W), atol=LP)
    small = dci_linear(C, SIGMA, T, 1e-9)
    np.testing.assert_allclose([small[k] for k in PARTS], [dci_linear(C, SIGMA, T)[k] for k in PARTS], atol=LP)


def test_population_lasso_refuses_a_penalty_that_changes_the_support():
    with pytest.raises(ValueError, match="alpha"):
        dci_linear(even_design(6).C, SIGMA, T, alpha=2.0)   # above max_j |c_j|: the lasso is 0


@pytest.mark.parametrize("N", [4, 6, 24])
def test_optimal_agents_lasso_dci_is_one_at_even_n_and_matches_the_closed_form(N):
    """Even N: each axis lies midway between two unit directions pi/N apart, and the sample's least-squares
    direction deviates from it by sd sqrt(12 s^2 / n_train) = 0.0035 rad, far inside the pi/(2N) >= 0.065 rad
    that keeps the same two units: disentanglement is 1 in every sample, to rounding. Completeness and
    informativeness: Richardson 2 v(n) - v(n/2) within K_SE standard errors, as for the ridge."""
    rng = np.random.default_rng(N)
    A = np.sqrt(T) * even_design(N).C / SIGMA
    full = dci(*probit_states(rng, 8, 4000, 2, SIGMA, T, A))
    half = dci(*probit_states(rng, 8, 2000, 2, SIGMA, T, A))
    np.testing.assert_allclose(full["disentanglement"], 1.0, atol=1e-12)
    predicted = dci_even_design(N, SIGMA, T)
    for key in ("completeness", "informativeness"):
        value = 2 * full[key].mean() - half[key].mean()
        se = np.sqrt(4 * full[key].var(ddof=1) / 8 + half[key].var(ddof=1) / 8)
        assert abs(value - predicted[key]) <= K_SE * se, (key, value, predicted[key], se)


def test_optimal_agents_lasso_dci_at_n3_is_one_less_a_first_order_sampling_loss():
    """N = 3: x1 lies on a unit direction (a vertex of the l1 ball), so the sample direction, off by
    delta ~ N(0, 12 s^2 / n_train), takes weight ~|delta| / sin 60 on one neighbour, which also carries x2's
    weight 1 / (2 cos 30): that unit's importances split as q = 2 |delta| to 1 - q, and it holds a share
    rho_j = (1/(2 cos 30)) / (1 + 1/cos 30) of the importance. To first order (and before the penalty zeroes
    small weights, which only raises D) D = 1 - rho_j E[H2(2 |delta|)] / ln 2."""
    rng = np.random.default_rng(3)
    n = 4000
    D = dci(*probit_states(rng, 12, n, 2, SIGMA, T, np.sqrt(T) * even_design(3).C / SIGMA))["disentanglement"]
    sd = np.sqrt(12 * SIGMA ** 2 / T / (n / 2))
    h2 = lambda q: -q * np.log(q) - (1 - q) * np.log1p(-q)  # noqa: E731
    share = (1 / (2 * np.cos(np.pi / 6))) / (1 + 1 / np.cos(np.pi / 6))
    loss = share * 2 * quad(lambda d: h2(2 * d) * norm.pdf(d, scale=sd), 0, 8 * sd)[0] / np.log(2)
    se = D.std(ddof=1) / np.sqrt(D.size)
    assert 1 - loss - K_SE * se <= D.mean() <= 1 + 1e-12, (D.mean(), loss, se)
    assert D.mean() < 1 - 1e-3                         # the sampling loss is resolved: the check can fail


def test_lasso_and_ridge_importances_disagree_on_the_optimal_agent_at_n6():
    A = np.sqrt(T) * even_design(6).C / SIGMA
    assert dci_linear(A, SIGMA, T)["disentanglement"] == pytest.approx(1.0, abs=LP)
    assert dci_linear_ridge(A, SIGMA, T)["disentanglement"] < 0.2


def test_importance_scores_of_a_permutation_matrix_are_perfect_and_of_a_constant_one_are_zero():
    np.testing.assert_allclose(importance_scores(np.eye(3)[[2, 0, 1]]), (1.0, 1.0), atol=1e-12)
    np.testing.assert_allclose(importance_scores(np.ones((4, 2))), (0.0, 0.0), atol=1e-12)


@pytest.mark.parametrize("call, word", [
    (lambda: ccgp_optimal(0.0, 20), "sigma"),
    (lambda: ccgp_optimal(0.2, -1), "t"),
    (lambda: ccgp_optimal(0.2, 20, n_train=0), "n_train"),
    (lambda: balanced_dichotomies(5), "D=5"),
    (lambda: linear_decodability([True, False, True], 0.2, 20), "2\\^D"),
    (lambda: parallelism_linear(2, 0.2, 20, -3), "n_per_condition"),
    (lambda: participation_ratio_affine(np.zeros((3, 2)), 0.2, 20), "A"),
    (lambda: dci_linear(np.ones((3, 2)), 0.2, 20), "rank"),
    (lambda: dci_linear(np.eye(2), 0.2, 20, alpha=-1.0), "alpha"),
    (lambda: dci_linear_ridge(np.eye(2), 0.2, 20, ridge=-1.0), "ridge"),
    (lambda: dci_even_design(1, 0.2, 20), "N"),
    (lambda: ccgp_leverage(1, 0.1), "D"),
])
def test_geometry_theory_rejects_bad_input_naming_it(call, word):
    with pytest.raises(ValueError, match=word):
        call()
