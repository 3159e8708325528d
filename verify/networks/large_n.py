"""Beyond the paper (a reviewer's question): many tasks, N up to 96, at D = 2 and D = 4.

One ensemble per D of ``--large-D`` with every N of ``--large-ntask`` (the even design at D = 2,
random unit-normal designs above; orthant folds for D <= 3, half-spaces above). The theory line is
the protocol ceiling of that D (:mod:`theory.dimensionality`; it does not depend on N once N >= D).

Binding: below the protocol ceiling in every cell. Reported (the paper's trend, not a theorem):
OOD r^2 rises from the smallest to the largest N at each D.
"""
from __future__ import annotations

import dataclasses

from verify.networks import dimensionality, verdicts
from verify.networks.experiment import Experiment
from verify.networks.sweep_figures import plot_sweep, setting_label


def networks(config):
    return dimensionality.ensembles(config, config.large_Ds, config.large_ntask)


def verdicts_large_n(config, rows, values, rng, extras):
    checks = [verdicts.below_ceiling(rows, "cell", "large_n")]
    for D in sorted({r["D"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["D"] == D]
        if len(idx) > 1:
            c = verdicts.monotone([rows[idx[0]], rows[idx[-1]]], [values[idx[0]], values[idx[-1]]], "cell",
                                  f"ntask_D{D}", True, rng, config.n_boot)
            checks.append(dataclasses.replace(c, binding=False))
    return checks, []


def figure(group, folder, budget) -> list:
    rows = group["rows"]
    if not rows:
        return []
    r0 = rows[0]
    title = (f"OOD r$^2$ vs N up to {max(r['ntask'] for r in rows)} ({setting_label(r0, budget)})\n"
             "dashed: protocol ceiling of each D")
    return plot_sweep(rows, group["figures"], "ntask", "D", folder / "r2_vs_large_ntask.png", title,
                      "number of tasks N", log_x=True)


LARGE_N = Experiment("large_n", "OOD r^2 vs N up to 96 at D = 2 and 4", "ntask", networks, dimensionality.settings,
                     verdicts_large_n, ensemble="large_n", row_theory=dimensionality.row_theory, figure=figure)
