"""Tests of the information form of Theorem 3.1: theory.information and verify.information_mc."""
import json
import subprocess
import sys

import mpmath as mp
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import log_ndtr, ndtr
from scipy.stats import chi2
from scipy.stats import t as student_t

from tests.strategies import designs, seeds
from theory.designs import even_design, make_design, random_design
from theory.information import (MIEstimate, cell_entropy_central_2d, cell_entropy_mc, mi_gaussian_channel_mc,
                                mi_latent_mle, mi_outputs, mi_uniform_gaussian, mixture_mi_estimate)
from theory.world import LATENT_VARIANCE
from analysis.estimates import K_SINGLE as K_SE
from verify.information_mc import agreement_check, information_checks, main, mc_mi_latent_mle, mc_mi_outputs

EPS = np.finfo(float).eps
#: Reference per-sample noise at the decision: sigma = 0.2, t = 20 (docs/theory.md §1).
S_REF = 0.2 / np.sqrt(20)


def _mpmath_mi(s: float) -> float:
    """i(s) = h(U + s xi) - (1/2) log(2 pi e s^2) by mpmath quadrature at 30 digits (independent oracle)."""
    with mp.workdps(30):
        s = mp.mpf(s)

        def neg_p_log_p(y):
            p = mp.ncdf((y + 0.5) / s) - mp.ncdf((y - 0.5) / s)
            return -p * mp.log(p) if p > 0 else mp.mpf(0)

        taus = (-16, -8, -4, -2, -1, 0, 1, 2, 4, 8, 16, 32)
        knots = sorted({mp.mpf(0)} | {max(mp.mpf(0), 0.5 + s * k) for k in taus})
        return float(2 * mp.quad(neg_p_log_p, knots) - 0.5 * mp.log(2 * mp.pi * mp.e * s * s))


# --- the 1-D closed form ---------------------------------------------------------------------------

@pytest.mark.parametrize("s", [0.003, S_REF, 0.2, 1.0, 5.0])
def test_quadrature_matches_30_digit_mpmath(s):
    # The mpmath value is exact to ~1e-25; ours is float64 Gauss-Legendre. 1e-14 absolute is
    # ~20 eps x max(1, I) (I <= 4.4 here): rounding of log p and of the sum over ~600 nodes.
    np.testing.assert_allclose(mi_uniform_gaussian(s), _mpmath_mi(s), rtol=0, atol=1e-14)


def _edge_constant() -> tuple[float, float]:
    """c = -int Phi(u) log Phi(u) du (independent scipy.quad), and quad's error estimate."""
    value, err = quad(lambda u: -ndtr(u) * log_ndtr(u), -40, 40, points=[0.0], limit=200)
    return value, err


@given(s=st.floats(1e-6, 0.06))
@example(s=1e-6).via("far below the reference noise")
def test_small_noise_limit_is_log_resolution_plus_edge_term(s):
    # Derived: each edge of the cube blurs over width s, adding 2 c s to h(U) = 0, with the two edges
    # interacting only through Phi(-1/(2s))^2 (< 1e-30 for s <= 0.06).
    c, c_err = _edge_constant()
    predicted = -np.log(s * np.sqrt(2 * np.pi * np.e)) + 2 * c * s
    got = float(mi_uniform_gaussian(s))
    tol = 16 * EPS * (1 + abs(got)) + 2 * s * c_err + 1e-14  # rounding, c's quad error, quadrature (as above)
    np.testing.assert_allclose(got, predicted, rtol=0, atol=tol)


@pytest.mark.parametrize("s", [1.0, 1.5, 2.0, 3.0])
def test_large_noise_gap_to_gaussian_capacity_is_squared_excess_kurtosis_over_48(s):
    # Derived (Edgeworth): i(s) = (1/2) log(1 + v/s^2) - KL, KL = gamma4^2/48 (1 + O(gamma4)),
    # gamma4 = kappa4 / Var^2 = -(1/120) / (s^2 + 1/12)^2. Allow relative 5 |gamma4| plus the
    # quadrature's 1e-14 absolute error.
    gamma4 = -(1 / 120) / (s * s + LATENT_VARIANCE) ** 2
    kl = 0.5 * np.log1p(LATENT_VARIANCE / s**2) - float(mi_uniform_gaussian(s))
    np.testing.assert_allclose(kl, gamma4**2 / 48, rtol=5 * abs(gamma4), atol=1e-14)


@given(s=st.floats(3.0, 1e4))
@example(s=30.0).via("where the quadrature hands over to the series")
def test_large_noise_series_is_one_over_24_s2_minus_one_over_576_s4(s):
    # (1/2) log1p(x) with x = 1/(12 s^2) is an alternating series: its remainder after x/2 - x^2/4 lies
    # in [0, x^3/6]; KL <= gamma4^2/48 (1 + 5|gamma4|) < 3e-10 lowers i(s) further. Plus 1e-14 quadrature.
    x = 1 / (12 * s * s)
    gamma4 = -(1 / 120) / (s * s + LATENT_VARIANCE) ** 2
    diff = float(mi_uniform_gaussian(s)) - (x / 2 - x * x / 4)
    assert -(gamma4**2 / 48) * (1 + 5 * abs(gamma4)) - 1e-14 <= diff <= x**3 / 6 + 1e-14


@given(s=st.floats(1e-3, 100.0), ratio=st.floats(1.01, 4.0))
def test_information_is_below_gaussian_capacity_and_decreases_with_noise(s, ratio):
    # Max entropy: h(U + s xi) <= h(normal of the same variance), so i(s) <= (1/2) log(1 + v/s^2);
    # and more noise (a degraded channel) carries less. 1e-14: quadrature error (see above).
    i1, i2 = mi_uniform_gaussian(np.array([s, s * ratio]))
    assert i1 <= 0.5 * np.log1p(LATENT_VARIANCE / s**2) + 1e-14
    assert i2 < i1


def test_latent_information_is_additive_over_coordinates_and_vectorised_over_time():
    t = np.arange(1, 21)
    sigma = np.array([0.2, 0.4, 0.3])
    expected = sum(mi_uniform_gaussian(sj / np.sqrt(t)) for sj in sigma)
    np.testing.assert_allclose(mi_latent_mle(sigma, t, 3), expected, rtol=4 * EPS)  # same terms, summed
    assert np.isinf(mi_latent_mle(0.0, 20, 2))


# --- Monte-Carlo twin of the closed form ---------------------------------------------------------

@pytest.mark.parametrize("sigma, t, D", [(0.2, 20, 2), (0.2, 1, 1), (0.5, 5, 3), (1.0, 3, 2)])
def test_closed_form_agrees_with_simulation_within_replicate_standard_errors(sigma, t, D):
    # SE computed here from 8 independent replicates (Student t, 7 dof, two-sided 1e-3 level).
    reps = np.array([mc_mi_latent_mle(sigma, t, D, seed, n=2000).value for seed in range(8)])
    se = reps.std(ddof=1) / np.sqrt(len(reps))
    k = student_t.isf(0.0005, len(reps) - 1)
    assert abs(reps.mean() - float(mi_latent_mle(sigma, t, D))) <= k * se


def test_reported_standard_error_matches_the_spread_of_replicates():
    # 12 replicates: sd^2 / SE^2 ~ chi^2_{R-1}; accept its central 99.9% interval.
    ests = [mc_mi_latent_mle(0.2, 20, 2, seed, n=1000) for seed in range(12)]
    ratio = 11 * np.var([e.value for e in ests], ddof=1) / np.mean([e.se for e in ests]) ** 2
    assert chi2.ppf(0.0005, 11) <= ratio <= chi2.ppf(0.9995, 11)


def test_prediction_with_per_step_instead_of_averaged_noise_is_rejected():
    # A wrong closed form that uses sigma^2 instead of sigma^2/t (i.e. t = 1) must fail the check.
    measured = mc_mi_latent_mle(0.2, 20, 2, 0, n=4000)
    wrong = float(mi_latent_mle(0.2, 1, 2))
    right = float(mi_latent_mle(0.2, 20, 2))
    assert agreement_check("x", "x", measured, MIEstimate(right, 0.0, right, right, "closed form", True)).passed
    assert not agreement_check("x", "x", measured, MIEstimate(wrong, 0.0, wrong, wrong, "sigma^2 not /t", True)).passed


# --- the mixture-density Monte Carlo for general row spaces --------------------------------------

@pytest.mark.parametrize("k, s", [(1, S_REF), (1, 0.5), (2, S_REF), (2, 0.2)])
def test_mixture_estimator_brackets_the_exact_axis_aligned_value(k, s):
    # On an axis-aligned channel the truth is k i(s); the estimator's [lower, upper] must contain it
    # within K_SE of its own SE (sd over the n independent pairs / sqrt n).
    est = mi_gaussian_channel_mc(np.eye(k, 3) / s, 1, n=3000, m=2000)
    exact = k * float(mi_uniform_gaussian(s))
    assert est.lower <= est.upper
    assert est.lower - K_SE * est.se <= exact <= est.upper + K_SE * est.se


def test_mixture_bias_bracket_narrows_as_reference_sample_grows():
    # upper - lower is the Jensen/InfoNCE gap, O(1/m): quadrupling m must shrink it.
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (2000, 2))
    A = np.eye(2) / S_REF
    y = x @ A.T + np.random.default_rng(4).standard_normal((2000, 2))
    ref = np.random.default_rng(5).uniform(-0.5, 0.5, (4000, 2))
    small, large = mixture_mi_estimate(x, y, A, ref[:1000]), mixture_mi_estimate(x, y, A, ref)
    assert large.upper - large.lower < 0.5 * (small.upper - small.lower)


# --- data processing: outputs vs mu --------------------------------------------------------------

@settings(max_examples=15)
@given(design=designs(max_D=3, full_rank=False) | designs(max_D=3), s=st.floats(0.02, 0.3),
       t=st.integers(1, 50), seed=seeds)
def test_outputs_carry_at_most_the_latent_information_with_equality_iff_full_rank(design, s, t, seed):
    # sigma = s sqrt(t) keeps sigma/sqrt(t) = s <= 0.3, where the information lost with a dimension
    # (~i(s) >= i(0.3) ~ 0.33 nats) is >= ~9 Monte-Carlo SEs at n = m = 1000 (worst of 90 trial designs).
    sigma = s * np.sqrt(t)
    latent = float(mi_latent_mle(sigma, t, design.D))
    out = mi_outputs(design, sigma, t, seed, n=1000, m=1000)
    if np.linalg.matrix_rank(design.C) == design.D:
        np.testing.assert_allclose(out.value, latent, rtol=8 * EPS)  # same quadrature terms, exact
        assert out.exact
    else:
        assert not out.exact
        assert out.lower - K_SE * out.se <= latent
        assert latent - out.upper > K_SE * out.se  # strictly less


def test_axis_aligned_rank_deficient_outputs_keep_exactly_the_seen_axes():
    design = make_design([[1.0, 0.0, 0.0], [-2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    out = mi_outputs(design, 0.2, 20)
    assert out.exact
    np.testing.assert_allclose(out.value, 2 * mi_uniform_gaussian(S_REF), rtol=4 * EPS)


def test_information_from_simulated_outputs_matches_each_prediction():
    # Full rank: trilaterated outputs carry I(x*; mu) (closed form). Rank 1 in D = 2: the outputs'
    # information equals the projected channel's (independent Monte Carlo). K_SE combined SEs.
    full = mc_mi_outputs(even_design(6), 0.2, 20, 0, n=4000)
    assert abs(full.value - float(mi_latent_mle(0.2, 20, 2))) <= K_SE * full.se
    design = make_design([[1.0, 2.0]])
    measured = mc_mi_outputs(design, 0.2, 20, 1, n=2000, m=1000)
    predicted = mi_outputs(design, 0.2, 20, 2, n=2000, m=1000)
    se = np.hypot(measured.se, predicted.se)
    assert measured.lower - predicted.upper <= K_SE * se and predicted.lower - measured.upper <= K_SE * se


@pytest.mark.parametrize("C", [[[1.0, 2.0, 0.5]], [[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]], ids=["general", "axes"])
def test_anisotropic_noise_is_whitened_consistently_with_the_simulated_agent(C):
    # The agent's outputs are simulated with per-axis noise; the prediction whitens V^T Sigma V / t
    # (general row space) or sums per-axis i(sigma_j / sqrt t) (axes). K_SE combined SEs.
    design, sigma = make_design(C), [0.2, 0.5, 0.3]
    measured = mc_mi_outputs(design, sigma, 5, 0, n=2000, m=1000)
    predicted = mi_outputs(design, sigma, 5, 1, n=2000, m=1000)
    assert agreement_check("x", "x", measured, predicted).passed
    isotropic = mi_outputs(design, 0.2, 5, 1, n=2000, m=1000)  # wrong: ignores the larger sds
    assert not agreement_check("x", "x", measured, isotropic).passed


# --- sigma = 0: cells ----------------------------------------------------------------------------

@pytest.mark.parametrize("design", [even_design(1), even_design(3), even_design(6), random_design(5, 2, 7)],
                         ids=["even1", "even3", "even6", "random5"])
def test_cell_entropy_from_sector_areas_matches_sampled_cells(design):
    est = cell_entropy_mc(design, 0, n=50_000)
    exact = cell_entropy_central_2d(design)
    assert est.lower - K_SE * est.se <= exact <= est.upper + K_SE * est.se


def test_one_vertical_line_splits_the_square_into_two_halves():
    np.testing.assert_allclose(cell_entropy_central_2d(even_design(1)), np.log(2), rtol=4 * EPS)


def test_noiseless_outputs_carry_finite_cell_entropy_while_mu_carries_infinite():
    design = even_design(6)
    out = mi_outputs(design, 0.0, 20, 0, n=20_000)
    assert np.isfinite(out.value) and out.value <= np.log(2 * 6) + 1e-12  # 2N sectors at most
    assert np.isinf(mi_latent_mle(0.0, 20, 2))


# --- the verdicts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("design, sigma, names", [
    (even_design(6), 0.2, ["information_mle", "information_preserved"]),
    (random_design(8, 5, 1), 0.2, ["information_mle", "information_preserved"]),
    (make_design([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), 0.2, ["information_projected", "information_lost"]),
    (random_design(1, 3, 2), 0.2, ["information_projected", "information_lost"]),
    (even_design(6), 0.0, ["outputs_cell_entropy", "latent_information_unbounded"]),
    (random_design(4, 3, 1), 0.0, ["outputs_cell_entropy", "latent_information_unbounded"]),
], ids=["even6", "random_D5", "axis_rank2", "general_rank1", "even6_noiseless", "random_noiseless"])
def test_information_checks_pass_in_every_regime(design, sigma, names):
    checks = information_checks(design, sigma, 20, 0)
    assert [c.name for c in checks] == names
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]


def test_information_checks_skip_general_row_spaces_of_rank_above_two():
    G = np.random.default_rng(0).standard_normal((3, 3)) @ np.random.default_rng(1).standard_normal((3, 5))
    assert information_checks(make_design(G), 0.2, 20, 0) == []


def test_same_seed_same_estimate_different_seed_different():
    a, b, c = (mi_gaussian_channel_mc(np.array([[3.0, 1.0]]), seed, n=500, m=500) for seed in (4, 4, 5))
    assert a == b and a.value != c.value


@pytest.mark.parametrize("call, name", [
    (lambda: mi_uniform_gaussian(np.nan), "s="),
    (lambda: mi_uniform_gaussian(-1.0), "s="),
    (lambda: mi_latent_mle(-0.1, 20, 2), "sigma="),
    (lambda: mi_latent_mle(0.2, 0, 2), "t="),
    (lambda: mi_latent_mle(0.2, 20, 0), "D="),
    (lambda: mi_outputs(even_design(2), 0.2, np.array([1, 2])), "t="),
    (lambda: mi_outputs(make_design(np.ones((3, 5)) + np.eye(3, 5)), 0.2, 20), "rank(C)=3"),
    (lambda: mi_gaussian_channel_mc(np.array([1.0, 2.0]), 0), "A must"),
    (lambda: mi_gaussian_channel_mc(np.eye(2), 0, n=1), "n="),
    (lambda: mc_mi_latent_mle(0.0, 20, 2, 0), "sigma="),
    (lambda: mc_mi_outputs(even_design(2), [0.0, 0.2], 20, 0), "sigma="),
    (lambda: information_checks(even_design(2), 0.2, 0, 0), "t="),
])
def test_bad_input_raises_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name.replace("(", r"\(").replace(")", r"\)")):
        call()


# --- command line ----------------------------------------------------------------------------------

def test_cli_exits_zero_when_the_information_checks_agree(capsys):
    assert main(["--D", "3", "--ntask", "1", "--n", "1000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in out["checks"]] == ["information_projected", "information_lost"]


def test_cli_reports_bad_input_with_exit_code_two(capsys):
    assert main(["--sigma", "-1"]) == 2
    assert "sigma=-1.0" in capsys.readouterr().err


def test_cli_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "verify.information_mc", "--n", "500", "--sigma", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "outputs_cell_entropy" in done.stdout


def test_the_unbounded_latent_information_reads_inf_after_a_json_round_trip():
    """JSON (and so every cache) keeps inf as null: the check carries it as text too."""
    from verify.verdict import Check, format_value
    check = information_checks(even_design(6), 0.0, 20, 0)[1]
    back = Check.from_dict(json.loads(json.dumps(check.to_dict(), default=str).replace("Infinity", "null")))
    assert format_value(back.measured, back.measured_text) == "inf" == format_value(check.measured, check.measured_text)
