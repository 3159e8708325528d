"""The network interface: what the trainer, checkpoints, ensembles and frozen runs need of an architecture.

Every architecture (:mod:`nets.rnn`, :mod:`nets.lstm`, :mod:`nets.transformer`) is an object
built from its own frozen configuration and implementing :class:`Architecture`; recurrent ones
also implement :class:`Recurrent`, the one-step map that the fixed-point analysis uses.
Nothing outside the architecture modules branches on the architecture's name.

Conventions shared by all architectures, with K stacked networks, B trials, T steps:

- parameters are a dict ``{name: array}`` whose arrays carry a leading axis K; the read-out
  parameters (:attr:`Architecture.readout_names`) end in the output axis, zero-padded to the
  largest task count N of the ensemble (padded outputs get zero loss weight, hence zero
  gradient, and stay 0);
- inputs, hidden states and read-out pre-activations are time-major, ``(K, T, B, .)``, so one
  step is a ``(K, B, .)`` slice (an architecture may transpose internally);
- ``noise`` is the training-time randomness of one batch (recurrent noise, dropout masks) as a
  dict of arrays ``(K, ...)``, drawn per network by :meth:`Architecture.sample_noise` from the
  network's own data stream (so K stacked networks equal K separate runs, whatever the number
  of worker processes); ``noise=None`` is evaluation mode (no noise, no dropout).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from nets.lstm import LSTM, LSTMConfig
from nets.rnn import RNN, RNNConfig
from nets.transformer import Transformer, TransformerConfig


@runtime_checkable
class Architecture(Protocol):
    """K stacked networks of one architecture: initialisation, forward, backward.

    Attributes
    ----------
    name : str, the registry key (:data:`ARCHS`)
    recurrent : bool, whether the network has a recurrent state (and implements :class:`Recurrent`)
    param_names : tuple of str, the parameter dict's keys, in initialisation order
    readout_names : tuple of str, the parameters whose last axis is the output N
    flops_per_second : float, a conservative training speed on one core (for time estimates)
    """

    name: str
    recurrent: bool
    param_names: tuple
    readout_names: tuple
    flops_per_second: float

    def init_params(self, rng: np.random.Generator, n_in: int, n_out: int, dtype) -> dict:
        """One network's parameters (no K axis), drawn from ``rng`` in float64, then cast."""

    def sample_noise(self, rng: np.random.Generator, n_steps: int, batch_size: int, dtype,
                     out: dict | None = None) -> dict:
        """One network's training randomness for one batch, ``{name: array (no K axis)}``; {} if none.

        ``out``: arrays of those names and shapes to draw into (and return), the same values.
        """

    def forward(self, params: dict, u: np.ndarray, noise: dict | None = None) -> tuple:
        """Run K networks: ``u`` (K or 1, T, B, n_in) -> (hidden (K, T, B, H), z (K, T, B, N), cache).

        ``hidden`` is the state the read-out reads (z_t = hidden_t W_out + b_out); ``cache``
        holds what :meth:`backward` needs.
        """

    def backward(self, params: dict, cache, dz: np.ndarray) -> dict:
        """Gradients ``{name: array like params[name]}`` of a loss L given dL/dz (K, T, B, N)."""

    def training_terms(self, batch_size: int, n_steps: int, n_in: int, n_out: int, itemsize: int) -> dict:
        """Bytes one network holds while it trains, ``{option=value: bytes}`` (for :func:`infra.guard.check_terms`)."""

    def training_flops(self, batch_size: int, n_steps: int, n_in: int, n_out: int) -> float:
        """FLOP of one training batch of one network (its time estimate, at ``flops_per_second``)."""


@runtime_checkable
class Recurrent(Architecture, Protocol):
    """The recurrent extension: the noiseless one-step map on the full state s and its Jacobian."""

    def state_size(self, params: dict) -> int:
        """S, the size of the recurrent state (RNN: H; LSTM: 2H for (h, c))."""

    def state_trajectory(self, hidden: np.ndarray, cache) -> np.ndarray:
        """The recurrent state after every step, shape (K, T, B, S), from a forward pass."""

    def step_map(self, params: dict, s: np.ndarray, u: np.ndarray) -> np.ndarray:
        """F(s; u), shape (K, M, S), for states ``s`` (K, M, S) and an input broadcastable to (K, M, n_in)."""

    def step_jacobian(self, params: dict, s: np.ndarray, u: np.ndarray) -> np.ndarray:
        """dF/ds, shape (K, M, S, S), J[..., i, j] = dF_i / ds_j."""


#: Architecture name -> (its configuration class, its class).
REGISTRY = {"rnn": (RNNConfig, RNN), "lstm": (LSTMConfig, LSTM), "transformer": (TransformerConfig, Transformer)}
ARCHS = tuple(REGISTRY)


def arch_config_class(arch: str) -> type:
    """The frozen configuration class of architecture ``arch``."""
    if arch not in REGISTRY:
        raise ValueError(f"arch={arch!r} must be one of {ARCHS}")
    return REGISTRY[arch][0]


def build_architecture(arch: str, net) -> Architecture:
    """The architecture object for name ``arch`` and its configuration ``net``."""
    cls = arch_config_class(arch)
    if not isinstance(net, cls):
        raise ValueError(f"net={net!r} must be a {cls.__name__} for arch={arch!r}")
    return REGISTRY[arch][1](net)
