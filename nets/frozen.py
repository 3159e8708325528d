"""Trained ensembles run frozen (training and caching: :mod:`nets.pool`).

:func:`decision_states` runs the frozen networks on chosen latents, vectorised over networks and
chunked over trials, and returns what the probes need at the decision step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nets.ensemble import Ensemble, ensemble_inputs
from theory.noise import estimate, estimator_variance
from theory.world import as_generator

#: The optimal agent's estimator (:func:`theory.noise.estimate`): the flat-prior posterior mean, matched to
#: each network's evidence noise (sample mean, GLS for AR(1), the log-gamma posterior mean for Gumbel).
MATCHED_ESTIMATOR = "posterior"

#: At most this many trials per forward chunk (the RNN: 25 x 1024 x 22 x 64 x 4 B ~ 144 MB per state array).
CHUNK = 1024
#: Activation floats one network's forward pass may hold per chunk and step: 1024 trials x 300
#: floats, so the RNN (2H + N floats per trial and step: r, a, z; 152 at the reference size, <= 300
#: up to H = 138) runs CHUNK trials per chunk -- its evidence-noise draws keep their order -- while
#: the transformer (attention weights, MLP rows: ~1700 floats) runs fewer. The chunk size depends
#: only on the architecture (and the trial length, for attention), never on K, the dtype or the
#: machine. Peak memory: K x chunk x T x floats, ~0.7 GB for 25 float32 transformers.
CHUNK_FLOATS = CHUNK * 300


def chunk_trials(ens: Ensemble, n_steps: int) -> int:
    """Trials per forward chunk: CHUNK, or fewer when one trial's activations per step and network,
    counted on a zero-input probe trial, exceed CHUNK_FLOATS / CHUNK."""
    K = ens.K
    u = np.zeros((K, n_steps, 1, ens.n_in), dtype=ens.config.dtype)
    arrays = {id(a): a for a in _arrays(ens.arch.forward(ens.params, u)) if a.ndim >= 3 and a.shape[0] == K}
    arrays.pop(id(u), None)                                  # the inputs are not activations
    per_step = sum(a.size for a in arrays.values()) / (K * n_steps)
    return int(np.clip(CHUNK_FLOATS // per_step, 1, CHUNK))


def _arrays(obj):
    """Every ndarray inside nested tuples, lists and dicts (views count as their own arrays)."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            yield from _arrays(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _arrays(o)


@dataclass(frozen=True)
class DecisionStates:
    """Frozen networks on a set of trials, at the last step of the trial.

    Attributes
    ----------
    x_star : ndarray (K, n, D), latents (the same for every network unless given per network)
    hidden : ndarray (K, n, H), at the last step the state the read-out reads, z = hidden W_out + b_out
        (float64): RNN r_T; LSTM h_T; transformer the final LayerNorm's output at the last position
    logits : ndarray (K, n, max N), read-out pre-activations at the last step (padded columns
        beyond ntask[k] are zero-weight outputs and must be ignored)
    mu : ndarray (K, n, D), the optimal agent's estimate of x* from the evidence each network saw,
        matched to the noise model that evidence was drawn with (:data:`MATCHED_ESTIMATOR`: the
        sample mean for Gaussian and anisotropic noise, GLS for AR(1), the posterior mean for Gumbel)
    t : int, evidence samples behind ``mu``
    hidden_stim : ndarray (K, n, H), the same read-out input at the last stimulus step (the step
        before the decision step on the fixed timeline; equal to ``hidden`` on the free timeline)
    trajectories : ndarray (K, n, T, S) or None (only when asked for): for a recurrent architecture
        the full recurrent state after every step (RNN: r, S = H; LSTM: (h, c) concatenated,
        S = 2H), the states the fixed-point search starts from; for the transformer, which has no
        recurrent state, the read-out input (final LayerNorm output) at every position, S = d_model
    values : ndarray (K, n, C) or None (only when asked for): for an architecture with attention
        (one that has ``attention_values``: the transformer), the attention value vectors at the
        last stimulus step, heads concatenated (the second tuning population the reference plots;
        a position's value vector depends only on that position's input, and the decision step
        has no stimulus); None otherwise
    """

    x_star: np.ndarray
    hidden: np.ndarray
    logits: np.ndarray
    mu: np.ndarray
    t: int
    hidden_stim: np.ndarray | None = None
    trajectories: np.ndarray | None = None
    values: np.ndarray | None = None
    mu_var: np.ndarray | None = None


def decision_states(ens: Ensemble, x_star, rng, sigma=None, n_stim: int | None = None,
                    keep_trajectories: bool = False, encode_fixation: bool = False,
                    keep_values: bool = False) -> DecisionStates:
    """Run the frozen ensemble on ``x_star`` and collect last-step states, logits and mu(t).

    Any architecture, in evaluation mode (no recurrent noise, no dropout).

    Parameters
    ----------
    x_star : ndarray, shape (n, D) or (K, n, D)
    rng : seed or Generator for the evidence noise (each network draws its own)
    sigma : noise sd (default: each network's training sigma; 0 for noiseless trials)
    n_stim : stimulus steps (default: the training value); the free-RT evaluation uses timing + 1
    keep_trajectories : also return the hidden states of every step
    keep_values : also return the attention value vectors (architectures with attention only)
    encode_fixation : f(0) in the stimulus channels at fixation and decision (see :func:`ensemble_inputs`)
    """
    rng = as_generator(rng)
    x_star = np.asarray(x_star, dtype=float)
    n = x_star.shape[-2]
    arch, dtype = ens.arch, np.dtype(ens.config.dtype)
    hidden, hidden_stim, logits, mus, trajs, values = [], [], [], [], [], []
    attention_values = getattr(arch, "attention_values", None) if keep_values else None
    stim = -2 if ens.config.timeline == "fixed" else -1
    c = ens.config
    step = chunk_trials(ens, (c.n_stim if n_stim is None else n_stim) + (c.n_steps - c.n_stim))
    models = [c.noise_model(k, sigma) for k in range(ens.K)]   # the models ensemble_inputs draws X from
    for lo in range(0, n, step):
        chunk = x_star[..., lo:lo + step, :]
        u, X = ensemble_inputs(ens, chunk, rng, sigma=sigma, n_stim=n_stim, encode_fixation=encode_fixation)
        h, z, cache = arch.forward(ens.params, np.ascontiguousarray(u.swapaxes(1, 2), dtype=dtype))  # (K, T, B, .)
        hidden.append(h[:, -1].astype(float))
        hidden_stim.append(h[:, stim].astype(float))
        logits.append(z[:, -1].astype(float))
        mus.append(np.stack([estimate(m, X[k], MATCHED_ESTIMATOR)[:, -1] for k, m in enumerate(models)]))
        if keep_trajectories:
            s = arch.state_trajectory(h, cache) if arch.recurrent else h
            trajs.append(s.swapaxes(1, 2).astype(float))
        if attention_values is not None:
            values.append(attention_values(cache)[:, stim].astype(float))
    steps = ens.config.n_stim if n_stim is None else n_stim
    mu_var = np.stack([estimator_variance(m, steps, MATCHED_ESTIMATOR) for m in models])
    return DecisionStates(
        x_star=np.broadcast_to(x_star, (ens.K,) + x_star.shape[-2:]),
        hidden=np.concatenate(hidden, axis=1), logits=np.concatenate(logits, axis=1),
        mu=np.concatenate(mus, axis=1), t=steps, hidden_stim=np.concatenate(hidden_stim, axis=1),
        trajectories=np.concatenate(trajs, axis=1) if keep_trajectories else None,
        values=np.concatenate(values, axis=1) if values else None, mu_var=mu_var)


def fixation_input(ens: Ensemble) -> np.ndarray:
    """The input during fixation with no stimulus: [1, 0, ..., 0] (fixed timeline), shape (n_in,)."""
    u = np.zeros(ens.n_in)
    if ens.config.timeline == "fixed":
        u[0] = 1.0
    return u
