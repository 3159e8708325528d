"""Multiplicative boundaries (the reference's variant): x1 x2 > +-thr per quadrant, N a multiple of 4.

Outside Theorem 3.1 (the boundaries are not affine): a robustness result. One ensemble with the
``task="multiplicative"`` training field of :class:`nets.config.TrainConfig`, every N of
``--mult-ntask``. Rows carry ``outside_theorem`` and, for reference only, the affine protocol
ceiling; mu agreement is not computed (trilateration needs affine boundaries). Every check is
reported, none binding: below the affine protocol ceiling, and OOD r^2 rising with N.
"""
from __future__ import annotations

import dataclasses

from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, by_value, training_kwargs
from verify.networks.sweep_figures import plot_sweep, setting_label


def networks(config):
    return pipeline.train_config(config.arch, ntask=list(config.mult_ntask), networks=config.networks,
                                 sigma=config.sigma, task="multiplicative", **training_kwargs(config))


def settings(config, info):
    return by_value(sorted(set(config.mult_ntask)), "ntask", info)


def row_theory(info, setting, t, config) -> dict:
    return {"task": "multiplicative", "outside_theorem": True}


def verdicts_multiplicative(config, rows, values, rng, extras):
    checks = [dataclasses.replace(verdicts.below_ceiling(rows, "ntask", "multiplicative"), binding=False)]
    if len(rows) > 1:
        checks.append(dataclasses.replace(
            verdicts.monotone(rows, values, "ntask", "ntask_multiplicative", True, rng, config.n_boot), binding=False))
    return checks, ["multiplicative: outside Theorem 3.1 (boundaries not affine); every check is non-binding"]


def figure(group, folder, budget) -> list:
    rows = group["rows"]
    if not rows:
        return []
    r0 = rows[0]
    title = (f"Multiplicative boundaries (outside Theorem 3.1): OOD r$^2$ vs N ({setting_label(r0, budget)})\n"
             "dashed: the affine protocol ceiling, for reference only")
    return plot_sweep(rows, group["figures"], "ntask", "task", folder / "r2_vs_ntask_multiplicative.png", title,
                      "number of tasks N", log_x=True)


MULTIPLICATIVE = Experiment("multiplicative", "multiplicative boundaries (outside Theorem 3.1)", "ntask", networks,
                            settings, verdicts_multiplicative, ensemble="multiplicative", row_theory=row_theory,
                            figure=figure)
