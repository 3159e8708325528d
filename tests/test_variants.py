"""World variants of the training configuration (nets.config, nets.trials, nets.train.draw_batch,
nets.ensemble.ensemble_inputs): the defaults reproduce the pre-variant runs bit for bit, and each
variant's trials have the statistics its theory module states.

Monte-Carlo tolerances are 4 standard errors computed from the same sample (a false failure rate
of ~6e-5 per comparison); the draws are seeded, so every run sees the same numbers.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.blas import blas_kernels

from nets.config import NOISES, PRIORS, BOUNDARIES, TrainConfig, config_difference, ensemble_config
from nets.ensemble import build_ensemble, ensemble_inputs, network_streams
from nets.pool import network_config
from nets.train import draw_batch, train
from nets.trials import draw_world, make_trials
from theory.designs import even_design
from theory.encoders import draw_encoder, stack_encoders
from theory.multiplicative import multiplicative_labels, reference_thresholds
from theory.noise import sample_noise
from theory.priors import CopulaPrior, factor_correlation

#: Recorded at commit 9bda1d1 (before the variant fields existed) by running ``_baseline_runs``.
BASELINE = Path(__file__).parent / "data" / "default_world_baseline.npz"
BASELINE_CONFIGS = {
    "ref": dict(ntask=[2, 6], networks=1, hidden=4, batches=5, batch_size=3),
    "free": dict(ntask=[4], networks=2, hidden=4, batches=5, batch_size=3, timeline="free", loss="mse_tanh5",
                 encoder="identity"),
    "rand": dict(ntask=[5], networks=1, hidden=4, batches=5, batch_size=3, D=3, design="random",
                 design_offsets=True, sigma=0.3, encoder="quadratic", dtype="float64", seed=7),
    "recnoise": dict(ntask=[3], networks=1, hidden=4, batches=5, batch_size=3, rec_noise=0.1, seed=3),
    "tf": dict(ntask=[4], networks=1, arch="transformer", d_model=4, n_head=2, d_mlp=4, batches=3, batch_size=3),
}
SE_TOL = 4.0


def _baseline_runs() -> dict:
    out = {}
    for name, kw in BASELINE_CONFIGS.items():
        r = train(ensemble_config(**kw), progress=False)
        for k, v in r.ensemble.params.items():
            out[f"{name}/{k}"] = v
        out[f"{name}/losses"] = r.losses
        x = np.random.default_rng(1).uniform(-0.5, 0.5, (3, r.config.D))
        u, X = ensemble_inputs(r.ensemble, x, np.random.default_rng(2))
        out[f"{name}/X"] = X
        out[f"{name}/u"] = u[..., :4]
    return out


#: BLAS kernel family the baseline was recorded on; products round differently on other kernels
#: (``infra.blas``), so bit-identity is asserted on these kernels only.
BASELINE_KERNELS = "Haswell"


def _compare_with_baseline() -> None:
    saved = np.load(BASELINE)
    now = _baseline_runs()
    assert sorted(now) == sorted(saved.files)
    for key in saved.files:
        np.testing.assert_array_equal(now[key], saved[key], err_msg=key)


def test_default_world_reproduces_the_pre_variant_trainings_and_evaluations_bit_for_bit():
    """On the baseline's kernels in this process; on other OpenBLAS kernels, in a subprocess that
    forces the baseline's family (OpenBLAS reads OPENBLAS_CORETYPE only when it loads)."""
    kernels = blas_kernels()
    if (kernels["kernels"] or "").lower() == BASELINE_KERNELS.lower():
        _compare_with_baseline()
        return
    if kernels["library"] != "openblas":
        pytest.skip(f"the baseline was recorded on OpenBLAS {BASELINE_KERNELS} kernels; numpy runs {kernels}")
    env = {**os.environ, "OPENBLAS_CORETYPE": BASELINE_KERNELS}
    code = "import tests.test_variants as t; t._compare_with_baseline()"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _training_batch(config: TrainConfig, k: int = 0):
    """(x*, X, y) of network k's first training batch, reproduced from its data stream by
    draw_world, after checking that draw_batch's inputs carry exactly that evidence."""
    ens, rngs = build_ensemble(config)
    twin = np.random.default_rng(network_streams(config, k)["data"])
    x_star, X = draw_world(twin, config.batch_size, config.n_stim, config.noise_model(k), config.latent_prior())
    u, y, _ = draw_batch(config, range(config.K), list(ens.designs), rngs,
                         stack_encoders(ens.encoders, np.dtype(config.dtype)))
    np.testing.assert_array_equal(u[k, 1:-1, :, 1:].swapaxes(0, 1), X)   # identity encoder, float64
    return x_star, X, y[k].swapaxes(0, 1)


def _config(**kw):
    base = dict(ntask=(4,), encoder="identity", dtype="float64", hidden=4, batches=1, seed=5)
    return ensemble_config(**(base | kw))


def test_copula_training_latents_have_uniform_marginals_and_the_arcsine_factor_correlation():
    rho, n = 0.7, 40_000
    config = _config(prior="copula", rho=rho, batch_size=n, n_stim=1, sigma=0.0)
    x, X, _ = _training_batch(config)
    np.testing.assert_array_equal(X[:, 0], x)                            # sigma = 0: evidence is x*
    twin = np.random.default_rng(network_streams(config, 0)["data"])
    np.testing.assert_array_equal(x, CopulaPrior(rho).sample(twin, n))  # the latents come first
    # U(-1/2, 1/2) marginals: mean 0, second moment 1/12, a quarter of the draws in each quarter
    for j in range(2):
        se = np.sqrt(1 / 12 / n)
        assert abs(x[:, j].mean()) < SE_TOL * se
        m2 = x[:, j] ** 2
        assert abs(m2.mean() - 1 / 12) < SE_TOL * m2.std() / np.sqrt(n)
        counts = np.histogram(x[:, j], bins=[-0.5, -0.25, 0, 0.25, 0.5])[0] / n
        np.testing.assert_allclose(counts, 0.25, atol=SE_TOL * np.sqrt(0.25 * 0.75 / n))
    # the marginal moments are known, so corr = 12 E[x1 x2], SE from the products' spread
    prod = 12 * x[:, 0] * x[:, 1]
    assert abs(prod.mean() - factor_correlation(rho)) < SE_TOL * prod.std() / np.sqrt(n)
    assert factor_correlation(rho) > 10 * prod.std() / np.sqrt(n)      # the check can tell rho from 0


def test_anisotropic_training_noise_has_the_per_coordinate_sds():
    n, T = 4000, 5
    config = _config(noise="anisotropic", aniso_scales=(1.0, 2.0), sigma=0.2, batch_size=n, n_stim=T)
    x, X, _ = _training_batch(config)
    eps = (X - x[:, None, :]).reshape(-1, 2)
    for j, sd in enumerate((0.2, 0.4)):
        sq = eps[:, j] ** 2
        assert abs(eps[:, j].mean()) < SE_TOL * sd / np.sqrt(len(eps))
        assert abs(sq.mean() - sd**2) < SE_TOL * sq.std() / np.sqrt(len(sq))
    sq1 = eps[:, 1] ** 2
    assert 0.2**2 < sq1.mean() - SE_TOL * sq1.std() / np.sqrt(len(sq1))   # coordinate 2 is wider than sigma


def test_ar1_training_noise_is_stationary_with_lag_k_correlation_a_to_the_k():
    a, sigma, n, T = 0.6, 0.2, 6000, 6
    config = _config(noise="ar1", ar1_a=a, sigma=sigma, batch_size=n, n_stim=T)
    x, X, _ = _training_batch(config)
    eps = (X - x[:, None, :]) / sigma                                     # (n, T, 2), unit sd
    for t in (0, T - 1):                                                  # stationary: sd sigma at both ends
        sq = eps[:, t] ** 2
        np.testing.assert_array_less(np.abs(sq.mean(axis=0) - 1), SE_TOL * sq.std(axis=0) / np.sqrt(n))
    for lag in (1, 2):
        prod = (eps[:, :-lag] * eps[:, lag:]).mean(axis=1)                # one value per trial and coordinate
        np.testing.assert_array_less(np.abs(prod.mean(axis=0) - a**lag), SE_TOL * prod.std(axis=0) / np.sqrt(n))


def test_gumbel_training_noise_has_the_gumbel_mean_and_variance():
    beta, n, T = 0.2, 4000, 5
    config = _config(noise="gumbel", sigma=beta, batch_size=n, n_stim=T)
    x, X, _ = _training_batch(config)
    e = (X - x[:, None, :]).ravel()
    m = len(e)
    mean, var = np.euler_gamma * beta, np.pi**2 * beta**2 / 6
    assert abs(e.mean() - mean) < SE_TOL * np.sqrt(var / m)
    dev = (e - mean) ** 2
    assert abs(dev.mean() - var) < SE_TOL * dev.std() / np.sqrt(m)
    skew = ((e - mean) ** 3).mean() / var**1.5                            # Gumbel skewness ~1.14, a Gaussian's 0
    assert skew > 0.5


def test_multiplicative_training_labels_are_the_reference_products():
    config = _config(ntask=(8,), boundaries="multiplicative", batch_size=500, n_stim=3)
    x, _, y = _training_batch(config)
    expected = multiplicative_labels(x, reference_thresholds(8))
    np.testing.assert_array_equal(y[:, -1], expected)
    np.testing.assert_array_equal(y[:, :-1], 0.5)
    assert 0 < expected.mean() < 0.5                                      # both labels occur


def test_variant_ensemble_equals_separate_runs_bit_for_bit():
    kw = dict(ntask=(4, 4), prior="copula", rho=-0.4, noise="ar1", ar1_a=0.5, boundaries="multiplicative",
              sigma=(0.2, 0.3), batches=6, batch_size=4, n_stim=4, hidden=6, seed=9, dtype="float64")
    together = train(ensemble_config(**kw), progress=False)
    for k in range(2):
        alone = train(ensemble_config(**(kw | dict(ntask=(4,), sigma=(kw["sigma"][k],), first_network=k))),
                      progress=False)
        for name, p in alone.ensemble.params.items():
            np.testing.assert_array_equal(p[0], together.ensemble.params[name][k], err_msg=name)
        np.testing.assert_array_equal(alone.losses[:, 0], together.losses[:, k])


@st.composite
def variant_fields(draw):
    """Any valid combination of the world-variant fields (D = 2)."""
    kw = {}
    if draw(st.booleans()):
        kw.update(prior="copula", rho=draw(st.floats(-0.99, 0.99)))
    noise = draw(st.sampled_from(NOISES))
    kw["noise"] = noise
    if noise == "anisotropic":
        kw["aniso_scales"] = tuple(draw(st.lists(st.floats(0.1, 5.0), min_size=2, max_size=2)))
    if noise == "ar1":
        kw["ar1_a"] = draw(st.floats(-0.95, 0.95))
    if draw(st.booleans()):
        kw["boundaries"] = "multiplicative"
    return kw


@given(fields=variant_fields(), seed=st.integers(0, 2**31 - 1))
def test_any_variant_round_trips_through_json_and_draws_each_network_as_if_alone(fields, seed):
    config = ensemble_config(ntask=(4, 8, 4), sigma=(0.1, 0.2, 0.3), encoder="identity", hidden=3, batch_size=3,
                             n_stim=3, dtype="float64", seed=seed, **fields)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    ens, rngs = build_ensemble(config)
    u, y, _ = draw_batch(config, range(3), list(ens.designs), rngs, stack_encoders(ens.encoders, np.float64))
    for k in range(3):
        one = network_config(config, k)
        ens1, rngs1 = build_ensemble(one)
        u1, y1, _ = draw_batch(one, range(1), list(ens1.designs), rngs1, stack_encoders(ens1.encoders, np.float64))
        np.testing.assert_array_equal(u1[0], u[k])
        np.testing.assert_array_equal(y1[0], y[k, ..., :one.ntask[0]])


def test_frozen_evaluation_draws_each_networks_own_noise_model():
    config = ensemble_config(ntask=(4, 4), sigma=(0.1, 0.3), noise="gumbel", encoder="identity", hidden=4,
                             n_stim=3, dtype="float64")
    ens, _ = build_ensemble(config)
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2000, 2))
    u, X = ensemble_inputs(ens, x, np.random.default_rng(1))
    twin = np.random.default_rng(1)
    for k in range(2):                                                   # network order, one draw each
        eps = sample_noise(config.noise_model(k), twin, len(x), 3)
        np.testing.assert_array_equal(X[k], x[:, None, :] + eps)
        np.testing.assert_array_equal(u[k, :, 1:-1, 1:], X[k])
        assert config.noise_model(k).kind == "gumbel" and config.noise_model(k).sigma[0] == config.sigma[k]
    e = X - x[None, :, None, :]
    se = np.sqrt(np.pi**2 / 6 * 0.3**2 / e[1].size)
    assert abs(e[1].mean() - np.euler_gamma * 0.3) < SE_TOL * se        # Gumbel's mean, not 0
    _, X0 = ensemble_inputs(ens, x, 1, sigma=0)
    np.testing.assert_array_equal(X0, np.broadcast_to(x[None, :, None, :], X0.shape))


def test_frozen_evaluation_scales_a_given_sigma_by_the_anisotropic_multipliers():
    config = ensemble_config(ntask=(4,), noise="anisotropic", aniso_scales=(1.0, 3.0), encoder="identity",
                             hidden=4, n_stim=2, dtype="float64")
    ens, _ = build_ensemble(config)
    x = np.zeros((3, 2))
    _, X = ensemble_inputs(ens, x, np.random.default_rng(4), sigma=0.5)
    np.testing.assert_array_equal(X[0], np.random.default_rng(4).standard_normal((3, 2, 2)) * [0.5, 1.5])


def test_make_trials_takes_a_prior_a_noise_model_and_the_multiplicative_task():
    config = ensemble_config(ntask=(8,), prior="copula", rho=0.5, noise="ar1", ar1_a=0.3, boundaries="multiplicative")
    design, f = even_design(8), draw_encoder("identity", 2)
    tr = make_trials(3, 50, design, config.noise_model(0), f, prior=config.latent_prior(), boundaries="multiplicative",
                     dtype=np.float64)
    x, X = draw_world(3, 50, 20, config.noise_model(0), config.latent_prior())
    np.testing.assert_array_equal(tr.x_star, x)
    np.testing.assert_array_equal(tr.X, X)
    np.testing.assert_array_equal(tr.y[:, -1], multiplicative_labels(x, reference_thresholds(8)))


def test_variant_fields_round_trip_and_stay_out_of_default_dictionaries():
    c = ensemble_config(ntask=[4, 8], prior="copula", rho=0.3, noise="anisotropic", aniso_scales=[1, 2.5],
                        boundaries="multiplicative")
    d = c.to_dict()
    assert (d["prior"], d["rho"], d["noise"], d["aniso_scales"], d["boundaries"]) == \
        ("copula", 0.3, "anisotropic", (1.0, 2.5), "multiplicative")
    assert "ar1_a" not in d and TrainConfig.from_dict(d) == c
    default = TrainConfig().to_dict()
    assert not {"prior", "rho", "noise", "aniso_scales", "ar1_a", "boundaries"} & set(default)
    assert TrainConfig.from_dict(default) == TrainConfig()
    assert config_difference(TrainConfig(), TrainConfig(noise="gumbel")) == {"noise": ("gaussian", "gumbel")}
    ar = TrainConfig(noise="ar1", ar1_a=0.5)
    assert TrainConfig.from_dict(ar.to_dict()) == ar


def test_design_auto_is_stored_resolved():
    assert TrainConfig(design="auto").design == "even"
    assert TrainConfig(design="auto", D=3).design == "random"
    assert TrainConfig(design="auto", D=3) == TrainConfig(design="random", D=3)


def test_enumerations_are_the_theory_modules_names():
    assert PRIORS == ("uniform", "copula") and BOUNDARIES == ("linear", "multiplicative")
    assert NOISES == ("gaussian", "anisotropic", "ar1", "gumbel")


@pytest.mark.parametrize("kwargs, match", [
    (dict(rho=0.5), "rho=0.5 needs prior='copula'"),
    (dict(prior="copula", rho=1.0), "rho=1.0 must satisfy -1 < rho < 1"),
    (dict(prior="copula", rho=-1.5), "rho=-1.5"),
    (dict(prior="copula", rho=float("nan")), "rho=nan must be a finite number"),
    (dict(prior="copula", D=3, design="random"), "prior='copula' needs D=2"),
    (dict(prior="gaussian"), "prior='gaussian' must be one of"),
    (dict(noise="cauchy"), "noise='cauchy' must be one of"),
    (dict(noise="anisotropic", aniso_scales=()), "aniso_scales=\\(\\) must have D=2 entries"),
    (dict(noise="anisotropic", aniso_scales=(1.0, 2.0, 3.0)), "aniso_scales=\\(1.0, 2.0, 3.0\\) must have D=2"),
    (dict(noise="anisotropic", aniso_scales=(1.0, 0.0)), "aniso_scales=\\(1.0, 0.0\\) must be a tuple of finite"),
    (dict(noise="anisotropic", aniso_scales=(1.0, -2.0)), "aniso_scales"),
    (dict(aniso_scales=(1.0, 2.0)), "aniso_scales=\\(1.0, 2.0\\) is only used by noise='anisotropic'"),
    (dict(noise="ar1", ar1_a=1.0), "ar1_a=1.0 must satisfy -1 < ar1_a < 1"),
    (dict(ar1_a=0.3), "ar1_a=0.3 is only used by noise='ar1'"),
    (dict(boundaries="multiplicative", ntask=(6,)), "ntask=\\(6,\\) must be multiples of 4"),
    (dict(boundaries="multiplicative", ntask=(4,), timeline="free", loss="mse_tanh5"), "needs timeline='fixed'"),
    (dict(boundaries="multiplicative", ntask=(4,), D=3, design="random"), "boundaries='multiplicative' needs D=2"),
    (dict(boundaries="multiplicative", ntask=(4,), design_offsets=True), "design_offsets=True does not apply"),
    (dict(boundaries="quadratic"), "boundaries='quadratic' must be one of"),
    (dict(design="even", D=3), "design='even' needs D=2"),
    (dict(design="spiral"), "design='spiral' must be one of"),
])
def test_bad_variant_values_are_rejected_with_a_message_naming_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ensemble_config(**kwargs)


@pytest.mark.parametrize("fields", [dict(noise="ar1", ar1_a=0.0), dict(noise="ar1"), dict(noise="ar1", ar1_a=-0.2),
                                    dict(noise="anisotropic"), dict(noise="anisotropic", aniso_scales=(2.0, 1.0))])
def test_noise_parameters_round_trip_whether_given_or_left_to_the_reference_default(fields):
    config = TrainConfig(**fields)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
