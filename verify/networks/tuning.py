"""Experiment 4: tuning of units on an 8 x 8 grid of noiseless x* (the reference networks).

Final-step rates per network; correlations with each factor, lifetime sparseness, the fraction
of mixed-selective and of silent units, per N. The population is the state the read-out reads
(``source = "hidden"``: RNN rates, LSTM h, the transformer's final LayerNorm output at the last
position) and, for the transformer, also its attention value vectors at the last stimulus step
(``source = "attention_values"``), the two populations the reference plots. Lifetime sparseness
is reported only for a non-negative population (ReLU rates); it is undefined (None) for signed
ones (LSTM h, the transformer's states and values).
"""
from __future__ import annotations

import numpy as np

from analysis.tuning import grid_latents, lifetime_sparseness, unit_correlations
from verify.networks import ntask, pipeline
from verify.networks.experiment import Experiment

#: |corr| above which a unit counts as tuned to a factor.
MIXED_CORR = 0.2


def _rows(rates: np.ndarray, corr: np.ndarray, ntask: np.ndarray, source: str) -> list:
    """Per-N summaries of one population: rates (K, 64, H), corr (K, H, D)."""
    sparse = lifetime_sparseness(rates)                          # (K, H)
    rows = []
    for n in sorted(set(ntask.tolist())):
        m = ntask == n
        c = np.abs(corr[m])
        live = np.all(np.isfinite(c), axis=-1)
        rows.append({"ntask": n, "source": source, "abs_corr_x1_median": float(np.median(c[..., 0][live])),
                     "abs_corr_x2_median": float(np.median(c[..., 1][live])) if c.shape[-1] > 1 else None,
                     "mixed_fraction": float(np.mean(np.all(c[live] > MIXED_CORR, axis=-1))),
                     "sparseness_median": float(np.nanmedian(sparse[m])) if np.all(rates[m] >= 0) else None,
                     "silent_fraction": float(np.mean(~live))})
    return rows


def tuning(ens, config) -> dict:
    x = grid_latents(8, ens.config.D)
    states = pipeline.run_states(ens, x, 0, sigma=0.0, encode_fixation=config.encode_fixation, keep_values=True)
    ntask = np.array(ens.config.ntask)
    corr = unit_correlations(states.hidden, x)                  # (K, H, D)
    out = {"rows": _rows(states.hidden, corr, ntask, "hidden"), "grid": x, "rates": states.hidden,
           "correlations": corr, "ntask": ntask, "values": None, "values_correlations": None}
    if states.values is not None:
        v_corr = unit_correlations(states.values, x)            # (K, C, D)
        out["rows"] += _rows(states.values, v_corr, ntask, "attention_values")
        out.update(values=states.values, values_correlations=v_corr)
    return out


TUNING = Experiment("4", "tuning maps on the 8 x 8 grid", None, ntask.networks, extra=tuning,
                    output="tuning")
