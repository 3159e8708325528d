"""Experiment S6: lifetime sparseness of the units vs N and vs D (the networks of 5b).

No claim: the toolkit's documentation quotes no claim of the paper about sparseness and the theory
says nothing of it, so S6 is a measurement (a run of it alone says NO VERDICT). Per network, the
median over its active units of the
lifetime sparseness (:func:`analysis.tuning.lifetime_sparseness`) of its decision-step rates on
noiseless x* ~ U(cube); per (D, N), the median over networks with its 95% bootstrap interval over
networks, and the fraction of silent units (silent on every stimulus).
"""
from __future__ import annotations

import numpy as np

from analysis.bootstrap import interval
from analysis.tuning import lifetime_sparseness
from verify.networks import dimensionality, pipeline
from verify.networks.experiment import Experiment
from verify.plotting import new_figure, save_figure

#: Noiseless stimuli per network.
STIMULI = 512


def sparseness(ens, config) -> dict:
    D = int(ens.config.D)
    seeds = np.random.SeedSequence([config.seed, D]).spawn(2)
    x = np.random.default_rng(seeds[0]).uniform(-0.5, 0.5, (STIMULI, D))
    states = pipeline.run_states(ens, x, 0, sigma=0.0, encode_fixation=config.encode_fixation)
    S = lifetime_sparseness(states.hidden)                       # (K, H), NaN for silent units
    ntask = np.array(ens.config.ntask)
    rng = np.random.default_rng(seeds[1])
    rows = []
    for n in sorted(set(ntask.tolist())):
        m = ntask == n
        live = np.isfinite(S[m])
        per_net = np.array([np.median(s[ok]) if ok.any() else np.nan for s, ok in zip(S[m], live)])
        iv = interval(per_net[np.isfinite(per_net)][:, None], rng, config.n_boot).to_dict() \
            if np.isfinite(per_net).any() else None
        rows.append({"arch": config.arch, "D": D, "ntask": int(n), "sparseness": iv,
                     "per_network": per_net.tolist(), "silent_fraction": float(np.mean(~live))})
    return {"rows": rows}


def figure(group, folder, budget) -> list:
    rows = [r for e in group["extras"].get("S6", []) for r in e["rows"] if r["sparseness"] is not None]
    if not rows:
        return []
    fig, axes = new_figure(ncols=2, width=4.6, height=4.0)
    for ax, (x_key, line_key) in zip(axes, (("ntask", "D"), ("D", "ntask"))):
        for value in sorted({r[line_key] for r in rows}):
            cells = sorted((r for r in rows if r[line_key] == value), key=lambda r: r[x_key])
            x = np.array([r[x_key] for r in cells], dtype=float)
            med = np.array([r["sparseness"]["median"] for r in cells])
            (line,) = ax.plot(x, med, "o-", ms=3, label=f"{line_key} = {value}: median, 95% CI")
            ax.fill_between(x, [r["sparseness"]["ci_low"] for r in cells], [r["sparseness"]["ci_high"] for r in cells],
                            color=line.get_color(), alpha=0.15, lw=0)
            for xi, r in zip(x, cells):
                ax.scatter(np.full(len(r["per_network"]), xi), r["per_network"], s=8, color=line.get_color())
        ax.set_xticks(sorted({r[x_key] for r in rows}))
        ax.set_xlabel({"ntask": "number of tasks N", "D": "latent dimension D"}[x_key])
        ax.set_ylabel("lifetime sparseness (median over active units)")
        ax.legend(fontsize=6)
    axes[0].set_title(f"S6: sparseness vs N and vs D (measured, no theory; {budget})", fontsize=8)
    path = folder / "sparseness.png"
    save_figure(fig, path)
    return [path]


SPARSENESS = Experiment("S6", "lifetime sparseness vs N and vs D (measured)", None, dimensionality.networks,
                        extra=sparseness, group="dimensionality", figure=figure,
                        verdicts=lambda config, rows, values, rng, extras:
                        ([], ["S6: measured only; no claim of the paper is quoted and the theory is silent on sparseness"]))
