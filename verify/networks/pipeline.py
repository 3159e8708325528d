"""Every contact of the network checks with :mod:`nets`: configure, train-or-load, run frozen.

The experiments (:mod:`verify.networks.registry`) and the measurements
(:mod:`verify.networks.measure`) see arrays only; this module turns a configuration into trained
networks and a set of latents into the states the probes need:

- :func:`train_config`: the :class:`nets.config.TrainConfig` of an ensemble (``arch`` is passed
  on only when it is not ``"rnn"``, so this works before and after the architecture interface);
- :func:`train_or_load`: train into (or load from) a cache folder keyed by the configuration;
- :func:`run_states`: run the frozen networks on chosen x* and return, per network, the hidden
  state at the decision step and at the last stimulus step, the read-out logits and the optimal
  agent's mu(t) on the same evidence;
- :func:`step_functions`: the noiseless one-step map under fixation input and its Jacobian
  (for the fixed-point analysis).

``encode_fixation`` (off by default) follows the reference's input convention: its encoder sees
the stimulus channels at every step, so fixation and decision steps carry f(0) instead of 0.
The networks are trained with 0 there; the flag changes the evaluation inputs only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import nets.config
from nets.config import ensemble_config
from nets.ensemble import ensemble_inputs
from nets.frozen import fixation_input, trained_ensemble
from nets.rnn import forward, step_jacobian, step_map
from theory.encoders import encode
from theory.world import as_generator

#: Architectures the installed :mod:`nets` offers.
ARCHS = tuple(getattr(nets.config, "ARCHS", ("rnn",)))
#: Activations and the checks' other enumerations of the network configuration.
ACTIVATIONS = nets.config.ACTIVATIONS
#: Trials per forward chunk (K x CHUNK x T x H floats at a time).
CHUNK = 1024


def train_config(arch: str, ntask, networks: int, sigma, **kwargs):
    """:func:`nets.config.ensemble_config` with ``arch`` given only when it is not ``"rnn"``."""
    if arch not in ARCHS:
        raise ValueError(f"arch={arch!r} must be one of {ARCHS}")
    if arch != "rnn":
        kwargs["arch"] = arch
    return ensemble_config(ntask=ntask, networks=networks, sigma=sigma, **kwargs)


def train_or_load(config, cache_dir, progress: bool, workers: int | None):
    """(ensemble, training summary) of ``config``, cached under ``cache_dir``."""
    return trained_ensemble(config, cache_dir, progress, workers)


@dataclass(frozen=True)
class States:
    """Frozen networks on a set of trials.

    Attributes
    ----------
    x_star : (K, n, D); hidden : (K, n, H) at the decision (last) step; hidden_stim : (K, n, H)
    at the last stimulus step (the step before the decision, = hidden on the free timeline);
    logits : (K, n, max N) at the last step; mu : (K, n, D); t : evidence samples;
    trajectories : (K, n, T, H) or None
    """

    x_star: np.ndarray
    hidden: np.ndarray
    hidden_stim: np.ndarray
    logits: np.ndarray
    mu: np.ndarray
    t: int
    trajectories: np.ndarray | None = None


def _forward(ens, u):
    return forward(ens.params, u, **ens.rnn_kwargs())


def _encode_fixation(ens, u: np.ndarray) -> np.ndarray:
    """Put f_k(0) into the stimulus channels of the fixation and decision steps (fixed timeline)."""
    if ens.config.timeline != "fixed":
        return u
    u = u.copy()
    for k, enc in enumerate(ens.encoders):
        f0 = encode(enc, np.zeros((1, ens.config.D)))[0]
        u[k, :, 0, 1:] = f0
        u[k, :, -1, 1:] = f0
    return u


def run_states(ens, x_star, rng, sigma=None, n_stim: int | None = None, encode_fixation: bool = False,
               keep_trajectories: bool = False) -> States:
    """Run the frozen ensemble on ``x_star`` ((n, D) or (K, n, D)); chunked over trials."""
    rng = as_generator(rng)
    x_star = np.asarray(x_star, dtype=float)
    fixed = ens.config.timeline == "fixed"
    out = {"hidden": [], "hidden_stim": [], "logits": [], "mu": [], "traj": []}
    for lo in range(0, x_star.shape[-2], CHUNK):
        u, X = ensemble_inputs(ens, x_star[..., lo:lo + CHUNK, :], rng, sigma=sigma, n_stim=n_stim)
        if encode_fixation:
            u = _encode_fixation(ens, u)
        h, z = _forward(ens, u)
        out["hidden"].append(h[:, :, -1].astype(float))
        out["hidden_stim"].append(h[:, :, -2 if fixed else -1].astype(float))
        out["logits"].append(z[:, :, -1].astype(float))
        out["mu"].append(X.mean(axis=2))
        if keep_trajectories:
            out["traj"].append(h.astype(float))
    cat = {k: np.concatenate(v, axis=1) for k, v in out.items() if v}
    return States(np.broadcast_to(x_star, (ens.K,) + x_star.shape[-2:]), cat["hidden"], cat["hidden_stim"],
                  cat["logits"], cat["mu"], ens.config.n_stim if n_stim is None else n_stim, cat.get("traj"))


def recurrent(ens) -> bool:
    """Whether the architecture has a one-step map (fixed-point analysis); RNNs always do."""
    return bool(getattr(getattr(ens, "arch", None), "recurrent", True))


def step_functions(ens, k: int):
    """(F, J): the noiseless one-step map h -> F(h) of network k under fixation input and its
    Jacobian dF/dh, in float64; F maps (M, H) -> (M, H), J maps (M, H) -> (M, H, H)."""
    u_fix = fixation_input(ens)
    kw = ens.rnn_kwargs()
    params = {name: v[k:k + 1].astype(np.float64) for name, v in ens.params.items()}

    def F(h):
        return step_map(params, h[None], u_fix, **kw)[0]

    def J(h):
        return step_jacobian(params, h[None], u_fix, **kw)[0]

    return F, J


def network_info(ens) -> dict:
    """Per-network facts the measurements need: ntask, sigma, designs, timeline, n_stim, D."""
    c = ens.config
    return {"ntask": np.array(c.ntask), "sigma": np.array(c.sigma), "designs": ens.designs, "timeline": c.timeline,
            "n_stim": c.n_stim, "D": c.D, "K": ens.K}
