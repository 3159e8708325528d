"""Transformer layers as pure functions with hand-written backward passes (after karpathy/llm.c, train_gpt2.c).

Each ``*_forward`` returns its output and a cache; the matching ``*_backward`` takes the cache and
dL/d(output) and returns dL/d(inputs) (and parameter gradients). Arrays carry any leading axes
(K networks, rows); the feature axis is last.

- LayerNorm: xhat = (x - mean(x)) / sqrt(var(x) + eps), y = g * xhat + b (biased variance, as PyTorch);
  backward dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = g dy.
- GELU, tanh form (GPT-2's ``gelu_new``): y = x/2 (1 + tanh(s (x + 0.044715 x^3))), s = sqrt(2/pi).
- Causal multi-head self-attention on q, k, v of shape (K, B, n_head, T, d_head):
  P = softmax(q k^T / sqrt(d_head) with entries s > t set to -inf), optional dropout of P by a
  mask, y = P v; backward dS = P * (dP - sum_s dP P), whose masked entries are 0 because P is.
- Dropout: y = x * m with m = keep / (1 - p), the same mask forward and backward.
"""
from __future__ import annotations

import numpy as np

GELU_S = float(np.sqrt(2.0 / np.pi))   # python floats keep float32 arrays float32
GELU_C = 0.044715


def _row_mean(x: np.ndarray) -> np.ndarray:
    """Mean over the last axis, keepdims, as a product with 1/C (a row reduction over a short
    contiguous axis is several times slower in numpy than the matrix-vector product)."""
    return (x @ np.full(x.shape[-1], 1.0 / x.shape[-1], dtype=x.dtype))[..., None]


def _row_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis, keepdims, as a product with ones (see :func:`_row_mean`)."""
    return (x @ np.ones(x.shape[-1], dtype=x.dtype))[..., None]


def _row_max(x: np.ndarray) -> np.ndarray:
    """Max over the last axis, keepdims, by halving (elementwise maxima over the leading axes are
    vectorised; ``x.max(axis=-1)`` over 22-long rows is ~1.6x slower)."""
    m = x
    while m.shape[-1] > 1:
        h = m.shape[-1] // 2
        top = np.maximum(m[..., :h], m[..., h:2 * h])
        if m.shape[-1] % 2:
            np.maximum(top[..., :1], m[..., -1:], out=top[..., :1])
        m = top
    return m


def layernorm_forward(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-5):
    """LayerNorm over the last axis: x (..., C), g and b broadcastable to (..., C); returns (y, (xhat, rstd))."""
    mean = _row_mean(x)
    xc = x - mean
    var = _row_mean(xc * xc)
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = xc * rstd
    return xhat * g + b, (xhat, rstd)


def layernorm_backward(dy: np.ndarray, cache, g: np.ndarray, reduce_axes: tuple):
    """(dx, dg, db) of :func:`layernorm_forward`; dg, db summed over ``reduce_axes`` (the row axes)."""
    xhat, rstd = cache
    dg = (dy * xhat).sum(axis=reduce_axes)
    db = dy.sum(axis=reduce_axes)
    dxhat = dy * g
    dx = dxhat - _row_mean(dxhat)
    dx -= xhat * _row_mean(dxhat * xhat)
    dx *= rstd
    return dx, dg, db


def gelu_forward(x: np.ndarray):
    """GELU, tanh approximation; returns (y, th) with th = tanh(s (x + 0.044715 x^3)) for the backward."""
    th = x * x                                    # in place from here: one temporary, not six
    th *= GELU_C
    th += 1
    th *= x
    th *= GELU_S
    np.tanh(th, out=th)                           # th = tanh(s x (1 + 0.044715 x^2))
    y = th + 1
    y *= x
    y *= 0.5
    return y, th


def gelu_backward(dy: np.ndarray, x: np.ndarray, th: np.ndarray) -> np.ndarray:
    """dx = dy [(1 + th)/2 + x/2 (1 - th^2) s (1 + 3 * 0.044715 x^2)]."""
    d = x * x
    d *= 3 * GELU_C
    d += 1
    d *= x
    d *= 0.5 * GELU_S                             # x/2 s (1 + 3 c x^2)
    d *= 1 - th * th
    d += 0.5
    d += 0.5 * th
    d *= dy
    return d


def causal_mask(T: int, dtype) -> np.ndarray:
    """Additive mask, shape (T, T): 0 where s <= t (the past and present), -inf where s > t."""
    return np.triu(np.full((T, T), -np.inf, dtype=dtype), k=1)


def attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, drop: np.ndarray | None = None):
    """Causal softmax attention per head.

    Parameters
    ----------
    q, k, v : ndarray, shape (..., T, d_head)
    drop : ndarray, shape (..., T, T), dropout multipliers on the attention weights, or None

    Returns
    -------
    y : ndarray (..., T, d_head), and the cache (q, k, v, P, Pd, drop) for :func:`attention_backward`
        (Pd = P * drop, the weights y used)
    """
    T, d = q.shape[-2], q.shape[-1]
    S = (q * (1.0 / float(np.sqrt(d)))) @ k.swapaxes(-1, -2)   # scaling q is cheaper than scaling S
    S += causal_mask(T, S.dtype)
    S -= _row_max(S)                              # the diagonal is never masked: the max is finite
    P = np.exp(S, out=S)
    P /= _row_sum(P)
    Pd = P if drop is None else P * drop
    return Pd @ v, (q, k, v, P, Pd, drop)


def attention_backward(dy: np.ndarray, cache, out: np.ndarray | None = None):
    """(dq, dk, dv) of :func:`attention_forward` given dL/dy; ``out``: an array (3, ..., T, d_head)
    to write them into (the caller's stacked layout, saving a copy)."""
    q, k, v, P, Pd, drop = cache
    d = q.shape[-1]
    dq, dk, dv = (None, None, None) if out is None else out
    dv = np.matmul(Pd.swapaxes(-1, -2), dy, out=dv)
    dP = dy @ v.swapaxes(-1, -2)
    if drop is not None:
        dP *= drop
    dS = dP
    dS -= _row_sum(dP * P)
    dS *= P                                       # softmax backward; 0 at the masked entries
    scale = 1.0 / float(np.sqrt(d))
    dq = np.matmul(dS, k, out=dq)
    dq *= scale
    dk = np.matmul(dS.swapaxes(-1, -2), q, out=dk)
    dk *= scale
    return dq, dk, dv


#: Dropout draws 16-bit uniform integers V (2.5x faster than float uniforms); dropped where
#: V < round(p 2^16), so the drop probability is p to within 2^-17 (0.1 -> 0.100006).
DROPOUT_BITS = 16


def dropout_mask(rng: np.random.Generator, shape: tuple, p: float, dtype, out: np.ndarray | None = None) -> np.ndarray:
    """Multipliers keep / (1 - p'), keep = [V >= round(p 2^16)], V uniform 16-bit, p' the exact drop rate.

    The same draws for any ``dtype`` (so float32 and float64 runs drop the same entries);
    ``out``: an array of ``shape`` to write the multipliers into (and return).
    """
    n = int(np.prod(shape))
    threshold = round(p * 2**DROPOUT_BITS)
    V = np.frombuffer(rng.bytes(2 * n), dtype="<u2").reshape(shape)
    scale = np.asarray(2**DROPOUT_BITS / (2**DROPOUT_BITS - threshold), dtype=dtype)
    return np.multiply(V >= threshold, scale, out=out)      # bool x scale: 0 or the scale, in dtype
