"""Training configuration of an ensemble of independent networks (the reference defaults).

One :class:`TrainConfig` describes K networks of one architecture (``arch``, with its own frozen
configuration ``net``, see :mod:`nets.architecture`) trained together as stacked arrays. Network k
has its own task count ``ntask[k]`` and noise ``sigma[k]``, and its own random streams, all
derived from ``numpy.random.SeedSequence(seed, spawn_key=(first_network + k,))`` -- the same
streams as ``SeedSequence(seed).spawn(n)[first_network + k]`` -- so a one-network run with
``first_network=k`` reproduces network k of an ensemble.

The world variants (paper Fig. S3b and the noise and boundary variants of the appendix) are
fields with defaults that reproduce the reference world exactly:

- ``prior`` / ``rho``: the latents x* of the training trials come from :mod:`theory.priors`
  (``uniform``: U([-1/2, 1/2]^D); ``copula``: x* = Phi(z) - 1/2, z ~ N(0, [[1, rho], [rho, 1]]), D = 2);
- ``noise`` / ``aniso_scales`` / ``ar1_a``: the evidence noise model (:mod:`theory.noise`) of the
  training trials and of the frozen evaluation trials; network k's per-coordinate sd (Gumbel
  scale) is ``sigma[k] * aniso_scales[j]`` (anisotropic) or ``sigma[k]``; left unset they take the
  reference code's values (:data:`ANISO_SCALES`, :data:`AR1_A`);
- ``boundaries``: ``linear`` (the affine boundaries of the design) or ``multiplicative`` (the
  reference's per-quadrant products x1 x2 > +-thr, :mod:`theory.multiplicative`; outside Theorem 3.1).

Vocabulary: a *task* is one boundary (c_i, b_i) and its label; a network has ``ntask`` of them. The
*timeline* (fixed stimulus then decision, or free reaction time) and the loss are separate fields.

:meth:`TrainConfig.to_dict` leaves these fields out while they hold their defaults, so every
configuration from before the variants keeps its dictionary, and with it its cache key.
"""
from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields

import numpy as np

from nets.architecture import ARCHS, arch_config_class, build_architecture
from nets.rnn import ACTIVATIONS  # noqa: F401  (re-exported: the RNN's activations, for the checks' CLIs)
from nets.trials import BOUNDARIES, noise_model
from theory.designs import DESIGN_CHOICES, resolve_design  # noqa: F401  (re-exported: what `design` accepts)
from theory.encoders import ENCODERS
from theory.multiplicative import reference_thresholds
from theory.noise import NOISE_KINDS, NoiseModel
from theory.priors import PRIORS as _PRIORS, make_prior
from theory.world import check_positive_int

TIMELINES = ("fixed", "free")
LOSSES = ("bce_sigmoid", "mse_tanh5")
LOSS_STEPS = ("all", "decision")
DTYPES = ("float32", "float64")
#: The valid (loss, timeline) pairs: the reference classification (BCE, fixed timeline), and free RT.
TIMELINE_LOSSES = (("bce_sigmoid", "fixed"), ("mse_tanh5", "free"))

#: Latent priors of the training trials (theory.priors).
PRIORS = _PRIORS
#: Evidence-noise models (theory.noise).
NOISES = NOISE_KINDS
#: The reference code's anisotropic noise: per-axis multipliers of sigma (D = 2).
ANISO_SCALES = (1.0, 2.0)
#: The reference code's AR(1) noise coefficient.
AR1_A = 0.7
#: The world-variant fields and the defaults that give the reference world; to_dict omits them there.
VARIANT_DEFAULTS = {"prior": "uniform", "rho": 0.0, "noise": "gaussian", "aniso_scales": (), "ar1_a": 0.0,
                    "boundaries": "linear"}

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
    design : one of :data:`theory.designs.DESIGN_CHOICES`; ``auto`` is stored resolved
        (:func:`theory.designs.resolve_design`: even for D = 2, else random)
    prior : one of :data:`PRIORS`; rho : the copula correlation of z, |rho| < 1 (0 for uniform)
    noise : one of :data:`NOISES`; sigma is the per-step sd (the stationary sd for ``ar1``, the
        Gumbel scale beta for ``gumbel``: sd pi beta / sqrt 6, mean gamma_E beta, as in
        :mod:`theory.noise`); aniso_scales : anisotropic only, D positive multipliers of sigma
        (``(1.0, 2.0)`` at sigma 0.2 gives sds (0.2, 0.4)), else empty; None (the default) gives
        :data:`ANISO_SCALES` for the anisotropic model (D = 2) and () otherwise; ar1_a : the AR(1)
        coefficient, |a| < 1 (0 for the other models); None gives :data:`AR1_A` for ``ar1``, else 0
    boundaries : one of :data:`BOUNDARIES`; ``multiplicative`` needs D = 2, every ntask a multiple of
        4 and the fixed timeline (BCE), and ignores the design's boundaries (no offsets allowed)
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
    prior: str = "uniform"         # latent prior of the training trials: uniform | copula
    rho: float = 0.0               # copula correlation of z (0 for the uniform prior)
    noise: str = "gaussian"        # evidence noise model: gaussian | anisotropic | ar1 | gumbel
    aniso_scales: tuple = None     # anisotropic: per-coordinate multipliers of sigma (length D)
    ar1_a: float = None            # ar1: the AR(1) coefficient (stationary sd sigma)
    boundaries: str = "linear"     # labels: linear (the design) | multiplicative (x1 x2 > +-thr)
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
        for name, allowed in (("encoder", ENCODERS), ("timeline", TIMELINES), ("loss", LOSSES),
                              ("loss_steps", LOSS_STEPS), ("dtype", DTYPES), ("prior", PRIORS),
                              ("noise", NOISES), ("boundaries", BOUNDARIES)):
            if not isinstance(getattr(self, name), str) or getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} must be one of {allowed}")
        object.__setattr__(self, "design", resolve_design(self.design, self.D))
        self._check_variants()
        if (self.loss, self.timeline) not in TIMELINE_LOSSES:
            raise ValueError(f"loss={self.loss!r} with timeline={self.timeline!r}: the valid pairs are "
                             f"{TIMELINE_LOSSES}")
        if self.loss_steps == "decision" and self.timeline != "fixed":
            raise ValueError("loss_steps='decision' needs timeline='fixed' (the free timeline has no decision step)")
        for name in ("beta1", "beta2"):
            if not (0 <= getattr(self, name) < 1):
                raise ValueError(f"{name}={getattr(self, name)!r} must be in [0, 1)")
        for name in ("lr", "adam_eps", "bound"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"{name}={getattr(self, name)!r} must be finite and > 0")

    def _check_variants(self) -> None:
        if self.aniso_scales is None:
            object.__setattr__(self, "aniso_scales", ANISO_SCALES if self.noise == "anisotropic" else ())
        if self.ar1_a is None:
            object.__setattr__(self, "ar1_a", AR1_A if self.noise == "ar1" else 0.0)
        for name in ("rho", "ar1_a"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
                raise ValueError(f"{name}={v!r} must be a finite number")
            object.__setattr__(self, name, float(v))
        if self.prior == "uniform" and self.rho != 0:
            raise ValueError(f"rho={self.rho!r} needs prior='copula' (prior='uniform' has independent factors: rho=0)")
        if self.prior == "copula":
            if self.D != 2:
                raise ValueError(f"prior='copula' needs D=2; got D={self.D}")
            if not -1 < self.rho < 1:
                raise ValueError(f"rho={self.rho!r} must satisfy -1 < rho < 1 (a proper bivariate normal z)")
        scales = self.aniso_scales
        scales = tuple(v.item() if isinstance(v, np.generic) else v for v in scales) \
            if isinstance(scales, (list, tuple, np.ndarray)) else scales
        if not isinstance(scales, tuple) or any(isinstance(v, bool) or not isinstance(v, numbers.Real)
                                                or not np.isfinite(v) or v <= 0 for v in scales):
            raise ValueError(f"aniso_scales={self.aniso_scales!r} must be a tuple of finite numbers > 0")
        if self.noise == "anisotropic" and len(scales) != self.D:
            raise ValueError(f"aniso_scales={self.aniso_scales!r} must have D={self.D} entries "
                             "(one multiplier of sigma per coordinate) for noise='anisotropic'")
        if self.noise != "anisotropic" and scales:
            raise ValueError(f"aniso_scales={self.aniso_scales!r} is only used by noise='anisotropic' "
                             f"(got noise={self.noise!r}); leave it empty")
        object.__setattr__(self, "aniso_scales", tuple(float(v) for v in scales))
        if self.noise == "ar1" and not -1 < self.ar1_a < 1:
            raise ValueError(f"ar1_a={self.ar1_a!r} must satisfy -1 < ar1_a < 1 (a stationary AR(1) process)")
        if self.noise != "ar1" and self.ar1_a != 0:
            raise ValueError(f"ar1_a={self.ar1_a!r} is only used by noise='ar1' (got noise={self.noise!r}); "
                             "leave it 0")
        if self.boundaries == "multiplicative":
            if self.D != 2:
                raise ValueError(f"boundaries='multiplicative' needs D=2 (products x1 x2); got D={self.D}")
            bad = [n for n in self.ntask if n % 4]
            if bad:
                raise ValueError(f"ntask={self.ntask!r} must be multiples of 4 for boundaries='multiplicative' "
                                 "(one block of thresholds per quadrant)")
            if self.timeline != "fixed":
                raise ValueError(f"boundaries='multiplicative' needs timeline='fixed' (BCE on the decision labels); "
                                 f"got timeline={self.timeline!r}")
            if self.design_offsets:
                raise ValueError("design_offsets=True does not apply to boundaries='multiplicative' (its boundaries "
                                 "are the products x1 x2 = +-thr, not the design's)")

    def latent_prior(self):
        """The prior of the training latents: :class:`theory.priors.UniformPrior` or ``CopulaPrior``."""
        return make_prior(self.prior, self.D, self.rho)

    def noise_model(self, k: int, sigma: float | None = None) -> NoiseModel:
        """Network k's evidence-noise model (:class:`theory.noise.NoiseModel`) at its own sigma,
        or at ``sigma`` (a scalar, multiplied by ``aniso_scales`` for the anisotropic model).

        ``sigma = 0`` gives a model of zero noise that still draws (and discards) the same
        random numbers, so the stream does not depend on sigma.
        """
        s = self.sigma[k] if sigma is None else sigma
        if isinstance(s, bool) or not isinstance(s, numbers.Real) or not (np.isfinite(s) and s >= 0):
            raise ValueError(f"sigma={sigma!r} must be a finite number >= 0")
        scales = np.array(self.aniso_scales) if self.aniso_scales else np.ones(self.D)
        return noise_model(self.noise, float(s) * scales, self.D, self.ar1_a)

    def thresholds(self, k: int) -> np.ndarray:
        """Network k's thresholds of the multiplicative task, shape (ntask[k] / 4,)."""
        if self.boundaries != "multiplicative":
            raise ValueError(f"thresholds() needs boundaries='multiplicative'; this configuration has "
                             f"boundaries={self.boundaries!r}")
        return reference_thresholds(self.ntask[k])

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
        """The fields as a dict, without the world-variant fields that hold their defaults (the noise
        parameters: the value an unset field resolves to under this noise model, so that
        :meth:`from_dict` restores exactly this configuration)."""
        defaults = {**VARIANT_DEFAULTS, "aniso_scales": ANISO_SCALES if self.noise == "anisotropic" else (),
                    "ar1_a": AR1_A if self.noise == "ar1" else 0.0}
        return {k: v for k, v in asdict(self).items() if not (k in defaults and v == defaults[k])}

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
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
    config_fields = {f.name for f in fields(TrainConfig)}
    stray = sorted(set(kwargs) - config_fields)
    if stray:
        owners = {a: sorted(set(stray) & {f.name for f in fields(arch_config_class(a))}) for a in ARCHS}
        foreign = {a: v for a, v in owners.items() if v}
        if foreign:
            a, names = next(iter(foreign.items()))
            raise ValueError(f"{names} {'is a setting' if len(names) == 1 else 'are settings'} of arch={a!r}, "
                             f"not of arch={arch!r} (whose settings are {sorted(net_fields)})")
        raise ValueError(f"unknown keyword arguments {stray}; arch={arch!r} takes {sorted(net_fields)} "
                         f"and the training fields {sorted(config_fields - {'ntask', 'sigma', 'arch', 'net'})}")
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
    da, db = asdict(a), asdict(b)
    return {k: (da[k], db[k]) for k in da if k not in ignore and da[k] != db[k]}


def _as_tuple(name: str, value) -> tuple:
    if isinstance(value, (list, tuple, np.ndarray)):
        out = tuple(v.item() if isinstance(v, np.generic) else v for v in value)
        if not out:
            raise ValueError(f"{name}={value!r} must not be empty")
        return out
    return (value,)
