"""Training configuration of an ensemble of independent RNNs (SPEC section 5 defaults).

One :class:`TrainConfig` describes K networks trained together as stacked arrays. Network k
has its own task count ``ntask[k]`` and noise ``sigma[k]``, and its own random streams, all
derived from ``numpy.random.SeedSequence(seed, spawn_key=(first_network + k,))`` -- the same
streams as ``SeedSequence(seed).spawn(n)[first_network + k]`` -- so a one-network run with
``first_network=k`` reproduces network k of an ensemble.
"""
from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields

import numpy as np

from theory.designs import DESIGNS
from theory.encoders import ENCODERS
from theory.world import check_positive_int

TIMELINES = ("fixed", "free")
LOSSES = ("bce_sigmoid", "mse_tanh5")
LOSS_STEPS = ("all", "decision")
ACTIVATIONS = ("relu", "tanh")
DTYPES = ("float32", "float64")
#: (loss, timeline) pairs that define a task: the reference classification task, and free RT.
VALID_TASKS = (("bce_sigmoid", "fixed"), ("mse_tanh5", "free"))

#: Fields that only say how long to run; a checkpoint may be resumed with different values.
RUN_LENGTH_FIELDS = ("batches", "checkpoint_every")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run, bit for bit.

    Attributes
    ----------
    ntask : tuple of int, one per network (K = len(ntask)); tasks N of each network
    sigma : tuple of float, one per network (or one for all); evidence noise sd per step
    """

    ntask: tuple = (24,)
    sigma: tuple = (0.2,)          # per-step noise sd, latent units (SPEC: 2 / sqrt(100 ms))
    D: int = 2
    design: str = "even"           # boundary design, theory.designs
    design_offsets: bool = False   # random offsets b_i ~ U(-1/4, 1/4)
    encoder: str = "mlp"           # identity | mlp (ReLU) | quadratic; drawn per network
    timeline: str = "fixed"        # fixed: fixation + n_stim + decision; free: n_stim steps
    loss: str = "bce_sigmoid"      # bce_sigmoid (reference) | mse_tanh5 (free RT, SPEC 7.1)
    loss_steps: str = "all"        # all steps, or the decision step only
    n_stim: int = 20               # stimulus steps of 100 ms
    bound: float = 5.0             # absorbing bound of the free-RT accumulator targets
    hidden: int = 64
    activation: str = "relu"
    alpha: float = 1.0             # dt / tau; 1 = no leak (reference)
    leaky: bool = True             # False: r_t = r_{t-1} + alpha phi(a_t)
    rec_noise: float = 0.0         # sd of Gaussian noise added to the recurrent pre-activation
    batch_size: int = 16
    batches: int = 100_000
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-8
    dtype: str = "float32"
    seed: int = 0
    first_network: int = 0         # network k uses spawn key first_network + k
    checkpoint_every: int = 5000   # batches between checkpoints

    def __post_init__(self):
        ntask = _as_tuple("ntask", self.ntask)
        sigma = _as_tuple("sigma", self.sigma)
        for n in ntask:
            check_positive_int("ntask", n)
        ntask = tuple(int(n) for n in ntask)
        if len(sigma) == 1:
            sigma = sigma * len(ntask)
        if len(sigma) != len(ntask):
            raise ValueError(f"sigma={self.sigma!r} must have one entry or one per network ({len(ntask)})")
        for s in sigma:
            if isinstance(s, bool) or not isinstance(s, numbers.Real) or not np.isfinite(s) or s < 0:
                raise ValueError(f"sigma={self.sigma!r} must hold finite numbers >= 0")
        object.__setattr__(self, "ntask", ntask)
        object.__setattr__(self, "sigma", tuple(float(s) for s in sigma))
        for name in ("D", "n_stim", "hidden", "batch_size", "checkpoint_every"):
            check_positive_int(name, getattr(self, name))
        for name in ("batches", "seed", "first_network"):
            check_positive_int(name, getattr(self, name), 0)
        for name, allowed in (("design", DESIGNS), ("encoder", ENCODERS), ("timeline", TIMELINES),
                              ("loss", LOSSES), ("loss_steps", LOSS_STEPS),
                              ("activation", ACTIVATIONS), ("dtype", DTYPES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} must be one of {allowed}")
        if self.design == "even" and self.D != 2:
            raise ValueError(f"design='even' needs D=2; got D={self.D}")
        if (self.loss, self.timeline) not in VALID_TASKS:
            raise ValueError(f"loss={self.loss!r} with timeline={self.timeline!r}: the valid pairs are {VALID_TASKS}")
        if self.loss_steps == "decision" and self.timeline != "fixed":
            raise ValueError("loss_steps='decision' needs timeline='fixed' (the free timeline has no decision step)")
        for name, lo, hi in (("alpha", 0.0, 1.0), ("beta1", 0.0, 1.0), ("beta2", 0.0, 1.0)):
            v = getattr(self, name)
            if not (lo < v <= hi if name == "alpha" else lo <= v < hi):
                raise ValueError(f"{name}={v!r} must be in {'(0, 1]' if name == 'alpha' else '[0, 1)'}")
        for name in ("lr", "adam_eps", "bound"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"{name}={getattr(self, name)!r} must be finite and > 0")
        if not (np.isfinite(self.rec_noise) and self.rec_noise >= 0):
            raise ValueError(f"rec_noise={self.rec_noise!r} must be finite and >= 0")

    @property
    def K(self) -> int:
        """Number of networks in the ensemble."""
        return len(self.ntask)

    @property
    def n_steps(self) -> int:
        """Steps per trial: n_stim + 2 (fixed timeline) or n_stim (free)."""
        return self.n_stim + 2 if self.timeline == "fixed" else self.n_stim

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown configuration keys {unknown}; known keys are {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def ensemble_config(ntask=(24,), networks: int = 1, sigma=0.2, **kwargs) -> TrainConfig:
    """``networks`` networks for each task count in ``ntask`` (and each sigma, if a list).

    Examples
    --------
    >>> ensemble_config(ntask=[2, 24], networks=2).ntask
    (2, 2, 24, 24)
    """
    networks = check_positive_int("networks", networks)
    ntask = _as_tuple("ntask", ntask)
    sigma = _as_tuple("sigma", sigma)
    if len(sigma) == 1:
        sigma = sigma * len(ntask)
    if len(sigma) != len(ntask):
        raise ValueError(f"sigma={sigma!r} must have one entry or one per ntask ({len(ntask)})")
    return TrainConfig(ntask=tuple(n for n in ntask for _ in range(networks)),
                       sigma=tuple(s for s in sigma for _ in range(networks)), **kwargs)


def config_difference(a: TrainConfig, b: TrainConfig, ignore=RUN_LENGTH_FIELDS) -> dict:
    """{field: (a value, b value)} for every field where ``a`` and ``b`` differ."""
    da, db = a.to_dict(), b.to_dict()
    return {k: (da[k], db[k]) for k in da if k not in ignore and da[k] != db[k]}


def _as_tuple(name: str, value) -> tuple:
    if isinstance(value, (list, tuple, np.ndarray)):
        out = tuple(v.item() if isinstance(v, np.generic) else v for v in value)
        if not out:
            raise ValueError(f"{name}={value!r} must not be empty")
        return out
    return (value,)
