"""Experiment 5c: OOD r^2 of networks trained at each noise level sigma, against the ceilings.

Binding: below the protocol ceiling at every sigma; falling with sigma.
"""
from __future__ import annotations

from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, by_value, training_kwargs


def networks(config):
    return pipeline.train_config(config.arch, ntask=[max(config.ntask)] * len(config.sigmas),
                                 networks=config.networks, sigma=list(config.sigmas), **training_kwargs(config))


def settings(config, info):
    return by_value(sorted(set(config.sigmas)), "sigma", info)


def verdicts_5c(config, rows, values, rng, extras):
    checks = [verdicts.below_ceiling(rows, "sigma", "sigma")]
    if len(rows) > 1:
        checks.append(verdicts.monotone(rows, values, "sigma", "sigma", False, rng, config.n_boot))
    return checks, []


SIGMA = Experiment("5c", "OOD r^2 vs sigma", "sigma", networks, settings, verdicts_5c, ensemble="sigma")
