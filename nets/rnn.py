"""The reference RNN for K stacked networks, with hand-written backprop through time.

Row-vector convention (each trial's state is a row; W acts on the right):

    a_t = u_t W_in + b_in + r_{t-1} W_rec + b_rec (+ noise_t),        r_0 = 0
    r_t = c r_{t-1} + alpha phi(a_t),    c = 1 - alpha (leaky) or 1 (non-leaky)
    z_t = r_t W_out + b_out                                          (read-out pre-activation)

phi = relu or tanh, alpha = dt / tau. In column-vector form the matrices are the transposes.
Shapes, with K networks, B trials, T steps, n_in inputs, H units, N outputs:
W_in (K, n_in, H), b_in (K, H), W_rec (K, H, H), b_rec (K, H), W_out (K, H, N), b_out (K, N).

Backward, given dL/dz_t, with dr_t = dL/dr_t (total derivative) and g_t = alpha phi'(a_t):

    dr_t = dz_t W_out^T + c dr_{t+1} + da_{t+1} W_rec^T       (the last two terms: "carry")
    da_t = dr_t * g_t
    dW_in = sum_t u_t^T da_t,  dW_rec = sum_t r_{t-1}^T da_t,  db_in = db_rec = sum_t da_t,
    dW_out = sum_t r_t^T dz_t, db_out = sum_t dz_t.

Internally arrays are (K, T, B, .) so that one step is a (K, B, .) slice and the input and
read-out products are single batched matmuls over all T * B rows; the public functions take
and return (K, B, T, .).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nets.stacking import stack_params as _stack
from theory.world import as_generator, check_positive_int

PARAM_NAMES = ("W_in", "b_in", "W_rec", "b_rec", "W_out", "b_out")
READOUT_NAMES = ("W_out", "b_out")
ACTIVATIONS = ("relu", "tanh")


@dataclass(frozen=True)
class RNNConfig:
    """The RNN's own settings (the reference: 64 leaky ReLU units with alpha = 1, no noise)."""

    hidden: int = 64
    activation: str = "relu"
    alpha: float = 1.0             # dt / tau; 1 = no leak (reference)
    leaky: bool = True             # False: r_t = r_{t-1} + alpha phi(a_t)
    rec_noise: float = 0.0         # sd of Gaussian noise added to the recurrent pre-activation

    def __post_init__(self):
        check_positive_int("hidden", self.hidden)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation={self.activation!r} must be one of {ACTIVATIONS}")
        if isinstance(self.alpha, bool) or not (0 < self.alpha <= 1):
            raise ValueError(f"alpha={self.alpha!r} must be in (0, 1]")
        if not isinstance(self.leaky, bool):
            raise ValueError(f"leaky={self.leaky!r} must be True or False")
        if not (np.isfinite(self.rec_noise) and self.rec_noise >= 0):
            raise ValueError(f"rec_noise={self.rec_noise!r} must be finite and >= 0")


def init_params(rng, n_in: int, hidden: int, n_out: int, dtype=np.float64) -> dict:
    """One network's parameters ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (weights and biases).

    Draws in the order of :data:`PARAM_NAMES`, in float64, then casts, so float32 and float64
    networks from one seed start from the same (rounded) point.

    Returns
    -------
    params : dict, W_in (n_in, H), b_in (H,), W_rec (H, H), b_rec (H,), W_out (H, N), b_out (N,)
    """
    rng = as_generator(rng)
    n_in, hidden, n_out = (check_positive_int(k, v) for k, v in
                           (("n_in", n_in), ("hidden", hidden), ("n_out", n_out)))
    shapes = {"W_in": ((n_in, hidden), n_in), "b_in": ((hidden,), n_in),
              "W_rec": ((hidden, hidden), hidden), "b_rec": ((hidden,), hidden),
              "W_out": ((hidden, n_out), hidden), "b_out": ((n_out,), hidden)}
    out = {}
    for name in PARAM_NAMES:
        shape, fan_in = shapes[name]
        bound = 1.0 / np.sqrt(fan_in)
        out[name] = rng.uniform(-bound, bound, size=shape).astype(dtype)
    return out


def stack_params(params: list, n_out: int | None = None) -> dict:
    """Stack K networks' parameters along a new axis 0; read-outs zero-padded to ``n_out`` outputs."""
    return _stack(params, PARAM_NAMES, READOUT_NAMES, n_out)


def _phi(activation: str, a: np.ndarray, out=None) -> np.ndarray:
    if activation == "relu":
        return np.maximum(a, 0, out=out)
    if activation == "tanh":
        return np.tanh(a, out=out)
    raise ValueError(f"activation={activation!r} must be 'relu' or 'tanh'")


def _dphi(activation: str, a: np.ndarray) -> np.ndarray:
    if activation == "relu":
        return (a > 0).astype(a.dtype)
    return 1 - np.tanh(a) ** 2


def _check(params: dict, u: np.ndarray, alpha: float) -> None:
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing}")
    K, n_in, H = params["W_in"].shape
    if u.ndim != 4 or u.shape[0] not in (1, K) or u.shape[3] != n_in:
        raise ValueError(f"u must have shape (K={K} or 1, B, T, n_in={n_in}); got shape {u.shape}")
    if not (0 < alpha <= 1):
        raise ValueError(f"alpha={alpha!r} must be in (0, 1]")


def forward_tm(params: dict, u: np.ndarray, activation: str = "relu", alpha: float = 1.0,
               leaky: bool = True, noise: np.ndarray | None = None):
    """Forward pass in the internal (K, T, B, .) layout; returns (r, a, z), all (K, T, B, .)."""
    K, n_in, H = params["W_in"].shape
    T, B = u.shape[1], u.shape[2]
    drive = (u.reshape(u.shape[0], T * B, n_in) @ params["W_in"]).reshape(K, T, B, H)
    drive += (params["b_in"] + params["b_rec"])[:, None, None, :]
    if noise is not None:
        drive += noise
    c = 1 - alpha if leaky else 1.0
    a = np.empty_like(drive)
    r_all = np.empty_like(drive)
    _phi(activation, a[:, :0])               # validate the activation before the loop
    r = np.zeros((K, B, H), dtype=drive.dtype)
    W_rec = params["W_rec"]
    for t in range(T):                       # in place, into the (K, B, H) slices of step t
        a_t, r_t = a[:, t], r_all[:, t]
        np.matmul(r, W_rec, out=a_t)
        a_t += drive[:, t]                   # a_t = drive_t + r_{t-1} W_rec
        _phi(activation, a_t, out=r_t)
        if alpha != 1:
            r_t *= alpha
        if c != 0:
            r_t += c * r                     # r_t = c r_{t-1} + alpha phi(a_t)
        r = r_t
    N = params["W_out"].shape[2]
    z = (r_all.reshape(K, T * B, H) @ params["W_out"]).reshape(K, T, B, N) + params["b_out"][:, None, None, :]
    return r_all, a, z


def backward_tm(params: dict, u: np.ndarray, r: np.ndarray, a: np.ndarray, dz: np.ndarray,
                activation: str = "relu", alpha: float = 1.0, leaky: bool = True) -> dict:
    """Gradients of a loss L given dL/dz, all in the internal (K, T, B, .) layout (see module doc)."""
    K, T, B, H = r.shape
    N = dz.shape[3]
    rows = T * B
    grads = {"W_out": r.reshape(K, rows, H).transpose(0, 2, 1) @ dz.reshape(K, rows, N),
             "b_out": np.ones(rows, dtype=dz.dtype) @ dz.reshape(K, rows, N)}
    # contiguous transposes: numpy's stacked matmul is ~10x slower on a transposed right operand
    W_out_T = np.ascontiguousarray(params["W_out"].transpose(0, 2, 1))
    dr_out = (dz.reshape(K, rows, N) @ W_out_T).reshape(K, T, B, H)
    g = _dphi(activation, a)
    if alpha != 1:
        g = alpha * g
    c = 1 - alpha if leaky else 1.0
    W_rec_T = np.ascontiguousarray(params["W_rec"].transpose(0, 2, 1))
    da = np.empty_like(r)
    carry = np.zeros((K, B, H), dtype=r.dtype)
    for t in range(T - 1, -1, -1):           # in place, into the (K, B, H) slices of step t
        dr = dr_out[:, t]
        dr += carry                          # dr_t = dz_t W_out^T + carry
        da_t = np.multiply(dr, g[:, t], out=da[:, t])
        carry = da_t @ W_rec_T if c == 0 else c * dr + da_t @ W_rec_T
    da2 = da.reshape(K, rows, H)
    n_in = u.shape[3]
    u2 = np.broadcast_to(u, (K,) + u.shape[1:]).reshape(K, rows, n_in)
    grads["W_in"] = u2.transpose(0, 2, 1) @ da2
    # r_0 = 0, so dW_rec sums r_{t-1}^T da_t over t = 2..T only (views, no copy)
    grads["W_rec"] = r[:, :-1].reshape(K, rows - B, H).transpose(0, 2, 1) @ da[:, 1:].reshape(K, rows - B, H)
    grads["b_in"] = np.ones(rows, dtype=da.dtype) @ da2
    grads["b_rec"] = grads["b_in"].copy()
    return grads


def forward(params: dict, u: np.ndarray, activation: str = "relu", alpha: float = 1.0,
            leaky: bool = True, noise: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run K networks over a batch of trials.

    Parameters
    ----------
    params : dict of stacked parameters (see module docstring), leading axis K
    u : ndarray, shape (K, B, T, n_in) or (1, B, T, n_in) (same inputs for every network)
    noise : ndarray, shape (K, B, T, H), optional; added to the pre-activation a_t

    Returns
    -------
    h : ndarray, shape (K, B, T, H), hidden states r_1..r_T
    z : ndarray, shape (K, B, T, N), read-out pre-activations r_t W_out + b_out
    """
    u = np.asarray(u)
    _check(params, u, alpha)
    dtype = params["W_in"].dtype
    u_tm = np.ascontiguousarray(u.swapaxes(1, 2), dtype=dtype)
    noise_tm = None if noise is None else np.ascontiguousarray(np.asarray(noise).swapaxes(1, 2), dtype=dtype)
    r, _, z = forward_tm(params, u_tm, activation, alpha, leaky, noise_tm)
    return r.swapaxes(1, 2), z.swapaxes(1, 2)


def step_map(params: dict, h: np.ndarray, u: np.ndarray, activation: str = "relu",
             alpha: float = 1.0, leaky: bool = True) -> np.ndarray:
    """One noiseless step F(h; u) = c h + alpha phi(u W_in + b_in + h W_rec + b_rec).

    Parameters
    ----------
    h : ndarray, shape (K, M, H), M states per network
    u : ndarray, shape (n_in,) or broadcastable to (K, M, n_in), the (fixed) input

    Returns
    -------
    F : ndarray, shape (K, M, H)
    """
    a = _preactivation(params, h, u)
    c = 1 - alpha if leaky else 1.0
    return c * h + alpha * _phi(activation, a)


def step_jacobian(params: dict, h: np.ndarray, u: np.ndarray, activation: str = "relu",
                  alpha: float = 1.0, leaky: bool = True) -> np.ndarray:
    """dF/dh of :func:`step_map` (the Jacobian of F itself, not of F(h) - h).

    J[k, m, i, j] = dF_i / dh_j = c delta_ij + alpha phi'(a_i) W_rec[j, i].

    Returns
    -------
    J : ndarray, shape (K, M, H, H)
    """
    a = _preactivation(params, h, u)
    c = 1 - alpha if leaky else 1.0
    H = h.shape[-1]
    J = alpha * _dphi(activation, a)[..., :, None] * params["W_rec"].transpose(0, 2, 1)[:, None]
    return J + c * np.eye(H, dtype=J.dtype)


def _preactivation(params: dict, h: np.ndarray, u: np.ndarray) -> np.ndarray:
    h = np.asarray(h, dtype=params["W_rec"].dtype)
    K, n_in, H = params["W_in"].shape
    if h.ndim != 3 or h.shape[0] != K or h.shape[2] != H:
        raise ValueError(f"h must have shape (K={K}, M, H={H}); got shape {h.shape}")
    u = np.asarray(u, dtype=h.dtype)
    if u.shape[-1] != n_in:
        raise ValueError(f"u must end in n_in={n_in} inputs; got shape {u.shape}")
    u = np.broadcast_to(u, (K, h.shape[1], n_in))
    return u @ params["W_in"] + params["b_in"][:, None] + h @ params["W_rec"] + params["b_rec"][:, None]


class RNN:
    """The RNN behind the :class:`nets.architecture.Recurrent` interface; the state s is r (S = H)."""

    name = "rnn"
    recurrent = True
    param_names = PARAM_NAMES
    readout_names = READOUT_NAMES

    def __init__(self, config: RNNConfig):
        self.config = config
        self._kw = {"activation": config.activation, "alpha": config.alpha, "leaky": config.leaky}

    def __repr__(self) -> str:
        return f"RNN({self.config!r})"

    def init_params(self, rng, n_in: int, n_out: int, dtype=np.float64) -> dict:
        return init_params(rng, n_in, self.config.hidden, n_out, dtype)

    #: Conservative training speed (FLOP/s of :meth:`training_flops` on one core): the measured
    #: ~36 GFLOP/s per core at the reference size (benchmarks/README.md) divided by 7.
    flops_per_second = 5e9

    def training_terms(self, batch_size: int, n_steps: int, n_in: int, n_out: int, itemsize: int) -> dict:
        """Bytes one network holds while it trains, by the option that drives each term.

        The forward pass keeps a, r (and the backward pass its gradients and temporaries: ~6 H
        floats per trial and step) plus the inputs and two read-out arrays; the parameters come
        with their gradients and two Adam moments (4 copies); the read-out is its own term.
        """
        H, B, T = self.config.hidden, batch_size, n_steps
        return {f"--batch-size={B} x t={T}": itemsize * B * T * (6 * H + n_in),
                f"--hidden={H}": itemsize * 4 * H * (n_in + H + 2),
                f"--ntask={n_out}": itemsize * (B * T * 2 * n_out + 4 * (H + 1) * n_out)}

    def training_flops(self, batch_size: int, n_steps: int, n_in: int, n_out: int) -> float:
        """FLOP of one training batch of one network: 6 per multiply-add of the products (2 forward, 4 backward)."""
        H = self.config.hidden
        return 6.0 * batch_size * n_steps * H * (n_in + H + n_out)

    def sample_noise(self, rng, n_steps: int, batch_size: int, dtype, out: dict | None = None) -> dict:
        """Recurrent noise rec_noise * xi, xi ~ N(0, 1) of shape (T, B, H) (nothing when rec_noise = 0)."""
        if self.config.rec_noise == 0:
            return {}
        xi = rng.standard_normal((n_steps, batch_size, self.config.hidden))
        rec = np.empty(xi.shape, dtype=dtype) if out is None else out["rec"]
        np.multiply(xi, self.config.rec_noise, out=rec, casting="same_kind")   # in float64, then rounded
        return {"rec": rec}

    def forward(self, params: dict, u: np.ndarray, noise: dict | None = None):
        r, a, z = forward_tm(params, u, noise=None if noise is None else noise["rec"], **self._kw)
        return r, z, (u, r, a)

    def backward(self, params: dict, cache, dz: np.ndarray) -> dict:
        u, r, a = cache
        return backward_tm(params, u, r, a, dz, **self._kw)

    def state_size(self, params: dict) -> int:
        return params["W_rec"].shape[-1]

    def state_trajectory(self, hidden: np.ndarray, cache) -> np.ndarray:
        return hidden

    def step_map(self, params: dict, s: np.ndarray, u: np.ndarray) -> np.ndarray:
        return step_map(params, s, u, **self._kw)

    def step_jacobian(self, params: dict, s: np.ndarray, u: np.ndarray) -> np.ndarray:
        return step_jacobian(params, s, u, **self._kw)
