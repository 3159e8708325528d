"""The generative world: latent prior, evidence, seeding."""
import numpy as np
import pytest

from theory.world import LATENT_VARIANCE, as_generator, sample_evidence, sample_latents


def test_same_seed_gives_identical_draws_and_different_seeds_differ():
    a = sample_evidence(1, sample_latents(1, 50, 3), 7, 0.2)
    b = sample_evidence(1, sample_latents(1, 50, 3), 7, 0.2)
    c = sample_evidence(2, sample_latents(2, 50, 3), 7, 0.2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_latents_are_uniform_on_the_cube_with_variance_one_twelfth():
    x = sample_latents(0, 200_000, 2)
    assert x.min() >= -0.5 and x.max() < 0.5
    # Var of the sample variance of U(-1/2,1/2): (mu4 - sigma^4)/n with mu4 = 1/80; allow 5 SE.
    se = np.sqrt((1 / 80 - LATENT_VARIANCE**2) / x.shape[0])
    np.testing.assert_allclose(x.var(axis=0), LATENT_VARIANCE, atol=5 * se)


def test_evidence_noise_has_the_requested_per_coordinate_sd():
    x = np.zeros((20_000, 2))
    X = sample_evidence(0, x, 5, np.array([0.2, 0.4]))
    n = X.shape[0] * X.shape[1]
    # sd of a sample sd is ~ sigma / sqrt(2 n); allow 5 SE.
    np.testing.assert_allclose(X.reshape(-1, 2).std(axis=0), [0.2, 0.4], atol=5 * 0.4 / np.sqrt(2 * n))


def test_generator_is_passed_through_so_streams_are_shared():
    g = np.random.default_rng(3)
    assert as_generator(g) is g


@pytest.mark.parametrize("call, match", [
    (lambda: sample_latents(0, 0, 2), "n_trials"),
    (lambda: sample_latents(0, 5, 0), "D"),
    (lambda: sample_evidence(0, np.zeros(3), 5, 0.2), "x_star"),
    (lambda: sample_evidence(0, np.zeros((3, 2)), 0, 0.2), "t"),
    (lambda: sample_evidence(0, np.zeros((3, 2)), 5, -0.1), "sigma"),
    (lambda: sample_evidence(0, np.zeros((3, 2)), 5, [0.1, 0.2, 0.3]), "sigma"),
    (lambda: sample_evidence(0, np.zeros((3, 2)), 5, np.nan), "sigma"),
    (lambda: as_generator(-1), "seed"),
    (lambda: as_generator("abc"), "seed"),
])
def test_bad_world_arguments_raise_value_error_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
