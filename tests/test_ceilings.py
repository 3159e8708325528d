"""r^2 ceilings (theory.ceilings) against exact sympy derivations and their own identities."""
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from theory.ceilings import (free_rt_samples, protocol_mse, r2_ceiling, r2_ceiling_gaussian,
                             r2_ceiling_per_coordinate, r2_protocol, reference_variance, region_moments)
from theory.folds import Fold, ood_folds
from theory.noise import estimator_variance, make_noise
from theory.symbolic import protocol_r2_exact, region_moments_exact, uniform_moments

#: Identities evaluated two ways in float64 (a few operations each): relative error <= ~10 eps.
RTOL = 10 * np.finfo(float).eps

# D <= 3 keeps the exact sympy integrations (2^D boxes each) fast.
ALL_FOLDS = [f for D in (1, 2, 3) for f in ood_folds(D, "orthant")] + \
            [f for D in (2, 3) for f in ood_folds(D, "halfspace")]

# Noise variances s^2 = sigma^2 / t from sigma in [0.01, 2], t in [1, 1000] and beyond.
noise_variances = st.floats(1e-8, 4.0)


def exact_ceiling(sigma, t):
    """1 - sigma^2 / (t Var(x*_j)) with Var(x*_j) integrated exactly by sympy."""
    var = uniform_moments(sp.Rational(-1, 2), sp.Rational(1, 2))[1]
    return float(1 - sp.nsimplify(sigma) ** 2 / (sp.Integer(t) * var))


@pytest.mark.parametrize("sigma, t", [(0.2, 20), (0.2, 21), (0.1, 20), (0.3, 20), (0.4, 20), (0.6, 20), (0.05, 1)])
def test_gaussian_ceiling_equals_the_exact_uniform_variance_formula(sigma, t):
    np.testing.assert_allclose(r2_ceiling_gaussian(sigma, t), exact_ceiling(sigma, t), rtol=RTOL)


@given(sigma=st.floats(1e-3, 3.0), t=st.integers(1, 10_000), D=st.integers(1, 8))
def test_ceiling_from_the_mle_variance_is_the_same_for_every_D(sigma, t, D):
    v = estimator_variance(make_noise("gaussian", sigma, D), t)
    np.testing.assert_allclose(r2_ceiling(v), r2_ceiling_gaussian(sigma, t), rtol=RTOL, atol=RTOL)


def test_anisotropic_ceiling_per_coordinate_and_pooled_follow_each_coordinate_sd():
    sigma, t = np.array([0.2, 0.4]), 20
    v = estimator_variance(make_noise("anisotropic", sigma, 2), t)
    per = [exact_ceiling(s, t) for s in sigma]
    np.testing.assert_allclose(r2_ceiling_per_coordinate(v), per, rtol=RTOL)
    # Pooled MSE is the mean of the per-coordinate MSEs, so pooled r^2 is their mean.
    np.testing.assert_allclose(r2_ceiling(v), np.mean(per), rtol=RTOL)


def test_ceiling_fails_a_wrong_prediction():
    # The paper's free-RT line 1 - 12 sigma^2 / (t + 1) is wrong for a fixed-RT agent at t samples.
    assert abs(r2_ceiling_gaussian(0.2, 20) - r2_ceiling_gaussian(0.2, 21)) > 1e3 * RTOL


@given(timing=st.integers(0, 1000), sigma=st.floats(1e-3, 3.0))
def test_free_reaction_time_ceiling_is_the_fixed_ceiling_one_sample_later(timing, sigma):
    assert free_rt_samples(timing) == timing + 1
    np.testing.assert_allclose(r2_ceiling_gaussian(sigma, free_rt_samples(timing)),
                               1 - 12 * sigma**2 / (timing + 1), rtol=RTOL, atol=RTOL)


@pytest.mark.parametrize("fold", ALL_FOLDS, ids=lambda f: f"{f.scheme}-D{f.D}-{f.index}")
@pytest.mark.parametrize("part", ["train", "test"])
def test_region_moments_match_exact_integration_over_the_region(fold, part):
    m, S = region_moments(fold, part)
    m_exact, S_exact = region_moments_exact(fold, part)
    np.testing.assert_allclose(m, np.array(m_exact, dtype=float).ravel(), rtol=0, atol=RTOL)
    np.testing.assert_allclose(S, np.array(S_exact, dtype=float), rtol=0, atol=RTOL)


@pytest.mark.parametrize("fold", [Fold("orthant", 0, 2), Fold("orthant", 3, 2), Fold("halfspace", 1, 2)],
                         ids=lambda f: f.name)
@pytest.mark.parametrize("normalisation", ["fullrange", "heldout"])
@given(s2=noise_variances)
@mpmath.workdps(30)
def test_protocol_ceiling_matches_the_exact_symbolic_expression(fold, normalisation, s2):
    want = float(_exact(fold, normalisation)(mpmath.mpf(s2)))
    # The numeric path solves a 2x2 system with condition <= (S + s2)/s2-ish; absolute error of
    # the r^2 (order 1 quantities) stays below 1e-12.
    np.testing.assert_allclose(r2_protocol([s2, s2], fold, normalisation), want, rtol=0, atol=1e-12)


_EXACT_CACHE = {}


def _exact(fold, normalisation):
    key = (fold, normalisation)
    if key not in _EXACT_CACHE:  # the exact rational function, evaluated in 30-digit mpmath
        s2, expr = protocol_r2_exact(fold, normalisation)
        _EXACT_CACHE[key] = sp.lambdify(s2, expr, "mpmath")
    return _EXACT_CACHE[key]


@pytest.mark.parametrize("fold", ALL_FOLDS, ids=lambda f: f"{f.scheme}-D{f.D}-{f.index}")
@given(s2=noise_variances)
def test_protocol_error_is_at_least_that_of_the_best_decoder_for_the_heldout_region(fold, s2):
    # The protocol's decoder is one affine map; the best affine map for the held-out region
    # (A_q = S_q (S_q + V)^-1, intercept (I - A_q) m_q) has test MSE
    # tr[(I - A_q) S_q (I - A_q)^T + A_q V A_q^T], which no affine decoder can beat.
    mq, Sq = region_moments(fold, "test")
    V = s2 * np.eye(fold.D)
    Aq = Sq @ np.linalg.inv(Sq + V)
    R = np.eye(fold.D) - Aq
    best = np.trace(R @ Sq @ R.T + Aq @ V @ Aq.T)
    assert protocol_mse(np.full(fold.D, s2), fold).sum() >= best * (1 - 1e-12)


SHRINKAGE_HURTS = [f for f in ALL_FOLDS if not (f.scheme == "orthant" and f.D == 3)]


@pytest.mark.parametrize("fold", SHRINKAGE_HURTS, ids=lambda f: f"{f.scheme}-D{f.D}-{f.index}")
@given(s2=st.floats(1e-8, 0.04))
def test_protocol_ceiling_is_below_the_estimator_ceiling_at_moderate_noise(fold, s2):
    # For s2 = sigma^2 / t <= 0.04 (e.g. sigma <= 0.2 at any t) shrinkage towards the training
    # mean adds more error on the held-out region than it removes noise, for quadrants and
    # half-spaces. Not a theorem: see the D = 3 orthant test below, and at larger s2 the shrunk
    # decoder beats the raw estimate everywhere.
    v = np.full(fold.D, s2)
    assert r2_protocol(v, fold) <= r2_ceiling(v) + RTOL


@given(s2=st.floats(1e-4, 0.04))
def test_protocol_ceiling_exceeds_the_estimator_ceiling_for_3d_orthant_folds(s2):
    # Small-s2 expansion: protocol MSE - ceiling MSE = s2^2 [tr(S^-1 (S_q + d d^T) S^-1)
    # - 2 tr(S^-1)] / D + O(s2^3). The bracket is negative for D = 3 orthants (7/8 of the cube is
    # seen in training, so the held-out orthant is close to the training distribution and
    # shrinkage pays). The test derives the sign of the bracket, then checks the closed form.
    fold = ood_folds(3, "orthant")[0]
    m, S = region_moments(fold, "train")
    mq, Sq = region_moments(fold, "test")
    Si = np.linalg.inv(S)
    bracket = np.trace(Si @ (Sq + np.outer(mq - m, mq - m)) @ Si) - 2 * np.trace(Si)
    assert bracket < 0
    v = np.full(3, s2)
    assert r2_protocol(v, fold) > r2_ceiling(v)


@pytest.mark.parametrize("fold", ALL_FOLDS, ids=lambda f: f"{f.scheme}-D{f.D}-{f.index}")
def test_protocol_ceiling_tends_to_the_ceiling_as_noise_vanishes(fold):
    # With s2 -> 0, A -> I and the shrinkage term vanishes: MSE = s2 tr(A A^T) / D + O(s2^2).
    s2 = 1e-9
    np.testing.assert_allclose(r2_protocol(np.full(fold.D, s2), fold), r2_ceiling(np.full(fold.D, s2)),
                               rtol=0, atol=1e-14)


@given(s2=noise_variances)
def test_heldout_normalisation_rescales_the_pooled_mse_by_the_heldout_variance(s2):
    fold = ood_folds(2)[1]
    full, held = r2_protocol([s2, s2], fold), r2_protocol([s2, s2], fold, "heldout")
    ratio = reference_variance(fold, "fullrange") / reference_variance(fold, "heldout")
    # 1 - r^2 is formed from r^2 near 1, so compare absolutely: a few eps on O(1) numbers times ratio 4.
    np.testing.assert_allclose(1 - held, (1 - full) * ratio, rtol=0, atol=8 * ratio * np.finfo(float).eps)


def test_protocol_mse_is_vectorised_over_a_grid_of_noise_variances():
    fold = ood_folds(2)[0]
    grid = np.array([[1e-3, 1e-3], [2e-3, 5e-3], [0.1, 0.01]])
    batch = protocol_mse(grid, fold)
    np.testing.assert_allclose(batch, np.array([protocol_mse(g, fold) for g in grid]), rtol=1e-14)


@pytest.mark.parametrize("call, word", [
    (lambda: r2_ceiling_gaussian(-0.1, 20), "sigma"),
    (lambda: r2_ceiling_gaussian(0.2, 0), "t="),
    (lambda: r2_ceiling([np.nan, 0.1]), "error_variance"),
    (lambda: r2_ceiling(0.1), "error_variance"),
    (lambda: r2_protocol([0.1, 0.1, 0.1], ood_folds(2)[0]), "error_variance"),
    (lambda: r2_protocol([0.1, -0.1], ood_folds(2)[0]), "error_variance"),
    (lambda: r2_protocol([0.1, 0.1], ood_folds(2)[0], "quadrant"), "normalisation"),
    (lambda: reference_variance(None, "heldout"), "fold"),
    (lambda: region_moments(ood_folds(2)[0], "all"), "part"),
    (lambda: free_rt_samples(-1), "timing"),
])
def test_ceilings_reject_bad_input_naming_it(call, word):
    with pytest.raises(ValueError, match=word):
        call()


@pytest.mark.parametrize("s2", [0.002, 0.02, 0.2])
def test_in_distribution_ceiling_is_one_over_one_plus_twelve_s2_on_quadrants(s2):
    """Derived: A = a I with a = (1/12)/(1/12 + s^2); on a quadrant E[x^2] = 1/16 + 1/48 = 1/12, so
    MSE = (1 - a)^2/12 + a^2 s^2 = s^2 a and r^2 = 1 - 12 s^2 a = 1/(1 + 12 s^2). Identity: 1e-14."""
    from theory.ceilings import r2_in_distribution

    for fold in ood_folds(2):
        np.testing.assert_allclose(r2_in_distribution([s2, s2], fold), 1 / (1 + 12 * s2), rtol=0, atol=1e-14)


def test_in_distribution_ceiling_matches_a_simulated_decoder():
    """Fit least squares on 200k trials over the cube, test on a held-out quadrant's fresh trials;
    agreement within 4 SE (SE of the mean squared error over the test trials)."""
    from theory.ceilings import r2_in_distribution
    from analysis.decoders import fit_linear_decoder

    rng = np.random.default_rng(0)
    s2, n = 0.02, 200_000
    x = rng.uniform(-0.5, 0.5, (n, 2))
    dec = fit_linear_decoder(x + np.sqrt(s2) * rng.standard_normal((n, 2)), x)
    fold = ood_folds(2)[3]
    xt = fold.sample(rng, n, "test")
    sq = ((dec.predict(xt + np.sqrt(s2) * rng.standard_normal((n, 2))) - xt) ** 2).mean(axis=1)
    r2, se = 1 - 12 * sq.mean(), 12 * sq.std(ddof=1) / np.sqrt(n)
    assert abs(r2 - r2_in_distribution([s2, s2], fold)) < 4 * se
    assert abs(r2 - (1 - 12 * s2)) > 4 * se  # the naive ceiling is not what an ID decoder reaches
