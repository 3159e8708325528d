"""Experiment S5c: fixed vs free reaction time, side by side, at the final evidence time.

Two ensembles with the largest N of ``--ntask``: the fixed timeline of 3a (fixation, n_stim
stimulus steps, decision; sigmoid outputs, BCE) and the free timeline of 5a (bounded
accumulators, tanh read-out, MSE). One row per timeline (``timeline``) at the final t, each with
the ceilings of its own t.

Claim (binding, Fig. S5c: free reaction time generalises as well as fixed): both timelines are at
their lines (above the line of an agent with half the evidence,
:data:`verify.networks.verdicts.EVIDENCE_FRACTION`), and their gaps to their own lines are
equivalent within +-m, m = the fixed timeline's line minus its line at half the evidence (the same
toolkit's choice: a difference worth less than halving the evidence); the interval of the difference
of gaps inside (-m, m) passes, wholly outside fails. Notes: both against their lines; the Bayes
upper check.
"""
from __future__ import annotations

import numpy as np

from analysis.decoders import HEADLINE
from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, Setting, training_kwargs
from verify.plotting import new_figure, save_figure

#: (timeline, loss) of the two ensembles.
TIMELINES = (("fixed", "bce_sigmoid"), ("free", "mse_tanh5"))


def networks(config):
    return [pipeline.train_config(config.arch, ntask=[max(config.ntask)], networks=config.networks, sigma=config.sigma,
                                  timeline=timeline, loss=loss, **training_kwargs(config))
            for timeline, loss in TIMELINES]


def settings(config, info):
    n_stim = None if info["timeline"] == "fixed" else info["n_stim"]
    return [Setting(int(info["ntask"][0]), tuple(range(info["K"])), n_stim, config.sigma)]


def row_theory(info, setting, t, config) -> dict:
    return verdicts.line_keys(setting.sigma, t, int(info["D"]), config.normalisation) | {
        "timeline": info["timeline"]}


def verdicts_S5c(config, rows, values, rng, extras):
    fixed, free = rows
    gaps = [r["r2_protocol"] - v for r, v in zip(rows, values)]
    parts = [verdicts.at_line(fixed, "fixed"), verdicts.at_line(free, "free"),
             verdicts.equivalent(gaps[0], gaps[1], verdicts.margin(fixed), "gap free - gap fixed", rng,
                                 config.n_boot)]
    check = verdicts.claim("free_rt_equivalent_to_fixed", f"at N = {fixed['ntask']} the free-RT networks (t = "
                           f"{free['t']}) generalise as well as the fixed-RT networks (t = {fixed['t']}): both at "
                           "their lines, gaps to their lines equivalent", parts,
                           "at the lines; |difference of gaps| < m",
                           "95% t intervals; the line at and the margin from "
                           f"{verdicts.EVIDENCE_FRACTION:g} of the evidence (toolkit's choice)")
    return verdicts.finish([check], [], rows, "timeline", "timeline")


def figure(group, folder, budget) -> list:
    rows, figs = group["rows"], group["figures"]
    if not rows:
        return []
    fig, (ax,) = new_figure(width=5.0, height=4.2)
    for i, (r, f) in enumerate(zip(rows, figs)):
        d = r["decoders"][HEADLINE]          # the t interval is of the mean (the median may lie outside it)
        est = d.get("estimate", d["median"])
        ax.errorbar([i], [est], yerr=[[est - d["ci_low"]], [d["ci_high"] - est]], fmt="o",
                    color="tab:blue", capsize=4, label="mean over networks, 95% t interval" if i == 0 else None)
        pts = np.asarray(f["headline_per_network"])
        ax.scatter(i + np.linspace(-0.08, 0.08, len(pts)), pts, s=14, color="tab:blue", edgecolor="k", lw=0.4,
                   label="each network" if i == 0 else None, zorder=3)
        ax.hlines(r["r2_protocol"], i - 0.3, i + 0.3, colors="k", linestyles=":",
                  label="paper's line (protocol)" if i == 0 else None)
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
