"""Experiment S6: lifetime sparseness of the units vs N and vs D (the networks of 5b).

No claim: the toolkit's documentation quotes no claim of the paper about sparseness and the theory
says nothing of it, so S6 is a measurement (a run of it alone says NO VERDICT). Per unit, the
lifetime sparseness S = [1 - (mean r)^2 / mean(r^2)] / (1 - 1/m) over m noiseless stimuli
x* ~ U(cube) (:func:`analysis.tuning.lifetime_sparseness`); per network one number, by the
definition ``NetworkCheckConfig.sparseness`` names (docs/networks.md, "Differences from the reference code"):

- ``"reference"`` (default, the reference's ``sparsity.py`` with ``util.compute_sparseness``): rates
  at the last stimulus step (``fr[:, -2]``), 1000 stimuli, a unit silent on every stimulus counts as
  sparseness 1, mean over all units;
- ``"active_median"`` (the toolkit's earlier definition): rates at the decision step, 512 stimuli,
  silent units dropped, median over the active units.

Per (D, N), the median over networks with its 95% bootstrap interval over networks, and the
fraction of silent units.
"""
from __future__ import annotations

import numpy as np

from analysis.bootstrap import interval
from analysis.tuning import lifetime_sparseness
from verify.networks import dimensionality, pipeline
from verify.networks.experiment import Experiment
from verify.plotting import new_figure, save_figure

#: Noiseless stimuli per network, per definition (sparsity.py: ``n_sample = 1000``).
STIMULI = {"reference": 1000, "active_median": 512}


def reference_sparseness(rates) -> np.ndarray:
    """Mean over all units of the lifetime sparseness, a unit silent on every stimulus counted as 1.

    Parameters
    ----------
    rates : ndarray, shape (K, m, H), non-negative

    Returns
    -------
    ndarray, shape (K,)
    """
    S = lifetime_sparseness(rates)
    return np.where(np.isfinite(S), S, 1.0).mean(axis=-1)


def active_median_sparseness(rates) -> np.ndarray:
    """Median over the active units (not silent on every stimulus) of the lifetime sparseness; NaN for a
    network with no active unit.

    Parameters
    ----------
    rates : ndarray, shape (K, m, H), non-negative

    Returns
    -------
    ndarray, shape (K,)
    """
    S = lifetime_sparseness(rates)
    return np.array([np.median(s[np.isfinite(s)]) if np.isfinite(s).any() else np.nan for s in S])


#: Per-network sparseness and the readout step of each definition.
DEFINITIONS = {"reference": (reference_sparseness, "hidden_stim"),
               "active_median": (active_median_sparseness, "hidden")}


def sparseness(ens, config) -> dict:
    D = int(ens.config.D)
    per_network, step = DEFINITIONS[config.sparseness]
    seeds = np.random.SeedSequence([config.seed, D]).spawn(2)
    x = np.random.default_rng(seeds[0]).uniform(-0.5, 0.5, (STIMULI[config.sparseness], D))
    states = pipeline.run_states(ens, x, 0, sigma=0.0, encode_fixation=config.encode_fixation)
    rates = getattr(states, step)                                # (K, m, H)
    silent = ~np.isfinite(lifetime_sparseness(rates))            # (K, H)
    ntask = np.array(ens.config.ntask)
    rng = np.random.default_rng(seeds[1])
    rows = []
    for n in sorted(set(ntask.tolist())):
        m = ntask == n
        per_net = per_network(rates[m])
        iv = interval(per_net[np.isfinite(per_net)][:, None], rng, config.n_boot).to_dict() \
            if np.isfinite(per_net).any() else None
        rows.append({"arch": config.arch, "D": D, "ntask": int(n), "sparseness": iv, "definition": config.sparseness,
                     "per_network": per_net.tolist(), "silent_fraction": float(np.mean(silent[m]))})
    return {"rows": rows}


def figure(group, folder, budget) -> list:
    extras = group["extras"].get("S6", [])     # one result per D, or the result itself when the run has one D
    rows = [r for e in (extras if isinstance(extras, list) else [extras]) for r in e["rows"]
            if r["sparseness"] is not None]
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
        ax.set_ylabel({"reference": "lifetime sparseness (mean over units, silent = 1)",
                       "active_median": "lifetime sparseness (median over active units)"}[cells[0]["definition"]])
        ax.legend(fontsize=6)
    axes[0].set_title(f"S6: sparseness vs N and vs D (measured, no theory; {budget})", fontsize=8)
    path = folder / "sparseness.png"
    save_figure(fig, path)
    return [path]


SPARSENESS = Experiment("S6", "lifetime sparseness vs N and vs D (measured)", None, dimensionality.networks,
                        extra=sparseness, ensemble="dimensionality", figure=figure,
                        verdicts=lambda config, rows, values, rng, extras:
                        ([], ["S6: measured only; no claim of the paper is quoted and the theory is silent on sparseness"]))
