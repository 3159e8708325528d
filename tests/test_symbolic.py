"""Exact derivations (theory.symbolic) against the numeric closed forms they confirm."""
import numpy as np
import pytest
import sympy as sp

from theory.ceilings import region_moments
from theory.folds import ood_folds
from theory.noise import estimator_variance, make_noise
from theory.symbolic import (ar1_gls_precision_exact, ar1_mean_variance_exact, gumbel_moments,
                             protocol_r2_exact, region_moments_exact, sphere_fourth_moment, uniform_moments)
from theory.world import LATENT_VARIANCE

LATENT_VARIANCE_EXACT = sp.Rational(1, 12)

#: float64 evaluations of short closed forms: a few eps.
RTOL = 8 * np.finfo(float).eps


def test_cube_coordinate_variance_is_one_twelfth_as_used_by_the_world():
    mean, var = uniform_moments(sp.Rational(-1, 2), sp.Rational(1, 2))
    assert mean == 0
    np.testing.assert_allclose(float(var), LATENT_VARIANCE, rtol=RTOL)


def test_orthant_coordinate_variance_is_a_quarter_of_the_cube_variance():
    # The orthant side is half the cube's, and the variance of a uniform scales with width^2.
    cube = uniform_moments(sp.Rational(-1, 2), sp.Rational(1, 2))[1]
    mean, var = uniform_moments(0, sp.Rational(1, 2))
    assert mean == sp.Rational(1, 4)
    assert sp.simplify(var - cube / 4) == 0


@pytest.mark.parametrize("t", range(1, 9))
def test_ar1_sample_mean_variance_double_sum_equals_the_numeric_closed_form(t):
    a, expr = ar1_mean_variance_exact(t)
    model_values = np.linspace(-0.9, 0.9, 7)
    got = [estimator_variance(make_noise("ar1", 1.0, D=1, a=float(x)), t)[0] for x in model_values]
    want = [float(expr.subs(a, sp.nsimplify(x))) for x in model_values]
    # Geometric-sum closed form vs exact polynomial: rounding only, amplified by 1/(1-a)^2 <= 100.
    np.testing.assert_allclose(got, want, rtol=100 * RTOL)


@pytest.mark.parametrize("t", range(1, 8))
def test_ar1_gls_precision_is_t_minus_2_times_1_minus_a_plus_2_over_1_plus_a(t):
    a, precision = ar1_gls_precision_exact(t)
    assert sp.simplify(precision - (t * (1 - a) + 2 * a) / (1 + a)) == 0


def test_ar1_reference_gap_between_gls_and_sample_mean_is_positive():
    # At a = 0.7, t = 20 GLS does slightly better than the sample mean (docs/theory.md §4); derive both exactly.
    a, var_mean = ar1_mean_variance_exact(20)
    gls = (1 + a) / (20 * (1 - a) + 2 * a)  # 1 / precision, the closed form proven above
    value = sp.Rational(7, 10)
    assert gls.subs(a, value) < var_mean.subs(a, value)
    m = make_noise("ar1", 1.0, D=1, a=0.7)
    np.testing.assert_allclose(estimator_variance(m, 20, "gls")[0], float(gls.subs(a, value)), rtol=RTOL)


def test_gumbel_moments_match_the_noise_model():
    beta, mean, var = gumbel_moments()
    m = make_noise("gumbel", 0.3, D=1)
    np.testing.assert_allclose(m.mean[0], float(mean.subs(beta, sp.Rational(3, 10))), rtol=RTOL)
    np.testing.assert_allclose(m.step_variance[0], float(var.subs(beta, sp.Rational(3, 10))), rtol=RTOL)


@pytest.mark.parametrize("D", [2, 3, 5, 10])
def test_sphere_fourth_moment_is_one_over_D_D_plus_2_and_matches_simulation(D):
    exact = sphere_fourth_moment(D)
    assert exact == sp.Rational(1, D * (D + 2))
    g = np.random.default_rng(D).standard_normal((200_000, D))
    u = g / np.linalg.norm(g, axis=1, keepdims=True)
    prod = u[:, 0] ** 2 * u[:, 1] ** 2
    # Monte-Carlo twin: 4 standard errors (two-sided p ~ 6e-5 at this fixed seed).
    assert abs(prod.mean() - float(exact)) <= 4 * prod.std(ddof=1) / np.sqrt(prod.size)


@pytest.mark.parametrize("fold", ood_folds(2) + ood_folds(2, "halfspace"), ids=lambda f: f.name)
def test_region_moments_of_training_and_test_parts_recombine_to_the_cube(fold):
    m_tr, S_tr = region_moments_exact(fold, "train")
    m_te, S_te = region_moments_exact(fold, "test")
    w = sp.Rational(1, 2**fold.D) if fold.scheme == "orthant" else sp.Rational(1, 2)
    mean = (1 - w) * m_tr + w * m_te
    second = (1 - w) * (S_tr + m_tr * m_tr.T) + w * (S_te + m_te * m_te.T)
    assert mean == sp.zeros(2, 1)
    assert sp.simplify(second - LATENT_VARIANCE_EXACT * sp.eye(2)) == sp.zeros(2, 2)
    np.testing.assert_allclose(region_moments(fold, "train")[1], np.array(S_tr, dtype=float), rtol=RTOL)


def test_protocol_r2_tends_to_one_as_noise_vanishes_and_falls_with_noise():
    s2, expr = protocol_r2_exact(ood_folds(2)[0])
    assert sp.limit(expr, s2, 0) == 1
    # Reference point (sigma = 0.2, t = 20): strictly below the estimator ceiling 1 - 12 s2.
    ref = sp.Rational(4, 100) / 20
    assert expr.subs(s2, ref) < 1 - 12 * ref
    assert sp.diff(expr, s2).subs(s2, ref) < 0
