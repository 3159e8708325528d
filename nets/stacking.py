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


def stack_noise(noises: list) -> dict | None:
    """K networks' per-batch noise dicts stacked along axis 0; None when they are empty (no noise)."""
    if not noises or not noises[0]:
        return None
    return {name: np.stack([n[name] for n in noises]) for name in noises[0]}
