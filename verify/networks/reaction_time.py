"""Experiment S5c: fixed vs free reaction time, side by side, at the final evidence time.

Two ensembles with the largest N of ``--ntask``: the fixed timeline of 3a (fixation, n_stim
stimulus steps, decision; sigmoid outputs, BCE) and the free timeline of 5a (bounded
accumulators, tanh read-out, MSE). One row per timeline (``timeline``) at the final t, each with
the ceilings of its own t.

Binding: both below the protocol ceiling. Reported (the paper's claim, not the theory's): the free
timeline's OOD r^2 is not decidedly below the fixed one's (bootstrap interval of the difference).
"""
from __future__ import annotations

import numpy as np

from analysis.bootstrap import bootstrap_difference, decide
from analysis.decoders import HEADLINE
from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, Setting, training_kwargs
from verify.plotting import new_figure, save_figure
from verify.verdict import Check

#: (timeline, loss) of the two ensembles.
TIMELINES = (("fixed", "bce_sigmoid"), ("free", "mse_tanh5"))


def networks(config):
    return [pipeline.train_config(config.arch, ntask=[max(config.ntask)], networks=config.networks, sigma=config.sigma,
                                  timeline=timeline, loss=loss, **training_kwargs(config)) for timeline, loss in TIMELINES]


def settings(config, info):
    n_stim = None if info["timeline"] == "fixed" else info["n_stim"]
    return [Setting(int(info["ntask"][0]), tuple(range(info["K"])), n_stim, config.sigma)]


def row_theory(info, setting, t, config) -> dict:
    return {"timeline": info["timeline"]}


def verdicts_S5c(config, rows, values, rng, extras):
    checks = [verdicts.below_ceiling(rows, "timeline", "timeline")]
    diff, lo, hi = bootstrap_difference(values[0], values[1], rng, config.n_boot)
    below, decided = decide(lo, hi, 0.0, "below")
    checks.append(Check("free_rt_not_below_fixed", f"at N = {rows[0]['ntask']} the free-RT networks' OOD r^2 (t = "
                        f"{rows[1]['t']}) is not decidedly below the fixed-RT networks' (t = {rows[0]['t']})",
                        0.0, diff, "95% bootstrap interval of free - fixed", bool(not (below and decided)),
                        binding=False, predicted_text=">= 0 (interval reaches 0)",
                        measured_text=f"{diff:.4g} [{lo:.4g}, {hi:.4g}]"))
    return checks, []


def figure(group, folder, budget) -> list:
    rows, figs = group["rows"], group["figures"]
    if not rows:
        return []
    fig, (ax,) = new_figure(width=5.0, height=4.2)
    for i, (r, f) in enumerate(zip(rows, figs)):
        d = r["decoders"][HEADLINE]
        ax.errorbar([i], [d["median"]], yerr=[[d["median"] - d["ci_low"]], [d["ci_high"] - d["median"]]], fmt="o",
                    color="tab:blue", capsize=4, label="median, 95% CI" if i == 0 else None)
        pts = np.asarray(f["headline_per_network"])
        ax.scatter(i + np.linspace(-0.08, 0.08, len(pts)), pts, s=14, color="tab:blue", edgecolor="k", lw=0.4,
                   label="each network" if i == 0 else None, zorder=3)
        ax.hlines(r["r2_protocol"], i - 0.3, i + 0.3, colors="k", linestyles=":", label="protocol ceiling" if i == 0 else None)
        ax.hlines(r["r2_ceiling"], i - 0.3, i + 0.3, colors="0.4", label=r"$1 - 12\sigma^2/t$" if i == 0 else None)
    ax.set_xticks(range(len(rows)), [f"{r['timeline']} RT (t = {r['t']})" for r in rows])
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylabel(f"OOD r$^2$ of decoded x* ({HEADLINE})")
    ax.set_title(f"S5c: fixed vs free reaction time, N = {rows[0]['ntask']}, sigma = {rows[0]['sigma']:g} ({budget})",
                 fontsize=8)
    ax.legend(fontsize=7, loc="lower right")
    path = folder / "reaction_time.png"
    save_figure(fig, path)
    return [path]


REACTION_TIME = Experiment("S5c", "fixed vs free reaction time at the final t", "ntask", networks, settings,
                           verdicts_S5c, ensemble="reaction_time", row_theory=row_theory, figure=figure)
