"""Experiment 5a: free-reaction-time networks (bounded accumulators, tanh read-out, MSE).

OOD r^2 after t = 2..n_stim evidence samples against 1 - 12 sigma^2 / t (t = timing + 1).
Binding: below the protocol ceiling at every t; rising with t.
"""
from __future__ import annotations

from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, Setting, training_kwargs


def networks(config):
    return pipeline.train_config(config.arch, ntask=[max(config.ntask)], networks=config.networks,
                                 sigma=config.sigma, timeline="free", loss="mse_tanh5", **training_kwargs(config))


def settings(config, info):
    everyone = tuple(range(info["K"]))
    return [Setting(t, everyone, t, config.sigma) for t in range(2, info["n_stim"] + 1)]


def verdicts_5a(config, rows, values, rng, extras):
    return [verdicts.below_ceiling(rows, "t", "time"),
            verdicts.monotone(rows, values, "t", "time", True, rng, config.n_boot)], []


FREE_RT = Experiment("5a", "free RT: OOD r^2 vs evidence time t", "t", networks, settings, verdicts_5a,
                     ensemble="free_rt")
