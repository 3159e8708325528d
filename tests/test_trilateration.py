"""Trilateration (docs/theory.md §3) as properties over drawn D, N, C, b, sigma, t.

Tolerance for recovery is the stated float64 rounding bound of
optimal.trilateration.recovery_error_bound; the probit round trip is bounded by 2 eps (1 + |z|)
(Newton-polished ndtri_exp; measured at most 1.9 eps (1 + |z|) over |z| <= 1e5).
"""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.special import log_ndtr, ndtr, ndtri

from optimal.agent import log_outputs, noise_scale, optimal_probits, random_filter_agent
from optimal.estimates import matched_probits
from theory.identifiability import diagnose
from optimal.trilateration import (EPS, probit_from_log_cdf, probits_from_log_outputs, recover_mu_from_latent,
                                   recover_mu_from_log_outputs, recover_mu_from_probits, recovery_error_bound)
from theory.designs import even_design, make_design
from tests.strategies import designs, seeds, sigmas, times


def _mu(design, seed, n=64, spread=0.6):
    return np.random.default_rng(seed).uniform(-spread, spread, (n, design.D))


@given(designs(), sigmas, times, seeds)
def test_decoder_recovers_mle_when_ntask_at_least_D(design, sigma, t, seed):
    mu = _mu(design, seed)
    z = optimal_probits(mu, design, sigma, t)
    mu_hat = recover_mu_from_log_outputs(*log_outputs(z), design, sigma, t)
    dz = 2 * EPS * (1 + np.abs(z).max(axis=0))
    np.testing.assert_allclose(mu_hat, mu, rtol=0, atol=recovery_error_bound(design, sigma, t, dz, mu))


@given(st.floats(-1e5, 1e5))
@example(0.0)
@example(-8.3)      # Phi rounds to 1 above about 8.3 in float64
@example(40.0)
@example(-40.0)
@example(-711.4755826667778)  # where plain ndtri_exp is worst (~3000 eps)
def test_probit_round_trip_through_log_outputs_is_within_two_eps(z):
    got = probits_from_log_outputs(*log_outputs(np.array([z])))
    np.testing.assert_allclose(got, [z], rtol=0, atol=2 * EPS * (1 + abs(z)))


def test_probabilities_lose_what_log_outputs_keep():
    """The reason for log space: Phi(z) rounds to exactly 1 for z = 9, so ndtri cannot invert it."""
    assert ndtr(9.0) == 1.0 and np.isinf(ndtri(ndtr(9.0)))
    assert abs(probits_from_log_outputs(log_ndtr(9.0), log_ndtr(-9.0)) - 9.0) <= 2 * EPS * 10


@given(st.floats(-1e4, -1e-3))
def test_newton_polish_is_no_worse_than_ndtri_exp(log_p):
    from scipy.special import ndtri_exp

    exact_residual = abs(log_ndtr(probit_from_log_cdf(log_p)) - log_p)
    assert exact_residual <= abs(log_ndtr(ndtri_exp(log_p)) - log_p) + 4 * EPS * abs(log_p)


@given(designs(), sigmas, times, seeds, st.integers(0, 4))
def test_affine_latent_state_decodes_mu(design, sigma, t, seed, junk):
    """Theorem 3.1: any latent Z with optimal read-out Phi(W Z + w0) gives mu affinely.

    The agent is optimal.agent.random_filter_agent: Z mixes [sqrt(t) mu, sqrt(t), junk] through a
    random square map of cond <= 4. Tolerance: the trilateration bound with probit error
    2 (K + 2) eps (|W||Z| + |w0|) (inner products of length K, Higham's gamma_K, and W's own rounding).
    """
    rng = np.random.default_rng(seed)
    mu = _mu(design, seed, n=32)
    encode, readout, K = random_filter_agent(design.D, junk, rng)
    Z = encode(mu, np.full(len(mu), float(t)), rng.standard_normal((len(mu), junk)))
    W, w0 = readout(design, sigma)
    mu_hat = recover_mu_from_latent(Z, W, w0, design, sigma, t)
    dz = 2 * (K + 2) * EPS * (np.abs(Z) @ np.abs(W).T + np.abs(w0)).max(axis=0)
    np.testing.assert_allclose(mu_hat, mu, rtol=0, atol=recovery_error_bound(design, sigma, t, dz, mu))


@given(designs(full_rank=False), sigmas, times, seeds)
def test_only_row_space_projection_is_recovered_when_ntask_below_D(design, sigma, t, seed):
    mu = _mu(design, seed)
    diag = diagnose(design)
    assert not diag.identifiable
    z = optimal_probits(mu, design, sigma, t)
    mu_hat = recover_mu_from_probits(z, design, sigma, t, allow_projection=True)
    np.testing.assert_allclose(mu_hat, mu @ diag.row_projector, rtol=0,
                               atol=recovery_error_bound(design, sigma, t, 2 * EPS * (1 + np.abs(z).max(axis=0)), mu))
    # ...and what is lost is exactly the null-space part, which a full-D recovery would need:
    lost = np.abs((mu - mu_hat) @ diag.null_space).max()
    assert lost > 1e3 * recovery_error_bound(design, sigma, t, 2 * EPS * (1 + np.abs(z).max(axis=0)), mu)


@given(designs(full_rank=False), sigmas, times, seeds)
def test_null_space_moves_change_no_output(design, sigma, t, seed):
    mu = _mu(design, seed)
    V = diagnose(design).null_space
    z = optimal_probits(mu, design, sigma, t)
    z_moved = optimal_probits(mu + 0.5 * V.sum(axis=1), design, sigma, t)
    # Tolerance, in probit units: rounding of the D-term inner products c_i . mu (gamma_D, x8 safety)
    # plus the SVD's normwise error in the null basis, |C V| <= k eps ||C||_2 ||V||.
    shift_norm = 0.5 * np.linalg.norm(V.sum(axis=1))
    magnitude = np.abs(mu) @ np.abs(design.C).T + np.abs(design.b) + np.linalg.norm(design.C, 2) * shift_norm
    bound = 8 * (design.D + 2) * EPS * np.sqrt(t) * magnitude / noise_scale(design, sigma)
    assert np.all(np.abs(z_moved - z) <= bound)


@given(designs(full_rank=False), sigmas, times)
def test_claiming_mu_when_it_is_not_identified_raises_a_clear_error(design, sigma, t):
    z = optimal_probits(np.zeros((2, design.D)), design, sigma, t)
    with pytest.raises(ValueError, match=f"ntask={design.ntask}, D={design.D}"):
        recover_mu_from_probits(z, design, sigma, t)


def test_rank_deficient_design_with_ntask_at_least_D_is_not_identifiable():
    C = np.array([[1.0, 0, 0], [0, 1, 0], [1, 1, 0], [1, -1, 0]])  # N = 4 >= D = 3, rank 2
    diag = diagnose(make_design(C))
    assert diag.rank == 2 and not diag.identifiable
    np.testing.assert_allclose(np.abs(diag.null_space.ravel()), [0, 0, 1], atol=1e-15)


def test_sigma_zero_has_no_probits_to_invert():
    with pytest.raises(ValueError, match="sigma"):
        optimal_probits(np.zeros((1, 2)), even_design(3), 0.0, 20)
    with pytest.raises(ValueError, match="finite"):
        recover_mu_from_probits(np.array([[np.inf, -np.inf, np.inf]]), even_design(3), 0.2, 20)


def test_recovery_is_exact_at_reference_extremes_where_probabilities_saturate():
    """Reference settings (sigma 0.2, t 20, even design) reach |z| ~ 11, beyond Phi's float64 range."""
    design = even_design(6)
    g = np.linspace(-0.5, 0.5, 41)
    mu = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    z = optimal_probits(mu, design, 0.2, 20)
    assert np.abs(z).max() > 8.3  # the regime where probabilities round to 0 or 1
    mu_hat = recover_mu_from_log_outputs(*log_outputs(z), design, 0.2, 20)
    np.testing.assert_allclose(mu_hat, mu, rtol=0, atol=1e-12)


@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=20))
def test_one_tail_probit_inversion_equals_inverting_each_tail_separately(z):
    """probits_from_log_outputs inverts only the smaller tail once; it must equal the two-branch
    form (each side inverted, then selected) bit for bit."""
    lp, lq = log_outputs(np.array(z))
    lower = lp < lq
    two_branch = np.where(lower, probit_from_log_cdf(np.where(lower, lp, -np.log(2.0))),
                          -probit_from_log_cdf(np.where(lower, -np.log(2.0), lq)))
    assert np.array_equal(probits_from_log_outputs(lp, lq), two_branch)


@pytest.mark.parametrize("z", [-5e3, -2e4, -1e6, -1e8, -1e9, -1e12])
def test_probit_from_log_cdf_stays_within_2_eps_far_in_the_tail(z):
    """Beyond |z| ~ 1e8 the Newton slope exp(-z^2/2 - log Phi(z)) cancels; the Mills-ratio slope
    keeps the round trip within 2 eps (1 + |z|). Reference log Phi(z) from mpmath at 50 digits."""
    import mpmath
    with mpmath.workdps(50):
        log_p = float(mpmath.log(mpmath.ncdf(z)))
    assert abs(probit_from_log_cdf(np.array([log_p]))[0] - z) <= 2 * EPS * (1 + abs(z))


@given(designs(max_D=5), st.lists(st.floats(0.05, 5.0), min_size=5, max_size=5), times, seeds)
def test_trilateration_with_a_per_axis_sigma_recovers_mu_from_the_matched_outputs(design, scales, t, seed):
    """Anisotropic noise (sd sigma_d per axis): the matched agent's probits (c . mu + b) / sqrt(sum c_d^2 v_d),
    v_d = sigma_d^2 / t, trilaterate back to mu with the sigma vector; a scalar sigma would not."""
    sigma = 0.2 * np.array(scales[:design.D])
    mu = _mu(design, seed)
    z = matched_probits(mu, sigma**2 / t, design)
    mu_hat = recover_mu_from_log_outputs(*log_outputs(z), design, sigma, t)
    dz = 2 * EPS * (1 + np.abs(z).max(axis=0))
    bound = recovery_error_bound(design, sigma, t, dz, mu)
    np.testing.assert_allclose(mu_hat, mu, rtol=0, atol=bound)
    if np.ptp(sigma) > 0.05 * sigma.max() and np.abs(mu).max() > 0.1:
        wrong = recover_mu_from_probits(z, design, float(sigma.mean()), t)
        # for any design with rank C = D, a mismatched isotropic sigma maps some mu elsewhere, unless every
        # normal happens to give equal weights: check the defect only where the scales differ by 5% or more
        s_vec, s_iso = noise_scale(design, sigma), noise_scale(design, float(sigma.mean()))
        if np.max(np.abs(s_vec / s_iso - 1)) > 1e-3:
            assert np.abs(wrong - mu).max() > 1e3 * bound
