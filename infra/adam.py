"""Adam (Kingma & Ba 2015), the one implementation: the networks' trainer (:mod:`nets.train`) and the
reference decoder (:func:`analysis.decoders.reference_adam`) both step with :func:`adam_update`.

It lives in ``infra`` (numerical building blocks below every package) because ``analysis`` may not
import ``nets``. Elementwise, so stacked networks (or stacked decoder fits) stay independent.
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
    new_p, new_m, new_v = {}, {}, {}
    for k, p in params.items():
        delta, m, v = adam_update(grads[k], state.m[k], state.v[k], s, lr, beta1, beta2, eps)
        new_p[k] = (p - delta).astype(p.dtype, copy=False)
        new_m[k], new_v[k] = m.astype(p.dtype, copy=False), v.astype(p.dtype, copy=False)
    return new_p, AdamState(new_m, new_v, s)


def adam_update(g, m, v, step: int, lr: float, beta1: float, beta2: float, eps: float):
    """The Adam arithmetic of one array at step ``step`` (>= 1): returns (delta, m, v), p_new = p - delta.

    m, v are the new moments (new arrays; the inputs are untouched). The order of operations is
    fixed: callers that must reproduce earlier results bit for bit rely on it.
    """
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * (g * g)
    return lr * (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + eps), m, v
