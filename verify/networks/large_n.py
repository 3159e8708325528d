"""Beyond the paper (a reviewer's question): many tasks, N up to 96, at D = 2 and D = 4.

One ensemble per D of ``--large-D`` with every N of ``--large-ntask`` (the even design at D = 2,
random unit-normal designs above; orthant folds for D <= 3, half-spaces above). The line is the
protocol line of that D (:mod:`theory.dimensionality`; it does not depend on N once N >= D).

Claim (binding; the theory's, Corollary B.9: more tasks never hurt): at each D, OOD r^2 rises or
stays at the line: no decided drop from the smallest to the largest N beyond the margin (the line
minus the line at half the evidence, :data:`verify.networks.verdicts.EVIDENCE_FRACTION`, the
toolkit's choice), and the largest N is at the line. Notes: every cell against its line; the Bayes
upper check.
"""
from __future__ import annotations

from verify.networks import dimensionality, verdicts
from verify.networks.experiment import Experiment
from verify.networks.sweep_figures import plot_sweep, setting_label


def networks(config):
    # the even design at D = 2 as in 3a (no reference experiment to follow: the reference's design of 5b is
    # NetworkCheckConfig.design_5b's)
    return dimensionality.ensembles(config, config.large_Ds, config.large_ntask, "even")


def verdicts_large_n(config, rows, values, rng, extras):
    checks, skipped = [], []
    for D in sorted({r["D"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["D"] == D]
        i, j = idx[0], idx[-1]
        if i == j:
            skipped.append(f"rises_or_stays_at_line_D{D}: needs two values of N")
            continue
        parts = [verdicts.no_drop(values[i], values[j], verdicts.margin(rows[j]),
                                  f"N {rows[i]['ntask']} -> {rows[j]['ntask']}", rng, config.n_boot),
                 verdicts.at_line(rows[j], rows[j]["cell"])]
        checks.append(verdicts.claim(f"rises_or_stays_at_line_D{D}", f"at D = {D}, OOD r^2 does not drop from N = "
                                     f"{rows[i]['ntask']} to N = {rows[j]['ntask']} and is at the line there",
                                     parts, "no drop; at the line", "95% t intervals; margin and 'at the "
                                     f"line' from the line at {verdicts.EVIDENCE_FRACTION:g} of the evidence "
                                     "(toolkit's choice)"))
    return verdicts.finish(checks, skipped, rows, "cell", "large_n")


def figure(group, folder, budget) -> list:
    rows = group["rows"]
    if not rows:
        return []
    r0 = rows[0]
    title = (f"OOD r$^2$ vs N up to {max(r['ntask'] for r in rows)} ({setting_label(r0, budget)})\n"
             "dashed: the protocol line of each D (linear decoder of mu)")
    return plot_sweep(rows, group["figures"], "ntask", "D", folder / "r2_vs_large_ntask.png", title,
                      "number of tasks N", log_x=True)


LARGE_N = Experiment("large_n", "OOD r^2 vs N up to 96 at D = 2 and 4", "ntask", networks, dimensionality.settings,
                     verdicts_large_n, ensemble="large_n", row_theory=dimensionality.row_theory, figure=figure)
