"""Experiments 3a and 3c: OOD r^2 and decoder angles vs the number of tasks N (the reference networks).

3a: OOD r^2 by quadrant cross-validation against the ceiling 1 - 12 sigma^2 / t, the protocol
ceiling and the ID ceiling of a decoder fit on the whole cube (1 / (1 + 12 sigma^2 / t)).
Binding: below the protocol ceiling; rising with N. Paper claim: the published gap at N = 24
(the reference's decoder on the reference's folds, published budget).
3c: ridge-decoder and encoding-axis angles in hidden space vs N (paper claim: closer to 90
degrees at the largest N); the output-space angle of the design for comparison.
"""
from __future__ import annotations

from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, by_value, training_kwargs


def networks(config):
    return pipeline.train_config(config.arch, ntask=config.ntask, networks=config.networks, sigma=config.sigma,
                                 **training_kwargs(config))


def settings(config, info):
    return by_value(sorted(set(config.ntask)), "ntask", info)


def verdicts_3a(config, rows, values, rng, extras):
    checks = [verdicts.below_ceiling(rows, "ntask", "ntask")]
    if len(rows) > 1:
        checks.append(verdicts.monotone(rows, values, "ntask", "ntask", True, rng, config.n_boot))
    gap, skipped = verdicts.published_gap(rows[-1], config.batches)
    return checks + gap, skipped


def verdicts_3c(config, rows, values, rng, extras):
    return ([verdicts.angles_approach_90(rows)] if len(rows) > 1 else []), []


OOD = Experiment("3a", "OOD r^2 vs N with the ceilings", "ntask", networks, settings, verdicts_3a)
ANGLES = Experiment("3c", "decoder and encoding-axis angles vs N", "ntask", networks, settings, verdicts_3c)
