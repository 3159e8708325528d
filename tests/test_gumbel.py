"""Exact optimal outputs under Gumbel noise (optimal.gumbel): against adaptive quadrature, in closed form
for one coordinate, and calibrated where the normal approximation is not."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import gammainc, gammaincc, gammaln, ndtr, polygamma, psi
from scipy.stats import loggamma

from optimal.estimates import matched_probits, running_estimate
from optimal.gumbel import gumbel_log_outputs, gumbel_probits, log_gamma_nodes
from theory.designs import even_design, make_design
from theory.noise import make_noise, sample_noise

EPS = np.finfo(float).eps
#: Monte-Carlo agreement threshold: two-sided p ~ 6e-5 at a fixed seed.
K_SE = 4.0


def adaptive_outputs(mu, design, beta, t):
    """P(c . x + b > 0) for x_j = mu_j + beta_j (U_j - psi(t)), U_j = log W_j, W_j ~ Gamma(t, 1), D = 2, by
    adaptive quadrature over the second coordinate (pivot: the first) between U's 1e-20 quantiles (scipy's
    loggamma law): an independent integration."""
    lo, hi = loggamma.ppf(1e-20, t), loggamma.isf(1e-20, t)
    out = np.empty((mu.shape[0], design.ntask))
    for a, m in enumerate(mu):
        for i, (c, b) in enumerate(zip(design.C, design.b)):
            def integrand(u2, c=c, b=b, m=m):
                threshold = -(b + c[1] * (m[1] + beta[1] * (u2 - psi(t)))) / c[0]
                v = psi(t) + (threshold - m[0]) / beta[0]
                # density of U: e^(t u - e^u) / Gamma(t); its tails: the regularised incomplete gammas at e^v
                tail = gammaincc(t, np.exp(v)) if c[0] > 0 else gammainc(t, np.exp(v))
                return np.exp(t * u2 - np.exp(u2) - gammaln(t)) * tail
            out[a, i] = quad(integrand, lo, hi, points=[np.log(t)], epsabs=1e-14, epsrel=1e-12, limit=500)[0]
    return out


@given(t=st.integers(1, 10_000))
def test_log_gamma_rule_reproduces_the_mean_and_variance_of_log_w(t):
    u, w = log_gamma_nodes(t)
    # E[log W] = psi(t), Var(log W) = psi'(t). Quadrature error: measured 7e-10 (mean), 2.2e-9 (variance)
    # at t = 1, below 1e-13 from t = 2; rounding: ~300 nodes of size |u| ~ log t, a few eps each
    np.testing.assert_allclose(w.sum(), 1.0, rtol=0, atol=300 * EPS)
    np.testing.assert_allclose(w @ u, psi(t), rtol=0, atol=5e-9 + 300 * EPS * (1 + np.log(t)))
    np.testing.assert_allclose(w @ (u - psi(t)) ** 2, polygamma(1, t), rtol=5e-9)


@given(t=st.integers(1, 60), b1=st.floats(0.05, 1.0), b2=st.floats(0.05, 1.0), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=10)   # each example runs 6 adaptive quadratures
def test_exact_gumbel_outputs_equal_adaptive_quadrature_of_the_log_gamma_posterior(t, b1, b2, seed):
    beta = np.array([b1, b2])
    design = make_design(np.random.default_rng(seed).standard_normal((3, 2)), np.zeros(3))
    mu = np.random.default_rng(seed + 1).uniform(-0.3, 0.3, (2, 2)) * beta
    log_p, log_q = gumbel_log_outputs(mu, design, beta, t)
    want = adaptive_outputs(mu, design, beta, t)
    # the rule is accurate to 2e-9 in probability at t = 1 and < 1e-13 from t = 3 (PANELS, PER_PANEL), the
    # oracle to 1e-12: 1e-8 at t < 3, 1e-11 beyond
    tol = 1e-8 if t < 3 else 1e-11
    np.testing.assert_allclose(np.exp(log_p), want, rtol=0, atol=tol)
    np.testing.assert_allclose(np.exp(log_q), 1.0 - want, rtol=0, atol=tol)


@pytest.mark.parametrize("t", [1, 3, 20])
def test_one_coordinate_task_is_the_log_gamma_tail_in_closed_form_even_far_out(t):
    """c = (-2, 0): P(-2 x_1 + b > 0) = P(U < psi(t) + (b / 2 - mu_1) / beta), no quadrature; both tails
    stay accurate where the probability is 1e-40 (probits near +-13)."""
    beta = np.array([0.2, 0.3])
    design = make_design(np.array([[-2.0, 0.0]]), np.array([0.1]))
    v = np.array([psi(t), psi(t) + 0.5, loggamma.ppf(1e-40, t), loggamma.isf(1e-40, t)])
    mu = np.stack([0.05 - beta[0] * (v - psi(t)), np.full(4, 0.3)], axis=1)
    log_p, log_q = gumbel_log_outputs(mu, design, beta, t)
    # one incomplete-gamma evaluation against scipy's loggamma law (~1e-13 relative), summed against weights
    # that add to 1 up to ~300 eps
    np.testing.assert_allclose(log_p[:, 0], loggamma.logcdf(v, t), rtol=1e-11, atol=300 * EPS)
    np.testing.assert_allclose(log_q[:, 0], loggamma.logsf(v, t), rtol=1e-11, atol=300 * EPS)
    assert np.all(np.isfinite(gumbel_probits(mu, design, beta, t)))


def test_normal_approximation_error_shrinks_with_evidence_and_is_largest_early():
    """The log-gamma posterior's skewness falls like 1 / sqrt(t), so the gap to Phi(z) shrinks with t."""
    design, beta = even_design(3), np.array([0.2, 0.2])
    grid = np.stack(np.meshgrid(*2 * [np.linspace(-0.3, 0.3, 21)]), axis=-1).reshape(-1, 2)
    gaps = []
    for t in (5, 50, 500):
        mu = grid * np.sqrt(polygamma(1, t) / polygamma(1, 5))      # the same probits at every t
        var = beta**2 * polygamma(1, t)
        gaps.append(np.abs(np.exp(gumbel_log_outputs(mu, design, beta, t)[0])
                           - ndtr(matched_probits(mu, var, design))).max())
    assert gaps[0] > gaps[1] > gaps[2] > 0


def test_exact_outputs_are_calibrated_where_the_normal_approximation_is_not():
    """Latents flat far beyond the trials kept (|mu| < 0.4, x* in [-1.5, 1.5]^2: the posterior's mass beyond
    the prior's faces is < 1e-4), so P(y = 1 | X) is the flat-prior output. Weighting each residual y - P by
    sign(P_exact - P_normal), a function of the evidence, the exact outputs leave mean 0 (within K_SE computed
    SEs) and the normal approximation does not."""
    t, beta = 2, 0.2
    design = make_design(np.array([[1.0, 0.0], [0.0, -1.0], [1.0, 1.0]]), np.zeros(3))
    rng = np.random.default_rng(21)
    x = rng.uniform(-1.5, 1.5, (120_000, 2))
    X = x[:, None] + sample_noise(make_noise("gumbel", beta, 2), rng, x.shape[0], t)
    mu, var = running_estimate(X, "gumbel", beta)
    keep = np.abs(mu[:, -1]).max(axis=1) < 0.4
    mu, x = mu[keep, -1], x[keep]
    y = (x @ design.C.T + design.b > 0).astype(float)
    exact = np.exp(gumbel_log_outputs(mu, design, beta, t)[0])
    normal = ndtr(matched_probits(mu, var[-1], design))
    g = np.sign(exact - normal)

    def standardised(p):
        s = ((y - p) * g).sum(axis=1)          # per trial (tasks of one trial are dependent)
        return s.mean() / (s.std(ddof=1) / np.sqrt(s.size))

    assert abs(standardised(exact)) < K_SE
    assert standardised(normal) > K_SE


@pytest.mark.parametrize("call, word", [
    (lambda: gumbel_log_outputs(np.zeros((2, 4)), even_design(4), 0.2, 20), "mu"),
    (lambda: gumbel_log_outputs(np.zeros((2, 2)), even_design(4), 0.0, 20), "sigma"),
    (lambda: gumbel_log_outputs(np.zeros((2, 2)), even_design(4), 0.2, 0), "t"),
    (lambda: gumbel_log_outputs(np.zeros((2, 3)), make_design(np.eye(3), np.zeros(3)), 0.2, 20), "D=3"),
    (lambda: log_gamma_nodes(0), "t"),
])
def test_bad_gumbel_arguments_raise_value_error_naming_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()
