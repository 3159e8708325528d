"""Experiment 5c: OOD r^2 of networks trained at each noise level sigma, beside the paper's line.

Claim (binding, Fig. 5c): OOD r^2 falls with sigma (interval of the difference between the smallest
and the largest sigma) and the networks are at the line at the smallest sigma (above the line of an
agent with half the evidence, :data:`verify.networks.verdicts.EVIDENCE_FRACTION`, the toolkit's
choice). Notes: the headline against the line at every sigma; the Bayes upper check.
"""
from __future__ import annotations

from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, by_value, training_kwargs


def networks(config):
    return pipeline.train_config(config.arch, ntask=[max(config.ntask)] * len(config.sigmas),
                                 networks=config.networks, sigma=list(config.sigmas), **training_kwargs(config))


def settings(config, info):
    return by_value(sorted(set(config.sigmas)), "sigma", info)


def row_theory(info, setting, t, config) -> dict:
    return verdicts.line_keys(setting.sigma, t, int(info["D"]), config.normalisation)


def verdicts_5c(config, rows, values, rng, extras):
    checks = []
    if len(rows) > 1:
        falls = verdicts.difference(values[0], values[-1], f"sigma {rows[0]['sigma']:g} -> {rows[-1]['sigma']:g}",
                                    "below", rng, config.n_boot)
        checks.append(verdicts.claim("ood_falls_with_sigma", "OOD r^2 falls from the smallest to the largest sigma, "
                                     "at the line at the smallest (Fig. 5c)",
                                     [falls, verdicts.at_line(rows[0], f"sigma = {rows[0]['sigma']:g}")],
                                     "difference < 0; at the line", "95% t intervals; 'at the line' = above "
                                     f"the line at {verdicts.EVIDENCE_FRACTION:g} of the evidence (toolkit's choice)"))
    return verdicts.finish(checks, [] if checks else ["ood_falls_with_sigma: needs two sigmas"], rows, "sigma",
                           "sigma")


SIGMA = Experiment("5c", "OOD r^2 vs sigma", "sigma", networks, settings, verdicts_5c, ensemble="sigma",
                   row_theory=row_theory)
