"""Training configuration of an ensemble of independent networks (the reference defaults).

One :class:`TrainConfig` describes K networks of one architecture (``arch``, with its own frozen
configuration ``net``, see :mod:`nets.architecture`) trained together as stacked arrays. Network k
has its own task count ``ntask[k]`` and noise ``sigma[k]``, and its own random streams, all
derived from ``numpy.random.SeedSequence(seed, spawn_key=(first_network + k,))`` -- the same
streams as ``SeedSequence(seed).spawn(n)[first_network + k]`` -- so a one-network run with
``first_network=k`` reproduces network k of an ensemble.
"""
from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields

import numpy as np

from nets.architecture import ARCHS, arch_config_class, build_architecture
from nets.rnn import ACTIVATIONS  # noqa: F401  (re-exported: the RNN's activations, for the checks' CLIs)
from theory.designs import DESIGNS
from theory.encoders import ENCODERS
from theory.world import check_positive_int

TIMELINES = ("fixed", "free")
LOSSES = ("bce_sigmoid", "mse_tanh5")
LOSS_STEPS = ("all", "decision")
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
    arch : str, one of :data:`nets.architecture.ARCHS`
    net : the architecture's frozen configuration (default: its defaults); a dict is converted,
        unknown keys rejected. Its fields can also be read as attributes of the TrainConfig
        (``config.hidden`` is ``config.net.hidden``).
    """

    ntask: tuple = (24,)
    sigma: tuple = (0.2,)          # per-step noise sd, latent units (2 / sqrt(100 ms) per 100 ms step)
    D: int = 2
    design: str = "even"           # boundary design, theory.designs
    design_offsets: bool = False   # random offsets b_i ~ U(-1/4, 1/4)
    encoder: str = "mlp"           # identity | mlp (ReLU) | quadratic; drawn per network
    timeline: str = "fixed"        # fixed: fixation + n_stim + decision; free: n_stim steps
    loss: str = "bce_sigmoid"      # bce_sigmoid (reference) | mse_tanh5 (free RT, docs/theory.md)
    loss_steps: str = "all"        # all steps, or the decision step only
    n_stim: int = 20               # stimulus steps of 100 ms
    bound: float = 5.0             # absorbing bound of the free-RT accumulator targets
    arch: str = "rnn"              # network architecture, nets.architecture.ARCHS
    net: object = None             # its configuration (RNNConfig, ...); None = the defaults
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
        cls = arch_config_class(self.arch)
        net = cls() if self.net is None else self.net
        if isinstance(net, dict):
            net = _from_dict(cls, net, "net")
        if not isinstance(net, cls):
            raise ValueError(f"net={net!r} must be a {cls.__name__} (or a dict of its fields) for arch={self.arch!r}")
        object.__setattr__(self, "net", net)
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
        for name in ("D", "n_stim", "batch_size", "checkpoint_every"):
            check_positive_int(name, getattr(self, name))
        for name in ("batches", "seed", "first_network"):
            check_positive_int(name, getattr(self, name), 0)
        for name, allowed in (("design", DESIGNS), ("encoder", ENCODERS), ("timeline", TIMELINES),
                              ("loss", LOSSES), ("loss_steps", LOSS_STEPS), ("dtype", DTYPES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} must be one of {allowed}")
        if self.design == "even" and self.D != 2:
            raise ValueError(f"design='even' needs D=2; got D={self.D}")
        if (self.loss, self.timeline) not in VALID_TASKS:
            raise ValueError(f"loss={self.loss!r} with timeline={self.timeline!r}: the valid pairs are {VALID_TASKS}")
        if self.loss_steps == "decision" and self.timeline != "fixed":
            raise ValueError("loss_steps='decision' needs timeline='fixed' (the free timeline has no decision step)")
        for name in ("beta1", "beta2"):
            if not (0 <= getattr(self, name) < 1):
                raise ValueError(f"{name}={getattr(self, name)!r} must be in [0, 1)")
        for name in ("lr", "adam_eps", "bound"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"{name}={getattr(self, name)!r} must be finite and > 0")

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: the architecture's fields, read-only
        net = self.__dict__.get("net")
        if net is not None and name in {f.name for f in fields(net)}:
            return getattr(net, name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def architecture(self):
        """The architecture object (:class:`nets.architecture.Architecture`) of ``arch`` and ``net``."""
        return build_architecture(self.arch, self.net)

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
        """Inverse of :meth:`to_dict`; unknown keys (also inside ``net``) are an error."""
        return _from_dict(cls, d, "configuration")


def _from_dict(cls, d: dict, what: str):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"unknown {what} keys {unknown}; known keys are {sorted(known)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def ensemble_config(ntask=(24,), networks: int = 1, sigma=0.2, arch: str = "rnn", **kwargs) -> TrainConfig:
    """``networks`` networks for each task count in ``ntask`` (and each sigma, if a list).

    Keyword arguments that name a field of the architecture's configuration (``hidden=``,
    ``activation=``, ``leaky=``, ... for the RNN) go into ``net``; the rest into the TrainConfig.

    Examples
    --------
    >>> ensemble_config(ntask=[2, 24], networks=2).ntask
    (2, 2, 24, 24)
    >>> ensemble_config(hidden=16, leaky=False).net.hidden
    16
    """
    networks = check_positive_int("networks", networks)
    cls = arch_config_class(arch)
    net_fields = {f.name for f in fields(cls)}
    net_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in net_fields}
    train_fields = {f.name for f in fields(TrainConfig)}
    stray = sorted(set(kwargs) - train_fields)
    if stray:
        owners = {a: sorted(set(stray) & {f.name for f in fields(arch_config_class(a))}) for a in ARCHS}
        foreign = {a: v for a, v in owners.items() if v}
        if foreign:
            a, names = next(iter(foreign.items()))
            raise ValueError(f"{names} {'is a setting' if len(names) == 1 else 'are settings'} of arch={a!r}, "
                             f"not of arch={arch!r} (whose settings are {sorted(net_fields)})")
        raise ValueError(f"unknown keyword arguments {stray}; arch={arch!r} takes {sorted(net_fields)} "
                         f"and the training fields {sorted(train_fields - {'ntask', 'sigma', 'arch', 'net'})}")
    if net_kw:
        if kwargs.get("net") is not None:
            raise ValueError(f"give either net= or its fields {sorted(net_kw)}, not both")
        kwargs["net"] = cls(**net_kw)
    ntask = _as_tuple("ntask", ntask)
    sigma = _as_tuple("sigma", sigma)
    if len(sigma) == 1:
        sigma = sigma * len(ntask)
    if len(sigma) != len(ntask):
        raise ValueError(f"sigma={sigma!r} must have one entry or one per ntask ({len(ntask)})")
    return TrainConfig(ntask=tuple(n for n in ntask for _ in range(networks)),
                       sigma=tuple(s for s in sigma for _ in range(networks)), arch=arch, **kwargs)


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
