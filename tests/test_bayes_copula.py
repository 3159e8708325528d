"""The Bayes bound under the copula prior (theory.bayes_copula): quadrature against the closed form at rho = 0,
the Rao-Blackwellised estimate against its grid twin (theory.bayes_montecarlo.mc_r2_bayes_copula) and against the
linear decoder's value.

Tolerances: k = family_k(K, ALPHA) combined SEs sqrt(se_a^2 + se_b^2) for K comparisons of two independent
estimates; the posterior quadrature's discretisation against the closed form is stated where it is checked.
"""
import numpy as np
import pytest

from theory.bayes_bound import r2_bayes, truncated_moments
from theory.bayes_copula import (copula_reference_variance, default_nodes, posterior_moments_copula,
                                 r2_bayes_copula)
from theory.bayes_montecarlo import mc_r2_bayes_copula
from theory.correlated import r2_protocol_copula
from theory.folds import Fold, ood_folds
from theory.priors import CopulaPrior
from analysis.estimates import family_k

ALPHA = 1e-3
V = np.full(2, 0.2**2 / 20)  # the reference noise: sigma 0.2, t 20
FOLDS = ood_folds(2)


@pytest.mark.parametrize("v", [1e-6, 2e-3, 0.05, 1.0])
def test_posterior_at_zero_correlation_is_the_truncated_normal(v):
    # rho = 0 is the uniform box: posterior mean and variance in closed form. Discretisation of 6-node panels:
    # ~3e-6 posterior sd measured; 3e-5 sd leaves a margin and is 1e-3 of what the Monte-Carlo SE of r^2
    # corresponds to, so it cannot move a comparison.
    mu = np.random.default_rng(0).uniform(-0.5 - 6 * np.sqrt(v), 0.5 + 6 * np.sqrt(v), (400, 2))
    m, spread = posterior_moments_copula(mu, np.full(2, v), 0.0)
    _, mean, var = truncated_moments(mu, v, -0.5, 0.5)
    np.testing.assert_allclose(m, mean, rtol=0, atol=3e-5 * np.sqrt(v))
    np.testing.assert_allclose(spread[:, 0], var.mean(axis=1), rtol=0, atol=3e-5 * v)


@pytest.mark.parametrize("rho", [0.9, 0.99])
def test_posterior_quadrature_is_converged_at_strong_correlation(rho):
    # The ridge of the prior narrows as sqrt(1 - rho^2); the default node count follows it. Against a rule with
    # twice the nodes: within 1e-5 posterior sd (discretisation, far below what the MC SE of r^2 resolves).
    x = CopulaPrior(rho).sample(0, 60)
    mu = x + np.sqrt(V) * np.random.default_rng(1).standard_normal(x.shape)
    m, _ = posterior_moments_copula(mu, V, rho)
    fine, _ = posterior_moments_copula(mu, V, rho, nodes=2 * default_nodes(rho))
    np.testing.assert_allclose(m, fine, rtol=0, atol=1e-5 * np.sqrt(V[0]))


def test_rao_blackwellised_estimate_at_zero_correlation_is_the_box_bound():
    est = r2_bayes_copula(V, 0.0, 600, 1)
    k = family_k(1 + len(FOLDS), ALPHA)
    assert abs(est["whole"].z_score(r2_bayes(V))) <= k
    for f in FOLDS:
        assert abs(est[f.name].z_score(r2_bayes(V, f))) <= k


def agree(a, b, k) -> bool:
    return abs(a.value - b.value) <= k * np.hypot(a.se, b.se)


@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_twin_agrees_with_the_rao_blackwellised_bound(rho):
    est = r2_bayes_copula(V, rho, 600, 2, FOLDS)
    k = family_k(2 * (1 + len(FOLDS)), ALPHA)  # both rhos, whole cube and four folds
    assert agree(mc_r2_bayes_copula(V, rho, 1500, 3, grid_size=100), est["whole"], k)
    for f in FOLDS:
        assert agree(mc_r2_bayes_copula(V, rho, 1500, 3, f, grid_size=100), est[f.name], k)


def test_twin_rejects_the_uniform_prior_bound_for_strongly_correlated_factors():
    # At rho 0.9 the prior knows x1 ~ x2; the uniform-prior value (0.9779) is ~0.002 below the copula's.
    mc = mc_r2_bayes_copula(V, 0.9, 4000, 5, grid_size=100)
    est = r2_bayes_copula(V, 0.9, 600, 6, [])
    k = family_k(2, ALPHA)
    assert agree(mc, est["whole"], k)
    assert abs(mc.z_score(r2_bayes(V))) > k


@pytest.mark.parametrize("rho", [0.3, 0.9])
def test_copula_bound_exceeds_the_whole_cube_least_squares_decoder(rho):
    # The least-squares decoder on mu over the whole prior has MSE tr[S - S (S + V)^-1 S] / 2 (S the prior
    # covariance); the posterior mean minimises the MSE over the prior.
    S = CopulaPrior(rho).covariance()
    lin = 1 - np.trace(S - S @ np.linalg.solve(S + np.diag(V), S)) / 2 / (1 / 12)
    est = r2_bayes_copula(V, rho, 600, 7, [])["whole"]
    assert est.value >= lin - family_k(2, ALPHA) * est.se


@pytest.mark.parametrize("normalisation", ["fullrange", "heldout"])
def test_copula_bound_exceeds_the_protocol_line_on_every_quadrant(normalisation):
    # Like with like (same region, same normalisation); a numerical property (see theory.bayes_bound), with
    # the Monte-Carlo SE of the bound as the only slack.
    est = r2_bayes_copula(V, 0.9, 600, 8, FOLDS, normalisation)
    k = family_k(len(FOLDS), ALPHA)
    for f in FOLDS:
        assert est[f.name].value >= float(r2_protocol_copula(V, f, 0.9, normalisation)) - k * est[f.name].se


def test_fold_mean_is_the_mean_of_the_fold_values():
    est = r2_bayes_copula(V, 0.7, 300, 11)
    # The same trials enter both: equal up to the rounding of a mean of four numbers.
    np.testing.assert_allclose(est["fold_mean"].value, np.mean([est[f.name].value for f in FOLDS]), rtol=0,
                               atol=8 * np.finfo(float).eps)
    assert 0 < est["fold_mean"].se < max(est[f.name].se for f in FOLDS)


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.5, 0.9, 0.99])
def test_twin_with_many_trials_agrees_with_the_rao_blackwellised_bound(rho):
    # 2e4 Rao-Blackwellised trials against 1e5 twin trials on a finer grid (200 cells: corner cells of the
    # singular copula density hold less of any posterior).
    est = r2_bayes_copula(V, rho, 20_000, 12, FOLDS)
    k = family_k(3 * (1 + len(FOLDS)), ALPHA)
    assert agree(mc_r2_bayes_copula(V, rho, 100_000, 13, grid_size=200), est["whole"], k)
    for f in FOLDS:
        assert agree(mc_r2_bayes_copula(V, rho, 100_000, 13, f, grid_size=200), est[f.name], k)


def test_rao_blackwellised_estimate_is_reproducible_for_a_seed():
    a, b = r2_bayes_copula(V, 0.5, 50, 9, []), r2_bayes_copula(V, 0.5, 50, 9, [])
    assert a == b and r2_bayes_copula(V, 0.5, 50, 10, [])["whole"] != a["whole"]


@pytest.mark.parametrize("call, name", [
    (lambda: r2_bayes_copula(V, 1.0, 10, 0), "rho"),
    (lambda: r2_bayes_copula([0.1, 0.1, 0.1], 0.5, 10, 0), "error_variance"),
    (lambda: r2_bayes_copula(V, 0.5, 1, 0), "n_trials"),
    (lambda: posterior_moments_copula([[0.0, 0.0]], [0.0, 0.1], 0.5), "error_variance"),
    (lambda: posterior_moments_copula([[0.0, 0.0]], V, 0.5, [Fold("orthant", 0, 3)]), "D=3"),
    (lambda: copula_reference_variance(0.5, None, "heldout"), "heldout"),
    (lambda: mc_r2_bayes_copula(V, 0.5, 100, 0, grid_size=10), "grid_size"),
])
def test_bad_arguments_raise_value_errors_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()
