"""Experiment S1: the input encoder f (ReLU MLP vs quadratic MLP), OOD r^2 vs N.

One ensemble per encoder of ``--encoders`` (each D -> 100 -> 100 -> 40, drawn per network), the
even design at D = 2. Theorem 3.1 needs f invertible on the cube; every row reports, per network,
:func:`theory.encoders.invertibility` (smallest Jacobian singular value and smallest pair-distance
ratio), ``invertible_fraction`` and ``theorem_applies`` (every network's encoder invertible). The
line is the paper's protocol line, which applies when f is invertible.

Claim (binding, Fig. S1: both encoders generalise), per encoder, on its rows whose encoders are all
invertible: OOD r^2 rises from the smallest to the largest N and is at the line at the largest N
(above the line of an agent with half the evidence, :data:`verify.networks.verdicts.EVIDENCE_FRACTION`,
the toolkit's choice). Rows with a non-invertible encoder (Theorem 3.1 does not apply) are listed in
``skipped``. Notes: the invertible rows against the line; the Bayes upper check.
"""
from __future__ import annotations

from theory.encoders import invertibility
from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, by_value, training_kwargs
from verify.networks.sweep_figures import plot_sweep, setting_label

#: Sampled points of the invertibility test per network.
INVERTIBILITY_POINTS = 1024


def networks(config):
    return [pipeline.train_config(config.arch, ntask=list(config.ntask), networks=config.networks,
                                  sigma=config.sigma, **(training_kwargs(config) | {"encoder": e}))
            for e in config.encoders]


def settings(config, info):
    return by_value(sorted(set(config.ntask)), "ntask", info)


def row_theory(info, setting, t, config) -> dict:
    inv = [invertibility(info["encoders"][k], rng=int(k), n_points=INVERTIBILITY_POINTS) for k in setting.networks]
    ok = [bool(i.invertible) for i in inv]
    return verdicts.line_keys(setting.sigma, t, int(info["D"]), config.normalisation) | {
            "encoder": info["encoder"], "invertible_fraction": sum(ok) / len(ok), "theorem_applies": all(ok),
            "invertibility": [{"network": int(k), "min_singular": i.min_singular, "min_ratio": i.min_ratio,
                               "invertible": bool(i.invertible)} for k, i in zip(setting.networks, inv)]}


def verdicts_S1(config, rows, values, rng, extras):
    skipped = [f"rises_to_line (encoder={r['encoder']}, N={r['ntask']}): "
               f"{1 - r['invertible_fraction']:.0%} of the encoders are not invertible on the cube, "
               f"Theorem 3.1 does not apply" for r in rows if not r["theorem_applies"]]
    checks = []
    for enc in config.encoders:
        idx = [i for i, r in enumerate(rows) if r["encoder"] == enc and r["theorem_applies"]]
        if len(idx) < 2:
            skipped.append(f"rises_to_line_{enc}_encoder: needs two values of N with invertible encoders")
            continue
        checks.append(verdicts.rises_to_line([rows[i] for i in idx], [values[i] for i in idx], "ntask",
                                             f"{enc}_encoder", rng, config.n_boot,
                                             f"with the {enc} encoder, OOD r^2 rises from N = {rows[idx[0]]['ntask']} "
                                             f"to N = {rows[idx[-1]]['ntask']} and is at the line there (Fig. S1)"))
    applies = [r for r in rows if r["theorem_applies"]]
    return verdicts.finish(checks, skipped, applies, "ntask", "invertible_encoders")


def figure(group, folder, budget) -> list:
    rows = group["rows"]
    if not rows:
        return []
    r0 = rows[0]
    title = (f"S1: OOD r$^2$ vs N by encoder ({setting_label(r0, budget)})\n"
             "dashed: protocol ceiling (holds for invertible f); hollow: encoder not invertible")
    return plot_sweep([r | {"identifiable": r["theorem_applies"]} for r in rows], group["figures"], "ntask",
                      "encoder", folder / "r2_vs_ntask_by_encoder.png", title, "number of tasks N", log_x=True)


ENCODER = Experiment("S1", "OOD r^2 vs N, ReLU vs quadratic encoder", "ntask", networks, settings, verdicts_S1,
                     ensemble="encoder", row_theory=row_theory, figure=figure)
