"""Training trials of nets.trials: the two timelines, their targets, seeding, validation."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nets.trials import (UNDECIDED, accumulator_normals, as_noise_model, bounded_accumulator, build_inputs,
                         build_targets, draw_world, make_trials, noise_model, task_labels)
from optimal.agent import optimal_probits, running_mle
from theory.designs import build_design, even_design, labels, random_design
from theory.encoders import draw_encoder, encode
from theory.multiplicative import multiplicative_labels, reference_thresholds
from theory.noise import make_noise, sample_noise
from theory.priors import CopulaPrior, UniformPrior
from theory.world import sample_evidence, sample_latents


def test_fixed_timeline_has_fixation_stimulus_and_decision_periods():
    f = draw_encoder("mlp", 2, rng=3)
    tr = make_trials(0, 8, even_design(6), 0.2, f, dtype=np.float64)
    assert tr.u.shape == (8, 22, 41) and tr.y.shape == (8, 22, 6)
    np.testing.assert_array_equal(tr.u[:, :21, 0], 1.0)        # fixation on until the decision step
    np.testing.assert_array_equal(tr.u[:, 21, 0], 0.0)
    np.testing.assert_array_equal(tr.u[:, [0, 21], 1:], 0.0)   # no stimulus outside steps 1..20
    np.testing.assert_array_equal(tr.u[:, 1:21, 1:], encode(f, tr.X))
    np.testing.assert_array_equal(tr.y[:, :21], UNDECIDED)
    np.testing.assert_array_equal(tr.y[:, 21], labels(tr.x_star, even_design(6)))


def test_free_timeline_inputs_are_the_encoded_evidence_and_targets_the_accumulators():
    d = even_design(4)
    tr = make_trials(1, 5, d, 0.2, draw_encoder("identity", 2), timeline="free", dtype=np.float64)
    assert tr.u.shape == (5, 20, 2)
    np.testing.assert_array_equal(tr.u, tr.X)
    np.testing.assert_array_equal(tr.y, bounded_accumulator(tr.X, d, 5.0))


def test_even_accumulator_uses_minus_tan_phi_and_one():
    N = 5
    C, b = accumulator_normals(even_design(N))
    phi = (np.arange(N) + 0.5) * np.pi / N
    # the division by cos(phi) reproduces tan(phi) to a few ulps (|tan phi| <= cot(pi / 2N) ~ 6)
    np.testing.assert_allclose(C, np.stack([-np.tan(phi), np.ones(N)], axis=1), rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(b, 0.0)


def _loop_accumulator(X, C, b, bound):
    """Plain-loop oracle: A(t) = A(t - 1) + c.X(t) + b until |A| >= bound, then sign(A) bound forever."""
    B, T, _ = X.shape
    A = np.zeros((B, T, C.shape[0]))
    for n in range(B):
        for i in range(C.shape[0]):
            acc, stuck = 0.0, None
            for t in range(T):
                if stuck is None:
                    acc = acc + C[i] @ X[n, t] + b[i]
                    if abs(acc) >= bound:
                        stuck = np.sign(acc) * bound
                A[n, t, i] = acc if stuck is None else stuck
    return A


@given(seed=st.integers(0, 2**32 - 1), bound=st.floats(0.2, 6.0), even=st.booleans())
def test_bounded_accumulator_matches_a_plain_loop(seed, bound, even):
    rng = np.random.default_rng(seed)
    d = even_design(3) if even else random_design(3, 3, rng, offsets=True)
    X = rng.uniform(-0.5, 0.5, (4, 1, d.D)) + 0.4 * rng.normal(size=(4, 12, d.D))
    C, b = accumulator_normals(d)
    # cumsum and the loop add the same terms in the same order: equal to a few ulps
    np.testing.assert_allclose(bounded_accumulator(X, d, bound), _loop_accumulator(X, C, b, bound),
                               rtol=1e-13, atol=1e-13)


def test_accumulator_is_a_scaled_probit_before_absorption():
    """Free RT (derived): A_i(t) = sigma sqrt(t) |c~_i| Phi^-1(Yhat_i(t)) while |A_i| < bound."""
    d, sigma = even_design(6), 0.2
    tr = make_trials(2, 200, d, sigma, draw_encoder("identity", 2), timeline="free", bound=1e9,
                     dtype=np.float64)
    t = np.arange(1, 21)
    z = optimal_probits(running_mle(tr.X), d, sigma, t)
    C, _ = accumulator_normals(d)
    scaled = sigma * np.sqrt(t)[:, None] * np.linalg.norm(C, axis=1) * z
    # two float64 routes to the same number (|A| <~ 20): agreement to ~100 eps relative
    np.testing.assert_allclose(tr.y, scaled, rtol=1e-12, atol=1e-12)


def test_absorbed_accumulator_holds_its_bound():
    d = even_design(8)
    tr = make_trials(4, 300, d, 0.2, draw_encoder("identity", 2), timeline="free", dtype=np.float64)
    A = tr.y
    at_bound = np.abs(A) == 5.0
    assert at_bound.any() and not at_bound.all()
    # once at the bound, always at the same bound
    hit = np.logical_or.accumulate(at_bound, axis=1)
    np.testing.assert_array_equal(at_bound, hit)
    np.testing.assert_array_equal(np.diff(np.where(hit, A, 0), axis=1)[hit[:, 1:] & hit[:, :-1]], 0.0)
    assert np.all(np.abs(A) <= 5.0)


def test_given_latents_are_used_and_sigma_zero_gives_noiseless_evidence():
    x = np.array([[0.1, -0.2], [0.4, 0.3]])
    tr = make_trials(0, 2, even_design(2), 0.0, draw_encoder("identity", 2), x_star=x)
    np.testing.assert_array_equal(tr.x_star, x)
    np.testing.assert_array_equal(tr.X, np.broadcast_to(x[:, None], (2, 20, 2)))


def test_same_seed_same_trials_and_different_seeds_differ():
    args = (8, build_design("random", 5, 3, rng=0), 0.2, draw_encoder("mlp", 3, rng=1))
    a, b, c = make_trials(9, *args), make_trials(9, *args), make_trials(10, *args)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.u, c.u)


def test_stacked_inputs_match_per_network_inputs():
    from theory.encoders import stack_encoders
    fs = [draw_encoder("quadratic", 2, rng=s) for s in range(2)]
    X = np.random.default_rng(0).normal(size=(2, 3, 20, 2))
    u = build_inputs(X, stack_encoders(fs, np.float32), "fixed", np.float32)
    for k in range(2):
        np.testing.assert_array_equal(u[k], build_inputs(X[k], fs[k], "fixed", np.float32))


@pytest.mark.parametrize("call, match", [
    (lambda f, d: make_trials(0, 4, d, -0.1, f), "sigma"),
    (lambda f, d: make_trials(0, 0, d, 0.2, f), "n_trials=0"),
    (lambda f, d: make_trials(0, 4, d, 0.2, f, timeline="slow"), "timeline='slow'"),
    (lambda f, d: make_trials(0, 4, d, 0.2, f, x_star=np.zeros((3, 2))), "x_star must have shape"),
    (lambda f, d: make_trials(0, 1, d, 0.2, f, x_star=np.array([[np.nan, 0.0]])), "x_star must be finite"),
    (lambda f, d: make_trials(0, 4, d, 0.2, draw_encoder("mlp", 3, rng=0)), "encoder.D=3"),
    (lambda f, d: build_inputs(np.full((1, 2, 2), np.nan), f), "finite"),
    (lambda f, d: bounded_accumulator(np.zeros((1, 2, 2)), d, bound=0.0), "bound=0.0"),
    (lambda f, d: build_targets(np.zeros((1, 2)), np.zeros((1, 2, 2)), d, timeline="x"), "timeline='x'"),
])
def test_bad_input_is_rejected_with_a_message_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call(draw_encoder("identity", 2), even_design(3))


def test_draw_world_draws_the_latents_then_the_noise_from_one_stream():
    model = make_noise("ar1", 0.3, D=2, a=0.4)
    x, X = draw_world(7, 6, 4, model, CopulaPrior(0.2))
    rng = np.random.default_rng(7)
    x_ref = CopulaPrior(0.2).sample(rng, 6)
    np.testing.assert_array_equal(x, x_ref)
    np.testing.assert_array_equal(X, x_ref[:, None, :] + sample_noise(model, rng, 6, 4))


def test_gaussian_sd_gives_the_same_evidence_as_the_world_sampler_and_zero_sd_the_same_draws():
    x, X = draw_world(2, 5, 3, 0.25, UniformPrior(2))
    rng = np.random.default_rng(2)
    x_ref = sample_latents(rng, 5, 2)
    np.testing.assert_array_equal(x, x_ref)
    np.testing.assert_array_equal(X, sample_evidence(rng, x_ref, 3, 0.25))
    _, X0 = draw_world(2, 5, 3, 0.0, UniformPrior(2))
    np.testing.assert_array_equal(X0, np.broadcast_to(x_ref[:, None, :], X0.shape))
    _, Xg = draw_world(2, 5, 3, noise_model("gumbel", 0.0, 2), UniformPrior(2))   # zero Gumbel noise too
    np.testing.assert_array_equal(Xg, X0)
    assert as_noise_model([0.1, 0.2], 2).kind == "anisotropic"


def test_task_labels_are_the_design_or_the_reference_products():
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (40, 2))
    np.testing.assert_array_equal(task_labels(x, even_design(8)), labels(x, even_design(8)))
    np.testing.assert_array_equal(task_labels(x, even_design(8), "multiplicative"),
                                  multiplicative_labels(x, reference_thresholds(8)))


@pytest.mark.parametrize("call, match", [
    (lambda: task_labels(np.zeros((2, 2)), even_design(4), "cubic"), "boundaries='cubic' must be one of"),
    (lambda: build_targets(np.zeros((2, 2)), np.zeros((2, 3, 2)), even_design(4), "free", boundaries="multiplicative"),
     "needs timeline='fixed'"),
    (lambda: draw_world(0, 2, 3, 0.2), "needs a prior"),
    (lambda: draw_world(0, 2, 3, 0.2, x_star=np.zeros((3, 2))), "x_star must have shape"),
    (lambda: as_noise_model(-0.1, 2), "sigma"),
    (lambda: noise_model("ar1", 0.0, 2, a=1.5), "a=1.5 must lie in"),
    (lambda: noise_model("gaussian", [0.0, 0.2], 2), "noise='gaussian' is isotropic"),
    (lambda: make_trials(0, 2, even_design(4), 0.2, draw_encoder("identity", 2), prior=UniformPrior(3)),
     "prior has D=3"),
])
def test_bad_world_arguments_are_rejected_with_a_message_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()
