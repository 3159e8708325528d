"""Protocol ceiling under the Gaussian-copula prior (theory.correlated): quadrature against mpmath and
scipy, the rho = 0 reduction to theory.ceilings, symmetries, and a Monte-Carlo twin of the protocol."""
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import ndtr

from theory.ceilings import r2_protocol, region_moments
from theory.correlated import (positive_quadrant_moments, protocol_ceiling, protocol_mse_copula, protocol_rows,
                               r2_protocol_copula, region_moments_copula)
from theory.folds import Fold, ood_folds
from theory.priors import CopulaPrior, sample_region

#: Identities evaluated two ways in float64 (a few dozen operations): ~10 ulps of O(1) numbers.
RTOL = 10 * np.finfo(float).eps
#: Composite Gauss-Legendre moments (240 nodes per axis) against adaptive integration: the
#: quadrature error is ~1e-16 absolute; scipy's dblquad is asked for 1e-13.
QUAD_ATOL = 1e-12
K_SE = 4.0

FOLDS = ood_folds(2, "orthant") + ood_folds(2, "halfspace")
rhos = st.floats(-0.99, 0.99)


def u(z):
    return ndtr(z) - 0.5


@pytest.mark.parametrize("r", [-0.95, -0.4, 0.3, 0.9])
@mpmath.workdps(25)
def test_first_and_second_quadrant_moments_match_mpmath_integrals(r):
    c = mpmath.mpf(r) / mpmath.sqrt(1 - mpmath.mpf(r) ** 2)
    # E[g(z1) 1{z1 > 0, z2 > 0}] = int_0^inf g(z) phi(z) Phi(c z) dz, since z2 | z1 ~ N(r z1, 1 - r^2).
    moment = lambda k: mpmath.quad(lambda z: (mpmath.ncdf(z) - 0.5) ** k * mpmath.npdf(z) * mpmath.ncdf(c * z),
                                   [0, 1, 3, mpmath.inf])
    p, m1, m2, _ = positive_quadrant_moments(r)
    np.testing.assert_allclose([p, m1, m2], [float(moment(0)), float(moment(1)), float(moment(2))], rtol=0, atol=1e-16)


@pytest.mark.parametrize("r", [-0.9, 0.5, 0.99])
def test_cross_quadrant_moment_matches_adaptive_two_dimensional_integration(r):
    q = 1 - r**2
    density = lambda z2, z1: np.exp(-(z1**2 - 2 * r * z1 * z2 + z2**2) / (2 * q)) / (2 * np.pi * np.sqrt(q))
    want, _ = integrate.dblquad(lambda z2, z1: u(z1) * u(z2) * density(z2, z1), 0, 12, 0, 12,
                                epsabs=1e-14, epsrel=1e-13)
    np.testing.assert_allclose(positive_quadrant_moments(r)[3], want, rtol=0, atol=QUAD_ATOL)


@given(rho=rhos)
def test_quadrant_cross_moments_add_up_to_the_prior_cross_moment(rho):
    # sum over quadrants of a b m12(a b rho) = E[x1 x2] = corr / 12 = arcsin(rho / 2) / (2 pi): the
    # 2-D quadrature against Pearson's closed form.
    total = sum(a * b * positive_quadrant_moments(a * b * rho)[3] for a in (1, -1) for b in (1, -1))
    # Four 240-node quadratures of size ~1/16, summed with signs: each carries a few ulps of rounding, so
    # RTOL (10 eps) absolute; 1e-16 was below the rounding of the sum itself (hypothesis found 1.25e-16).
    np.testing.assert_allclose(total, np.arcsin(rho / 2) / (2 * np.pi), rtol=0, atol=RTOL)


@pytest.mark.parametrize("fold", FOLDS, ids=lambda f: f"{f.scheme}-{f.index}")
@pytest.mark.parametrize("part", ["train", "test"])
def test_rho_zero_region_moments_are_the_uniform_region_moments(fold, part):
    m, S = region_moments_copula(0.0, fold, part)
    m0, S0 = region_moments(fold, part)
    np.testing.assert_allclose(m, m0, rtol=0, atol=RTOL)
    np.testing.assert_allclose(S, S0, rtol=0, atol=RTOL)


@pytest.mark.parametrize("fold", FOLDS, ids=lambda f: f"{f.scheme}-{f.index}")
@given(s2=st.floats(1e-8, 4.0))
def test_rho_zero_reproduces_the_uniform_protocol_ceiling(fold, s2):
    v = np.full(2, s2)
    for normalisation in ("fullrange", "heldout"):
        np.testing.assert_allclose(r2_protocol_copula(v, fold, 0.0, normalisation), r2_protocol(v, fold, normalisation),
                                   rtol=RTOL, atol=RTOL)


@given(rho=rhos, s2=st.floats(1e-6, 0.1))
def test_mirroring_x1_maps_rho_to_minus_rho_and_swaps_quadrants(rho, s2):
    # x1 -> -x1 maps the copula prior at rho to the one at -rho and orthant k to k ^ 1.
    v = np.full(2, s2)
    for k in range(4):
        np.testing.assert_allclose(r2_protocol_copula(v, Fold("orthant", k, 2), rho),
                                   r2_protocol_copula(v, Fold("orthant", k ^ 1, 2), -rho), rtol=1e-13,
                                   atol=RTOL)  # r^2 = 1 - 12 MSE: its rounding error is absolute, not relative


@given(rho=rhos)
def test_train_and_test_regions_recombine_to_the_whole_prior(rho):
    prior = CopulaPrior(rho)
    for fold in FOLDS:
        p_test = sum(positive_quadrant_moments(np.prod(e) * rho)[0] for e in _signs(fold))
        (m, S), (mq, Sq) = region_moments_copula(rho, fold, "train"), region_moments_copula(rho, fold, "test")
        mean = (1 - p_test) * m + p_test * mq
        second = (1 - p_test) * (S + np.outer(m, m)) + p_test * (Sq + np.outer(mq, mq))
        np.testing.assert_allclose(mean, 0.0, rtol=0, atol=1e-15)
        np.testing.assert_allclose(second, prior.covariance(), rtol=0, atol=1e-15)


def _signs(fold):
    return [np.array([a, b]) for a in (1, -1) for b in (1, -1) if fold.in_test(np.array([a, b]) / 4)]


@pytest.mark.parametrize("rho, fold", [(0.9, Fold("orthant", 1, 2)), (0.9, Fold("orthant", 3, 2)),
                                       (-0.5, Fold("orthant", 0, 2))], ids=["0.9-Q4", "0.9-Q1", "-0.5-Q3"])
def test_protocol_mse_matches_a_monte_carlo_twin_of_the_protocol(rho, fold):
    # Train a least-squares decoder with intercept on mu = x* + noise from the restricted prior,
    # score it on held-out draws; the large-sample MSE must lie within K_SE standard errors (the
    # test errors are i.i.d. given the fit; the fit's own O(D / n) excess is ~1e-5 relative).
    rng = np.random.default_rng(11)
    s2, n = 0.2**2 / 20, 100_000
    prior = CopulaPrior(rho)
    x = sample_region(prior, rng, n, fold, "train")
    xq = sample_region(prior, rng, n, fold, "test")
    mu, muq = (a + np.sqrt(s2) * rng.standard_normal(a.shape) for a in (x, xq))
    F = np.column_stack([mu, np.ones(n)])
    W = np.linalg.lstsq(F, x, rcond=None)[0]
    err2 = ((np.column_stack([muq, np.ones(n)]) @ W - xq) ** 2).mean(axis=1)  # pooled over coordinates
    want = protocol_mse_copula(np.full(2, s2), fold, rho).mean()
    se = err2.std(ddof=1) / np.sqrt(n)
    assert abs(err2.mean() - want) < K_SE * se
    # The uniform-prior ceiling is a wrong prediction here and the twin must reject it.
    assert abs(err2.mean() - protocol_mse_copula(np.full(2, s2), fold, 0.0).mean()) > K_SE * se


@pytest.mark.parametrize("rho", [0.6, -0.8])
def test_restricted_sample_moments_match_the_exact_region_moments(rho):
    fold, n = Fold("orthant", 2, 2), 200_000
    for part in ("train", "test"):
        x = sample_region(CopulaPrior(rho), 3, n, fold, part)
        m, S = region_moments_copula(rho, fold, part)
        np.testing.assert_array_less(np.abs(x.mean(axis=0) - m), K_SE * x.std(axis=0) / np.sqrt(n))
        prods = (x - m)[:, :, None] * (x - m)[:, None, :]
        np.testing.assert_array_less(np.abs(prods.mean(axis=0) - S), K_SE * prods.std(axis=0) / np.sqrt(n))


def test_protocol_ceiling_tends_to_the_estimator_ceiling_as_noise_vanishes_for_every_rho():
    for rho in (-0.9, 0.5, 0.95):
        np.testing.assert_allclose(protocol_ceiling(1e-5, 1.0, rho), 1 - 12e-10, rtol=0, atol=1e-13)


def test_rows_carry_rho_and_the_ceiling_and_the_strong_correlation_costs_the_protocol():
    rows = protocol_rows([0.0, 0.5, 0.9], 0.2, 20)
    assert [r["rho"] for r in rows] == [0.0, 0.5, 0.9]
    np.testing.assert_allclose(rows[0]["r2_protocol"], np.mean([r2_protocol([0.002, 0.002], f) for f in ood_folds(2)]),
                               rtol=RTOL)
    # Correlation piles the training mass near the diagonal, so the held-out off-diagonal
    # quadrants are extrapolated further: the ceiling falls as rho grows.
    assert rows[0]["r2_protocol"] > rows[1]["r2_protocol"] > rows[2]["r2_protocol"]


@pytest.mark.parametrize("call, match", [
    (lambda: positive_quadrant_moments(1.0), "r=1.0"),
    (lambda: region_moments_copula(-1.0, Fold("orthant", 0, 2), "test"), "rho=-1.0"),
    (lambda: region_moments_copula(0.1, Fold("orthant", 0, 3), "test"), "D=3"),
    (lambda: region_moments_copula(0.1, Fold("orthant", 0, 2), "all"), "part='all'"),
    (lambda: protocol_mse_copula([0.1, 0.1, 0.1], Fold("orthant", 0, 2), 0.1), "shape"),
    (lambda: protocol_ceiling(-0.2, 20, 0.1), "sigma=-0.2"),
    (lambda: protocol_ceiling(0.2, 0, 0.1), "t=0"),
])
def test_bad_correlated_arguments_raise_a_named_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
