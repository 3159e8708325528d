"""A one-layer LSTM (the reference's ``nn.LSTM``) for K stacked networks, with hand-written backprop through time.

Row-vector convention, PyTorch gate layout (i, f, g, o) along the last axis of the 4H gate block:

    G_t = u_t W_ih + b_ih + h_{t-1} W_hh + b_hh                      (K, B, 4H)
    i_t = sigma(G_t^i),  f_t = sigma(G_t^f),  g_t = tanh(G_t^g),  o_t = sigma(G_t^o)
    c_t = f_t * c_{t-1} + i_t * g_t,        h_t = o_t * tanh(c_t),      h_0 = c_0 = 0
    z_t = h_t W_out + b_out                                           (read-out at every step)

Shapes: W_ih (K, n_in, 4H), b_ih (K, 4H), W_hh (K, H, 4H), b_hh (K, 4H), W_out (K, H, N),
b_out (K, N); W_ih is PyTorch's ``weight_ih_l0`` transposed. Initialisation as PyTorch:
every LSTM weight and both biases ~ U(-1/sqrt(H), 1/sqrt(H)), and the read-out (a separate
``nn.Linear(H, N)`` in the reference) ~ U(-1/sqrt(H), 1/sqrt(H)) too.

Backward, given dL/dz_t, with dh_t, dc_t the total derivatives (carried back from step t + 1):

    dh_t = dz_t W_out^T + dG_{t+1} W_hh^T
    dc_t = dh_t * o_t * (1 - tanh(c_t)^2) + dc_{t+1} * f_{t+1}
    dG_t = [dc_t g_t i_t (1 - i_t),  dc_t c_{t-1} f_t (1 - f_t),  dc_t i_t (1 - g_t^2),
            dh_t tanh(c_t) o_t (1 - o_t)]
    dW_ih = sum_t u_t^T dG_t,  dW_hh = sum_t h_{t-1}^T dG_t,  db_ih = db_hh = sum_t dG_t,
    dW_out = sum_t h_t^T dz_t,  db_out = sum_t dz_t.

The recurrent state is s = (h, c), S = 2H, with the one-step map F(s; u) = (h_t, c_t) and its
Jacobian for the fixed-point analysis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.world import as_generator, check_positive_int

PARAM_NAMES = ("W_ih", "b_ih", "W_hh", "b_hh", "W_out", "b_out")
READOUT_NAMES = ("W_out", "b_out")


@dataclass(frozen=True)
class LSTMConfig:
    """The LSTM's own settings (the reference: one layer of 64 units)."""

    hidden: int = 64

    def __post_init__(self):
        check_positive_int("hidden", self.hidden)


def init_params(rng, n_in: int, hidden: int, n_out: int, dtype=np.float64) -> dict:
    """One network's parameters ~ U(-1/sqrt(H), 1/sqrt(H)), drawn in float64 in PARAM_NAMES order, then cast.

    Returns
    -------
    params : dict, W_ih (n_in, 4H), b_ih (4H,), W_hh (H, 4H), b_hh (4H,), W_out (H, N), b_out (N,)
    """
    rng = as_generator(rng)
    n_in, H, n_out = (check_positive_int(k, v) for k, v in (("n_in", n_in), ("hidden", hidden), ("n_out", n_out)))
    shapes = {"W_ih": (n_in, 4 * H), "b_ih": (4 * H,), "W_hh": (H, 4 * H), "b_hh": (4 * H,),
              "W_out": (H, n_out), "b_out": (n_out,)}
    bound = 1.0 / np.sqrt(H)
    return {name: rng.uniform(-bound, bound, size=shapes[name]).astype(dtype) for name in PARAM_NAMES}


def _gates(G: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(i, f, g, o) from the pre-activations, shape (..., 4H): sigma on i, f, o and tanh on g.

    sigma(x) = (1 + tanh(x / 2)) / 2 (an identity; numpy's vectorised tanh is ~20x faster than
    scipy's expit), so all four gates are one tanh of the scaled pre-activations.
    """
    H = G.shape[-1] // 4
    scale = np.full(4 * H, 0.5, dtype=G.dtype)
    scale[2 * H:3 * H] = 1
    A = np.multiply(G, scale, out=out)
    np.tanh(A, out=A)
    for gates in (A[..., :2 * H], A[..., 3 * H:]):         # i, f and o
        gates *= 0.5
        gates += 0.5
    return A


def forward_tm(params: dict, u: np.ndarray):
    """Forward pass in the (K, T, B, .) layout; returns (h, c, A, z) with A the gate activations (K, T, B, 4H)."""
    K, n_in, H4 = params["W_ih"].shape
    H = H4 // 4
    T, B = u.shape[1], u.shape[2]
    G = (u.reshape(u.shape[0], T * B, n_in) @ params["W_ih"]).reshape(K, T, B, H4)
    G += (params["b_ih"] + params["b_hh"])[:, None, None, :]
    A = np.empty_like(G)
    h_all = np.empty(G.shape[:3] + (H,), dtype=G.dtype)
    c_all = np.empty_like(h_all)
    h = np.zeros((K, B, H), dtype=G.dtype)
    c = np.zeros_like(h)
    W_hh = params["W_hh"]
    for t in range(T):
        G_t = G[:, t]
        G_t += h @ W_hh                                       # G_t = u_t W_ih + b + h_{t-1} W_hh
        A_t = _gates(G_t, out=A[:, t])
        i, f, g, o = A_t[..., :H], A_t[..., H:2 * H], A_t[..., 2 * H:3 * H], A_t[..., 3 * H:]
        c = np.multiply(f, c, out=c_all[:, t])
        c += i * g                                            # c_t = f c_{t-1} + i g
        h = np.multiply(o, np.tanh(c), out=h_all[:, t])       # h_t = o tanh(c_t)
    N = params["W_out"].shape[2]
    z = (h_all.reshape(K, T * B, H) @ params["W_out"]).reshape(K, T, B, N) + params["b_out"][:, None, None, :]
    return h_all, c_all, A, z


def backward_tm(params: dict, u: np.ndarray, h: np.ndarray, c: np.ndarray, A: np.ndarray, dz: np.ndarray) -> dict:
    """Gradients of a loss L given dL/dz, all in the (K, T, B, .) layout (see the module docstring)."""
    K, T, B, H = h.shape
    N = dz.shape[3]
    rows = T * B
    grads = {"W_out": h.reshape(K, rows, H).transpose(0, 2, 1) @ dz.reshape(K, rows, N),
             "b_out": np.ones(rows, dtype=dz.dtype) @ dz.reshape(K, rows, N)}
    W_out_T = np.ascontiguousarray(params["W_out"].transpose(0, 2, 1))
    dh_out = (dz.reshape(K, rows, N) @ W_out_T).reshape(K, T, B, H)
    W_hh_T = np.ascontiguousarray(params["W_hh"].transpose(0, 2, 1))
    tc = np.tanh(c)
    dG = np.empty_like(A)
    dh_next = np.zeros((K, B, H), dtype=h.dtype)
    dc_next = np.zeros_like(dh_next)
    for t in range(T - 1, -1, -1):
        A_t = A[:, t]
        i, f, g, o = A_t[..., :H], A_t[..., H:2 * H], A_t[..., 2 * H:3 * H], A_t[..., 3 * H:]
        dh = dh_out[:, t] + dh_next
        dc = dh * o * (1 - tc[:, t] ** 2) + dc_next
        dG_t = dG[:, t]
        dG_t[..., :H] = dc * g * i * (1 - i)
        if t > 0:
            dG_t[..., H:2 * H] = dc * c[:, t - 1] * f * (1 - f)
        else:
            dG_t[..., H:2 * H] = 0                            # c_0 = 0
        dG_t[..., 2 * H:3 * H] = dc * i * (1 - g * g)
        dG_t[..., 3 * H:] = dh * tc[:, t] * o * (1 - o)
        dc_next = dc * f
        dh_next = dG_t @ W_hh_T
    dG2 = dG.reshape(K, rows, 4 * H)
    n_in = u.shape[3]
    u2 = np.broadcast_to(u, (K,) + u.shape[1:]).reshape(K, rows, n_in)
    grads["W_ih"] = u2.transpose(0, 2, 1) @ dG2
    # h_0 = 0, so dW_hh sums h_{t-1}^T dG_t over t = 2..T only
    grads["W_hh"] = h[:, :-1].reshape(K, rows - B, H).transpose(0, 2, 1) @ dG[:, 1:].reshape(K, rows - B, 4 * H)
    grads["b_ih"] = np.ones(rows, dtype=dG.dtype) @ dG2
    grads["b_hh"] = grads["b_ih"].copy()
    return grads


def _split_state(params: dict, s: np.ndarray, u: np.ndarray):
    s = np.asarray(s, dtype=params["W_hh"].dtype)
    K, n_in, H4 = params["W_ih"].shape
    H = H4 // 4
    if s.ndim != 3 or s.shape[0] != K or s.shape[2] != 2 * H:
        raise ValueError(f"s must have shape (K={K}, M, 2H={2 * H}); got shape {s.shape}")
    u = np.asarray(u, dtype=s.dtype)
    if u.shape[-1] != n_in:
        raise ValueError(f"u must end in n_in={n_in} inputs; got shape {u.shape}")
    u = np.broadcast_to(u, (K, s.shape[1], n_in))
    h, c = s[..., :H], s[..., H:]
    G = u @ params["W_ih"] + (params["b_ih"] + params["b_hh"])[:, None] + h @ params["W_hh"]
    return H, c, _gates(G)


def step_map(params: dict, s: np.ndarray, u: np.ndarray) -> np.ndarray:
    """F(s; u) = (h', c') for states s = (h, c) of shape (K, M, 2H) and a fixed input u."""
    H, c, A = _split_state(params, s, u)
    i, f, g, o = A[..., :H], A[..., H:2 * H], A[..., 2 * H:3 * H], A[..., 3 * H:]
    c_new = f * c + i * g
    return np.concatenate([o * np.tanh(c_new), c_new], axis=-1)


def step_jacobian(params: dict, s: np.ndarray, u: np.ndarray) -> np.ndarray:
    """dF/ds of :func:`step_map`, shape (K, M, 2H, 2H), blocks [[dh'/dh, dh'/dc], [dc'/dh, dc'/dc]].

    With R = W_hh^T (4H x H: dG/dh) split into the gate rows R^i, R^f, R^g, R^o:
    dc'/dh = diag(c f (1-f)) R^f + diag(g i (1-i)) R^i + diag(i (1-g^2)) R^g,  dc'/dc = diag(f),
    dh'/dh = diag(tanh(c') o (1-o)) R^o + diag(o (1 - tanh(c')^2)) dc'/dh,
    dh'/dc = diag(o (1 - tanh(c')^2) f).
    """
    H, c, A = _split_state(params, s, u)
    i, f, g, o = A[..., :H], A[..., H:2 * H], A[..., 2 * H:3 * H], A[..., 3 * H:]
    c_new = f * c + i * g
    tc = np.tanh(c_new)
    R = params["W_hh"].transpose(0, 2, 1)[:, None]                 # (K, 1, 4H, H)
    Ri, Rf, Rg, Ro = R[..., :H, :], R[..., H:2 * H, :], R[..., 2 * H:3 * H, :], R[..., 3 * H:, :]
    dc_dh = (c * f * (1 - f))[..., None] * Rf + (g * i * (1 - i))[..., None] * Ri + (i * (1 - g * g))[..., None] * Rg
    dh_dc_new = o * (1 - tc * tc)
    dh_dh = (tc * o * (1 - o))[..., None] * Ro + dh_dc_new[..., None] * dc_dh
    eye = np.eye(H, dtype=A.dtype)
    dc_dc = f[..., None] * eye
    dh_dc = (dh_dc_new * f)[..., None] * eye
    return np.concatenate([np.concatenate([dh_dh, dh_dc], axis=-1), np.concatenate([dc_dh, dc_dc], axis=-1)],
                          axis=-2)


class LSTM:
    """The LSTM behind the :class:`nets.architecture.Recurrent` interface; the state s is (h, c), S = 2H."""

    name = "lstm"
    recurrent = True
    param_names = PARAM_NAMES
    readout_names = READOUT_NAMES

    def __init__(self, config: LSTMConfig):
        self.config = config

    def __repr__(self) -> str:
        return f"LSTM({self.config!r})"

    def init_params(self, rng, n_in: int, n_out: int, dtype=np.float64) -> dict:
        return init_params(rng, n_in, self.config.hidden, n_out, dtype)

    #: Conservative training speed (FLOP/s of :meth:`training_flops` on one core): its elementwise
    #: gates run slower than the RNN's products (benchmarks/README.md), so below the RNN's 5e9.
    flops_per_second = 3e9

    def training_terms(self, batch_size: int, n_steps: int, n_in: int, n_out: int, itemsize: int) -> dict:
        """Bytes one network holds while it trains, by the option that drives each term.

        Per trial and step the forward pass keeps the four gates, c, h and tanh(c) (7 H) and the
        backward pass about 5 H more; the parameters (4 gates x (n_in + H + 1) x H) come with their
        gradients and two Adam moments (4 copies); the read-out is its own term.
        """
        H, B, T = self.config.hidden, batch_size, n_steps
        return {f"--batch-size={B} x t={T}": itemsize * B * T * (12 * H + n_in),
                f"--hidden={H}": itemsize * 4 * 4 * H * (n_in + H + 1),
                f"--ntask={n_out}": itemsize * (B * T * 2 * n_out + 4 * (H + 1) * n_out)}

    def training_flops(self, batch_size: int, n_steps: int, n_in: int, n_out: int) -> float:
        """FLOP of one training batch of one network: 6 per multiply-add of the products (2 forward, 4 backward)."""
        H = self.config.hidden
        return 6.0 * batch_size * n_steps * H * (4 * (n_in + H) + n_out)

    def sample_noise(self, rng, n_steps: int, batch_size: int, dtype, out: dict | None = None) -> dict:
        """No training noise: the reference LSTM is deterministic given its inputs."""
        return {}

    def forward(self, params: dict, u: np.ndarray, noise: dict | None = None):
        h, c, A, z = forward_tm(params, u)
        return h, z, (u, h, c, A)

    def backward(self, params: dict, cache, dz: np.ndarray) -> dict:
        u, h, c, A = cache
        return backward_tm(params, u, h, c, A, dz)

    def state_size(self, params: dict) -> int:
        return 2 * params["W_hh"].shape[1]

    def state_trajectory(self, hidden: np.ndarray, cache) -> np.ndarray:
        """(h_t, c_t) concatenated, shape (K, T, B, 2H)."""
        return np.concatenate([hidden, cache[2]], axis=-1)

    def step_map(self, params: dict, s: np.ndarray, u: np.ndarray) -> np.ndarray:
        return step_map(params, s, u)

    def step_jacobian(self, params: dict, s: np.ndarray, u: np.ndarray) -> np.ndarray:
        return step_jacobian(params, s, u)
