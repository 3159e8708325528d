"""The RNN of nets.rnn: forward pass against an unrolled per-trial reference, BPTT against finite
differences, the one-step map and its Jacobian, initialisation."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nets.losses import loss_and_grad
from nets.rnn import (PARAM_NAMES, backward_tm, forward, forward_tm, init_params, stack_params,
                      step_jacobian, step_map)

#: Finite-difference step for float64 central differences: truncation error ~ h^2 |L'''| ~ 1e-12,
#: rounding error ~ eps |L| / h ~ 1e-10, so the balance point h ~ eps^(1/3) ~ 6e-6 is used.
FD_STEP = 6e-6
#: Tolerance on gradient entries: 100x the rounding bound eps |L| / h (~4e-11 for |L| ~ 1),
#: still 4+ orders of magnitude below a typical gradient entry (~1e-2 to 1), so a wrong
#: backward formula (a missing term, a transposed matrix) cannot pass.
GRAD_ATOL = 1e-8
GRAD_RTOL = 1e-6

VARIANTS = st.fixed_dictionaries({
    "activation": st.sampled_from(["relu", "tanh"]),
    "alpha": st.sampled_from([1.0, 0.3]),
    "leaky": st.booleans(),
})


def _net(seed, K, B, T, n_in, H, N):
    rng = np.random.default_rng(seed)
    params = stack_params([init_params(rng, n_in, H, N) for _ in range(K)])
    u = rng.normal(size=(K, T, B, n_in))
    return rng, params, u


def _loss(params, u, y, w, kind, noise, variant):
    _, _, z = forward_tm(params, u, noise=noise, **variant)
    return loss_and_grad(z, y, w, kind)[0].sum()


@given(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 2), B=st.integers(1, 3), T=st.integers(1, 4),
       n_in=st.integers(1, 3), H=st.integers(1, 4), N=st.integers(1, 3), variant=VARIANTS,
       kind=st.sampled_from(["bce_sigmoid", "mse_tanh5"]), noisy=st.booleans(), decision_only=st.booleans())
def test_bptt_gradient_matches_central_differences(seed, K, B, T, n_in, H, N, variant, kind, noisy,
                                                   decision_only):
    rng, params, u = _net(seed, K, B, T, n_in, H, N)
    y = rng.uniform(0, 1, (K, T, B, N)) if kind == "bce_sigmoid" else rng.uniform(-5, 5, (K, T, B, N))
    noise = 0.3 * rng.normal(size=(K, T, B, H)) if noisy else None
    w = np.ones((1, T, 1, N))
    if decision_only:
        w[:, :-1] = 0
    r, a, z = forward_tm(params, u, noise=noise, **variant)
    # relu is not differentiable at 0: keep examples whose pre-activations are clear of the kink
    assume(variant["activation"] == "tanh" or np.min(np.abs(a)) > 1e3 * FD_STEP)
    _, dz = loss_and_grad(z, y, w, kind)
    grads = backward_tm(params, u, r, a, dz, **variant)
    for name in PARAM_NAMES:
        numeric = _numeric_grad(params, name, u, y, w, kind, noise, variant)
        np.testing.assert_allclose(grads[name], numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL, err_msg=name)


def _numeric_grad(params, name, u, y, w, kind, noise, variant):
    """The oracle: central differences of the loss in float64, one entry of ``params[name]`` at a time."""
    numeric = np.zeros_like(params[name])
    for idx in np.ndindex(params[name].shape):
        plus = {k: v.copy() for k, v in params.items()}
        minus = {k: v.copy() for k, v in params.items()}
        plus[name][idx] += FD_STEP
        minus[name][idx] -= FD_STEP
        numeric[idx] = (_loss(plus, u, y, w, kind, noise, variant)
                        - _loss(minus, u, y, w, kind, noise, variant)) / (2 * FD_STEP)
    return numeric


def test_bptt_check_fails_for_a_wrong_backward_pass():
    """The finite-difference oracle detects a backward pass that drops the recurrent carry."""
    rng, params, u = _net(3, 1, 2, 4, 2, 3, 2)
    y = rng.uniform(0, 1, (1, 4, 2, 2))
    w = np.ones((1, 4, 1, 2))
    variant = dict(activation="tanh")
    r, a, z = forward_tm(params, u, **variant)
    _, dz = loss_and_grad(z, y, w, "bce_sigmoid")
    numeric = _numeric_grad(params, "W_in", u, y, w, "bce_sigmoid", None, variant)
    no_carry = {k: v * 0 if k == "W_rec" else v for k, v in params.items()}
    wrong = backward_tm(no_carry, u, r, a, dz, **variant)["W_in"]
    right = backward_tm(params, u, r, a, dz, **variant)["W_in"]
    np.testing.assert_allclose(right, numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(wrong, numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL)


def _unrolled_reference(params, u, activation, alpha, leaky, noise):
    """Column-vector form of the RNN equations, one trial and one network at a time, plain loops."""
    K, B, T, _ = u.shape
    H = params["W_rec"].shape[-1]
    phi = np.tanh if activation == "tanh" else (lambda x: np.maximum(x, 0))
    h = np.zeros((K, B, T, H))
    z = np.zeros((K, B, T, params["W_out"].shape[-1]))
    for k in range(K):
        W_in, W_rec, W_out = params["W_in"][k].T, params["W_rec"][k].T, params["W_out"][k].T
        for b in range(B):
            r = np.zeros(H)
            for t in range(T):
                a = W_in @ u[k, b, t] + params["b_in"][k] + W_rec @ r + params["b_rec"][k] + noise[k, b, t]
                r = ((1 - alpha) * r if leaky else r) + alpha * phi(a)
                h[k, b, t] = r
                z[k, b, t] = W_out @ r + params["b_out"][k]
    return h, z


@given(seed=st.integers(0, 2**32 - 1), variant=VARIANTS)
def test_forward_matches_unrolled_per_trial_reference(seed, variant):
    rng = np.random.default_rng(seed)
    params = stack_params([init_params(rng, 3, 5, 2) for _ in range(2)])
    u = rng.normal(size=(2, 3, 6, 3))
    noise = 0.2 * rng.normal(size=(2, 3, 6, 5))
    h, z = forward(params, u, noise=noise, **variant)
    h_ref, z_ref = _unrolled_reference(params, u, noise=noise, **variant)
    # same float64 operations in a different association order: a few ulps per step, 6 steps
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(z, z_ref, rtol=1e-12, atol=1e-13)


@given(seed=st.integers(0, 2**32 - 1), variant=VARIANTS)
def test_step_map_reproduces_the_noiseless_trajectory(seed, variant):
    rng = np.random.default_rng(seed)
    params = stack_params([init_params(rng, 2, 4, 3) for _ in range(2)])
    u = rng.normal(size=(2, 1, 5, 2))
    h, _ = forward(params, u, **variant)
    for t in range(1, 5):
        F = step_map(params, h[:, :, t - 1], u[:, :, t], **variant)
        np.testing.assert_allclose(F, h[:, :, t], rtol=1e-13, atol=1e-14)   # identical maths, ulps


@given(seed=st.integers(0, 2**32 - 1), variant=VARIANTS)
def test_step_jacobian_matches_central_differences(seed, variant):
    rng = np.random.default_rng(seed)
    H = 4
    params = stack_params([init_params(rng, 2, H, 1) for _ in range(2)])
    h = rng.normal(size=(2, 3, H))
    u = np.array([1.0, 0.0])                       # e.g. the fixation input
    a = h @ params["W_rec"] + (u @ params["W_in"] + params["b_in"] + params["b_rec"])[:, None]
    assume(variant["activation"] == "tanh" or np.min(np.abs(a)) > 1e3 * FD_STEP)
    J = step_jacobian(params, h, u, **variant)
    numeric = np.zeros_like(J)
    for j in range(H):
        e = np.zeros(H)
        e[j] = FD_STEP
        F_plus, F_minus = step_map(params, h + e, u, **variant), step_map(params, h - e, u, **variant)
        numeric[..., j] = (F_plus - F_minus) / (2 * FD_STEP)
    np.testing.assert_allclose(J, numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL)


def test_forward_broadcasts_one_input_to_every_network():
    rng = np.random.default_rng(0)
    params = stack_params([init_params(rng, 3, 4, 2) for _ in range(3)])
    u = rng.normal(size=(1, 2, 5, 3))
    h1, z1 = forward(params, u)
    h3, z3 = forward(params, np.repeat(u, 3, axis=0))
    np.testing.assert_array_equal(h1, h3)
    np.testing.assert_array_equal(z1, z3)
    assert h1.shape == (3, 2, 5, 4) and z1.shape == (3, 2, 5, 2)


def test_initialisation_is_uniform_within_one_over_sqrt_fan_in():
    p = init_params(0, 41, 64, 24)
    fan_in = {"W_in": 41, "b_in": 41, "W_rec": 64, "b_rec": 64, "W_out": 64, "b_out": 64}
    for name, n in fan_in.items():
        bound = 1 / np.sqrt(n)
        assert np.all(np.abs(p[name]) <= bound)
        # a U(-c, c) sample of this size reaches beyond 0.9 c: P(miss) = 0.95^size < 1e-6 for size >= 270
        if p[name].size >= 270:
            assert np.max(np.abs(p[name])) > 0.9 * bound
    np.testing.assert_array_equal(init_params(0, 41, 64, 24)["W_rec"], p["W_rec"])
    assert not np.array_equal(init_params(1, 41, 64, 24)["W_rec"], p["W_rec"])


def test_padded_read_out_columns_do_not_change_real_outputs():
    rng = np.random.default_rng(1)
    small = init_params(rng, 3, 4, 2)
    padded = stack_params([small], n_out=5)
    u = rng.normal(size=(1, 2, 3, 3))
    _, z_small = forward(stack_params([small]), u)
    _, z_pad = forward(padded, u)
    np.testing.assert_array_equal(z_pad[..., :2], z_small)
    np.testing.assert_array_equal(z_pad[..., 2:], 0)


@pytest.mark.parametrize("call, match", [
    (lambda p: forward(p, np.zeros((2, 1, 3, 2))), "u must have shape"),
    (lambda p: forward(p, np.zeros((1, 1, 3, 3))), "u must have shape"),
    (lambda p: forward(p, np.zeros((1, 1, 3, 2)), alpha=0.0), "alpha=0.0"),
    (lambda p: forward(p, np.zeros((1, 1, 3, 2)), activation="sigmoid"), "activation='sigmoid'"),
    (lambda p: forward({"W_in": p["W_in"]}, np.zeros((1, 1, 3, 2))), "missing"),
    (lambda p: step_map(p, np.zeros((1, 3)), np.zeros(2)), "h must have shape"),
    (lambda p: step_map(p, np.zeros((1, 2, 3)), np.zeros(5)), "u must end in"),
    (lambda p: init_params(0, 0, 3, 1), "n_in=0"),
    (lambda p: stack_params([]), "at least one"),
])
def test_bad_input_is_rejected_with_a_message_naming_it(call, match):
    params = stack_params([init_params(0, 2, 3, 1)])
    with pytest.raises(ValueError, match=match):
        call(params)
