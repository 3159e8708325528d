"""The reference's GPT-2 (one block, continuous inputs) for K stacked networks, with a hand-written backward.

The reference (``GPT2ContinuousInputs``: HuggingFace ``GPT2Model`` with ``n_layer=1, n_head=8,
n_embd=64`` behind a linear input projection, positional embeddings zeroed and frozen, and a
separate ``nn.Linear(64, N)`` + sigmoid decoder), written out per layer; rows are trials x steps:

    e   = u W_p + b_p                                   input projection Linear(n_in, C)
    x0  = drop(e)                                       embedding dropout (no positional embedding:
                                                        position enters only through the causal mask)
    a1  = LN_1(x0);   q, k, v = split(a1 W_qkv + b_qkv) into n_head heads of d_head = C / n_head
    y   = drop(softmax(q k^T / sqrt(d_head) + causal)) v          (causal: step t sees s <= t)
    x1  = x0 + drop(y W_ao + b_ao)                      attention residual
    a2  = LN_2(x1);   m = GELU_tanh(a2 W_fc + b_fc) W_mp + b_mp   MLP C -> 4C -> C
    x2  = x1 + drop(m)                                  MLP residual
    hf  = LN_f(x2);   z = hf W_out + b_out              final LayerNorm, read-out at every position

LayerNorms have eps 1e-5; dropout p = 0.1 on the embeddings, the attention weights and both
residual branches in training only (masks from :meth:`Transformer.sample_noise`, i.e. from each
network's own data stream); ``noise=None`` is evaluation mode. Initialisation as GPT-2 (and
nanoGPT): weights N(0, 0.02), the two output projections W_ao, W_mp N(0, 0.02 / sqrt(2 n_layer))
with n_layer = 1, biases 0, LayerNorm gain 1 and bias 0; the read-out, a plain ``nn.Linear`` in
the reference, keeps PyTorch's default U(-1/sqrt(C), 1/sqrt(C)) on weight and bias.

Shapes (K networks): W_p (K, n_in, C), W_qkv (K, C, 3C) (columns q | k | v, head h at
h d_head .. (h+1) d_head - 1 within each), W_ao (K, C, C), W_fc (K, C, 4C), W_mp (K, 4C, C),
W_out (K, C, N), biases and LayerNorm parameters (K, width). The backward is the chain rule
through these lines in reverse (layers in :mod:`nets.layers`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nets.layers import (attention_backward, attention_forward, dropout_mask, gelu_backward, gelu_forward,
                         layernorm_backward, layernorm_forward)
from theory.world import as_generator, check_positive_int

PARAM_NAMES = ("W_p", "b_p", "ln1_g", "ln1_b", "W_qkv", "b_qkv", "W_ao", "b_ao", "ln2_g", "ln2_b",
               "W_fc", "b_fc", "W_mp", "b_mp", "lnf_g", "lnf_b", "W_out", "b_out")
READOUT_NAMES = ("W_out", "b_out")
#: The dropout sites, in the order their masks are drawn.
DROPOUT_SITES = ("emb", "attn", "res1", "res2")
INIT_STD = 0.02
N_LAYER = 1


@dataclass(frozen=True)
class TransformerConfig:
    """The transformer's own settings (the reference GPT-2 block)."""

    d_model: int = 64          # C, the residual stream width (n_embd)
    n_head: int = 8            # heads of d_model / n_head = 8 dims
    d_mlp: int = 256           # MLP width, 4 d_model as GPT-2
    dropout: float = 0.1       # p on embeddings, attention weights and residual branches (training only)
    ln_eps: float = 1e-5       # LayerNorm epsilon (GPT-2's layer_norm_epsilon)

    def __post_init__(self):
        for name in ("d_model", "n_head", "d_mlp"):
            check_positive_int(name, getattr(self, name))
        if self.d_model % self.n_head:
            raise ValueError(f"d_model={self.d_model} must be a multiple of n_head={self.n_head}")
        if isinstance(self.dropout, bool) or not (0 <= self.dropout < 1):
            raise ValueError(f"dropout={self.dropout!r} must be in [0, 1)")
        if not (np.isfinite(self.ln_eps) and self.ln_eps > 0):
            raise ValueError(f"ln_eps={self.ln_eps!r} must be finite and > 0")


def init_params(rng, n_in: int, n_out: int, config: TransformerConfig = TransformerConfig(),
                dtype=np.float64) -> dict:
    """One network's parameters (see the module docstring), drawn in float64 in PARAM_NAMES order, then cast."""
    rng = as_generator(rng)
    n_in, n_out = check_positive_int("n_in", n_in), check_positive_int("n_out", n_out)
    C, F = config.d_model, config.d_mlp
    proj_std = INIT_STD / np.sqrt(2 * N_LAYER)
    bound = 1.0 / np.sqrt(C)
    draw = {"W_p": lambda: rng.normal(0, INIT_STD, (n_in, C)), "b_p": lambda: np.zeros(C),
            "ln1_g": lambda: np.ones(C), "ln1_b": lambda: np.zeros(C),
            "W_qkv": lambda: rng.normal(0, INIT_STD, (C, 3 * C)), "b_qkv": lambda: np.zeros(3 * C),
            "W_ao": lambda: rng.normal(0, proj_std, (C, C)), "b_ao": lambda: np.zeros(C),
            "ln2_g": lambda: np.ones(C), "ln2_b": lambda: np.zeros(C),
            "W_fc": lambda: rng.normal(0, INIT_STD, (C, F)), "b_fc": lambda: np.zeros(F),
            "W_mp": lambda: rng.normal(0, proj_std, (F, C)), "b_mp": lambda: np.zeros(C),
            "lnf_g": lambda: np.ones(C), "lnf_b": lambda: np.zeros(C),
            "W_out": lambda: rng.uniform(-bound, bound, (C, n_out)), "b_out": lambda: rng.uniform(-bound, bound, n_out)}
    return {name: draw[name]().astype(dtype) for name in PARAM_NAMES}


def _linear(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x (K, R, a) @ W (K, a, c) + b (K, c)."""
    y = x @ W
    y += b[:, None, :]
    return y


def _linear_backward(dy: np.ndarray, x: np.ndarray, W: np.ndarray, need_dx: bool = True):
    """(dx, dW, db) of y = x W + b, for (K, R, .) arrays."""
    dW = x.transpose(0, 2, 1) @ dy
    db = np.ones(dy.shape[1], dtype=dy.dtype) @ dy          # the row sum, as a product (faster than .sum)
    dx = dy @ np.ascontiguousarray(W.transpose(0, 2, 1)) if need_dx else None
    return dx, dW, db


def _drop(x: np.ndarray, noise: dict | None, site: str, in_place: bool = False) -> np.ndarray:
    """x times the site's dropout mask (x itself in evaluation mode); ``in_place`` overwrites x."""
    if noise is None:
        return x
    return np.multiply(x, noise[site].reshape(x.shape), out=x if in_place else None)


def forward_tm(params: dict, u: np.ndarray, config: TransformerConfig, noise: dict | None = None):
    """Forward pass in the (K, T, B, .) layout; returns (hf, z, cache), hf the read-out input (K, T, B, C).

    ``cache`` is a dict of the forward's intermediate rows (K, T B, .) and the layer caches
    (``ln1``, ``ln2``, ``lnf``: (xhat, rstd); ``att``: see :func:`nets.layers.attention_forward`).
    """
    K, n_in, C = params["W_p"].shape
    T, B = u.shape[1], u.shape[2]
    nh, hd, R = config.n_head, C // config.n_head, T * B
    eps = config.ln_eps
    u2 = np.broadcast_to(u, (K,) + u.shape[1:]).reshape(K, R, n_in)
    x0 = _drop(_linear(u2, params["W_p"], params["b_p"]), noise, "emb", True)           # (K, R, C)
    a1, ln1 = layernorm_forward(x0, params["ln1_g"][:, None], params["ln1_b"][:, None], eps)
    qkv = _linear(a1, params["W_qkv"], params["b_qkv"])                            # (K, R, 3C)
    heads = qkv.reshape(K, T, B, 3, nh, hd).transpose(3, 0, 2, 4, 1, 5)            # (3, K, B, nh, T, hd)
    q, k, v = (np.ascontiguousarray(h) for h in heads)
    y, att = attention_forward(q, k, v, None if noise is None else noise["attn"])
    y2 = np.ascontiguousarray(y.transpose(0, 3, 1, 2, 4)).reshape(K, R, C)          # heads back to rows
    x1 = x0 + _drop(_linear(y2, params["W_ao"], params["b_ao"]), noise, "res1", True)
    a2, ln2 = layernorm_forward(x1, params["ln2_g"][:, None], params["ln2_b"][:, None], eps)
    pre = _linear(a2, params["W_fc"], params["b_fc"])                              # (K, R, 4C)
    act, th = gelu_forward(pre)
    x2 = x1 + _drop(_linear(act, params["W_mp"], params["b_mp"]), noise, "res2", True)
    hf, lnf = layernorm_forward(x2, params["lnf_g"][:, None], params["lnf_b"][:, None], eps)
    z = _linear(hf, params["W_out"], params["b_out"])
    cache = dict(u2=u2, a1=a1, ln1=ln1, att=att, y2=y2, a2=a2, ln2=ln2, pre=pre, act=act, th=th, hf=hf,
                 lnf=lnf, noise=noise, T=T, B=B)
    N = z.shape[-1]
    return hf.reshape(K, T, B, C), z.reshape(K, T, B, N), cache


def backward_tm(params: dict, cache, dz: np.ndarray, config: TransformerConfig) -> dict:
    """Gradients of a loss L given dL/dz (K, T, B, N): the forward's lines in reverse."""
    c = cache
    u2, a1, ln1, att, y2, a2, ln2, pre, act, th, hf, lnf, noise, T, B = (
        c["u2"], c["a1"], c["ln1"], c["att"], c["y2"], c["a2"], c["ln2"], c["pre"], c["act"], c["th"], c["hf"],
        c["lnf"], c["noise"], c["T"], c["B"])
    K, R, C = hf.shape
    nh, hd = config.n_head, C // config.n_head
    g = {}
    dhf, g["W_out"], g["b_out"] = _linear_backward(dz.reshape(K, R, -1), hf, params["W_out"])
    dx2, g["lnf_g"], g["lnf_b"] = layernorm_backward(dhf, lnf, params["lnf_g"][:, None], 1)
    dm = _drop(dx2, noise, "res2")                                                 # x2 = x1 + drop(m)
    dact, g["W_mp"], g["b_mp"] = _linear_backward(dm, act, params["W_mp"])
    dpre = gelu_backward(dact, pre, th)
    da2, g["W_fc"], g["b_fc"] = _linear_backward(dpre, a2, params["W_fc"])
    dx1, g["ln2_g"], g["ln2_b"] = layernorm_backward(da2, ln2, params["ln2_g"][:, None], 1)
    dx1 += dx2                                                                     # the residual
    do = _drop(dx1, noise, "res1")                                                 # x1 = x0 + drop(o)
    dy2, g["W_ao"], g["b_ao"] = _linear_backward(do, y2, params["W_ao"])
    dy = np.ascontiguousarray(dy2.reshape(K, T, B, nh, hd).transpose(0, 2, 3, 1, 4))  # (K, B, nh, T, hd)
    dheads = np.empty((3,) + dy.shape, dtype=dy.dtype)                             # (3, K, B, nh, T, hd)
    attention_backward(dy, att, out=dheads)
    dqkv = dheads.transpose(1, 4, 2, 0, 3, 5).reshape(K, R, 3 * C)
    da1, g["W_qkv"], g["b_qkv"] = _linear_backward(dqkv, a1, params["W_qkv"])
    dx0, g["ln1_g"], g["ln1_b"] = layernorm_backward(da1, ln1, params["ln1_g"][:, None], 1)
    dx0 += dx1
    de = _drop(dx0, noise, "emb", True)
    _, g["W_p"], g["b_p"] = _linear_backward(de, u2, params["W_p"], need_dx=False)
    return g


class Transformer:
    """The GPT-2 block behind the :class:`nets.architecture.Architecture` interface (not recurrent)."""

    name = "transformer"
    recurrent = False
    param_names = PARAM_NAMES
    readout_names = READOUT_NAMES

    def __init__(self, config: TransformerConfig):
        self.config = config

    def __repr__(self) -> str:
        return f"Transformer({self.config!r})"

    def init_params(self, rng, n_in: int, n_out: int, dtype=np.float64) -> dict:
        return init_params(rng, n_in, n_out, self.config, dtype)

    #: Conservative training speed (FLOP/s of :meth:`training_flops` on one core): the measured
    #: ~33 GFLOP/s per core at the reference size (benchmarks/README.md) divided by 6.
    flops_per_second = 5e9

    def training_terms(self, batch_size: int, n_steps: int, n_in: int, n_out: int, itemsize: int) -> dict:
        """Bytes one network holds while it trains, by the option that drives each term.

        Per position the forward pass keeps the residual stream and LayerNorm outputs (~10 C), q, k,
        v (3 C), the MLP rows (2 d_mlp) and the attention weights and dropout masks (2 n_head T);
        the backward pass about as much again. The parameters (input projection, 4 C^2 attention,
        2 C d_mlp MLP) come with their gradients and two Adam moments; the read-out is its own term.
        """
        c, B, T = self.config, batch_size, n_steps
        C, F, nh = c.d_model, c.d_mlp, c.n_head
        return {f"--batch-size={B} x t={T}": itemsize * B * T * (26 * C + 4 * F + 4 * nh * T + n_in),
                f"--d-model={C}": itemsize * 4 * (n_in * C + 4 * C * C + 2 * C * F + 13 * C + F),
                f"--ntask={n_out}": itemsize * (B * T * 2 * n_out + 4 * (C + 1) * n_out)}

    def training_flops(self, batch_size: int, n_steps: int, n_in: int, n_out: int) -> float:
        """FLOP of one training batch of one network: 6 per multiply-add of the products (2 forward,
        4 backward), the attention scores and their weighted sums (2 T^2 C multiply-adds per trial) included."""
        C, F, T = self.config.d_model, self.config.d_mlp, n_steps
        return 6.0 * batch_size * T * (n_in * C + 4 * C * C + 2 * C * F + C * n_out + 2 * T * C)

    def sample_noise(self, rng, n_steps: int, batch_size: int, dtype, out: dict | None = None) -> dict:
        """Dropout multipliers of one network for one batch (nothing when dropout = 0).

        Drawn in the order of :data:`DROPOUT_SITES`: emb (T, B, C), attn (B, n_head, T, T),
        res1 (T, B, C), res2 (T, B, C); see :func:`nets.layers.dropout_mask`.
        """
        p = self.config.dropout
        if p == 0:
            return {}
        C, nh = self.config.d_model, self.config.n_head
        shapes = {"emb": (n_steps, batch_size, C), "attn": (batch_size, nh, n_steps, n_steps),
                  "res1": (n_steps, batch_size, C), "res2": (n_steps, batch_size, C)}
        return {site: dropout_mask(rng, shapes[site], p, dtype, None if out is None else out[site])
                for site in DROPOUT_SITES}

    def forward(self, params: dict, u: np.ndarray, noise: dict | None = None):
        return forward_tm(params, u, self.config, noise)

    def backward(self, params: dict, cache, dz: np.ndarray) -> dict:
        return backward_tm(params, cache, dz, self.config)

    def attention_values(self, cache) -> np.ndarray:
        """The attention value vectors v = LN_1(x0) W_v + b_v of a forward pass, heads concatenated
        (head h in columns h d_head .. (h+1) d_head - 1), shape (K, T, B, C): the reference's
        ``past_key_values[0][1]``, whose tuning it plots next to the final hidden state's."""
        v = cache["att"][2]                                                     # (K, B, nh, T, hd)
        K, B, nh, T, hd = v.shape
        return v.transpose(0, 3, 1, 2, 4).reshape(K, T, B, nh * hd)
