"""The optimal agent: running MLE, probits, and that its outputs are calibrated posteriors."""
import numpy as np
import pytest
from hypothesis import given

from optimal.agent import log_outputs, noise_scale, optimal_probits, outputs, running_mle
from theory.designs import even_design, labels, random_design
from theory.world import sample_evidence, sample_latents
from tests.strategies import designs, seeds, sigmas, times

EPS = np.finfo(float).eps


@given(seeds)
def test_running_mle_matches_the_recursive_kalman_form(seed):
    """mu(t) = mu(t-1) + (X(t) - mu(t-1)) / t, unrolled naively; agreement to rounding (T eps)."""
    X = sample_evidence(seed, sample_latents(seed, 5, 3), 30, 0.5)
    mu = np.zeros((5, 3))
    naive = []
    for t in range(1, 31):
        mu = mu + (X[:, t - 1] - mu) / t
        naive.append(mu)
    np.testing.assert_allclose(running_mle(X), np.stack(naive, axis=1), rtol=0, atol=30 * 8 * EPS)


@given(designs(), sigmas, times, seeds)
def test_probit_is_scaled_signed_distance_to_the_boundary(design, sigma, t, seed):
    """Probit linearity: z_i = sqrt(t) (c_i . mu + b_i) / (sigma |c_i|), checked row by row."""
    mu = np.random.default_rng(seed).uniform(-0.5, 0.5, (8, design.D))
    z = optimal_probits(mu, design, sigma, t)
    dist = (mu @ design.C.T + design.b) / np.linalg.norm(design.C, axis=1)
    np.testing.assert_allclose(z, np.sqrt(t) * dist / sigma, rtol=64 * EPS, atol=64 * EPS * np.sqrt(t) / sigma)


def test_anisotropic_noise_scale_is_sqrt_c_sigma_c():
    d = random_design(5, 3, 0)
    sig = np.array([0.1, 0.2, 0.4])
    np.testing.assert_allclose(noise_scale(d, sig), np.sqrt(np.einsum("nd,de,ne->n", d.C, np.diag(sig**2), d.C)),
                               rtol=4 * EPS)


def test_optimal_outputs_are_calibrated_posteriors():
    """Among trials with Yhat in a bin, the fraction with y = 1 equals the mean Yhat (Bayes calibration).

    x* uniform, flat-prior outputs are exact only away from the cube's faces, so use interior bins
    of a small-noise setting; binomial SE per bin, 5 SE allowed."""
    design, sigma, t = even_design(3), 0.05, 10
    # x* ~ U([-0.3, 0.3]^2): its prior is flat except within a few posterior sds (0.016) of the faces.
    x = sample_latents(0, 400_000, 2) * 0.6
    mu = running_mle(sample_evidence(1, x, t, sigma))[:, -1]
    p = outputs(optimal_probits(mu, design, sigma, t))[:, 0]
    y = labels(x, design)[:, 0]
    bins = np.digitize(p, np.linspace(0.1, 0.9, 9))
    for k in range(1, 9):
        m = bins == k
        se = np.sqrt(p[m].mean() * (1 - p[m].mean()) / m.sum())
        assert abs(y[m].mean() - p[m].mean()) < 5 * se


def test_log_outputs_do_not_saturate_where_probabilities_do():
    lp, lq = log_outputs(np.array([40.0, -40.0]))
    assert np.all(np.isfinite(lp)) and np.all(np.isfinite(lq)) and lq[0] < -800 and lp[1] < -800


@pytest.mark.parametrize("call, match", [
    (lambda: running_mle(np.zeros((3, 2))), "X must have shape"),
    (lambda: optimal_probits(np.zeros((3, 3)), even_design(2), 0.2, 20), "D=2"),
    (lambda: optimal_probits(np.zeros((3, 2)), even_design(2), -0.2, 20), "sigma"),
    (lambda: optimal_probits(np.zeros((3, 2)), even_design(2), 0.2, 0), "t must be positive"),
    (lambda: optimal_probits(np.zeros((3, 2)), even_design(2), 0.2, np.ones(4)), "does not broadcast"),
])
def test_bad_agent_arguments_raise_value_error_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
