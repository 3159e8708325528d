"""Read-outs and losses, each with its gradient with respect to the read-out pre-activation z.

- ``bce_sigmoid`` (the reference task): p = sigmoid(z), per-entry loss
  l = -y log p - (1 - y) log(1 - p) = softplus(z) - y z, dl/dz = sigmoid(z) - y.
  With a target y = 1/2 the smallest possible l is log 2 (at p = 1/2), not 0.
- ``mse_tanh5`` (free reaction time, docs/theory.md): o = scale tanh(z) (scale = 5 = the bound),
  l = (o - y)^2, dl/dz = 2 (o - y) scale (1 - tanh(z)^2).

Network k's loss is the weighted mean L_k = sum(w l) / sum(w) over its trials, steps and
outputs, with weights w >= 0 (1 everywhere for the reference loss; 0 on padded outputs of
networks with fewer tasks, and on all steps but the decision step for ``decision``-only loss).
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

READOUTS = ("bce_sigmoid", "mse_tanh5")


def readout(z: np.ndarray, kind: str = "bce_sigmoid", scale: float = 5.0) -> np.ndarray:
    """The network output from z: sigmoid(z) or scale * tanh(z)."""
    if kind == "bce_sigmoid":
        return expit(z)
    if kind == "mse_tanh5":
        return scale * np.tanh(z)
    raise ValueError(f"loss={kind!r} must be one of {READOUTS}")


def pointwise_loss(z: np.ndarray, y: np.ndarray, kind: str = "bce_sigmoid", scale: float = 5.0):
    """Per-entry loss l and dl/dz, both of z's shape (computed stably for any z)."""
    if kind == "bce_sigmoid":
        e = np.exp(-np.abs(z))                       # in (0, 1]: no overflow for any z
        ell = np.maximum(z, 0) - y * z + np.log1p(e)
        inv = 1 / (1 + e)
        return ell, np.where(z >= 0, inv, e * inv) - y   # sigmoid(z) from the same exponential
    if kind == "mse_tanh5":
        th = np.tanh(z)
        err = scale * th - y
        return err * err, 2 * err * scale * (1 - th * th)
    raise ValueError(f"loss={kind!r} must be one of {READOUTS}")


def loss_and_grad(z: np.ndarray, y: np.ndarray, weights: np.ndarray, kind: str = "bce_sigmoid",
                  scale: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-network mean losses and their gradient with respect to z.

    Parameters
    ----------
    z, y : ndarray, shape (K, ...), read-out pre-activations and targets
    weights : ndarray, broadcastable to z, >= 0, with a positive sum for every network

    Returns
    -------
    L : ndarray, shape (K,), L_k = sum(w l)_k / sum(w)_k
    dz : ndarray, shape of z, dL_k/dz for network k's entries
    """
    if z.shape != y.shape:
        raise ValueError(f"z and y must have the same shape; got {z.shape} and {y.shape}")
    w = np.broadcast_to(np.asarray(weights, dtype=z.dtype), z.shape)
    axes = tuple(range(1, z.ndim))
    total = w.sum(axis=axes)
    if np.any(total <= 0) or np.any(w < 0):
        raise ValueError("weights must be >= 0 with a positive sum for every network")
    ell, dl = pointwise_loss(z, y, kind, scale)
    scale_k = (1 / total).reshape((-1,) + (1,) * (z.ndim - 1))
    return (w * ell).sum(axis=axes) / total, dl * w * scale_k
