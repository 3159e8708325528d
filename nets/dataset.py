"""The trial API: the toolkit's task as arrays for any framework (PyTorch, JAX, numpy), stable and documented.

A :class:`TaskSpec` describes the world and the task; :func:`build_task` turns it into a :class:`Task`
(its N task boundaries c_i . x + b_i = 0 and its frozen input encoder f), whose :meth:`Task.batch`
draws a :class:`Batch` with exactly the arrays the toolkit's own trainer uses:

- ``inputs`` u (:func:`nets.trials.build_inputs`), ``targets`` y (:func:`nets.trials.build_targets`);
- ``mask`` w, the trainer's loss weights (:func:`nets.train.loss_weights`): the trainer minimises
  L = sum(w l) / sum(w) with the per-entry loss l of :mod:`nets.losses` (``bce_sigmoid`` on the
  ``fixed`` timeline, ``mse_tanh5`` on ``free_rt``). With ``loss_steps="all"`` (the reference)
  w = 1 at every step (the targets are 1/2 before the decision step); with ``"decision"`` w = 1 at the
  decision step only;
- ``latents`` x* and per-trial parameters (``params``): the evidence mean mu(t) at t = n_stim, the
  labels and the optimal agent's probits at the decision step.

Layout: time-major by default, ``(T, B, .)`` as ``torch.nn.RNN`` (``batch_first=False``) and
neurogym's ``Dataset``; ``batch_first=True`` gives ``(B, T, .)``. ``latents`` and ``params`` are
always trial-first, ``(B, .)``.

Random streams: a task with ``seed`` s and ``network`` k has the boundaries and the encoder of
network k of a :class:`nets.config.TrainConfig` with ``seed=s`` (:func:`nets.ensemble.network_task`),
and :meth:`Task.data_rng` is that network's training-data stream, so consecutive batches from it are
the trainer's batches (for an architecture without training noise: the RNN without recurrent noise,
the LSTM; the others draw their noise from the same stream between batches). Batches drawn from any
other generator follow :func:`nets.trials.make_trials`: same generator state, same arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nets.config import TIMELINES as _TRAINER_TIMELINES, TrainConfig
from nets.ensemble import network_streams, network_task
from nets.losses import pointwise_loss
from nets.trials import make_trials
from theory.designs import Design, make_design, noise_scale
from theory.encoders import Encoder, encode
from theory.noise import NoiseModel
from theory.priors import make_prior
from theory.world import as_generator, check_positive_int

#: The trial's time course: ``fixed`` (fixation, n_stim stimulus steps, decision) or ``free_rt``.
TIMELINES = ("fixed", "free_rt")
#: The toolkit's name of each timeline (nets.trials / nets.config).
_TRAINER_NAME = {"fixed": "fixed", "free_rt": "free_rt" if "free_rt" in _TRAINER_TIMELINES else "free"}
#: The loss each timeline is trained with (nets.config.TIMELINE_LOSSES).
LOSS_OF = {"fixed": "bce_sigmoid", "free_rt": "mse_tanh5"}
LOSS_STEPS = ("all", "decision")


@dataclass(frozen=True)
class TaskSpec:
    """The world and the task, everything a batch of trials depends on besides the random generator.

    Attributes
    ----------
    D : latent dimension; ntask : N, the number of tasks (boundaries c_i . x + b_i = 0)
    sigma : per-step evidence noise sd (latent units), >= 0
    n_stim : stimulus steps t (the evidence samples behind the decision)
    timeline : ``fixed`` (T = n_stim + 2: fixation, stimulus, decision at step n_stim + 1) or
        ``free_rt`` (T = n_stim, targets the bounded accumulators, no decision step)
    loss_steps : ``all`` (the reference loss) or ``decision`` (fixed timeline only)
    design : ``even`` (D = 2), ``random`` or ``auto``; ignored when ``C`` is given
    design_offsets : random offsets b_i (design ``random``)
    C, b : user boundaries, shapes (N, D) and (N,) (arrays or sequences; stored as tuples), or None; b
        defaults to zeros
    encoder : ``mlp`` (the reference), ``identity`` or ``quadratic`` (:mod:`theory.encoders`)
    seed, network : the random streams of network ``network`` of a TrainConfig with ``seed``
    noise : ``gaussian``, ``anisotropic``, ``ar1`` or ``gumbel`` (:mod:`theory.noise`);
        aniso_scales : D multipliers of sigma (anisotropic only); ar1_a : the AR(1) coefficient
    prior : ``uniform`` (U([-1/2, 1/2]^D)) or ``copula`` (D = 2, correlation ``rho``)
    task : ``linear`` (the boundaries) or ``multiplicative`` (D = 2, ntask a multiple of 4)
    bound : the free_rt accumulator bound (and output scale); dtype : of inputs and targets
    """

    D: int = 2
    ntask: int = 24
    sigma: float = 0.2
    n_stim: int = 20
    timeline: str = "fixed"
    loss_steps: str = "all"
    design: str = "even"
    design_offsets: bool = False
    C: tuple | None = None
    b: tuple | None = None
    encoder: str = "mlp"
    seed: int = 0
    network: int = 0
    noise: str = "gaussian"
    aniso_scales: tuple = ()
    ar1_a: float = 0.0
    prior: str = "uniform"
    rho: float = 0.0
    task: str = "linear"
    bound: float = 5.0
    dtype: str = "float32"
    _config: TrainConfig = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.timeline not in TIMELINES:
            raise ValueError(f"timeline={self.timeline!r} must be one of {TIMELINES}")
        if self.loss_steps not in LOSS_STEPS:
            raise ValueError(f"loss_steps={self.loss_steps!r} must be one of {LOSS_STEPS}")
        check_positive_int("network", self.network, 0)
        if self.C is None and self.b is not None:
            raise ValueError("b was given without C; give C (ntask, D) and optionally b (ntask,)")
        if self.C is not None:                   # stored as nested tuples: hashable, comparable, JSON-ready
            design = make_design(self.C, self.b)
            object.__setattr__(self, "C", tuple(tuple(row) for row in design.C.tolist()))
            object.__setattr__(self, "b", tuple(design.b.tolist()))
        # The trainer's configuration validates every shared field with the trainer's own rules.
        design = "auto" if self.C is not None else self.design   # user boundaries: no named design
        config = TrainConfig(ntask=(self.ntask,), sigma=(self.sigma,), D=self.D, design=design,
                             design_offsets=self.design_offsets, encoder=self.encoder,
                             timeline=_TRAINER_NAME[self.timeline], loss=LOSS_OF[self.timeline],
                             loss_steps=self.loss_steps, n_stim=self.n_stim, bound=self.bound, prior=self.prior,
                             rho=self.rho, noise=self.noise, aniso_scales=tuple(self.aniso_scales),
                             ar1_a=self.ar1_a, boundaries=self.task, dtype=self.dtype, seed=self.seed,
                             first_network=self.network)
        object.__setattr__(self, "aniso_scales", config.aniso_scales)   # a tuple of floats, as validated
        object.__setattr__(self, "_config", config)

    @classmethod
    def from_train_config(cls, config: TrainConfig, k: int = 0) -> TaskSpec:
        """The task of network ``k`` of a training configuration (its seed, world and loss steps)."""
        if not (isinstance(k, int) and 0 <= k < config.K):
            raise ValueError(f"k={k!r} must be an int in [0, K={config.K})")
        timeline = next(name for name, trainer in _TRAINER_NAME.items() if trainer == config.timeline)
        return cls(D=config.D, ntask=config.ntask[k], sigma=config.sigma[k], n_stim=config.n_stim, timeline=timeline,
                   loss_steps=config.loss_steps, design=config.design, design_offsets=config.design_offsets,
                   encoder=config.encoder, seed=config.seed, network=config.first_network + k, noise=config.noise,
                   aniso_scales=config.aniso_scales, ar1_a=config.ar1_a, prior=config.prior, rho=config.rho,
                   task=config.boundaries, bound=config.bound, dtype=config.dtype)

    @property
    def n_steps(self) -> int:
        """T: n_stim + 2 (fixed) or n_stim (free_rt)."""
        return self._config.n_steps

    @property
    def decision_step(self) -> int | None:
        """The index of the decision step (n_stim + 1) on the fixed timeline; None on free_rt."""
        return self.n_stim + 1 if self.timeline == "fixed" else None

    @property
    def loss(self) -> str:
        """The per-entry loss of :mod:`nets.losses`: ``bce_sigmoid`` (fixed) or ``mse_tanh5`` (free_rt)."""
        return LOSS_OF[self.timeline]

    def noise_model(self) -> NoiseModel:
        """The evidence noise model (per-coordinate sd sigma * aniso_scales for ``anisotropic``)."""
        return self._config.noise_model(0)


@dataclass(frozen=True)
class Batch:
    """A batch of B trials (see the module docstring for the layout).

    Attributes
    ----------
    inputs : ndarray (T, B, n_in) or (B, T, n_in): [fixation, f(X(s))] (fixed) or f(X(s)) (free_rt)
    targets : ndarray like ``inputs`` with N channels: 1/2 then the labels (fixed), or the bounded
        accumulators (free_rt)
    mask : ndarray like ``targets``, 0/1 loss weights (the trainer's)
    latents : ndarray (B, D), x*
    params : dict of per-trial arrays (B, .): ``x_star``; ``evidence_mean`` mu = (1/n_stim) sum_s X(s)
        (B, D); ``evidence`` X (B, n_stim, D); on the fixed timeline ``labels`` (B, N) (0/1), and for
        the linear task with Gaussian or anisotropic noise of sigma > 0 ``optimal_probits`` (B, N),
        z_i = sqrt(t)(c_i . mu + b_i)/s_i, the optimal agent's output Phi(z_i) at the decision step
    batch_first : whether ``inputs``, ``targets`` and ``mask`` are (B, T, .)
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    latents: np.ndarray
    params: dict
    batch_first: bool


@dataclass(frozen=True)
class Task:
    """A built task: the spec, its boundaries and its frozen encoder.

    Attributes
    ----------
    spec : TaskSpec; design : :class:`theory.designs.Design` (C (N, D), b (N,));
    encoder : :class:`theory.encoders.Encoder`, f: R^D -> R^m applied to every evidence sample
    """

    spec: TaskSpec
    design: Design
    encoder: Encoder

    @property
    def n_in(self) -> int:
        """Input channels: m, plus the fixation channel on the fixed timeline."""
        return self.encoder.out_dim + (1 if self.spec.timeline == "fixed" else 0)

    @property
    def n_out(self) -> int:
        """Output channels N = ntask."""
        return self.design.ntask

    def encoder_arrays(self) -> dict:
        """The encoder's parameters as ``{"encoder.<2j>.weight": (out, in), "encoder.<2j>.bias": (out,)}``,
        the state_dict names of ``nn.Sequential(Linear, act, Linear, act, Linear)``; {} for identity."""
        out = {}
        for j, (W, b) in enumerate(zip(self.encoder.weights, self.encoder.biases)):
            out[f"encoder.{2 * j}.weight"] = np.array(W.T)
            out[f"encoder.{2 * j}.bias"] = np.array(b)
        return out

    def encode(self, X: np.ndarray) -> np.ndarray:
        """f(X) on the last axis: (..., D) -> (..., m), float64."""
        return encode(self.encoder, X)

    def data_rng(self) -> np.random.Generator:
        """A fresh generator on the trainer's training-data stream of this network (see the module docstring)."""
        c = self.spec._config
        return np.random.default_rng(network_streams(c, 0)["data"])

    def mask(self, batch_size: int, batch_first: bool = False) -> np.ndarray:
        """The loss weights, shape (T, B, N) or (B, T, N): 1 at every step (``all``) or at the decision step."""
        batch_size = check_positive_int("batch_size", batch_size)
        w = np.ones(self.spec.n_steps, dtype=self.spec.dtype)
        if self.spec.loss_steps == "decision":
            w[:-1] = 0
        shape = (batch_size, self.spec.n_steps) if batch_first else (self.spec.n_steps, batch_size)
        w = w[None, :, None] if batch_first else w[:, None, None]
        return np.ascontiguousarray(np.broadcast_to(w, shape + (self.n_out,)))

    def batch(self, rng, batch_size: int, batch_first: bool = False, x_star: np.ndarray | None = None) -> Batch:
        """Draw ``batch_size`` trials from ``rng`` (a Generator, advanced; or a seed) by ``nets.trials.make_trials``.

        ``x_star`` (batch_size, D) fixes the latents (then only the evidence noise is drawn).
        """
        s = self.spec
        tr = make_trials(as_generator(rng), batch_size, self.design, s.noise_model(), self.encoder,
                         _TRAINER_NAME[s.timeline], s.n_stim, s.bound, x_star=x_star, dtype=np.dtype(s.dtype),
                         prior=make_prior(s.prior, s.D, s.rho), boundaries=s.task)
        mu = tr.X.mean(axis=1)
        params = {"x_star": tr.x_star, "evidence_mean": mu, "evidence": tr.X}
        if s.timeline == "fixed":
            params["labels"] = tr.y[:, -1].astype(float)
            if s.task == "linear" and s.noise in ("gaussian", "anisotropic") and s.sigma > 0:
                # the optimal agent's probits (optimal.agent, docs/theory.md section 2), z_i = sqrt(t)(c_i.mu + b_i)/s_i
                scale = noise_scale(self.design, s.noise_model().sigma)
                params["optimal_probits"] = np.sqrt(s.n_stim) * (mu @ self.design.C.T + self.design.b) / scale
        u, y = (tr.u, tr.y) if batch_first else (tr.u.swapaxes(0, 1).copy(), tr.y.swapaxes(0, 1).copy())
        return Batch(inputs=u, targets=y, mask=self.mask(batch_size, batch_first), latents=tr.x_star,
                     params=params, batch_first=batch_first)

    def loss(self, z: np.ndarray, batch: Batch) -> float:
        """The trainer's loss L = sum(w l) / sum(w) of read-out pre-activations ``z`` (shaped as the targets):
        l = softplus(z) - y z (fixed; outputs sigmoid(z)) or (bound tanh(z) - y)^2 (free_rt)."""
        z = np.asarray(z, dtype=float)
        if z.shape != batch.targets.shape:
            raise ValueError(f"z must have the targets' shape {batch.targets.shape}; got {z.shape}")
        ell, _ = pointwise_loss(z, batch.targets.astype(float), self.spec.loss, self.spec.bound)
        return float((batch.mask * ell).sum() / batch.mask.sum())


def build_task(spec: TaskSpec) -> Task:
    """The boundaries and the encoder of ``spec``: network ``spec.network``'s of its seed, or the given C, b."""
    if not isinstance(spec, TaskSpec):
        raise ValueError(f"spec must be a TaskSpec; got {type(spec).__name__}")
    design, encoder = network_task(spec._config, 0)
    if spec.C is not None:
        design = make_design(spec.C, spec.b)
        if design.D != spec.D or design.ntask != spec.ntask:
            raise ValueError(f"C has shape {design.C.shape}; the spec has (ntask, D)=({spec.ntask}, {spec.D})")
    return Task(spec, design, encoder)


class Dataset:
    """An endless iterator of batches, as neurogym's ``Dataset(env, batch_size)``, returning numpy arrays.

    Each ``next(ds)`` (or ``ds()``) is one :class:`Batch` of ``batch_size`` whole trials (T steps each,
    trial-aligned rows: unlike neurogym's ``seq_len`` no trials are concatenated, so row b's latents are
    ``latents[b]``). ``rng``: a seed or Generator; default the trainer's data stream of the task.
    No torch import: wrap the arrays with ``torch.from_numpy``.
    """

    def __init__(self, task: Task | TaskSpec, batch_size: int, batch_first: bool = False, rng=None):
        self.task = build_task(task) if isinstance(task, TaskSpec) else task
        if not isinstance(self.task, Task):
            raise ValueError(f"task must be a Task or TaskSpec; got {type(task).__name__}")
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.batch_first = bool(batch_first)
        self.rng = self.task.data_rng() if rng is None else as_generator(rng)

    def __iter__(self):
        return self

    def __next__(self) -> Batch:
        return self.task.batch(self.rng, self.batch_size, self.batch_first)

    def __call__(self) -> Batch:
        return next(self)
