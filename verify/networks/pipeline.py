"""Every contact of the network checks with :mod:`nets`: configure, train-or-load, run frozen.

The experiments (:mod:`verify.networks.registry`) and the measurements
(:mod:`verify.networks.measure`) see arrays only; this module turns a configuration into trained
networks and a set of latents into the states the probes need:

- :func:`train_config`: the :class:`nets.config.TrainConfig` of an ensemble of one architecture;
- :func:`train_or_load`: train into (or load from) a cache folder keyed by the configuration
  (:func:`nets.pool.trained_networks`, the one training path), each network file read once per
  process: an ensemble already loaded in this process is reused while its files are unchanged;
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
import math
import time
from pathlib import Path

import numpy as np

import nets.architecture
import nets.config
import nets.train
from nets.config import ensemble_config
from nets.frozen import DecisionStates, decision_states, fixation_input
from nets.pool import network_path, trained_networks
from theory.encoders import MLP_WIDTHS

#: Architectures (one home: :data:`nets.architecture.ARCHS`).
ARCHS = nets.architecture.ARCHS
#: Activations and the checks' other enumerations of the network configuration.
ACTIVATIONS = nets.config.ACTIVATIONS


def arch_options(arch: str) -> dict:
    """{field: default} of the architecture's own configuration (RNN: hidden, activation, leaky, ...)."""
    cls = nets.config.arch_config_class(arch)
    return {f.name: f.default for f in dataclasses.fields(cls)}


def train_config(arch: str, ntask, networks: int, sigma, **kwargs):
    """:func:`nets.config.ensemble_config` of architecture ``arch``."""
    if arch not in ARCHS:
        raise ValueError(f"arch={arch!r} must be one of {ARCHS}")
    return ensemble_config(ntask=ntask, networks=networks, sigma=sigma, arch=arch, **kwargs)


#: Trial steps (fixed timeline) and batch size of the checks' trainings, for the size estimate.
TRIAL_STEPS, BATCH_SIZE = 22, 16


def training_terms(arch: str, K: int, batches: int, ntask: int, label: str, width: int | None = None) -> dict:
    """Size-guard terms ({option: bytes}, :func:`infra.guard.check_terms`) of training K networks of
    ``arch`` at once, as the architecture itself reports them (:func:`nets.train.training_terms`),
    with the loss history: batch 16, 22 steps, the MLP encoder's inputs, ``ntask`` outputs, float64
    (an upper bound for float32). ``width`` sets the architecture's width field (RNN, LSTM ``hidden``,
    transformer ``d_model``; default its reference value); ``label`` says what makes K."""
    cls = nets.config.arch_config_class(arch)
    field = "hidden" if "hidden" in arch_options(arch) else "d_model"
    net = cls() if width is None else cls(**{field: width})
    return nets.train.training_terms(nets.architecture.build_architecture(arch, net), K, batches, BATCH_SIZE,
                                     TRIAL_STEPS, MLP_WIDTHS[-1] + 1, ntask, 8, label)


#: Ensembles loaded in this process: (config, cache folder) -> (file stats, ensemble, summary).
_LOADED: dict = {}


def train_or_load(config, cache_dir, progress: bool, workers: int | None, dask_address: str | None = None):
    """(ensemble, training summary) of ``config``, cached under ``cache_dir`` one file per network;
    trained on ``workers`` local processes or on the Dask cluster ``dask_address`` (or ``"local"``).

    A second call for the same configuration and folder in this process returns the ensemble it
    already holds (summary: ``seconds`` of this call, no training rate) as long as the network
    files are unchanged (size and modification time; nothing is read), so each file is read once.
    """
    start = time.perf_counter()
    key = (config, str(Path(cache_dir).resolve()))
    stats = _stats(config, cache_dir)
    held = _LOADED.get(key)
    if held is not None and held[0] == stats:
        return held[1], {**held[2], "seconds": time.perf_counter() - start, "network_batches_per_second": math.nan}
    ens, summary = trained_networks(config, cache_dir, progress, workers, dask_address)
    _LOADED[key] = (_stats(config, cache_dir), ens, summary)
    return ens, summary


def _stats(config, cache_dir) -> tuple:
    """(size, mtime in ns) of each network file of ``config`` (None when missing)."""
    out = []
    for k in range(config.K):
        try:
            st = network_path(cache_dir, config, k).stat()
            out.append((st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


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
    timeline, n_stim, D, hidden (None for an architecture without it), boundaries (linear or
    multiplicative) and the ensemble's TrainConfig (``config``: its prior and noise fields)."""
    c = ens.config
    return {"ntask": np.array(c.ntask), "sigma": np.array(c.sigma), "designs": ens.designs, "timeline": c.timeline,
            "n_stim": c.n_stim, "D": c.D, "K": ens.K, "encoders": ens.encoders, "encoder": c.encoder,
            "hidden": getattr(c.net, "hidden", None), "boundaries": c.boundaries,
            "config": c}
