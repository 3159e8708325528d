"""The configuration of one run of the network checks, validated before any training."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from analysis.decoders import NORMALISATIONS
from infra.store import config_hash
from theory.encoders import ENCODERS
from theory.noise import NOISE_KINDS
from verify.networks.experiment import ARCH_OPTIONS
from verify.networks.pipeline import ACTIVATIONS, ARCHS, arch_options

#: Latent dimension of every published experiment (quadrant folds, the even design).
D = 2
#: Trials per network for the probes: 3/4 of them (~16,000) train each quadrant fold's decoder,
#: enough for a stable inner-CV ridge choice.
EVAL_TRIALS = 21_336
#: Experiments whose row-space ceilings exist for the full-range normalisation only.
SWEEPS_FULLRANGE = {"5b", "large_n", "hidden_size"}
#: Protocol options (docs/networks.md, "Differences from the reference code"): the reference code's first, the
#: toolkit's variant second.
S3B_PROBES = ("uniform", "prior")
NOISE_PROBES = ("gaussian", "training")
SPARSENESS_DEFINITIONS = ("reference", "active_median")
DESIGNS_5B = ("random", "even")


@dataclass(frozen=True)
class NetworkCheckConfig:
    """One run of the network checks (see :mod:`verify.networks.cli` for the meaning of each option)."""

    ntask: tuple = (2, 3, 6, 12, 24)
    networks: int = 5                   # per N (and per sigma for 5c)
    batches: int = 5000                 # training batches; the paper used 100000
    sigma: float = 0.2                  # noise sd per step
    sigmas: tuple = (0.1, 0.2, 0.3, 0.4, 0.6)   # experiment 5c
    arch: str = "rnn"
    encoder: str = "mlp"
    hidden: int = 64
    activation: str = "relu"            # relu (reference) | tanh
    leaky: bool = True                  # False: r_t = r_{t-1} + alpha phi(a_t) (Fig. 3b)
    eval_trials: int = EVAL_TRIALS      # probe trials per network over the whole cube
    normalisation: str = "fullrange"
    reference_defect: bool = False      # every decoder on the reference's defective folds
    encode_fixation: bool = False       # f(0) at fixation / decision steps (evaluation inputs)
    n_boot: int = 2000                  # bootstrap replicates of every interval
    adam_steps: int | None = None       # reference_adam steps (None: the reference's count per N)
    Ds: tuple = (2, 4, 6, 8, 10)        # experiment 5b: latent dimensions
    encoders: tuple = ("mlp", "quadratic")          # experiment S1
    hiddens: tuple = (1, 2, 4, 8, 16, 32, 64)       # hidden-size experiment (H = 1 < D: the capacity line binds)
    large_ntask: tuple = (24, 48, 96)               # large-N experiment: task counts ...
    large_Ds: tuple = (2, 4)                        # ... at these latent dimensions
    rhos: tuple = (0.0, 0.3, 0.6, 0.9)              # experiment S3b: copula correlations
    noises: tuple = ("gaussian", "anisotropic", "ar1", "gumbel")   # noise variants
    aniso_scales: tuple = (1.0, 2.0)                # anisotropic: per-coordinate multipliers of sigma
    ar1_a: float = 0.7                            # AR(1) coefficient (the reference code's, as verify.curves)
    mult_ntask: tuple = (4, 8, 12, 24)              # multiplicative boundaries (multiples of 4)
    s3b_probe: str = "uniform"          # S3b probe latents: uniform (reference, generalize.py) | prior (copula)
    noise_probe: str = "gaussian"       # noise variants probed with: gaussian sigma (reference) | training noise
    sparseness: str = "reference"       # S6: reference (sparsity.py) | active_median (the toolkit's earlier one)
    design_5b: str = "random"           # 5b boundaries: random unit normals, b = 0 (reference) | even (at D = 2)
    experiments: tuple = ("3a", "3c", "4", "dynamics")
    seed: int = 0

    def __post_init__(self):
        from verify.networks.registry import REGISTRY

        if not self.ntask or any(isinstance(n, bool) or not isinstance(n, int) or n < D for n in self.ntask):
            raise ValueError(f"ntask={list(self.ntask)!r} must be integers >= D={D} (Theorem 3.1 needs "
                             f"rank C = D <= N)")
        for name in ("networks", "batches", "hidden", "eval_trials", "n_boot"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}={v!r} must be an integer >= 1")
        if self.adam_steps is not None and (isinstance(self.adam_steps, bool) or not isinstance(self.adam_steps, int)
                                            or self.adam_steps < 1):
            raise ValueError(f"adam_steps={self.adam_steps!r} must be None or an integer >= 1")
        if self.eval_trials < 400:
            raise ValueError(f"eval_trials={self.eval_trials} must be >= 400 (each held-out quadrant needs trials)")
        for name, values in (("sigma", (self.sigma,)), ("sigmas", self.sigmas)):
            if not values or any(not np.isfinite(s) or s <= 0 for s in values):
                raise ValueError(f"{name}={getattr(self, name)!r} must be finite and > 0")
        for name, allowed in (("arch", ARCHS), ("activation", ACTIVATIONS), ("encoder", ENCODERS),
                              ("normalisation", NORMALISATIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} must be one of {tuple(allowed)}")
        if not self.Ds or any(isinstance(d, bool) or not isinstance(d, int) or d < 2 for d in self.Ds):
            raise ValueError(f"Ds={list(self.Ds)!r} must be integers >= 2 (experiment 5b's latent dimensions)")
        if any(e not in ENCODERS for e in self.encoders) or not self.encoders:
            raise ValueError(f"encoders={list(self.encoders)!r} must be a non-empty subset of {tuple(ENCODERS)}")
        for name in ("hiddens", "large_ntask", "large_Ds"):
            # H = 1 < D = 2 is where the capacity line binds; N and D need at least 2
            v, low = getattr(self, name), 1 if name == "hiddens" else 2
            if not v or any(isinstance(n, bool) or not isinstance(n, int) or n < low for n in v):
                raise ValueError(f"{name}={list(v)!r} must be integers >= {low}")
        if not self.rhos or any(not np.isfinite(r) or not -1 < r < 1 for r in self.rhos):
            raise ValueError(f"rhos={list(self.rhos)!r} must be finite with -1 < rho < 1")
        if not self.noises or any(k not in NOISE_KINDS for k in self.noises):
            raise ValueError(f"noises={list(self.noises)!r} must be a non-empty subset of {NOISE_KINDS}")
        if len(self.aniso_scales) != D or any(not np.isfinite(s) or s <= 0 for s in self.aniso_scales):
            raise ValueError(f"aniso_scales={list(self.aniso_scales)!r} must be {D} finite numbers > 0")
        if not (np.isfinite(self.ar1_a) and -1 < self.ar1_a < 1):
            raise ValueError(f"ar1_a={self.ar1_a!r} must be finite with -1 < a < 1")
        if not self.mult_ntask or any(isinstance(n, bool) or not isinstance(n, int) or n < 4 or n % 4
                                      for n in self.mult_ntask):
            raise ValueError(f"mult_ntask={list(self.mult_ntask)!r} must be positive multiples of 4 (one block "
                             f"of thresholds per quadrant)")
        if self.normalisation != "fullrange" and set(self.experiments) & SWEEPS_FULLRANGE:
            raise ValueError(f"normalisation={self.normalisation!r}: experiments "
                             f"{sorted(set(self.experiments) & SWEEPS_FULLRANGE)} have full-range ceilings only")
        unknown = set(self.experiments) - set(REGISTRY)
        if unknown or not self.experiments:
            raise ValueError(f"experiments={self.experiments!r} must be a non-empty subset of {tuple(REGISTRY)}")
        for name, allowed in (("s3b_probe", S3B_PROBES), ("noise_probe", NOISE_PROBES),
                              ("sparseness", SPARSENESS_DEFINITIONS), ("design_5b", DESIGNS_5B)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} must be one of {allowed}")
        if self.seed < 0:
            raise ValueError(f"seed={self.seed} must be >= 0")
        own = arch_options(self.arch)
        defaults = {f.name: f.default for f in fields(type(self))}
        for name in ARCH_OPTIONS:           # e.g. --hidden or --non-leaky with --arch transformer
            if name not in own and getattr(self, name) != defaults[name]:
                raise ValueError(f"{name}={getattr(self, name)!r} does not apply to arch={self.arch!r} "
                                 f"(its options: {sorted(own)})")
        for name in self.experiments:       # every ensemble must be buildable before anything trains
            REGISTRY[name].networks(self)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def key(self) -> str:
        """Hash of the configuration: the subfolder of --out its tidy tables are written to."""
        return config_hash(self.to_dict())
