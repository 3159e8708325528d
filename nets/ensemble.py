"""An ensemble of K independent networks: their designs, encoders, parameters and random streams.

Network k draws everything from ``SeedSequence(seed, spawn_key=(first_network + k,))``,
spawned into four independent streams used in this order of purpose:
0 = initial weights, 1 = encoder f, 2 = task design (random designs and offsets),
3 = training data, advanced batch by batch.

The training-data stream gives, per batch, in this order (:func:`nets.train.draw_batch`):

1. the latents x*, shape (batch_size, D), from the configuration's prior: ``uniform`` draws
   batch_size x D uniforms on [-1/2, 1/2); ``copula`` draws batch_size x 2 standard normals
   (g1, g2) per trial and sets z = (g1, rho g1 + sqrt(1 - rho^2) g2), x* = Phi(z) - 1/2;
2. the evidence noise eps, shape (batch_size, n_stim, D), in C order (trial, step, coordinate):
   standard normals scaled by the sd for ``gaussian`` and ``anisotropic``, standard normals
   filtered into a stationary AR(1) process for ``ar1``, standard Gumbels scaled by beta = sd
   for ``gumbel`` (:func:`theory.noise.sample_noise`);
3. the architecture's training noise (the RNN's recurrent noise if rec_noise > 0, the
   transformer's dropout masks).

The labels (linear or multiplicative) draw nothing. With the default fields (uniform prior,
Gaussian noise) these are exactly the draws from before the variants existed.

Use :func:`build_ensemble` for a fresh one, :func:`load_ensemble` for a trained one, and
:func:`ensemble_inputs` + ``ens.arch.forward`` (or :func:`nets.frozen.decision_states`) to run
frozen networks on chosen x*.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nets.config import TrainConfig
from nets.stacking import stack_params
from nets.trials import make_trials
from theory.designs import build_design
from theory.encoders import draw_encoder, encode

STREAMS = ("init", "encoder", "design", "data")


@dataclass(frozen=True)
class Ensemble:
    """K networks sharing an architecture.

    Attributes
    ----------
    params : dict of stacked parameters, leading axis K (see the architecture's module); read-outs
        are zero-padded to max(ntask) outputs -- network k uses the first ``config.ntask[k]``
    encoders : tuple of K :class:`theory.encoders.Encoder`
    designs : tuple of K :class:`theory.designs.Design`
    """

    config: TrainConfig
    params: dict
    encoders: tuple
    designs: tuple

    @property
    def K(self) -> int:
        return self.config.K

    @property
    def arch(self):
        """The architecture object (:class:`nets.architecture.Architecture`): ``ens.arch.forward``,
        ``ens.arch.recurrent`` and, for recurrent ones, ``ens.arch.step_map`` / ``step_jacobian``."""
        return self.config.architecture

    @property
    def n_in(self) -> int:
        """Input channels: the encoder's outputs, plus the fixation channel on the fixed timeline."""
        return self.encoders[0].out_dim + (1 if self.config.timeline == "fixed" else 0)

    def output_mask(self) -> np.ndarray:
        """Bool, shape (K, max N): which read-out columns are real tasks."""
        N = np.array(self.config.ntask)
        return np.arange(N.max())[None, :] < N[:, None]


def network_streams(config: TrainConfig, k: int) -> dict:
    """The four seed sequences of network k (see module docstring)."""
    root = np.random.SeedSequence(config.seed, spawn_key=(config.first_network + k,))
    return dict(zip(STREAMS, root.spawn(len(STREAMS))))


def network_task(config: TrainConfig, k: int) -> tuple:
    """Network k's task design and encoder f_k, from its own streams."""
    s = network_streams(config, k)
    design = build_design(config.design, config.ntask[k], config.D,
                          np.random.default_rng(s["design"]), config.design_offsets)
    return design, draw_encoder(config.encoder, config.D, np.random.default_rng(s["encoder"]))


def build_ensemble(config: TrainConfig) -> tuple[Ensemble, list]:
    """Fresh networks for ``config`` and each network's data generator (ready for batch 1)."""
    dtype = np.dtype(config.dtype)
    arch = config.architecture
    designs, encoders, params, data_rngs = [], [], [], []
    for k in range(config.K):
        design, encoder = network_task(config, k)
        s = network_streams(config, k)
        n_in = encoder.out_dim + (1 if config.timeline == "fixed" else 0)
        params.append(arch.init_params(np.random.default_rng(s["init"]), n_in, config.ntask[k], dtype))
        designs.append(design)
        encoders.append(encoder)
        data_rngs.append(np.random.default_rng(s["data"]))
    ens = Ensemble(config, stack_params(params, arch.param_names, arch.readout_names), tuple(encoders),
                   tuple(designs))
    return ens, data_rngs


def ensemble_with_params(config: TrainConfig, params: dict) -> Ensemble:
    """The ensemble of ``config`` (designs and encoders re-derived from its seeds) with ``params``."""
    ens, _ = build_ensemble(config)
    for name, p in ens.params.items():
        if name not in params or params[name].shape != p.shape:
            got = None if name not in params else params[name].shape
            raise ValueError(f"params[{name!r}] has shape {got}; the configuration needs {p.shape}")
    return Ensemble(config, {k: params[k] for k in ens.params}, ens.encoders, ens.designs)


def load_ensemble(path) -> Ensemble:
    """The trained ensemble stored in a checkpoint file."""
    from nets.checkpoint import load_checkpoint
    ckpt = load_checkpoint(path)
    return ensemble_with_params(ckpt.config, ckpt.params)


def ensemble_inputs(ens: Ensemble, x_star: np.ndarray, rng, sigma=None, n_stim: int | None = None,
                    encode_fixation: bool = False):
    """Inputs for running the frozen networks on chosen latents.

    Each network sees its own encoding f_k of its own noise draw (taken from ``rng`` in order
    k = 0..K-1), from its own noise model (``config.noise_model(k, sigma)``: Gaussian,
    anisotropic, AR(1) or Gumbel, as in training). ``sigma=0`` gives noiseless trials;
    ``sigma=None`` uses each network's training sigma (a given sigma is multiplied by the
    anisotropic ``aniso_scales``). ``n_stim`` overrides the number of stimulus steps (e.g. timing + 1).

    The optimal agent of :func:`nets.frozen.decision_states` estimates x* from the returned evidence
    X with the estimator matched to the same noise model (the sample mean for Gaussian and
    anisotropic noise, GLS for AR(1), the posterior mean for Gumbel: ``theory.noise.estimate(model,
    X, "posterior")``).
    ``encode_fixation`` follows the reference code's input convention on the fixed timeline: its
    encoder sees the stimulus channels at every step, so the fixation and decision steps carry
    f_k(0) instead of 0 (the networks here are trained with 0; the audit found it immaterial).

    Parameters
    ----------
    x_star : ndarray, shape (B, D) (same latents for every network) or (K, B, D)

    Returns
    -------
    u : ndarray, shape (K, B, T, n_in), in the ensemble's dtype
    X : ndarray, shape (K, B, n_stim, D), the evidence behind u (for the optimal agent)
    """
    c = ens.config
    x_star = np.asarray(x_star, dtype=float)
    if x_star.ndim == 2:
        x_star = np.broadcast_to(x_star, (c.K,) + x_star.shape)
    if x_star.ndim != 3 or x_star.shape[0] != c.K or x_star.shape[2] != c.D:
        raise ValueError(f"x_star must have shape (B, D={c.D}) or (K={c.K}, B, D); got {x_star.shape}")
    sig = c.sigma if sigma is None else (sigma,) * c.K
    steps = c.n_stim if n_stim is None else n_stim
    trials = [make_trials(rng, x_star.shape[1], ens.designs[k], c.noise_model(k, sig[k]), ens.encoders[k],
                          c.timeline, steps, c.bound, x_star=x_star[k], dtype=np.dtype(c.dtype),
                          boundaries=c.boundaries)
              for k in range(c.K)]
    u = np.stack([t.u for t in trials])
    if encode_fixation and c.timeline == "fixed":
        for k, enc in enumerate(ens.encoders):
            f0 = encode(enc, np.zeros((1, c.D)), dtype=u.dtype)[0]
            u[k, :, 0, 1:] = f0
            u[k, :, -1, 1:] = f0
    return u, np.stack([t.X for t in trials])

