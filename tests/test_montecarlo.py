"""Monte-Carlo twins (verify.montecarlo) agree with every closed form, and catch wrong ones.

Tolerances: a twin returning estimates over K settings (e.g. every t) is judged with
k = family_k(K, alpha=1e-3, dof), so all K comparisons pass with probability >= 0.999 if the
prediction is right (Student-t quantiles when the SE comes from a few protocol replicates;
single comparisons use K = 1, k ~ 3.3 for per-trial SEs). Seeds are fixed,
so the outcome is deterministic; the alpha says how unlucky a seed would have to be.
"""
import numpy as np
import pytest
from scipy.stats import norm
from scipy.stats import t as student_t

from theory.accuracy import imperfect_output_covariance, optimal_accuracy, optimal_cross_entropy
from theory.angles import angle_spread
from theory.ceilings import r2_ceiling, r2_ceiling_per_coordinate, r2_protocol
from theory.designs import even_design, random_design
from theory.folds import ood_folds
from theory.noise import estimator_variance, make_noise
from analysis.estimates import K_SINGLE, K_VARIANTS, MCEstimate, family_k, r2_estimate
from verify.montecarlo import mc_accuracy, mc_angle_spread, mc_imperfect_outputs, mc_protocol_r2, mc_r2

ALPHA = 1e-3
T = 30
ts = np.arange(1, T + 1)

NOISES = {
    "gaussian": (make_noise("gaussian", 0.2, 2), "mean"),
    "anisotropic": (make_noise("anisotropic", [0.2, 0.4], 2), "mean"),
    "ar1-mean": (make_noise("ar1", 0.2, 2, a=0.7), "mean"),
    "ar1-gls": (make_noise("ar1", 0.2, 2, a=0.7), "gls"),
    "gumbel": (make_noise("gumbel", 0.2, 2), "mean"),
}


def assert_agrees(mc: MCEstimate, prediction, n_comparisons: int):
    k = family_k(n_comparisons, ALPHA, mc.dof)
    z = mc.z_score(prediction)
    assert np.all(np.abs(z) <= k), f"max |z| = {np.max(np.abs(z)):.2f} > k = {k:.2f}"


def test_family_k_is_the_bonferroni_normal_quantile():
    np.testing.assert_allclose(family_k(1, 0.05), norm.ppf(0.975), rtol=1e-14)
    np.testing.assert_allclose(family_k(60, 0.01), norm.isf(0.01 / 120), rtol=1e-14)
    np.testing.assert_allclose(family_k(4, 0.01, dof=7), student_t.isf(0.01 / 8, 7), rtol=1e-14)
    with pytest.raises(ValueError, match="alpha"):
        family_k(3, 1.5)


@pytest.mark.parametrize("name", NOISES)
def test_simulated_r2_matches_the_ceiling_for_every_t(name):
    noise, estimator = NOISES[name]
    pooled, per_coord = mc_r2(noise, T, 20_000, 11, estimator)
    v = estimator_variance(noise, ts, estimator)
    assert_agrees(pooled, r2_ceiling(v), T)
    assert_agrees(per_coord, r2_ceiling_per_coordinate(v), T * noise.D)


def test_r2_check_fails_for_the_free_rt_line_applied_to_a_fixed_rt_agent():
    noise, _ = NOISES["gaussian"]
    pooled, _ = mc_r2(noise, T, 20_000, 11)
    wrong = r2_ceiling(estimator_variance(noise, ts + 1))  # 1 - 12 sigma^2 / (t + 1)
    assert np.max(np.abs(pooled.z_score(wrong))) > family_k(T, ALPHA)


def test_ar1_check_distinguishes_the_sample_mean_from_gls():
    noise, _ = NOISES["ar1-mean"]
    pooled, _ = mc_r2(noise, T, 20_000, 12, "mean")
    wrong = r2_ceiling(estimator_variance(noise, ts, "gls"))
    assert np.max(np.abs(pooled.z_score(wrong))) > family_k(T, ALPHA)


def test_gumbel_check_fails_if_its_variance_is_taken_as_beta_squared():
    noise, _ = NOISES["gumbel"]
    pooled, _ = mc_r2(noise, T, 20_000, 13)
    wrong = r2_ceiling(estimator_variance(make_noise("gaussian", 0.2, 2), ts))
    assert np.max(np.abs(pooled.z_score(wrong))) > family_k(T, ALPHA)


def test_same_seed_gives_identical_estimates_and_different_seeds_differ():
    noise, _ = NOISES["ar1-gls"]
    a, _ = mc_r2(noise, 10, 2_000, 5, "gls")
    b, _ = mc_r2(noise, 10, 2_000, 5, "gls")
    c, _ = mc_r2(noise, 10, 2_000, 6, "gls")
    np.testing.assert_array_equal(a.value, b.value)
    assert not np.array_equal(a.value, c.value)


def test_r2_standard_error_matches_its_gaussian_closed_form():
    # For Gaussian errors of variance v per coordinate, the pooled squared error q = v chi^2_D / D
    # has Var(q) = 2 v^2 / D, so SE(r^2) = 12 v sqrt(2 / D) / sqrt(n). The estimated SE has
    # relative sd ~ sqrt((kurtosis(q) - 1) / (4 n)), kurtosis 3 + 12 / D for chi^2_D: 1% at
    # n = 20000, D = 2; the tolerance is 5 of those.
    noise, n = make_noise("gaussian", 0.2, 2), 20_000
    pooled, _ = mc_r2(noise, 20, n, 14)
    v = estimator_variance(noise, ts[:20])[:, 0]
    want = 12 * v * np.sqrt(2 / 2) / np.sqrt(n)
    rel_sd = np.sqrt((3 + 12 / 2 - 1) / (4 * n))
    np.testing.assert_allclose(pooled.se, want, rtol=5 * rel_sd)


@pytest.mark.slow      # 3-5 s; the same simulation runs by default for the other noise models (below)
def test_protocol_ceiling_matches_a_direct_simulation_at_the_reference_setting():
    # sigma = 0.2, t = 20, quadrant folds (docs/theory.md §4). The simulation fits least squares on 3 quadrants
    # and scores the held-out one; 16 replicates (4 per fold).
    noise, folds = make_noise("gaussian", 0.2, 2), ood_folds(2)
    mc = mc_protocol_r2(noise, [20], folds, 20_000, 20_000, 16, 21)
    predicted = np.mean([r2_protocol(estimator_variance(noise, [20]), f) for f in folds], axis=0)
    assert_agrees(mc, predicted, 1)
    # ... and it is distinguishable from the plain ceiling 1 - 12 sigma^2 / t it sits below.
    ceiling = r2_ceiling(estimator_variance(noise, [20]))
    assert np.abs(mc.z_score(ceiling))[0] > family_k(1, ALPHA, mc.dof)


@pytest.mark.parametrize("name", ["anisotropic", "ar1-gls", "gumbel"])
def test_protocol_ceiling_holds_for_non_gaussian_and_anisotropic_noise(name):
    noise, estimator = NOISES[name]
    folds, t = ood_folds(2), np.array([2, 10, 30])
    mc = mc_protocol_r2(noise, t, folds, 10_000, 10_000, 8, 22, estimator)
    v = estimator_variance(noise, t, estimator)
    assert_agrees(mc, np.mean([r2_protocol(v, f) for f in folds], axis=0), t.size)


def test_protocol_ceiling_exceeds_the_plain_ceiling_for_3d_orthant_folds_in_simulation():
    noise, folds = make_noise("gaussian", 0.2, 3), ood_folds(3, "orthant")
    mc = mc_protocol_r2(noise, [5], folds, 20_000, 20_000, 8, 23)
    v = estimator_variance(noise, [5])
    assert_agrees(mc, np.mean([r2_protocol(v, f) for f in folds], axis=0), 1)
    assert mc.value[0] - r2_ceiling(v)[0] > family_k(1, ALPHA, mc.dof) * mc.se[0]


def test_heldout_normalisation_in_simulation_matches_its_closed_form():
    noise, folds, t = make_noise("gaussian", 0.3, 2), ood_folds(2, "halfspace"), np.array([3, 20])
    mc = mc_protocol_r2(noise, t, folds, 10_000, 10_000, 8, 24, normalisation="heldout")
    v = estimator_variance(noise, t)
    assert_agrees(mc, np.mean([r2_protocol(v, f, "heldout") for f in folds], axis=0), t.size)


@pytest.mark.parametrize("design", [even_design(2), even_design(24), random_design(5, 3, 7, offsets=True)],
                         ids=["even2", "even24", "random5x3"])
def test_simulated_accuracy_and_cross_entropy_match_the_closed_forms(design):
    noise = make_noise("gaussian", 0.2, design.D)
    acc, ce = mc_accuracy(design, noise, T, 20_000, 31)
    assert_agrees(acc, optimal_accuracy(design, 0.2, ts), T)
    assert_agrees(ce, optimal_cross_entropy(design, 0.2, ts), T)


def test_accuracy_check_fails_when_the_noise_is_misstated():
    design, noise = even_design(6), make_noise("gaussian", 0.2, 2)
    acc, _ = mc_accuracy(design, noise, T, 20_000, 32)
    wrong = optimal_accuracy(design, 0.25, ts)
    assert np.max(np.abs(acc.z_score(wrong))) > family_k(T, ALPHA)


def test_simulated_imperfect_output_covariance_matches_sigma2_v_over_t_inverse_gram():
    design = random_design(6, 3, 3)
    mc = mc_imperfect_outputs(design, 0.2, 20, 0.4, 40_000, 41)
    assert_agrees(mc, imperfect_output_covariance(design, 0.2, 20, 0.4), 9)
    # Wrong gain D/N I in place of (C^T C)^-1 is detected.
    wrong = (0.04 / 20) * 0.4 * (3 / 6) * np.eye(3)
    assert np.max(np.abs(mc.z_score(wrong))) > family_k(9, ALPHA)


def test_simulated_angle_spread_matches_corollary_b9_at_large_N():
    # The formula is asymptotic (relative error O(1/N)); at N = 400 that is ~0.2%, well inside
    # the ~1.6% standard error of 2000 designs.
    mc = mc_angle_spread(400, 2, 2_000, 51)
    assert_agrees(mc, angle_spread(400, 2), 1)
    # The wrong law sqrt(D/N) (forgetting the D + 2) is rejected.
    wrong = np.degrees(np.sqrt(2 / 400))
    assert abs(mc.z_score(wrong)) > family_k(1, ALPHA)


def test_angle_spread_approximation_is_poor_at_N_equal_D():
    # The spread formula is poor at N ~ D (docs/theory.md §3): the simulated spread exceeds the large-N
    # formula by > 20% at N = D.
    mc = mc_angle_spread(3, 3, 2_000, 52)
    assert mc.value - 1.2 * angle_spread(3, 3) > family_k(1, ALPHA) * mc.se


@pytest.mark.parametrize("call, word", [
    (lambda: mc_r2(make_noise("gaussian", 0.2, 2), 0, 10, 0), "T"),
    (lambda: mc_r2(make_noise("gaussian", 0.2, 2), 5, 1, 0), "n_trials"),
    (lambda: mc_protocol_r2(make_noise("gaussian", 0.2, 2), [0], ood_folds(2), 50, 50, 2, 0), "t="),
    (lambda: mc_protocol_r2(make_noise("gaussian", 0.2, 2), [3], [], 50, 50, 2, 0), "folds"),
    (lambda: mc_protocol_r2(make_noise("gaussian", 0.2, 2), [3], ood_folds(2), 50, 50, 1, 0), "replicates"),
    (lambda: mc_accuracy(even_design(2), make_noise("gaussian", 0.2, 3), 5, 10, 0), "D="),
    (lambda: mc_imperfect_outputs(even_design(2), 0.2, 5, -1.0, 10, 0), "v="),
    (lambda: mc_angle_spread(5, 1, 10, 0), "D"),
])
def test_twins_reject_bad_input_naming_it(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_protocol_decoder_fit_on_few_trials_is_biased_and_its_extrapolation_is_not():
    """A decoder fit on n trials loses O(D/n) r^2; 2 r2(n) - r2(n/2) removes that term.

    D = 12, n = 600: the plain estimate sits many SEs below the large-sample closed form, the
    extrapolated one within k = family_k(2, 1e-3, 31 dof) SEs of it."""
    D, reps = 12, 32
    noise = make_noise("gaussian", 0.3, D)
    folds = ood_folds(D)
    t = np.array([1, 4])
    v = estimator_variance(noise, t, "mean")
    predicted = np.mean([r2_protocol(v, folds[r % len(folds)]) for r in range(reps)], axis=0)
    k = family_k(2, 1e-3, reps - 1)
    plain = mc_protocol_r2(noise, t, folds, 600, 600, reps, 5)
    extrapolated = mc_protocol_r2(noise, t, folds, 600, 600, reps, 5, extrapolate=True)
    assert np.all(plain.z_score(predicted) < -k)
    assert np.all(np.abs(extrapolated.z_score(predicted)) <= k)


def test_r2_estimate_is_one_minus_mean_over_variance_with_the_sample_se():
    rng = np.random.default_rng(3)
    sq = rng.exponential(0.01, size=(500, 3))
    est = r2_estimate(sq)
    np.testing.assert_allclose(est.value, 1 - sq.mean(axis=0) * 12, rtol=1e-14)
    np.testing.assert_allclose(est.se, sq.std(axis=0, ddof=1) / np.sqrt(500) * 12, rtol=1e-14)
    assert est.dof == 499
    for bad in ([1.0], [[np.nan, 1.0], [1.0, 1.0]], [-1.0, 1.0]):
        with pytest.raises(ValueError, match="sq_err"):
            r2_estimate(bad)


def test_family_k_variants_are_the_named_two_sided_normal_rates():
    assert family_k(variant="single") == pytest.approx(4.0, abs=1e-12)
    assert family_k(variant="screen") == pytest.approx(3.0, abs=1e-12)
    assert K_SINGLE == family_k(variant="single")
    np.testing.assert_allclose(family_k(5, variant="single"), norm.isf(K_VARIANTS["single"] / 10), rtol=1e-14)
    with pytest.raises(ValueError, match="variant"):
        family_k(variant="loose")
    with pytest.raises(ValueError, match="not both"):
        family_k(alpha=0.01, variant="single")
