"""Experiments 3a and 3c: OOD r^2 and decoder angles vs the number of tasks N (the reference networks).

3a: OOD r^2 by quadrant cross-validation beside the paper's line (the protocol r^2 of a linear
decoder of mu(t), ``r2_protocol``), 1 - 12 sigma^2 / t and the ID line 1 / (1 + 12 sigma^2 / t).
Claim (binding): OOD r^2 rises with N toward the line: the gap to the line (line - r^2) is smaller
at the largest N than at the smallest, decided by the interval of the difference of gaps (no
tolerance), and the largest N is at the line (above the line of an agent with half the evidence,
:data:`verify.networks.verdicts.EVIDENCE_FRACTION`, the toolkit's choice: without it two barely
trained networks per N, whose intervals under-cover, can show a "rise" by chance). Notes: the
headline interval against the line; the Bayes upper check.
3c: ridge-decoder and encoding-axis angles in hidden space vs N. Claim (binding): the angle is
closer to 90 degrees at the largest N than at the smallest (interval over networks of the
difference of |angle - 90|). Note: whether the largest-N interval contains 90.
"""
from __future__ import annotations

from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, by_value, training_kwargs


def networks(config):
    return pipeline.train_config(config.arch, ntask=config.ntask, networks=config.networks, sigma=config.sigma,
                                 **training_kwargs(config))


def settings(config, info):
    return by_value(sorted(set(config.ntask)), "ntask", info)


def row_theory(info, setting, t, config) -> dict:
    return verdicts.line_keys(setting.sigma, t, int(info["D"]), config.normalisation)


def verdicts_3a(config, rows, values, rng, extras):
    if len(rows) < 2:
        return verdicts.finish([], ["ood_rises_toward_line_with_ntask: needs two values of N"], rows, "ntask", "ntask")
    first, last = rows[0], rows[-1]
    parts = [verdicts.gap_shrinks(values[0], first["r2_protocol"], values[-1], last["r2_protocol"],
                                  f"N {first['ntask']} -> {last['ntask']}", rng, config.n_boot),
             verdicts.at_line(last, f"N = {last['ntask']}")]
    checks = [verdicts.claim("ood_rises_toward_line_with_ntask", f"OOD r^2 ({verdicts.HEADLINE}) rises with N toward "
                             f"the line: the gap to the line is smaller at N = {last['ntask']} than at N = "
                             f"{first['ntask']}, and at N = {last['ntask']} it is at the line (Fig. 3a)", parts,
                             "gap difference < 0; at the line", "95% t intervals; 'at the line' = above the "
                             f"line at {verdicts.EVIDENCE_FRACTION:g} of the evidence (toolkit's choice)")]
    return verdicts.finish(checks, [], rows, "ntask", "ntask")


def verdicts_3c(config, rows, values, rng, extras):
    if len(rows) < 2:
        return [], ["angles_approach_90: needs two values of N"]
    if any(r["angles_per_network"] is None for r in rows):
        return [], ["angles_approach_90: the hidden state has fewer units than D: no decoder angles"]
    return [verdicts.angles_approach_90(rows, rng, config.n_boot), verdicts.angle_note(rows[-1])], []


OOD = Experiment("3a", "OOD r^2 vs N with the paper's line", "ntask", networks, settings, verdicts_3a,
                 row_theory=row_theory)
ANGLES = Experiment("3c", "decoder and encoding-axis angles vs N", "ntask", networks, settings, verdicts_3c,
                    row_theory=row_theory)
