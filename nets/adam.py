"""Adam (Kingma & Ba 2015) on a dict of parameter arrays, elementwise, so stacked networks stay independent.

With gradient g at step s = 1, 2, ...:

    m <- beta1 m + (1 - beta1) g
    v <- beta2 v + (1 - beta2) g^2
    p <- p - lr * (m / (1 - beta1^s)) / (sqrt(v / (1 - beta2^s)) + eps)

(the PyTorch form: eps is added after the square root of the bias-corrected v).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AdamState:
    """First and second moments m, v (dicts like the parameters) and the step count s."""

    m: dict
    v: dict
    step: int


def adam_init(params: dict) -> AdamState:
    """Zero moments, step 0."""
    return AdamState(m={k: np.zeros_like(p) for k, p in params.items()},
                     v={k: np.zeros_like(p) for k, p in params.items()}, step=0)


def adam_step(params: dict, grads: dict, state: AdamState, lr: float = 1e-3, beta1: float = 0.9,
              beta2: float = 0.999, eps: float = 1e-8) -> tuple[dict, AdamState]:
    """One Adam update; returns new (params, state) and leaves the inputs untouched.

    Examples
    --------
    >>> p = {"w": np.array([1.0])}
    >>> p1, s1 = adam_step(p, {"w": np.array([2.0])}, adam_init(p), lr=0.1)
    >>> bool(np.isclose(p1["w"][0], 0.9, atol=1e-7)), s1.step   # first step moves by ~lr
    (True, 1)
    """
    if set(grads) != set(params):
        raise ValueError(f"grads keys {sorted(grads)} must match params keys {sorted(params)}")
    s = state.step + 1
    c1 = 1 - beta1 ** s
    c2 = 1 - beta2 ** s
    new_p, new_m, new_v = {}, {}, {}
    for k, p in params.items():
        g = grads[k]
        m = beta1 * state.m[k] + (1 - beta1) * g
        v = beta2 * state.v[k] + (1 - beta2) * (g * g)
        new_p[k] = (p - lr * (m / c1) / (np.sqrt(v / c2) + eps)).astype(p.dtype, copy=False)
        new_m[k], new_v[k] = m.astype(p.dtype, copy=False), v.astype(p.dtype, copy=False)
    return new_p, AdamState(new_m, new_v, s)
