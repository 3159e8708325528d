"""Multiplicative boundaries (the reference's variant): x1 x2 > +-thr per quadrant, N a multiple of 4.

Outside Theorem 3.1 (the boundaries are not affine): a robustness result. One ensemble with the
``task="multiplicative"`` training field of :class:`nets.config.TrainConfig`, every N of
``--mult-ntask``. Rows carry ``outside_theorem`` and, for reference only, the affine protocol
line; mu agreement is not computed (trilateration needs affine boundaries).

No claim: the variant comes from the reference code, and the toolkit's documentation quotes no claim
of the paper about it, so nothing is binding and a run of it alone says NO VERDICT. Measured notes:
OOD r^2 rises with N and is at the affine line at the largest N (above the line of an agent with
half the evidence, the toolkit's choice); every N against the affine line; the Bayes upper check
(an upper check can fail a run, never pass it).
"""
from __future__ import annotations

import dataclasses

from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, by_value, training_kwargs
from verify.networks.sweep_figures import plot_sweep, setting_label


def networks(config):
    return pipeline.train_config(config.arch, ntask=list(config.mult_ntask), networks=config.networks,
                                 sigma=config.sigma, boundaries="multiplicative", **training_kwargs(config))


def settings(config, info):
    return by_value(sorted(set(config.mult_ntask)), "ntask", info)


def row_theory(info, setting, t, config) -> dict:
    return verdicts.line_keys(setting.sigma, t, int(info["D"]), config.normalisation) | {
        "task": "multiplicative", "outside_theorem": True}


def verdicts_multiplicative(config, rows, values, rng, extras):
    checks = []
    if len(rows) > 1:
        c = verdicts.rises_to_line(rows, values, "ntask", "multiplicative", rng, config.n_boot)
        checks.append(dataclasses.replace(c, claim="note: " + c.claim, binding=False))
    return verdicts.finish(checks, ["multiplicative: outside Theorem 3.1 and no claim of the paper quoted; measured "
                                    "notes only (NO VERDICT unless the Bayes upper check fails)"],
                           rows, "ntask", "multiplicative")


def figure(group, folder, budget) -> list:
    rows = group["rows"]
    if not rows:
        return []
    r0 = rows[0]
    title = (f"Multiplicative boundaries (outside Theorem 3.1): OOD r$^2$ vs N ({setting_label(r0, budget)})\n"
             "dashed: the affine protocol line (linear decoder of mu), for reference only")
    return plot_sweep(rows, group["figures"], "ntask", "task", folder / "r2_vs_ntask_multiplicative.png", title,
                      "number of tasks N", log_x=True)


MULTIPLICATIVE = Experiment("multiplicative", "multiplicative boundaries (outside Theorem 3.1)", "ntask", networks,
                            settings, verdicts_multiplicative, ensemble="multiplicative", row_theory=row_theory,
                            figure=figure)
