"""Stacking K networks' parameters (read-outs zero-padded) and their per-batch training noise."""
from __future__ import annotations

import numpy as np


def stack_params(params: list, names: tuple, readout_names: tuple, n_out: int | None = None) -> dict:
    """Stack K networks' parameters along a new axis 0; read-outs zero-padded to ``n_out`` outputs.

    Padded outputs are masked out of the loss, so their weights get zero gradient and stay 0.

    Parameters
    ----------
    params : list of K dicts ``{name: array}`` (one network each, no K axis)
    names : the parameter names to stack
    readout_names : the names whose last axis is the output N
    n_out : outputs after padding (default: the widest read-out)
    """
    if not params:
        raise ValueError("params must hold at least one network")
    widest = max(p[readout_names[0]].shape[-1] for p in params)
    n_out = widest if n_out is None else n_out
    if n_out < widest:
        raise ValueError(f"n_out={n_out} is smaller than the widest read-out ({widest})")
    out = {}
    for name in names:
        arrs = [p[name] for p in params]
        if name in readout_names:
            arrs = [np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, n_out - a.shape[-1])]) for a in arrs]
        out[name] = np.stack(arrs)
    return out


def sample_stacked_noise(arch, rngs: list, n_steps: int, batch_size: int, dtype) -> dict | None:
    """K networks' training noise for one batch, ``{name: (K, ...)}``; None when there is none.

    Network j's noise is ``arch.sample_noise(rngs[j], ...)``, drawn straight into its slice of
    the stacked arrays (no per-network arrays to copy); the same values as stacking the K dicts.
    """
    first = arch.sample_noise(rngs[0], n_steps, batch_size, dtype)
    if not first:
        return None
    out = {name: np.empty((len(rngs),) + a.shape, dtype=a.dtype) for name, a in first.items()}
    for name, a in first.items():
        out[name][0] = a
    for j, rng in enumerate(rngs[1:], start=1):
        arch.sample_noise(rng, n_steps, batch_size, dtype, out={name: a[j] for name, a in out.items()})
    return out
