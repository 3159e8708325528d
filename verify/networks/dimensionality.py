"""Experiment 5b: OOD r^2 and decoder angles vs the latent dimension D, per number of tasks N.

One ensemble per D, every N of ``--ntask`` in each (the encoder D -> 100 -> 100 -> 40 of
``--encoder mlp``). Design (``NetworkCheckConfig.design_5b``, docs/networks.md, "Differences from the reference code"):
``"random"`` (default, the reference's ``tasks.LinearClassificationHighDim``: unit normals
c_i = g_i / |g_i|, g_i ~ N(0, I_D), boundaries through the origin, b = 0) at every D, D = 2
included; ``"even"``: the even design of 3a at D = 2, random designs above. Folds: held-out
orthants for D <= 3, half-spaces x_j > 0 above (``theory.folds.ood_folds(D, "auto")``; rows say
which in ``fold_scheme``). Theory line per row (:mod:`theory.dimensionality`), from the networks'
own designs: identifiable (rank C = D <= N) rows carry the protocol line of that D and fold
scheme; N < D rows carry the row-space prediction (only the projection of mu on the row space of C
is decodable; mean over the setting's designs of :func:`theory.dimensionality.design_ceiling`).

Claims (binding, Fig. 5b: good when N >= D): every identifiable row is at its line (above the line
of an agent with half the evidence, :data:`verify.networks.verdicts.EVIDENCE_FRACTION`, the
toolkit's choice); and at every D with both kinds of rows, the largest N < D decodes decidedly
worse than the smallest N >= D (interval of the difference). Notes: the row-space prediction for
N < D is compared, not binding: it holds for a decoder of the optimal agent's outputs, whereas a
hidden state may keep more of x* than its outputs need (an untrained network's random features
keep all of it: a 40-batch transformer decodes r^2 ~ 0.93 at D = 4, N = 3 against a row-space
prediction of 0.12); the identifiable rows against their line; the Bayes upper check.
"""
from __future__ import annotations

import numpy as np

from theory.dimensionality import design_ceiling, identifiable_ceiling, r2_projection_whole_cube
from theory.folds import ood_folds
from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, by_value, training_kwargs
from verify.networks.sweep_figures import plot_angles_sweep, plot_sweep


def design_name(D: int, design: str = "random") -> str:
    """The design of the ensemble at D: random unit normals at every D (``design="random"``), or the even
    design at D = 2 and random ones above (``design="even"``)."""
    return "even" if design == "even" and D == 2 else "random"


def ensembles(config, Ds, ntask, design: str) -> list:
    """One TrainConfig per D, with every N of ``ntask``, on :func:`design_name` (D, design)."""
    return [pipeline.train_config(config.arch, ntask=list(ntask), networks=config.networks, sigma=config.sigma,
                                  D=int(D), design=design_name(D, design), **training_kwargs(config)) for D in Ds]


def networks(config):
    return ensembles(config, config.Ds, config.ntask, config.design_5b)


def settings(config, info):
    return by_value(sorted(set(int(n) for n in info["ntask"])), "ntask", info)


def row_theory(info, setting, t, config) -> dict:
    """D, identifiable, fold_scheme, the design-based protocol ceiling and the whole-cube ceiling."""
    D, s2 = int(info["D"]), setting.sigma**2 / t
    designs = [info["designs"][k] for k in setting.networks]
    ranks = [int(np.linalg.matrix_rank(d.C)) for d in designs]
    ceilings = [design_ceiling(d, s2) for d in designs]
    reduced = [design_ceiling(d, s2 / verdicts.EVIDENCE_FRACTION) for d in designs]
    return {"D": D, "ntask": int(info["ntask"][setting.networks[0]]), "cell": f"D={D},N={setting.value}",
            "design": designs[0].name,
            "identifiable": bool(min(ranks) == D), "rank_C": min(ranks), "fold_scheme": ood_folds(D)[0].scheme,
            "r2_protocol": float(np.mean(ceilings)), "r2_protocol_identifiable": identifiable_ceiling(D, s2),
            "r2_line_half_evidence": float(np.mean(reduced)),
            "r2_id_ceiling": float(np.mean([r2_projection_whole_cube(r, D, s2) for r in ranks]))}


def lower_parts(rows, values, rng, n_boot: int, axis: str = "D") -> list:
    """Per ``axis`` value with both kinds of rows: the largest N < D decodes worse than the smallest N >= D."""
    parts = []
    for a in sorted({r[axis] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r[axis] == a]
        good = [i for i in idx if rows[i]["identifiable"]]
        bad = [i for i in idx if not rows[i]["identifiable"]]
        if good and bad:
            i, j = bad[-1], good[0]
            parts.append(verdicts.difference(values[i], values[j], f"{axis} = {a}: N {rows[i]['ntask']} -> "
                                             f"{rows[j]['ntask']}", "above", rng, n_boot))
    return parts


def verdicts_5b(config, rows, values, rng, extras):
    good = [r for r in rows if r["identifiable"]]
    bad = [r for r in rows if not r["identifiable"]]
    checks, skipped = [], []
    if good:
        checks.append(verdicts.claim("near_line_when_ntask_at_least_D", "every N >= D cell is at its line (Fig. 5b)",
                                     [verdicts.at_line(r, r["cell"]) for r in good], "at the line",
                                     "95% bootstrap interval above the line at "
                                     f"{verdicts.EVIDENCE_FRACTION:g} of the evidence (toolkit's choice)"))
    lower = lower_parts(rows, values, rng, config.n_boot)
    if lower:
        checks.append(verdicts.claim("lower_when_ntask_below_D", "at each D, the largest N < D decodes worse than "
                                     "the smallest N >= D (Fig. 5b)", lower, "difference > 0",
                                     "whole 95% t interval of each difference above 0"))
    else:
        skipped.append("lower_when_ntask_below_D: no D with both N < D and N >= D cells in this run")
    notes = [verdicts.below_ceiling(rs, "cell", label) for rs, label in ((good, "identifiable"),
                                                                         (bad, "row_space_prediction")) if rs]
    upper, why = verdicts.above_bayes_bound(rows, "5b")     # the network sees all the evidence at any N
    return checks + notes + upper, skipped + why


def figure(group, folder, budget) -> list:
    rows, figs = group["rows"], group["figures"]
    if not rows:
        return []
    r0 = rows[0]
    title = (f"5b: OOD r$^2$ vs D (orthant folds for D <= 3, half-spaces above; sigma = {r0['sigma']:g}, "
             f"t = {r0['t']}, {r0['arch']})\n{budget}; dashed: the protocol line (N >= D) / row-space prediction "
             "(N < D)")
    return (plot_sweep(rows, figs, "D", "ntask", folder / "r2_vs_D.png", title, "latent dimension D")
            + plot_angles_sweep(rows, "D", "ntask", folder / "angles_vs_D.png", "5b: hidden-space angles vs D"))


DIMENSIONALITY = Experiment("5b", "OOD r^2 and angles vs the latent dimension D, per N", "ntask", networks, settings,
                            verdicts_5b, ensemble="dimensionality", row_theory=row_theory, figure=figure)
