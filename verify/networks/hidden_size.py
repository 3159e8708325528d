"""Beyond the paper (a reviewer's question): OOD r^2 vs the hidden size H.

One ensemble per H of ``--hiddens`` (the largest N of ``--ntask``, D = 2, the even design).
Theory line (:mod:`theory.capacity`): a linear read-out of an H-dimensional state spans at most H
directions, so the best protocol r^2 of any affine H-dim state of mu is the protocol ceiling for
H >= D and the best row-space projection ceiling for H < D
(:func:`theory.capacity.best_protocol_r2_linear_state`); ``r2_bound_any_state`` = min(H, D) / D
bounds the whole-cube r^2 of any linear read-out of an H-dimensional state (its rank is at most H).

Claims (binding; the toolkit's question, with the theory's capacity line): OOD r^2 rises from the
smallest to the largest H and is at the line at the largest H (above the line of an agent with half
the evidence, :data:`verify.networks.verdicts.EVIDENCE_FRACTION`, the toolkit's choice); and where
the capacity line binds (H < D) every such H decodes decidedly worse than the smallest H >= D.
Notes: every H against its line (the capacity line for H < D: a bound for affine states of mu, not
for a network's nonlinear state), the whole-cube decoder against min(H, D) / D; the Bayes upper check.
"""
from __future__ import annotations

import numpy as np

from theory.capacity import best_protocol_r2_linear_state, r2_bound_any_state
from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, Setting, training_kwargs
from verify.networks.sweep_figures import plot_sweep, setting_label
from verify.verdict import Check


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
            "r2_line_half_evidence": best_protocol_r2_linear_state(
                H, D, setting.sigma**2 / (t * verdicts.EVIDENCE_FRACTION), rng=config.seed),
            "r2_bound_any_state": r2_bound_any_state(H, D)}


def capacity_note(rows) -> Check:
    """Note: the whole-cube decoder's median against min(H, D) / D for every H < D row."""
    narrow = [r for r in rows if not r["identifiable"]]
    worst = max(narrow, key=lambda r: r["decoders"]["whole_cube"]["median"] - r["r2_bound_any_state"])
    excess = worst["decoders"]["whole_cube"]["median"] - worst["r2_bound_any_state"]
    return Check("whole_cube_within_capacity", f"note: the whole-cube decoder's median r^2 at H = {worst['hidden']} "
                 f"< D is at most min(H, D) / D", worst["r2_bound_any_state"],
                 float(worst["decoders"]["whole_cube"]["median"]), "median (finite-sample r^2 may exceed by noise)",
                 bool(excess <= 0), binding=False, predicted_text=f"<= {worst['r2_bound_any_state']:.4g}")


def verdicts_hidden(config, rows, values, rng, extras):
    order = np.argsort([r["hidden"] for r in rows], kind="stable")
    rows, values = [rows[i] for i in order], [values[i] for i in order]
    checks, skipped = [], []
    if len(rows) > 1 and rows[-1]["identifiable"]:
        checks.append(verdicts.rises_to_line(rows, values, "hidden", "hidden_size", rng, config.n_boot))
    else:
        skipped.append("rises_to_line_hidden_size: needs two hidden sizes, the largest >= D")
    wide = [i for i, r in enumerate(rows) if r["identifiable"]]
    narrow = [i for i, r in enumerate(rows) if not r["identifiable"]]
    if narrow and wide:
        j = wide[0]
        parts = [verdicts.difference(values[i], values[j], f"H {rows[i]['hidden']} -> {rows[j]['hidden']}", "above",
                                     rng, config.n_boot) for i in narrow]
        checks.append(verdicts.claim("capacity_binds_below_D", f"every H < D = {rows[0]['D']} decodes worse than H = "
                                     f"{rows[j]['hidden']}", parts, "difference > 0",
                                     "whole 95% t interval of each difference above 0"))
        checks.append(capacity_note(rows))
    else:
        skipped.append(f"capacity_binds_below_D: needs hidden sizes below and at or above D = {rows[0]['D']}")
    return verdicts.finish(checks, skipped, rows, "hidden", "hidden_size")


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
