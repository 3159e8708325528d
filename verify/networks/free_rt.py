"""Experiment 5a: free-reaction-time networks (bounded accumulators, tanh read-out, MSE).

OOD r^2 after t = 2..n_stim evidence samples beside the paper's line 1 - 12 sigma^2 / t (t = timing + 1).
Claim (binding, Fig. 5a: OOD r^2 follows the line in t): OOD r^2 rises from the first to the last t
and is at the line at the last t (above the line of an agent with half the evidence,
:data:`verify.networks.verdicts.EVIDENCE_FRACTION`, the toolkit's choice). Notes: the headline
against the line at every t; the Bayes upper check.
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


def row_theory(info, setting, t, config) -> dict:
    return verdicts.line_keys(setting.sigma, t, int(info["D"]), config.normalisation)


def verdicts_5a(config, rows, values, rng, extras):
    check = verdicts.rises_to_line(rows, values, "t", "time", rng, config.n_boot,
                                   "OOD r^2 follows the line in t: it rises from the first to the last t and is at "
                                   "the line at the last t (Fig. 5a)")
    return verdicts.finish([check], [], rows, "t", "time")


FREE_RT = Experiment("5a", "free RT: OOD r^2 vs evidence time t", "t", networks, settings, verdicts_5a,
                     ensemble="free_rt", row_theory=row_theory)
