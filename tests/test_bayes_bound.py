"""The Bayes bound on the uniform box (theory.bayes_bound): closed forms against mpmath, the quadrature against
an independent double integral, the properties of a Bayes risk, and the Monte-Carlo twin.

Tolerances. Truncated-normal moments: rounding only; near the tails 1 + q - r^2 cancels terms of size a^2
to a result of size 1/a^2 (a the standardised distance outside the interval), a relative loss of a^4 eps,
and the mass a^2 eps. Quadratures: exponentially convergent rules, so doubling the nodes changes nothing
above rounding (a few hundred terms summed: <= 1e-13 relative). Monte Carlo: k = family_k(K, ALPHA) computed
standard errors for a family of K comparisons (all pass with probability >= 1 - ALPHA if the bound is right).
"""
import mpmath
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from theory.bayes_bound import (bayes_line, bayes_mse, bayes_reference_variance, posterior_mean, r2_bayes,
                                r2_bayes_fold_mean, r2_bayes_whole_cube, region_intervals, truncated_moments)
from theory.bayes_montecarlo import mc_r2_bayes
from theory.ceilings import r2_ceiling, r2_in_distribution, r2_protocol, reference_variance, region_moments
from theory.folds import Fold, ood_folds
from theory.noise import make_noise
from analysis.estimates import family_k

EPS = np.finfo(float).eps
ALPHA = 1e-3
#: Summation of a few hundred positive quadrature terms: relative rounding <= ~1e-13.
QUAD_RTOL = 1e-13
ALL_FOLDS = [f for D in (1, 2, 3) for f in ood_folds(D, "orthant")] + \
            [f for D in (2, 3, 4) for f in ood_folds(D, "halfspace")]
# Noise variances from v = 1e-8 (sigma 1e-3 at t 100) to 1e2 (sigma 10 at t 1): beyond ~1e3 the Bayes and
# linear values agree to O(1/v^2), below the rounding of r^2, so inequalities there say nothing.
variances = st.floats(1e-8, 1e2)


@mpmath.workdps(60)
def exact_moments(mu, v, lo, hi):
    """Mass, mean and variance of N(mu, v) on [lo, hi] in 60-digit arithmetic (tails by erfc)."""
    mu, v = mpmath.mpf(mu), mpmath.mpf(v)
    s, r2 = mpmath.sqrt(v), mpmath.sqrt(2)
    a, b = (lo - mu) / s, (hi - mu) / s
    if a > 0:
        Z = (mpmath.erfc(a / r2) - mpmath.erfc(b / r2)) / 2
    elif b < 0:
        Z = (mpmath.erfc(-b / r2) - mpmath.erfc(-a / r2)) / 2
    else:
        Z = mpmath.ncdf(b) - mpmath.ncdf(a)
    r = (mpmath.npdf(a) - mpmath.npdf(b)) / Z
    q = (a * mpmath.npdf(a) - b * mpmath.npdf(b)) / Z
    return float(Z), float(mu + s * r), float(v * (1 + q - r * r))


@pytest.mark.parametrize("lo, hi", [(-0.5, 0.5), (0.0, 0.5)])
@pytest.mark.parametrize("v", [1e-10, 1e-4, 2e-3, 0.1, 1.0, 1e2, 1e4, 1e6])
@pytest.mark.parametrize("mu", [-3.0, -0.9, -0.5, -0.3, 0.0, 0.2, 0.49, 0.6, 2.0])
def test_truncated_moments_match_the_closed_form_in_sixty_digits(mu, v, lo, hi):
    Z, mean, var = exact_moments(mu, v, lo, hi)
    if Z < 1e-300:  # the interval lies > 37 sd away: the mass underflows and the trial carries no weight
        return
    d = max(0.0, lo - mu, mu - hi) / np.sqrt(v)  # standardised distance outside the interval
    got = truncated_moments(mu, v, lo, hi)
    base = 64 * EPS  # sums of up to 20 Gauss-Legendre terms (nearly flat posteriors), a few ulps each
    np.testing.assert_allclose(got[0], Z, rtol=base * (1 + d**2))
    np.testing.assert_allclose(got[1], mean, rtol=0, atol=base * (1 + abs(mu)))
    np.testing.assert_allclose(got[2], var, rtol=base * (1 + d**4))


def test_posterior_mean_fails_a_flat_prior_prediction_near_a_face():
    # Near the face the posterior mean is pulled inside; the flat-prior estimate mu is not.
    m = posterior_mean([[0.5, 0.0]], [0.002, 0.002])
    assert m[0, 0] < 0.5 - 0.01 and abs(m[0, 1]) < 1e-15


def gl_gh_mse(v, lo, hi, low=-0.5, high=0.5, panels=200):
    """E over x ~ U[lo, hi] and mu = x + sqrt(v) z of (x - m(mu))^2: Gauss-Legendre in x, Gauss-Hermite in z."""
    g, w = np.polynomial.legendre.leggauss(8)
    z, wz = np.polynomial.hermite_e.hermegauss(80)
    e = np.linspace(lo, hi, panels + 1)
    x = (e[:-1, None] + np.diff(e)[:, None] * (g + 1) / 2).ravel()
    wx = (np.diff(e)[:, None] * w / 2).ravel() / (hi - lo)
    m = posterior_mean(x[:, None] + np.sqrt(v) * z, v, low, high)
    return float(np.sum(wx[:, None] * wz / np.sqrt(2 * np.pi) * (x[:, None] - m) ** 2))


@pytest.mark.parametrize("v", [1e-4, 2e-3, 0.05, 1.0, 100.0])
@pytest.mark.parametrize("fold", [None, Fold("orthant", 1, 1)], ids=["box", "upper-half"])
def test_bayes_mse_agrees_with_an_independent_double_integral(v, fold):
    lo, hi = region_intervals(fold, 1, -0.5, 0.5)
    # Both rules converged (the double integral's 80 Hermite nodes resolve m(x + s z), smooth on the z scale 1);
    # the sums span ~3e4 terms, so 1e-12 relative.
    np.testing.assert_allclose(bayes_mse([v], fold), gl_gh_mse(v, lo[0], hi[0]), rtol=1e-12)


@given(v=variances)
def test_bayes_mse_is_unchanged_when_the_quadrature_nodes_double(v):
    for fold in (None, Fold("orthant", 0, 1)):
        np.testing.assert_allclose(bayes_mse([v], fold, nodes=32), bayes_mse([v], fold), rtol=QUAD_RTOL)


@given(v=st.lists(variances, min_size=1, max_size=4))
@example(v=[0.002, 0.002])
def test_bayes_bound_exceeds_linear_line_for_every_sigma(v):
    # The posterior mean minimises the MSE over the prior among all estimators; the linear decoders on mu
    # (unshrunk: 1 - 12 v; least squares on the whole cube: MSE v / (1 + 12 v)) are estimators.
    v = np.array(v)
    bayes = r2_bayes(v)
    tol = QUAD_RTOL  # the quadrature's relative accuracy on MSE <= 1/12, in r^2 units
    assert bayes >= r2_ceiling(v) - tol
    assert bayes >= 1 - 12 * np.mean(v / (1 + 12 * v)) - tol


@given(fold=st.sampled_from(ALL_FOLDS), normalisation=st.sampled_from(["fullrange", "heldout"]), v=variances,
       stretch=st.floats(1.0, 4.0))
def test_bayes_bound_exceeds_the_protocol_and_id_lines_on_every_fold(fold, normalisation, v, stretch):
    # Like with like: same region, same normalisation. On the centred box the posterior mean's MSE is the same on
    # every orthant and half-space (reflection symmetry), so it is its whole-box MSE, below the whole-box
    # least-squares decoder's (the ID line); the protocol decoder, fit away from the region, does worse still
    # (a numerical property here, not a theorem: it is checked over this domain, anisotropic noise included).
    vv = np.full(fold.D, v)
    vv[0] *= stretch
    bayes = r2_bayes(vv, fold, normalisation)
    assert bayes >= r2_in_distribution(vv, fold, normalisation) - QUAD_RTOL * 8
    assert bayes >= r2_protocol(vv, fold, normalisation) - QUAD_RTOL * 8


def test_bayes_bound_fails_a_value_above_it():
    # The bound is not the perfect score: a check "network <= bound" fails an r^2 of 1 - 10 v.
    assert r2_bayes([0.002, 0.002]) < 1 - 10 * 0.002


@given(v1=variances, ratio=st.floats(1.001, 100.0))
def test_bayes_bound_decreases_as_noise_grows(v1, ratio):
    for fold, norm in ((None, "fullrange"), (Fold("orthant", 3, 2), "heldout")):
        assert r2_bayes([v1, v1], fold, norm) >= r2_bayes([v1 * ratio] * 2, fold, norm) - QUAD_RTOL


def test_bayes_mse_approaches_v_at_rate_sqrt_v_as_noise_vanishes():
    # Far from the faces the posterior is N(mu, v) untruncated (MSE v); within a few s of a face the prior cuts it,
    # a layer whose contribution scales as s^3 per face: 1 - MSE / v = c s. The coefficient must be the same at
    # every v (above v ~ 1e-10, where 1 - MSE/v is still far above rounding).
    v = np.array([1e-10, 1e-8, 1e-6])
    c = (1 - bayes_mse(v[:, None])[:, 0] / v) / np.sqrt(v)
    np.testing.assert_allclose(c, c[-1], rtol=1e-3)
    assert 0 < c[-1] < 10


@pytest.mark.parametrize("fold", [None, Fold("orthant", 3, 2), Fold("halfspace", 0, 2)], ids=["box", "Q1", "x1>0"])
def test_bayes_bound_tends_to_the_prior_mean_value_as_noise_grows(fold):
    # As v -> inf, m(mu) -> c + k (mu - c) with k = Var_prior / v -> 0: the estimate is the box's centre, whose
    # r^2 on the region is 1 - E[|x|^2 | region] / reference. First order in k: |r^2 - limit| <= 3 k E|x|^2 / ref.
    norm = "fullrange" if fold is None else "heldout"
    lo, hi = region_intervals(fold, 2, -0.5, 0.5)
    second = np.mean((hi - lo) ** 2 / 12 + ((hi + lo) / 2) ** 2)
    ref = bayes_reference_variance(fold, norm, 2)
    v = 1e5
    k = (1 / 12) / v
    np.testing.assert_allclose(r2_bayes([v, v], fold, norm), 1 - second / ref, rtol=0, atol=3 * k * second / ref)


@given(v=variances, shift=st.floats(-10, 10), scale=st.floats(0.01, 100))
def test_bayes_bound_is_invariant_to_shifting_the_box_and_co_scaling_box_and_noise_sd(v, shift, scale):
    # x -> scale x + shift maps the world (box, and mu's noise sd by scale, i.e. v by scale^2) onto itself, and
    # r^2 is a ratio of variances: unchanged. The nodes map exactly up to rounding.
    fold = Fold("orthant", 2, 2)
    for f, norm in ((None, "fullrange"), (fold, "fullrange"), (fold, "heldout")):
        moved = r2_bayes([scale**2 * v] * 2, f, norm, low=-0.5 * scale + shift, high=0.5 * scale + shift)
        np.testing.assert_allclose(moved, r2_bayes([v, v], f, norm), rtol=1e-12, atol=1e-12)


@given(v=st.lists(variances, min_size=2, max_size=4))
def test_bayes_mse_separates_across_coordinates_for_the_product_prior(v):
    # Product prior and diagonal noise: the posterior factorises, coordinate d's MSE depends on v_d only.
    joint = bayes_mse(np.array(v))
    np.testing.assert_array_equal(joint, [bayes_mse([vd])[0] for vd in v])
    # r^2 = 1 - 12 MSE: absolute rounding of a few ulps of 1, whatever the size of r^2.
    np.testing.assert_allclose(r2_bayes(np.array(v)), np.mean([r2_bayes([vd]) for vd in v]), rtol=0, atol=8 * EPS)


@pytest.mark.parametrize("fold", ALL_FOLDS, ids=lambda f: f"{f.scheme}-D{f.D}-{f.index}")
def test_reference_variances_are_those_of_the_linear_ceilings(fold):
    for norm in ("fullrange", "heldout"):
        np.testing.assert_allclose(bayes_reference_variance(fold, norm, fold.D), reference_variance(fold, norm),
                                   rtol=4 * EPS)
    lo, hi = region_intervals(fold, fold.D, -0.5, 0.5)
    np.testing.assert_allclose((lo + hi) / 2, region_moments(fold, "test")[0], atol=EPS)


@pytest.mark.parametrize("D", [1, 2, 3, 5])
def test_fold_values_on_the_centred_box_equal_the_whole_box_value_with_fullrange(D):
    # Reflection x_d -> -x_d maps the world and the posterior mean onto themselves, so every orthant and
    # half-space has the whole box's MSE.
    v = np.linspace(0.001, 0.004, D)
    for fold in ood_folds(D):
        np.testing.assert_allclose(r2_bayes(v, fold), r2_bayes(v), rtol=0, atol=8 * EPS)
    np.testing.assert_allclose(r2_bayes_fold_mean(v), r2_bayes(v), rtol=0, atol=8 * EPS)


@given(sigma=st.floats(1e-3, 3.0), t=st.integers(1, 1000), D=st.integers(1, 6))
def test_whole_cube_bound_is_the_same_for_every_D(sigma, t, D):
    np.testing.assert_allclose(r2_bayes_whole_cube(sigma, t, D), r2_bayes([sigma**2 / t]), rtol=0, atol=8 * EPS)


@pytest.mark.parametrize("call, name", [
    (lambda: r2_bayes([-1.0]), "error_variance"),
    (lambda: r2_bayes([np.nan]), "error_variance"),
    (lambda: r2_bayes(1.0), "error_variance"),
    (lambda: r2_bayes([0.1, 0.1], Fold("orthant", 0, 3)), "fold"),
    (lambda: r2_bayes([0.1], None, "heldout"), "heldout"),
    (lambda: r2_bayes([0.1], None, "paper"), "normalisation"),
    (lambda: r2_bayes([0.1], low=0.5, high=-0.5), "low"),
    (lambda: r2_bayes_whole_cube(0.2, 0, 2), "t"),
    (lambda: r2_bayes_whole_cube(0.2, np.nan, 2), "t"),
    (lambda: r2_bayes_whole_cube(0.2, "x", 2), "t"),
    (lambda: r2_bayes_whole_cube("x", 20, 2), "sigma"),
    (lambda: r2_bayes("abc"), "error_variance"),
    (lambda: posterior_mean([[np.inf]], [0.1]), "mu"),
    (lambda: bayes_line(0.2, np.inf, 2, "fullrange"), "t"),
    (lambda: r2_bayes_whole_cube(0.2, 20, 0), "D"),
    (lambda: posterior_mean([[0.1]], [0.0]), "error_variance"),
    (lambda: bayes_mse([0.1], nodes=1), "nodes"),
])
def test_bad_arguments_raise_value_errors_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_twin_is_reproducible_for_a_seed_and_differs_between_seeds():
    noise = make_noise("gaussian", 0.2, 2)
    a, b = mc_r2_bayes(noise, 20, 200, 5, grid_size=200), mc_r2_bayes(noise, 20, 200, 5, grid_size=200)
    assert a == b
    assert mc_r2_bayes(noise, 20, 200, 6, grid_size=200).value != a.value


REFERENCE_CASES = [(None, "fullrange")] + [(f, n) for f in ood_folds(2) for n in ("fullrange", "heldout")]


@pytest.mark.parametrize("fold, norm", REFERENCE_CASES, ids=lambda c: getattr(c, "name", c))
def test_twin_agrees_with_the_bound_at_the_reference_setting(fold, norm):
    # sigma 0.2, t 20, D 2: the simulated posterior mean (full evidence stream, grid integration) scores the
    # quadrature's value within k SE; k for the family of all reference cases.
    mc = mc_r2_bayes(make_noise("gaussian", 0.2, 2), 20, 1500, 19, fold, norm, grid_size=200)
    assert abs(mc.z_score(r2_bayes([0.002, 0.002], fold, norm))) <= family_k(len(REFERENCE_CASES), ALPHA)


def test_twin_rejects_the_linear_line_as_the_bayes_value():
    # At sigma 0.3, t 3 the linear-on-mu value 1 / (1 + 12 v) is 0.017 below the bound: the twin must see that.
    v = 0.3**2 / 3
    mc = mc_r2_bayes(make_noise("gaussian", 0.3, 2), 3, 4000, 23, grid_size=200)
    k = family_k(1, ALPHA)
    assert abs(mc.z_score(r2_bayes([v, v]))) <= k
    assert abs(mc.z_score(1 / (1 + 12 * v))) > k


@pytest.mark.slow
@pytest.mark.parametrize("fold, norm", REFERENCE_CASES, ids=lambda c: getattr(c, "name", c))
def test_twin_with_many_trials_derives_the_reference_bound(fold, norm):
    # 2e5 trials: SE ~ 8e-5 on the whole cube, resolving the Bayes-linear gap (0.0014) ~17 times.
    mc = mc_r2_bayes(make_noise("gaussian", 0.2, 2), 20, 200_000, 2026, fold, norm, grid_size=200)
    k = family_k(len(REFERENCE_CASES), ALPHA)
    assert abs(mc.z_score(r2_bayes([0.002, 0.002], fold, norm))) <= k
    assert abs(mc.z_score(r2_in_distribution([0.002, 0.002], fold or ood_folds(2)[0], norm))) > k


@pytest.mark.parametrize("normalisation", ["fullrange", "heldout"])
@pytest.mark.parametrize("sigma, t, D", [(0.2, 20, 2), (0.4, 20, 2), (0.2, 20, 3), (0.2, 20, 5)])
def test_bayes_line_sits_above_the_rows_linear_lines(sigma, t, D, normalisation):
    from verify.networks.experiment import fold_mean, theory_line
    line, bayes = theory_line(sigma, t, D, normalisation), bayes_line(sigma, t, D, normalisation)
    np.testing.assert_allclose(bayes["r2_bayes"], fold_mean(r2_bayes, sigma, t, D, normalisation), rtol=0, atol=EPS)
    assert bayes["r2_bayes"] > max(line["r2_protocol"], line["r2_id_ceiling"])
    assert bayes["r2_bayes_whole_cube"] > line["r2_ceiling"]
