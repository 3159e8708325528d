"""Beyond the paper (a reviewer's question): OOD r^2 vs the hidden size H.

One ensemble per H of ``--hiddens`` (the largest N of ``--ntask``, D = 2, the even design).
Theory line (:mod:`theory.capacity`): a linear read-out of an H-dimensional state spans at most H
directions, so the best protocol r^2 of any affine H-dim state of mu is the protocol ceiling for
H >= D and the best row-space projection ceiling for H < D
(:func:`theory.capacity.best_protocol_r2_linear_state`); ``r2_bound_any_state`` = min(H, D) / D
bounds the whole-cube r^2 of any state. Where the networks break above H = D is measured.

Binding: OOD r^2 below the capacity line at every H. Reported (not a theorem): OOD r^2 rises from
the smallest to the largest H.
"""
from __future__ import annotations

import dataclasses

from theory.capacity import best_protocol_r2_linear_state, r2_bound_any_state
from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, Setting, training_kwargs
from verify.networks.sweep_figures import plot_sweep, setting_label


def networks(config):
    if "hidden" not in pipeline.arch_options(config.arch):
        raise ValueError(f"experiment hidden_size needs an architecture with a hidden size; arch={config.arch!r} "
                         f"has none (use rnn or lstm)")
    return [pipeline.train_config(config.arch, ntask=[max(config.ntask)], networks=config.networks, sigma=config.sigma,
                                  **(training_kwargs(config) | {"hidden": int(H)})) for H in config.hiddens]


def settings(config, info):
    return [Setting(int(info["hidden"]), tuple(range(info["K"])), None, config.sigma)]


def row_theory(info, setting, t, config) -> dict:
    H, D = int(info["hidden"]), int(info["D"])
    return {"hidden": H, "D": D, "identifiable": H >= D,
            "r2_protocol": best_protocol_r2_linear_state(H, D, setting.sigma**2 / t, rng=config.seed),
            "r2_bound_any_state": r2_bound_any_state(H, D)}


def verdicts_hidden(config, rows, values, rng, extras):
    checks = [verdicts.below_ceiling(rows, "hidden", "hidden_size")]
    if len(rows) > 1:
        c = verdicts.monotone(rows, values, "hidden", "hidden_size", True, rng, config.n_boot)
        checks.append(dataclasses.replace(c, binding=False))
    return checks, []


def figure(group, folder, budget) -> list:
    rows = group["rows"]
    if not rows:
        return []
    r0 = rows[0]
    title = (f"OOD r$^2$ vs hidden size H (N = {r0['ntask']}, D = {r0['D']}, {setting_label(r0, budget)})\n"
             "dashed: best affine H-dim state (theory.capacity); hollow: H < D")
    return plot_sweep(rows, group["figures"], "hidden", "D", folder / "r2_vs_hidden.png", title, "hidden units H",
                      log_x=True)


HIDDEN_SIZE = Experiment("hidden_size", "OOD r^2 vs hidden size H with the capacity line", "hidden", networks,
                         settings, verdicts_hidden, ensemble="hidden_size", row_theory=row_theory, figure=figure)
