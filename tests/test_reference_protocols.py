"""The reference code's protocols, by default, and the toolkit's as named options (docs/networks.md, "Differences from the reference code").

S3b probed on uniform quadrants; the noise variants probed with Gaussian evidence; the optimal agent matched to
the probe's noise in ``nets.frozen.decision_states`` and in the calibration; S6 with the reference's sparseness;
5b on random unit-normal boundaries. Expected numbers are closed forms or Monte-Carlo tolerances of k computed
standard errors.
"""
import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from analysis.calibration import optimal_logits, optimal_probits
from nets.config import ensemble_config
from nets.ensemble import build_ensemble
from nets.frozen import decision_states
from theory.correlated import positive_quadrant_moments
from theory.designs import even_design
from theory.dimensionality import identifiable_ceiling
from verify.networks import correlated, dimensionality, measure, noise, sparseness
from verify.networks.config import NetworkCheckConfig
from verify.networks.experiment import Setting

#: Monte-Carlo tolerance: this many computed standard errors (two-sided 5 sigma: false alarm ~ 6e-7).
K_SE = 5.0
SIGMA, T, A = 0.2, 20, 0.7


# ---------------------------------------------------------------- S3b: the probe's held-out quadrant
def _off_diagonal(x):
    """Coordinates of the probe points in the quadrant x1 > 0, x2 < 0, as (|x1|, |x2|), shape (m, 2)."""
    pts = x.reshape(-1, 2)
    return np.abs(pts[(pts[:, 0] > 0) & (pts[:, 1] < 0)])


def test_uniform_probe_puts_the_held_out_quadrant_at_a_quarter_with_sd_of_a_uniform_half_at_rho_0_9():
    info = {"config": SimpleNamespace(rho=0.9)}
    x = correlated.latents(info, NetworkCheckConfig(), np.random.default_rng(0), (2, 20_000, 2))
    q = _off_diagonal(x)
    # a uniform quarter: each |x_j| ~ U(0, 1/2), mean 1/4 and sd 1 / (2 sqrt 12)
    sd = 0.5 / np.sqrt(12)
    np.testing.assert_allclose(q.mean(axis=0), 0.25, atol=K_SE * sd / np.sqrt(len(q)))
    np.testing.assert_allclose(q.std(axis=0), sd, rtol=K_SE * np.sqrt(0.8 / len(q)))  # Var(s^2)/s^4 = 0.8/m (uniform)


def test_prior_probe_puts_the_held_out_quadrant_at_the_copula_quadrant_mean():
    info = {"config": SimpleNamespace(rho=0.9)}
    x = correlated.latents(info, NetworkCheckConfig(s3b_probe="prior"), np.random.default_rng(1), (2, 40_000, 2))
    q = _off_diagonal(x)
    # the off-diagonal quadrant is the positive quadrant at r = -rho: E[|x_j| | Q] = m1(r) / p(r)
    p, m1, m2, _ = positive_quadrant_moments(-0.9)
    sd = np.sqrt(m2 / p - (m1 / p) ** 2)
    np.testing.assert_allclose(q.mean(axis=0), m1 / p, atol=K_SE * sd / np.sqrt(len(q)))
    assert m1 / p < 0.25 - K_SE * sd / np.sqrt(len(q))      # nearer the origin than the uniform probe's


def test_S3b_rows_carry_the_uniform_line_under_the_uniform_probe_and_the_copula_line_under_the_prior():
    from theory.correlated import protocol_ceiling
    info, s = {"config": SimpleNamespace(rho=0.9)}, Setting(0.9, (0,), None, SIGMA)
    uni = correlated.row_theory(info, s, T, NetworkCheckConfig())
    np.testing.assert_allclose(uni["r2_protocol"], identifiable_ceiling(2, SIGMA**2 / T), rtol=1e-12)
    np.testing.assert_allclose(uni["r2_line_half_evidence"], identifiable_ceiling(2, 2 * SIGMA**2 / T), rtol=1e-12)
    assert uni["probe_prior"] == "uniform"
    cop = correlated.row_theory(info, s, T, NetworkCheckConfig(s3b_probe="prior"))
    np.testing.assert_allclose(cop["r2_protocol"], protocol_ceiling(SIGMA, T, 0.9), rtol=1e-12)


# ---------------------------------------------------------------- the optimal agent matched to the probe's noise
def _closed_form_variance(kind: str) -> np.ndarray:
    """Var(mu_d - x*_d) of the matched estimator after T samples, written out independently of theory.noise."""
    if kind == "gaussian":
        return np.full(2, SIGMA**2 / T)
    if kind == "anisotropic":                            # sd sigma * (1, 2): the reference's multipliers
        return (SIGMA * np.array([1.0, 2.0])) ** 2 / T
    if kind == "ar1":                                    # GLS (the BLUE) of a stationary AR(1)
        return np.full(2, SIGMA**2 * (1 + A) / (T * (1 - A) + 2 * A))
    trigamma = np.pi**2 / 6 - np.sum(1.0 / np.arange(1, T) ** 2)    # psi'(T) for an integer T
    return np.full(2, SIGMA**2 * trigamma)               # Gumbel posterior mean, beta = sigma


def _ens(kind: str):
    extra = {"anisotropic": dict(aniso_scales=(1.0, 2.0)), "ar1": dict(ar1_a=A)}.get(kind, {})
    ens, _ = build_ensemble(ensemble_config(ntask=[2], networks=1, hidden=8, batches=1, noise=kind, **extra))
    return ens


@pytest.mark.parametrize("kind", ["gaussian", "anisotropic", "ar1", "gumbel"])
def test_decision_states_mu_is_the_unbiased_matched_estimate_with_the_closed_form_variance(kind):
    n = 6000
    x = np.random.default_rng(2).uniform(-0.5, 0.5, (n, 2))
    st = decision_states(_ens(kind), x, 3)
    v = _closed_form_variance(kind)
    np.testing.assert_allclose(st.mu_var[0], v, rtol=1e-12)
    err = st.mu[0] - x
    # unbiased (the plain mean under Gumbel noise is off by gamma_E beta = 0.115 = 36 standard errors here)
    np.testing.assert_array_less(np.abs(err.mean(axis=0)), K_SE * np.sqrt(v / n))
    c = err - err.mean(axis=0)
    m2, m4 = (c**2).mean(axis=0), (c**4).mean(axis=0)
    np.testing.assert_array_less(np.abs(m2 - v), K_SE * np.sqrt((m4 - m2**2) / n))


@pytest.mark.parametrize("kind", ["anisotropic", "ar1", "gumbel"])
def test_gaussian_probing_gives_every_network_gaussian_evidence_and_the_sample_mean(kind):
    config = NetworkCheckConfig()
    st = decision_states(noise.probe_ensemble(_ens(kind), config), np.zeros((4, 2)), 0)
    np.testing.assert_allclose(st.mu_var[0], SIGMA**2 / T, rtol=1e-12)
    ens = _ens(kind)
    assert noise.probe_ensemble(ens, dataclasses.replace(config, noise_probe="training")) is ens


def test_noise_rows_carry_the_line_of_the_probe_noise():
    c = SimpleNamespace(noise="ar1", aniso_scales=(), ar1_a=A)
    s = Setting(0, (0,), None, SIGMA)
    gauss = noise.row_theory({"config": c, "D": 2}, s, T, NetworkCheckConfig())
    assert (gauss["noise"], gauss["probe_noise"], gauss["estimator"]) == ("ar1", "gaussian", "mean")
    np.testing.assert_allclose(gauss["r2_protocol"], identifiable_ceiling(2, SIGMA**2 / T), rtol=1e-12)
    own = noise.row_theory({"config": c, "D": 2}, s, T, NetworkCheckConfig(noise_probe="training"))
    assert own["estimator"] == "gls"
    np.testing.assert_allclose(own["r2_protocol"], identifiable_ceiling(2, _closed_form_variance("ar1")[0]),
                               rtol=1e-12)


def test_calibration_of_the_optimal_agent_under_anisotropic_noise_is_exact_only_with_the_per_axis_sd():
    design, n = even_design(6), 3000
    rng = np.random.default_rng(4)
    v = _closed_form_variance("anisotropic")
    x = rng.uniform(-0.5, 0.5, (1, n, 2))
    mu = x + rng.standard_normal(x.shape) * np.sqrt(v)
    logits = optimal_logits(optimal_probits(mu, design, np.sqrt(T * v), T))     # the optimal agent's own logits
    info = {"designs": [design], "sigma": np.array([SIGMA]), "ntask": np.array([6])}
    matched = SimpleNamespace(logits=logits, mu=mu, t=T, mu_var=v[None])
    agreement, _ = measure._calibration(matched, info, [0])
    np.testing.assert_allclose(agreement["exact"], 1.0, atol=1e-9)      # rounding of the probit inversion
    scalar = SimpleNamespace(logits=logits, mu=mu, t=T, mu_var=None)   # one sd sigma for both axes
    wrong, _ = measure._calibration(scalar, info, [0])
    assert wrong["exact"] < 1.0 - 1e-3


# ---------------------------------------------------------------- S6: the reference's sparseness
def test_reference_sparseness_counts_silent_units_as_one_and_averages_over_units():
    # units over m = 4 stimuli: one active on one stimulus (S = 1), one constant (S = 0), one silent
    rates = np.array([[[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]])
    np.testing.assert_allclose(sparseness.reference_sparseness(rates), [(1 + 0 + 1) / 3], rtol=1e-15)
    np.testing.assert_allclose(sparseness.active_median_sparseness(rates), [0.5], rtol=1e-15)
    # hand value of a unit with rates (2, 1, 1, 0): (1 - (1)^2 / (6/4)) / (1 - 1/4) = 4/9
    np.testing.assert_allclose(sparseness.reference_sparseness(np.array([[[2.0], [1.0], [1.0], [0.0]]])), [4 / 9],
                               rtol=1e-15)


def test_S6_reads_the_last_stimulus_step_over_1000_stimuli_by_default():
    assert sparseness.DEFINITIONS["reference"][1] == "hidden_stim" and sparseness.STIMULI["reference"] == 1000
    assert sparseness.DEFINITIONS["active_median"][1] == "hidden" and sparseness.STIMULI["active_median"] == 512


# ---------------------------------------------------------------- 5b: random unit normals through the origin
def test_5b_trains_random_unit_normal_boundaries_through_the_origin_at_D_2_by_default():
    config = NetworkCheckConfig(Ds=(2, 4), ntask=(2, 3), networks=1, experiments=("5b",))
    specs = dimensionality.networks(config)
    assert [s.design for s in specs] == ["random", "random"]
    ens, _ = build_ensemble(dataclasses.replace(specs[0], batches=1))
    for d in ens.designs:
        np.testing.assert_allclose(np.linalg.norm(d.C, axis=1), 1.0, rtol=1e-12)
        np.testing.assert_array_equal(d.b, 0.0)
    even = dimensionality.networks(dataclasses.replace(config, design_5b="even"))
    assert [s.design for s in even] == ["even", "random"]


def test_protocol_options_are_validated():
    for name in ("s3b_probe", "noise_probe", "sparseness", "design_5b"):
        with pytest.raises(ValueError, match=f"{name}='bogus' must be one of"):
            NetworkCheckConfig(**{name: "bogus"})


# ---------------------------------------------------------------- the Bayes bound of the probe actually used
@pytest.mark.parametrize("probe", ["gaussian", "training"])
def test_noise_rows_carry_the_bayes_bound_of_the_probe_noise_above_its_linear_line(probe):
    from theory.bayes_bound import bayes_line
    s, config = Setting(0, (0,), None, SIGMA), NetworkCheckConfig(noise_probe=probe)
    for kind, scales, a in (("gaussian", (), 0.0), ("anisotropic", (1.0, 2.0), 0.0), ("ar1", (), A),
                            ("gumbel", (), 0.0)):
        row = noise.row_theory({"config": SimpleNamespace(noise=kind, aniso_scales=scales, ar1_a=a), "D": 2}, s, T,
                               config)
        assert row["r2_bayes"] > row["r2_protocol"]
        if probe == "gaussian" or kind == "gaussian":
            np.testing.assert_allclose(row["r2_bayes"], bayes_line(SIGMA, T, 2, "fullrange")["r2_bayes"], rtol=1e-12)


def test_S3b_rows_carry_the_uniform_bayes_bound_under_the_uniform_probe_at_every_rho():
    from theory.bayes_bound import bayes_line
    for rho in (0.0, 0.9):
        row = correlated.row_theory({"config": SimpleNamespace(rho=rho)}, Setting(rho, (0,), None, SIGMA), T,
                                    NetworkCheckConfig())
        np.testing.assert_allclose(row["r2_bayes"], bayes_line(SIGMA, T, 2, "fullrange")["r2_bayes"], rtol=1e-12)
        assert row["r2_bayes"] > row["r2_protocol"]
