"""Latent priors (theory.priors): marginals, factor correlation, quadrant masses, restricted samplers."""
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from theory.folds import Fold, ood_folds
from theory.priors import (CopulaPrior, UniformPrior, factor_correlation, make_prior, quadrant_probability,
                           region_probability, sample_region)

#: Monte-Carlo checks accept |estimate - theory| <= K_SE computed standard errors (two-sided
#: false-alarm rate ~6e-5 per check; the seeds are fixed, so a pass is reproducible).
K_SE = 4.0
N_MC = 200_000

rhos = st.floats(-0.99, 0.99)


def test_copula_marginals_are_uniform_on_the_centred_unit_interval():
    x = CopulaPrior(0.8).sample(0, N_MC)
    for j in range(2):
        # KS distance of n uniform draws exceeds 1.95 / sqrt(n) with probability ~1e-3.
        assert stats.kstest(x[:, j], stats.uniform(-0.5, 1.0).cdf).statistic < 1.95 / np.sqrt(N_MC)


@pytest.mark.parametrize("rho", [-0.9, 0.3, 0.9])
def test_sample_factor_correlation_matches_six_over_pi_arcsin_half_rho(rho):
    x = CopulaPrior(rho).sample(1, N_MC)
    r = np.corrcoef(x.T)[0, 1]
    # Large-sample SE of a Pearson correlation ~ (1 - r^2) / sqrt(n) (bounded marginals: near enough,
    # and the constant is checked by the wrong-value test below).
    se = (1 - factor_correlation(rho) ** 2) / np.sqrt(N_MC)
    assert abs(r - factor_correlation(rho)) < K_SE * se
    if abs(rho) > 0.5:  # where the copula changes the correlation visibly, rho itself is rejected
        assert abs(r - rho) > 10 * se


@pytest.mark.parametrize("rho", [-0.7, 0.2, 0.95])
@mpmath.workdps(25)
def test_factor_correlation_equals_twelve_times_the_copula_cross_moment_integrated_by_mpmath(rho):
    # E[Phi(z1) Phi(z2)] = int phi(z1) Phi(z1) E[Phi(z2) | z1] dz1, E[Phi(z2) | z1] = Phi(rho z1 / sqrt(2 - rho^2)).
    s = mpmath.sqrt(2 - mpmath.mpf(rho) ** 2)
    cross = mpmath.quad(lambda z: mpmath.npdf(z) * mpmath.ncdf(z) * mpmath.ncdf(rho * z / s),
                        [-mpmath.inf, 0, mpmath.inf])
    np.testing.assert_allclose(factor_correlation(rho), float(12 * cross - 3), rtol=0, atol=1e-15)


@given(rho=rhos)
def test_quadrant_probabilities_sum_to_one_and_match_the_bivariate_normal_cdf(rho):
    same, opposite = quadrant_probability(rho, True), quadrant_probability(rho, False)
    np.testing.assert_allclose(2 * same + 2 * opposite, 1.0, rtol=0, atol=4e-16)
    cdf = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([0, 0])  # P(z1 < 0, z2 < 0)
    np.testing.assert_allclose(same, cdf, rtol=0, atol=1e-6)  # scipy's Genz integration: ~1e-7


@pytest.mark.parametrize("prior", [UniformPrior(2), CopulaPrior(0.9), CopulaPrior(-0.6)], ids=repr)
@pytest.mark.parametrize("fold", ood_folds(2, "orthant") + ood_folds(2, "halfspace"), ids=lambda f: f.name)
@pytest.mark.parametrize("part", ["train", "test"])
def test_restricted_draws_lie_in_the_region_with_the_prior_mass_fraction(prior, fold, part):
    x = sample_region(prior, 2, 5_000, fold, part)
    assert x.shape == (5_000, 2)
    assert np.all(fold.in_test(x) == (part == "test"))
    # The unrestricted prior puts mass region_probability in the region (binomial SE).
    p = region_probability(prior, fold, part)
    inside = np.mean(fold.in_test(prior.sample(3, N_MC)) == (part == "test"))
    assert abs(inside - p) < K_SE * np.sqrt(p * (1 - p) / N_MC)


def test_restricted_copula_draws_follow_the_prior_within_the_region():
    # Restricting by rejection must not distort the distribution inside the region: compare
    # with the unrestricted prior's points that fall in the region (two-sample KS on x1 x2).
    prior, fold = CopulaPrior(0.7), Fold("orthant", 0, 2)
    restricted = sample_region(prior, 4, 20_000, fold, "train")
    x = prior.sample(5, 40_000)
    reference = x[~fold.in_test(x)]
    assert stats.ks_2samp(restricted[:, 0] * restricted[:, 1], reference[:, 0] * reference[:, 1]).pvalue > 1e-3


@pytest.mark.parametrize("prior", [UniformPrior(3), CopulaPrior(0.5)], ids=repr)
def test_same_seed_gives_identical_draws_and_different_seeds_differ(prior):
    fold = ood_folds(prior.D)[1]
    np.testing.assert_array_equal(sample_region(prior, 7, 100, fold, "train"),
                                  sample_region(prior, 7, 100, fold, "train"))
    assert not np.array_equal(prior.sample(7, 100), prior.sample(8, 100))


def test_rho_zero_copula_covariance_is_the_uniform_one():
    np.testing.assert_array_equal(CopulaPrior(0.0).covariance(), UniformPrior(2).covariance())


@pytest.mark.parametrize("call, match", [
    (lambda: CopulaPrior(1.0), "rho=1.0"),
    (lambda: CopulaPrior(float("nan")), "rho=nan"),
    (lambda: UniformPrior(0), "D=0"),
    (lambda: make_prior("gauss"), "prior='gauss'"),
    (lambda: make_prior("copula", D=3), "D=3"),
    (lambda: factor_correlation(1.5), "rho="),
    (lambda: sample_region(CopulaPrior(0.1), 0, 10, Fold("orthant", 0, 2), "both"), "part='both'"),
    (lambda: sample_region(CopulaPrior(0.1), 0, 10, Fold("orthant", 0, 3), "test"), "D=3"),
    (lambda: sample_region(CopulaPrior(0.1), 0, 0, Fold("orthant", 0, 2), "test"), "n=0"),
])
def test_bad_prior_arguments_raise_a_named_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
