"""Every contact of the network checks with :mod:`nets`: configure, train-or-load, run frozen.

The experiments (:mod:`verify.networks.registry`) and the measurements
(:mod:`verify.networks.measure`) see arrays only; this module turns a configuration into trained
networks and a set of latents into the states the probes need:

- :func:`train_config`: the :class:`nets.config.TrainConfig` of an ensemble of one architecture;
- :func:`train_or_load`: train into (or load from) a cache folder keyed by the configuration;
- :func:`run_states`: run the frozen networks on chosen x* and return, per network, the hidden
  state at the decision step and at the last stimulus step, the read-out logits and the optimal
  agent's mu(t) on the same evidence;
- :func:`step_functions`: the noiseless one-step map under fixation input and its Jacobian
  (for the fixed-point analysis).

``encode_fixation`` (off by default) follows the reference's input convention: its encoder sees
the stimulus channels at every step, so fixation and decision steps carry f(0) instead of 0.
The networks are trained with 0 there; the flag changes the evaluation inputs only
(:func:`nets.ensemble.ensemble_inputs`).
"""
from __future__ import annotations

import dataclasses

import numpy as np

import nets.config
from nets.config import ensemble_config
from nets.frozen import DecisionStates, decision_states, fixation_input, trained_ensemble

#: Architectures the installed :mod:`nets` offers.
ARCHS = nets.config.ARCHS
#: Activations and the checks' other enumerations of the network configuration.
ACTIVATIONS = nets.config.ACTIVATIONS


def arch_options(arch: str) -> dict:
    """{field: default} of the architecture's own configuration (RNN: hidden, activation, leaky, ...)."""
    cls = nets.config.arch_config_class(arch)
    return {f.name: f.default for f in dataclasses.fields(cls)}


def train_fields() -> set:
    """Fields of the installed :class:`nets.config.TrainConfig` (the world variants need theirs)."""
    return {f.name for f in dataclasses.fields(nets.config.TrainConfig)}


def train_config(arch: str, ntask, networks: int, sigma, **kwargs):
    """:func:`nets.config.ensemble_config` of architecture ``arch``."""
    if arch not in ARCHS:
        raise ValueError(f"arch={arch!r} must be one of {ARCHS}")
    return ensemble_config(ntask=ntask, networks=networks, sigma=sigma, arch=arch, **kwargs)


def train_or_load(config, cache_dir, progress: bool, workers: int | None, dask_address: str | None = None):
    """(ensemble, training summary) of ``config``, cached under ``cache_dir`` one file per network;
    trained on ``workers`` local processes or on the Dask cluster ``dask_address`` (or ``"local"``)."""
    return trained_ensemble(config, cache_dir, progress, workers, dask_address)


#: The frozen networks' states on a set of trials (:class:`nets.frozen.DecisionStates`): x_star,
#: hidden (decision step), hidden_stim (last stimulus step), logits, mu, t, trajectories.
States = DecisionStates


def run_states(ens, x_star, rng, sigma=None, n_stim: int | None = None, encode_fixation: bool = False,
               keep_trajectories: bool = False, keep_values: bool = False) -> States:
    """Run the frozen ensemble (any architecture, evaluation mode) on ``x_star`` ((n, D) or (K, n, D))."""
    return decision_states(ens, x_star, rng, sigma=sigma, n_stim=n_stim, keep_trajectories=keep_trajectories,
                           encode_fixation=encode_fixation, keep_values=keep_values)


def recurrent(ens) -> bool:
    """Whether the architecture has a one-step map (fixed-point analysis); the transformer has none."""
    return bool(ens.arch.recurrent)


def step_functions(ens, k: int):
    """(F, J): the noiseless one-step map s -> F(s) of network k under fixation input and its
    Jacobian dF/ds, in float64, on the architecture's full recurrent state (LSTM: (h, c));
    F maps (M, S) -> (M, S), J maps (M, S) -> (M, S, S)."""
    u_fix = fixation_input(ens)
    params = {name: v[k:k + 1].astype(np.float64) for name, v in ens.params.items()}

    def F(s):
        return ens.arch.step_map(params, s[None], u_fix)[0]

    def J(s):
        return ens.arch.step_jacobian(params, s[None], u_fix)[0]

    return F, J


def network_info(ens) -> dict:
    """Per-network facts the measurements need: ntask, sigma, designs, encoders (and their kind),
    timeline, n_stim, D, hidden (None for an architecture without it), task (linear or
    multiplicative) and the ensemble's TrainConfig (``config``: its prior and noise fields)."""
    c = ens.config
    return {"ntask": np.array(c.ntask), "sigma": np.array(c.sigma), "designs": ens.designs, "timeline": c.timeline,
            "n_stim": c.n_stim, "D": c.D, "K": ens.K, "encoders": ens.encoders, "encoder": c.encoder,
            "hidden": getattr(c.net, "hidden", None), "task": getattr(c, "task", "linear"),
            "config": c}
