"""The LSTM of nets.lstm: forward against an unrolled per-trial loop of the cell equations, BPTT and the
one-step Jacobian against central finite differences, the (h, c) state map against the forward pass,
initialisation."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from nets.losses import loss_and_grad
from nets.lstm import PARAM_NAMES, READOUT_NAMES, LSTM, LSTMConfig, backward_tm, forward_tm, init_params
from nets.stacking import stack_params

#: Central differences in float64 with h ~ eps^(1/3): truncation ~ h^2 |L'''| ~ 1e-11 and rounding
#: ~ eps |L| / h ~ 1e-10, so 1e-8 absolute is 100x above the error and far below a wrong term (~1e-2).
FD_STEP = 6e-6
GRAD_ATOL = 1e-8
GRAD_RTOL = 1e-6
#: The unrolled loop sums in another order than the stacked matmuls: a few ulps of O(1) values.
LOOP_RTOL = 1e-12
LOOP_ATOL = 1e-13

SHAPES = dict(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 2), B=st.integers(1, 3), T=st.integers(1, 4),
              n_in=st.integers(1, 3), H=st.integers(1, 4), N=st.integers(1, 3))


def _net(seed, K, B, T, n_in, H, N):
    rng = np.random.default_rng(seed)
    params = stack_params([init_params(rng, n_in, H, N) for _ in range(K)], PARAM_NAMES, READOUT_NAMES)
    # scale up so the gates leave their linear regime and every term of the backward matters
    params = {k: 3 * v for k, v in params.items()}
    return rng, params, rng.normal(size=(K, T, B, n_in))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _unrolled(params, u):
    """The cell equations one network, one trial, one step at a time, gate by gate (no stacking)."""
    K, T, B, _ = u.shape
    H = params["W_hh"].shape[1]
    N = params["W_out"].shape[2]
    h_out, z_out = np.zeros((K, T, B, H)), np.zeros((K, T, B, N))
    for k in range(K):
        Wih, Whh = params["W_ih"][k], params["W_hh"][k]
        b = params["b_ih"][k] + params["b_hh"][k]
        for j in range(B):
            h, c = np.zeros(H), np.zeros(H)
            for t in range(T):
                def gate(n, k=k, t=t, j=j, Wih=Wih, h=h, Whh=Whh, b=b):
                    cols = slice(n * H, (n + 1) * H)
                    return u[k, t, j] @ Wih[:, cols] + h @ Whh[:, cols] + b[cols]
                i, f, g, o = _sigmoid(gate(0)), _sigmoid(gate(1)), np.tanh(gate(2)), _sigmoid(gate(3))
                c = f * c + i * g
                h = o * np.tanh(c)
                h_out[k, t, j] = h
                z_out[k, t, j] = h @ params["W_out"][k] + params["b_out"][k]
    return h_out, z_out


@given(**SHAPES)
def test_lstm_forward_matches_the_unrolled_cell_equations(seed, K, B, T, n_in, H, N):
    _, params, u = _net(seed, K, B, T, n_in, H, N)
    h, _, _, z = forward_tm(params, u)
    h_ref, z_ref = _unrolled(params, u)
    np.testing.assert_allclose(h, h_ref, rtol=LOOP_RTOL, atol=LOOP_ATOL)
    np.testing.assert_allclose(z, z_ref, rtol=LOOP_RTOL, atol=LOOP_ATOL)


@given(**SHAPES, kind=st.sampled_from(["bce_sigmoid", "mse_tanh5"]))
def test_lstm_backward_through_time_matches_central_differences(seed, K, B, T, n_in, H, N, kind):
    rng, params, u = _net(seed, K, B, T, n_in, H, N)
    y = rng.uniform(0, 1, (K, T, B, N)) if kind == "bce_sigmoid" else rng.uniform(-5, 5, (K, T, B, N))
    w = np.ones((1, T, 1, N))
    h, c, A, z = forward_tm(params, u)
    grads = backward_tm(params, u, h, c, A, loss_and_grad(z, y, w, kind)[1])

    def loss(p):
        return loss_and_grad(forward_tm(p, u)[3], y, w, kind)[0].sum()

    for name in PARAM_NAMES:
        numeric = np.zeros_like(params[name])
        for idx in np.ndindex(params[name].shape):
            plus, minus = ({k: v.copy() for k, v in params.items()} for _ in range(2))
            plus[name][idx] += FD_STEP
            minus[name][idx] -= FD_STEP
            numeric[idx] = (loss(plus) - loss(minus)) / (2 * FD_STEP)
        np.testing.assert_allclose(grads[name], numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL, err_msg=name)


@given(**SHAPES)
def test_lstm_state_map_reproduces_the_forward_pass_step_by_step(seed, K, B, T, n_in, H, N):
    _, params, u = _net(seed, K, B, T, n_in, H, N)
    arch = LSTM(LSTMConfig(hidden=H))
    hidden, _, cache = arch.forward(params, u)
    s = arch.state_trajectory(hidden, cache)                         # (K, T, B, 2H)
    assert s.shape == (K, T, B, arch.state_size(params)) == (K, T, B, 2 * H)
    s_prev = np.concatenate([np.zeros((K, 1, B, 2 * H)), s[:, :-1]], axis=1)
    for t in range(T):
        np.testing.assert_allclose(arch.step_map(params, s_prev[:, t], u[:, t]), s[:, t],
                                   rtol=LOOP_RTOL, atol=LOOP_ATOL)


@given(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 2), M=st.integers(1, 3), n_in=st.integers(1, 3),
       H=st.integers(1, 4))
def test_lstm_step_jacobian_matches_central_differences(seed, K, M, n_in, H):
    rng, params, _ = _net(seed, K, 1, 1, n_in, H, 1)
    arch = LSTM(LSTMConfig(hidden=H))
    s = rng.normal(size=(K, M, 2 * H))
    u = rng.normal(size=n_in)
    J = arch.step_jacobian(params, s, u)
    numeric = np.zeros_like(J)
    for j in range(2 * H):
        e = np.zeros(2 * H)
        e[j] = FD_STEP
        numeric[..., j] = (arch.step_map(params, s + e, u) - arch.step_map(params, s - e, u)) / (2 * FD_STEP)
    np.testing.assert_allclose(J, numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL)


def test_lstm_initialisation_is_uniform_within_one_over_sqrt_hidden_on_every_parameter():
    H = 64
    p = init_params(0, 41, H, 24)
    bound = 1 / np.sqrt(H)
    assert p["W_ih"].shape == (41, 4 * H) and p["W_hh"].shape == (H, 4 * H) and p["b_hh"].shape == (4 * H,)
    for name, v in p.items():
        assert np.max(np.abs(v)) <= bound, name
        # U(-a, a) has variance a^2 / 3; with >= 24 draws the sample sd is within 40% of it
        np.testing.assert_allclose(v.std(), bound / np.sqrt(3), rtol=0.4, err_msg=name)
    np.testing.assert_array_equal(init_params(0, 41, H, 24)["W_hh"], p["W_hh"])
    assert not np.array_equal(init_params(1, 41, H, 24)["W_hh"], p["W_hh"])


def test_lstm_forget_gate_is_the_second_block_of_the_pytorch_layout():
    """Layout check by construction: a huge bias on block 1 (f) and block 0 (i) closed keeps c_0 = 0
    forever, while opening i with g = tanh(+large) fills c with 1 per step."""
    H = 2
    p = {k: np.zeros((1,) + v.shape) for k, v in init_params(0, 1, H, 1).items()}
    u = np.zeros((1, 3, 1, 1))
    big = 30.0
    p["b_ih"][0, 2 * H:3 * H] = big                   # g = tanh(30) = 1
    p["b_ih"][0, H:2 * H] = big                       # f = 1
    p["b_ih"][0, :H] = -big                           # i = 0: nothing enters
    _, c, _, _ = forward_tm(p, u)
    np.testing.assert_allclose(c, 0, atol=1e-12)
    p["b_ih"][0, :H] = big                            # i = 1: c_t = f c_{t-1} + 1 = t
    _, c, _, _ = forward_tm(p, u)
    np.testing.assert_allclose(c[0, :, 0, 0], [1, 2, 3], rtol=1e-12)
