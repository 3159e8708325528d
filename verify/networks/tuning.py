"""Experiment 4: tuning of units on an 8 x 8 grid of noiseless x* (the reference networks).

Final-step rates per network; correlations with each factor, lifetime sparseness, the fraction
of mixed-selective and of silent units, per N.
"""
from __future__ import annotations

import numpy as np

from analysis.tuning import grid_latents, lifetime_sparseness, unit_correlations
from verify.networks import ntask, pipeline
from verify.networks.experiment import Experiment

#: |corr| above which a unit counts as tuned to a factor.
MIXED_CORR = 0.2


def tuning(ens, config) -> dict:
    x = grid_latents(8, ens.config.D)
    states = pipeline.run_states(ens, x, 0, sigma=0.0, encode_fixation=config.encode_fixation)
    corr = unit_correlations(states.hidden, x)                  # (K, H, D)
    sparse = lifetime_sparseness(states.hidden)                  # (K, H)
    rows = []
    for n in sorted(set(ens.config.ntask)):
        m = np.array(ens.config.ntask) == n
        c = np.abs(corr[m])
        live = np.all(np.isfinite(c), axis=-1)
        rows.append({"ntask": n, "abs_corr_x1_median": float(np.median(c[..., 0][live])),
                     "abs_corr_x2_median": float(np.median(c[..., 1][live])) if c.shape[-1] > 1 else None,
                     "mixed_fraction": float(np.mean(np.all(c[live] > MIXED_CORR, axis=-1))),
                     "sparseness_median": float(np.nanmedian(sparse[m])),
                     "silent_fraction": float(np.mean(~live))})
    return {"rows": rows, "grid": x, "rates": states.hidden, "correlations": corr,
            "ntask": np.array(ens.config.ntask)}


TUNING = Experiment("4", "tuning maps on the 8 x 8 grid", None, ntask.networks, extra=tuning)
