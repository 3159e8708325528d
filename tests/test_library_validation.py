"""Public functions refuse NaN, inf and wrong types at the boundary with a ValueError naming the
parameter (never an AttributeError or IndexError from inside numpy, never a silent NaN).

One parametrized table of bad calls per module, one test body.
"""
import numpy as np
import pytest

from optimal import agent, bayes, trilateration
from theory import accuracy, angles, ceilings, designs, folds, noise, world

NAN, INF = float("nan"), float("inf")
D2 = designs.even_design(4)
FOLD = folds.ood_folds(2)[0]
Z = np.zeros((3, 4))

AGENT = [
    (lambda: agent.optimal_probits([[NAN, 0.0]], D2, 0.2, 20), "mu"),
    (lambda: agent.optimal_probits([[INF, 0.0]], D2, 0.2, 20), "mu"),
    (lambda: agent.optimal_probits("abc", D2, 0.2, 20), "mu"),
    (lambda: agent.optimal_probits([[0.0, 0.0]], "even", 0.2, 20), "design"),
    (lambda: agent.optimal_probits([[0.0, 0.0]], D2, NAN, 20), "sigma"),
    (lambda: agent.optimal_probits([[0.0, 0.0]], D2, "x", 20), "sigma"),
    (lambda: agent.optimal_probits([[0.0, 0.0]], D2, 0.2, NAN), "t"),
    (lambda: agent.optimal_probits([[0.0, 0.0]], D2, 0.2, "x"), "t"),
    (lambda: agent.log_outputs([NAN]), "z"),
    (lambda: agent.log_outputs(None), "z"),
    (lambda: agent.log_outputs({"a": 1}), "z"),
    (lambda: agent.outputs([NAN]), "z"),
    (lambda: agent.running_mle(np.full((2, 3, 2), NAN)), "X"),
    (lambda: agent.running_mle("abc"), "X"),
    (lambda: agent.random_filter_agent(0, 3, 0), "D"),
    (lambda: agent.random_filter_agent(2, -1, 0), "junk_dims"),
]

WORLD = [
    (lambda: world.sample_evidence(0, [[NAN, 0.0]], 5, 0.2), "x_star"),
    (lambda: world.sample_evidence(0, [[0.0, 0.0]], 5, INF), "sigma"),
    (lambda: world.sample_evidence(0, "abc", 5, 0.2), "x_star"),
    (lambda: world.sample_evidence(0, [[0.0, 0.0]], 2.5, 0.2), "t"),
    (lambda: world.sample_latents(0, 0, 2), "n_trials"),
    (lambda: world.sample_latents(-1, 3, 2), "seed"),
    (lambda: world.check_sigma([0.1, NAN]), "sigma"),
    (lambda: world.check_sigma("abc"), "sigma"),
    (lambda: world.as_generator("seed"), "seed"),
]

TRILATERATION = [
    (lambda: trilateration.recover_mu_from_probits(np.full((3, 4), NAN), D2, 0.2, 20), "probits"),
    (lambda: trilateration.recover_mu_from_probits(Z, "design", 0.2, 20), "design"),
    (lambda: trilateration.recover_mu_from_probits("abc", D2, 0.2, 20), "z"),
    (lambda: trilateration.recover_mu_from_probits(np.zeros((3, 5)), D2, 0.2, 20), "ntask"),
    (lambda: trilateration.recover_mu_from_log_outputs(np.full((3, 4), NAN), Z - 1, D2, 0.2, 20), "NaN"),
    (lambda: trilateration.recover_mu_from_log_outputs(Z + 1, Z - 1, D2, 0.2, 20), "<= 0"),
    (lambda: trilateration.recover_mu_from_log_outputs("a", Z, D2, 0.2, 20), "log_p"),
    (lambda: trilateration.recover_mu_from_latent(np.full((3, 6), NAN), np.zeros((4, 6)), np.zeros(4), D2, 0.2, 20),
     "Z"),
    (lambda: trilateration.recover_mu_from_latent(np.zeros((3, 6)), np.full((4, 6), INF), np.zeros(4), D2, 0.2, 20),
     "W"),
    (lambda: trilateration.recover_mu_from_latent(np.zeros((3, 6)), np.zeros((4, 6)), [NAN] * 4, D2, 0.2, 20), "w0"),
    (lambda: trilateration.recover_mu_from_latent(np.zeros((3, 6)), np.zeros((4, 5)), np.zeros(4), D2, 0.2, 20), "K"),
    (lambda: trilateration.recovery_error_bound(D2, 0.2, 20, np.zeros(4), [[NAN, 0.0]]), "mu"),
    (lambda: trilateration.recovery_error_bound(D2, 0.2, 20, [NAN] * 4, [[0.0, 0.0]]), "dz"),
    (lambda: trilateration.recovery_error_bound(None, 0.2, 20, np.zeros(4), [[0.0, 0.0]]), "design"),
    (lambda: trilateration.probit_from_log_cdf([NAN]), "log_p"),
]

CEILINGS = [
    (lambda: ceilings.r2_ceiling([NAN, 0.1]), "error_variance"),
    (lambda: ceilings.r2_ceiling([-0.1, 0.1]), "error_variance"),
    (lambda: ceilings.r2_ceiling("abc"), "error_variance"),
    (lambda: ceilings.r2_ceiling(0.1), "error_variance"),
    (lambda: ceilings.r2_ceiling_per_coordinate([INF]), "error_variance"),
    (lambda: ceilings.r2_ceiling_gaussian(NAN, 20), "sigma"),
    (lambda: ceilings.r2_ceiling_gaussian(0.2, 0), "t"),
    (lambda: ceilings.r2_ceiling_gaussian("x", 20), "sigma"),
    (lambda: ceilings.r2_from_mse([NAN], 1 / 12), "mse"),
    (lambda: ceilings.r2_from_mse([0.1], 0.0), "reference_variance"),
    (lambda: ceilings.free_rt_samples(-1), "timing"),
    (lambda: ceilings.free_rt_samples(1.5), "timing"),
    (lambda: ceilings.free_rt_samples([NAN]), "timing"),
    (lambda: ceilings.r2_protocol([0.01, 0.01], "fold"), "fold"),
    (lambda: ceilings.r2_protocol([0.01, 0.01, 0.01], FOLD), "error_variance"),
    (lambda: ceilings.r2_protocol([0.01, NAN], FOLD), "error_variance"),
    (lambda: ceilings.r2_protocol([0.01, 0.01], FOLD, "full"), "normalisation"),
    (lambda: ceilings.r2_in_distribution([0.01, 0.01], None), "fold"),
    (lambda: ceilings.region_moments(3, "train"), "fold"),
    (lambda: ceilings.region_moments(FOLD, "both"), "part"),
    (lambda: ceilings.reference_variance(None, "heldout"), "fold"),
]

DESIGNS = [
    (lambda: designs.make_design([[NAN, 1.0]]), "finite"),
    (lambda: designs.make_design([[1.0, 0.0]], [INF]), "finite"),
    (lambda: designs.make_design("abc"), "C"),
    (lambda: designs.make_design([[1.0, 0.0]], "b"), "b"),
    (lambda: designs.make_design([[0.0, 0.0]]), "zero"),
    (lambda: designs.make_design([1.0, 0.0]), "shape"),
    (lambda: designs.even_design(0), "ntask"),
    (lambda: designs.even_design(2.5), "ntask"),
    (lambda: designs.random_design(3, 0, 0), "D"),
    (lambda: designs.build_design("circle", 3, 2), "design"),
    (lambda: designs.build_design("even", 3, 3), "needs D=2"),
    (lambda: designs.resolve_design("auto", 0), "D"),
    (lambda: designs.resolve_design(None, 2), "design"),
    (lambda: designs.labels([[NAN, 0.0]], D2), "x"),
    (lambda: designs.labels([[0.0, 0.0, 0.0]], D2), "D=2"),
    (lambda: designs.labels([[0.0, 0.0]], np.eye(2)), "design"),
    (lambda: designs.hard_outputs([[INF, 0.0]], D2), "x"),
    (lambda: designs.hard_outputs("x", D2), "x"),
    (lambda: designs.noise_scale(D2, NAN), "sigma"),
    (lambda: designs.noise_scale("design", 0.2), "design"),
]

OTHERS = [
    (lambda: accuracy.optimal_accuracy(D2, NAN, 20), "sigma"),
    (lambda: accuracy.optimal_accuracy(D2, 0.2, 0), "t"),
    (lambda: angles.angle_spread(0, 2), "ntask"),
    (lambda: noise.make_noise("gaussian", NAN, 2), "sigma"),
    (lambda: noise.make_noise("cauchy", 0.2, 2), "noise='cauchy'"),
    (lambda: noise.estimator_variance(noise.make_noise("gaussian", 0.2, 2), [0]), "t"),
    (lambda: folds.ood_folds(0), "D"),
    (lambda: bayes.exact_outputs([[NAN, 0.0]], D2, 0.2, 20), "mu"),
    (lambda: bayes.exact_outputs([[0.0, 0.0]], "design", 0.2, 20), "design"),
]

TABLE = [("agent", *r) for r in AGENT] + [("world", *r) for r in WORLD] + \
        [("trilateration", *r) for r in TRILATERATION] + [("ceilings", *r) for r in CEILINGS] + \
        [("designs", *r) for r in DESIGNS] + [("others", *r) for r in OTHERS]


@pytest.mark.parametrize("module, call, needle", TABLE, ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(TABLE)])
def test_bad_library_call_raises_value_error_naming_the_parameter(module, call, needle):
    with pytest.raises(ValueError) as info:
        call()
    assert needle in str(info.value), str(info.value)
