"""Train an ensemble of independent networks (RNN, LSTM or transformer) on the multi-task world, resumably.

:func:`train` trains K networks together as stacked arrays in this process: every batch, each
network draws its own trials (and its own training noise: recurrent noise, dropout masks) from
its own stream, then one forward pass, one backward pass and one Adam step update all K. Network
k's arithmetic does not depend on the other networks, so the stack gives the same networks as K
separate runs with the same seeds (bit for bit when the task counts agree; networks with fewer
tasks carry zero-padded read-outs, which changes only the rounding of one sum). Parallel training
(worker processes, Dask) is :mod:`nets.pool`, the one parallel path, which calls :func:`train` on
stacks of networks with equal task counts; the command line below goes through it.

Usage: python -m nets.train --arch rnn --ntask 2 24 --networks 5 --batches 100000 --out runs/
       python -m nets.train --arch transformer --ntask 24 --networks 25 --batches 20000 --out runs/

Networks are cached one file per network under ``--out/b<batches>/`` (:mod:`nets.pool`), keyed by
each network's configuration: a rerun with the same --out resumes an interrupted run from its last
checkpoint (bit-identical to an uninterrupted run), or loads a finished one without training;
--fresh starts over. A checkpoint that is damaged (truncated, altered, non-finite weights) or was
written by other code is never resumed from: training starts afresh with a one-line warning
(--strict-cache refuses a stale one). Without --out, the files live in a temporary folder.
A request whose memory cannot fit this machine is refused up front (--allow-large overrides), and
so is one whose estimated time at a conservative rate exceeds a week (--allow-long overrides).

Prints (or with --json emits, strict JSON) {"config", "seconds", "network_batches_per_second"
(null when nothing was trained), "final_loss": [one per network, mean of the last 100 batches
of the stored loss history], "checkpoints": [one path per network] or null without --out, "blas":
{"library", "version", "kernels", "OPENBLAS_CORETYPE"} of the products (networks trained on other
BLAS kernels differ in rounding: :mod:`infra.blas`), "exit_code"}.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from infra.adam import AdamState, adam_init, adam_step
from nets.checkpoint import Checkpoint, checkpoint_path, read_checkpoint, save_checkpoint
from nets.architecture import ARCHS, arch_config_class, build_architecture
from nets.config import ANISO_SCALES, AR1_A, DTYPES, NOISES, PRIORS, TrainConfig, ensemble_config
from nets.rnn import ACTIVATIONS
from theory.designs import DESIGN_CHOICES
from theory.encoders import ENCODERS, MLP_WIDTHS
from nets.ensemble import Ensemble, build_ensemble
from nets.losses import loss_and_grad
from nets.memory import retain_freed_memory
from nets.stacking import sample_stacked_noise
from nets.trials import BOUNDARIES, build_inputs, build_targets, draw_world
from theory.encoders import Encoder, stack_encoders
from infra.blas import blas_kernels
from infra.cli import UsageError, base_parser, check_workers, run_main, show_progress
from infra.guard import check_terms, check_time, ensemble_terms

#: The summaries' final_loss averages each network's loss over this many last batches (fewer if the run is shorter).
FINAL_LOSS_WINDOW = 100


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    losses : ndarray, shape (batches, K), per-batch training loss of each network
    seconds : wall time of the batches run in this call (excluding resumed ones)
    network_batches_per_second : K * batches run / seconds
    checkpoint : path of the last checkpoint, or None without ``out_dir``
    rng_states : the data stream's ``bit_generator.state`` of each network at the end
    """

    ensemble: Ensemble
    adam: AdamState
    losses: np.ndarray
    seconds: float
    network_batches_per_second: float
    checkpoint: Path | None
    rng_states: tuple

    @property
    def config(self) -> TrainConfig:
        return self.ensemble.config



def loss_weights(config: TrainConfig, nets: range | None = None) -> np.ndarray:
    """Loss weights in the internal (K, T, B, N) layout, shape (len(nets), T, 1, max N).

    1 on real outputs (column i < ntask[k]) at the steps the loss covers (all, or the decision
    step only), 0 elsewhere; ``nets`` (default: all) selects networks.
    """
    nets = range(config.K) if nets is None else nets
    N = np.array(config.ntask)[nets.start:nets.stop]
    w_out = (np.arange(max(config.ntask))[None, :] < N[:, None])[:, None, None, :]
    w_step = np.ones(config.n_steps)
    if config.loss_steps == "decision":
        w_step[:-1] = 0
    return (w_out * w_step[None, :, None, None]).astype(config.dtype)


def draw_batch(config: TrainConfig, nets: range, designs: list, rngs: list, encoder: Encoder, arch=None,
               models: list | None = None):
    """One batch for each network in ``nets``: (u, y, noise) in the (K, T, B, .) layout.

    ``designs[j]`` and ``rngs[j]`` belong to network ``nets[j]``; ``encoder`` is
    :func:`theory.encoders.stack_encoders` of their encoders in the training dtype, so they run
    as one stacked product. Network k's stream gives, in order, the latents from
    ``config.latent_prior()`` and the evidence noise of ``config.noise_model(k)`` (the same draws
    as :func:`nets.trials.draw_world` and :func:`nets.trials.make_trials`), then the
    architecture's training noise (:meth:`nets.architecture.Architecture.sample_noise`: the RNN's
    recurrent noise if rec_noise > 0, the transformer's dropout masks); the labels of
    ``config.boundaries`` draw nothing. Targets are padded to max(ntask) outputs of the whole ensemble.
    ``arch`` defaults to ``config.architecture``; ``models`` (default: ``config.noise_model(k)``
    for each k) lets a caller build the noise models once for many batches.
    """
    arch = config.architecture if arch is None else arch
    models = [config.noise_model(k) for k in nets] if models is None else models
    dtype = np.dtype(config.dtype)
    prior = config.latent_prior()
    K, B = len(nets), config.batch_size
    y = np.zeros((K, config.n_steps, B, max(config.ntask)), dtype=dtype)
    X = np.empty((K, B, config.n_stim, config.D))
    for j, k in enumerate(nets):
        x_star, X_j = draw_world(rngs[j], B, config.n_stim, models[j], prior)
        y[j, :, :, :config.ntask[k]] = build_targets(x_star, X_j, designs[j], config.timeline, config.bound,
                                                     dtype, config.boundaries).swapaxes(0, 1)
        X[j] = X_j
    noise = sample_stacked_noise(arch, rngs, config.n_steps, B, dtype)       # each stream after its world
    return build_inputs(X, encoder, config.timeline, dtype, steps_first=True), y, noise


def train_step(config: TrainConfig, params: dict, adam: AdamState, u, y, noise, weights, arch=None):
    """Forward, loss, backward, Adam: returns (params, adam, losses (K,))."""
    arch = config.architecture if arch is None else arch
    _, z, cache = arch.forward(params, u, noise)
    L, dz = loss_and_grad(z, y, weights, config.loss, config.bound)
    grads = arch.backward(params, cache, dz)
    params, adam = adam_step(params, grads, adam, config.lr, config.beta1, config.beta2, config.adam_eps)
    return params, adam, L


#: Batches between progress-bar updates (checkpoints also fall on these boundaries).
SEGMENT = 200


def train(config: TrainConfig, out_dir=None, resume: bool = False, progress: bool = True,
          strict_cache: bool = False) -> TrainResult:
    """Train the ensemble of ``config`` for ``config.batches`` batches, as one stack in this process.

    With ``out_dir``, a checkpoint is written every ``config.checkpoint_every`` batches and at
    the end (file name from :func:`nets.checkpoint.checkpoint_path`). With ``resume=True`` and
    an existing checkpoint, training continues from it (its configuration must match, except
    for the run length) and ends bit-identical to an uninterrupted run; without a checkpoint
    it starts fresh. Without ``resume``, an existing checkpoint is overwritten. A checkpoint that
    is truncated, altered, holds non-finite parameters or was written by other code is never
    resumed from (:func:`nets.checkpoint.read_checkpoint`): training starts fresh with a one-line
    warning, or, with ``strict_cache``, a stale one is refused (ValueError).

    BLAS runs on one thread (threadpoolctl): the stacked products are small, and a multithreaded
    BLAS only adds synchronisation (measured 4-8x slower on 2 cores). More cores: :mod:`nets.pool`.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    retain_freed_memory()
    ens, rngs = build_ensemble(config)
    params, adam = ens.params, adam_init(ens.params)
    losses = np.empty((config.batches, config.K))
    done = 0
    path = None if out_dir is None else checkpoint_path(out_dir, config)
    ckpt = read_checkpoint(path, expect=config, strict=strict_cache) if resume and path is not None else None
    if ckpt is not None:
        if ckpt.batches_done > config.batches:
            raise ValueError(f"batches={config.batches} is fewer than the {ckpt.batches_done} already done in {path}")
        params, adam, done = ckpt.params, ckpt.adam, ckpt.batches_done
        for g, state in zip(rngs, ckpt.rng_states):
            g.bit_generator.state = state
        losses[:done] = ckpt.losses
    nets = range(config.K)
    encoder = stack_encoders(ens.encoders, np.dtype(config.dtype))
    weights = loss_weights(config)
    arch = config.architecture
    models = [config.noise_model(k) for k in nets]
    start, first = time.perf_counter(), done
    bar = _progress_bar(config, done) if progress else None
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            while done < config.batches:
                n = min(SEGMENT, config.batches - done, config.checkpoint_every - done % config.checkpoint_every)
                for i in range(done, done + n):
                    u, y, noise = draw_batch(config, nets, ens.designs, rngs, encoder, arch, models)
                    params, adam, losses[i] = train_step(config, params, adam, u, y, noise, weights, arch)
                done += n
                if path is not None and done % config.checkpoint_every == 0 and done < config.batches:
                    save_checkpoint(path, Checkpoint(config, params, adam, _states(rngs), losses[:done], done))
                if bar is not None:
                    rate = config.K * (done - first) / max(time.perf_counter() - start, 1e-9)
                    bar.update(n)
                    bar.set_postfix(loss=f"{losses[done - n:done].mean():.4f}", net_batch_s=f"{rate:.0f}")
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    if path is not None:
        save_checkpoint(path, Checkpoint(config, params, adam, _states(rngs), losses[:done], done))
    rate = config.K * (done - first) / seconds if done > first else float("nan")
    return TrainResult(Ensemble(config, params, ens.encoders, ens.designs), adam, losses, seconds, rate, path,
                       _states(rngs))


def _states(rngs: list) -> tuple:
    return tuple(g.bit_generator.state for g in rngs)


def _progress_bar(config: TrainConfig, done: int):
    from tqdm import tqdm
    return tqdm(total=config.batches, initial=done, unit="batch", desc=f"training {config.K} nets",
                file=sys.stderr, mininterval=0.5)


#: --timeline choices: (config timeline, loss) of the reference (a fixed stimulus period, then a
#: decision step, BCE) and of free reaction time (bounded accumulators, MSE).
TIMELINE_CHOICES = {"fixed": ("fixed", "bce_sigmoid"), "free_rt": ("free", "mse_tanh5")}
#: The hidden old spelling --task and its values.
OLD_TASK_VALUES = {"reference": "fixed", "free_rt": "free_rt"}
#: Architecture options of the command line: flag destination -> configuration field (None: not given).
ARCH_FLAGS = {"hidden": "hidden", "activation": "activation", "alpha": "alpha", "rec_noise": "rec_noise",
              "d_model": "d_model", "n_head": "n_head", "d_mlp": "d_mlp", "dropout": "dropout"}


def build_parser():
    p = base_parser(__doc__, "python -m nets.train", out=None, workers=True, dask=True, allow_large=True,
                    allow_long=True)
    p.add_argument("--arch", choices=ARCHS, default="rnn", help="network architecture (default rnn)")
    p.add_argument("--ntask", type=int, nargs="+", default=[24],
                   help="task count(s) N (a task is one boundary); --networks networks for each")
    p.add_argument("--networks", type=int, default=1, help="networks per task count (default 1)")
    p.add_argument("--batches", type=int, default=100_000, help="training batches (default 100000)")
    p.add_argument("--batch-size", type=int, default=16, help="trials per batch (default 16)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--encoder", choices=ENCODERS, default="mlp",
                   help="input encoder f, drawn per network (default mlp)")
    p.add_argument("--sigma", type=float, nargs="+", default=[0.2],
                   help="evidence noise sd per step (one, or one per task count; default 0.2)")
    p.add_argument("--D", type=int, default=2, help="latent dimensions (default 2)")
    p.add_argument("--design", choices=DESIGN_CHOICES, default="even",
                   help="boundary design (default even, which needs D = 2; auto: even for D = 2, random otherwise)")
    p.add_argument("--timeline", default="fixed", choices=list(TIMELINE_CHOICES),
                   help="fixed (the reference): fixation, 20 stimulus steps, a decision step, BCE; free_rt: "
                        "20 steps, bounded accumulators, MSE (default fixed)")
    p.add_argument("--task", choices=list(OLD_TASK_VALUES), default=None, help=argparse.SUPPRESS)
    w = p.add_argument_group("world variants (default: the reference world)")
    w.add_argument("--boundaries", choices=BOUNDARIES, default="linear",
                   help="task boundaries: linear (Theorem 3.1) or the reference's multiplicative x1 x2 > +-thr per "
                        "quadrant (outside the theorem; ntask a multiple of 4)")
    w.add_argument("--prior", choices=PRIORS, default="uniform",
                   help="latent prior: uniform cube, or a Gaussian copula with uniform marginals (--rho)")
    w.add_argument("--rho", type=float, default=0.0, help="copula correlation of z, |rho| < 1 (default 0)")
    w.add_argument("--noise", choices=NOISES, default="gaussian", help="evidence noise model (default gaussian)")
    w.add_argument("--aniso-scales", dest="aniso_scales", type=float, nargs="+", default=None,
                   help="anisotropic noise: D per-axis multipliers of sigma (default "
                        f"{' '.join(f'{v:g}' for v in ANISO_SCALES)}, the reference's)")
    w.add_argument("--ar1-a", dest="ar1_a", type=float, default=None,
                   help=f"AR(1) noise coefficient, |a| < 1 (default {AR1_A:g}, the reference's)")
    p.add_argument("--dtype", choices=DTYPES, default="float32", help="training precision (default float32)")
    p.add_argument("--checkpoint-every", type=int, default=5000, help="batches between checkpoints (default 5000)")
    p.add_argument("--fresh", action="store_true",
                   help="start over even if --out holds networks of this configuration (by default a rerun "
                        "with the same --out resumes them, or loads them when finished)")
    p.add_argument("--strict-cache", action="store_true",
                   help="refuse (exit 2) a checkpoint written by other code instead of retraining with a warning")
    p.add_argument("--stack-size", dest="stack_size", type=int, default=None,
                   help="networks per stack trained together in one process (default: the networks left / "
                        "workers; results do not depend on it)")
    a = p.add_argument_group("architecture options (default: the reference values of --arch)")
    a.add_argument("--hidden", type=int, default=None, help="rnn, lstm: hidden units (default 64)")
    a.add_argument("--activation", choices=ACTIVATIONS, default=None, help="rnn: phi (default relu)")
    a.add_argument("--alpha", type=float, default=None, help="rnn: dt / tau in (0, 1] (default 1)")
    a.add_argument("--non-leaky", action="store_true", help="rnn: r_t = r_{t-1} + alpha phi(a_t)")
    a.add_argument("--rec-noise", type=float, default=None, help="rnn: sd of the recurrent noise (default 0)")
    a.add_argument("--d-model", type=int, default=None, help="transformer: residual width (default 64)")
    a.add_argument("--n-head", type=int, default=None, help="transformer: attention heads (default 8)")
    a.add_argument("--d-mlp", type=int, default=None, help="transformer: MLP width (default 256)")
    a.add_argument("--dropout", type=float, default=None, help="transformer: dropout rate in training (default 0.1)")
    # old spellings, kept working for one release but out of --help
    p.add_argument("--noise-scales", dest="aniso_scales", type=float, nargs="+", help=argparse.SUPPRESS)
    p.add_argument("--noise-a", dest="ar1_a", type=float, help=argparse.SUPPRESS)
    p.add_argument("--group-size", dest="stack_size", type=int, help=argparse.SUPPRESS)
    return p


def config_from_args(args) -> TrainConfig:
    """The TrainConfig of parsed command-line arguments (ValueError naming the bad parameter)."""
    timeline, loss = TIMELINE_CHOICES[OLD_TASK_VALUES[args.task] if args.task is not None else args.timeline]
    net = _net_options(args)
    return ensemble_config(ntask=args.ntask, networks=args.networks, sigma=args.sigma, arch=args.arch,
                           batches=args.batches, batch_size=args.batch_size, lr=args.lr, encoder=args.encoder,
                           D=args.D, design=args.design, timeline=timeline, loss=loss, dtype=args.dtype,
                           seed=args.seed, checkpoint_every=args.checkpoint_every, boundaries=args.boundaries,
                           prior=args.prior, rho=args.rho, noise=args.noise,
                           aniso_scales=None if args.aniso_scales is None else tuple(args.aniso_scales),
                           ar1_a=args.ar1_a, **net)


def _net_options(args) -> dict:
    """The architecture options given on the command line (UsageError for one of another architecture)."""
    net = {field: getattr(args, dest) for dest, field in ARCH_FLAGS.items() if getattr(args, dest) is not None}
    if args.non_leaky:
        net["leaky"] = False
    own = {f.name for f in fields(arch_config_class(args.arch))}
    flag = {**{field: "--" + dest.replace("_", "-") for dest, field in ARCH_FLAGS.items()}, "leaky": "--non-leaky"}
    for field in net:
        if field not in own:
            raise UsageError(f"{flag[field]} does not apply to --arch {args.arch} (its options: "
                             f"{', '.join(sorted(flag[f] for f in own if f in flag))})")
    return net


def training_terms(arch, K: int, batches: int, batch_size: int, n_steps: int, n_in: int, n_out: int,
                   itemsize: int, label: str) -> dict:
    """Size-guard terms of training K networks of ``arch`` at once (:func:`infra.guard.check_terms`).

    The architecture's own terms for one network (:meth:`nets.architecture.Architecture.training_terms`)
    times K (``label`` says what makes K, e.g. ``"--networks=5 x 2 task counts"``), and the loss
    history: one float64 per network and batch (``--batches``).
    """
    terms = ensemble_terms(arch.training_terms(batch_size, n_steps, n_in, n_out, itemsize), K, label)
    terms[f"--batches={batches} x {label}" if K > 1 else f"--batches={batches}"] = 8.0 * batches * K
    return terms


def training_seconds(arch, K: int, batches: int, batch_size: int, n_steps: int, n_in: int, n_out: int) -> float:
    """Estimated seconds to train K networks of ``arch`` on one core, at its conservative ``flops_per_second``."""
    return K * batches * arch.training_flops(batch_size, n_steps, n_in, n_out) / arch.flops_per_second


def check_size(args) -> None:
    """Refuse, before anything is built, a request whose memory cannot fit this machine (--allow-large
    skips) or whose estimated time exceeds a week (--allow-long skips)."""
    for name in ("networks", "batch_size", "batches"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')}={getattr(args, name)} must be >= 1")
    if any(n < 1 for n in args.ntask):
        raise UsageError(f"--ntask={args.ntask} must hold integers >= 1")
    arch = build_architecture(args.arch, arch_config_class(args.arch)(**_net_options(args)))
    n_in = (args.D if args.encoder == "identity" else MLP_WIDTHS[-1]) + 1
    steps = TIMELINE_STEPS[args.timeline if args.task is None else OLD_TASK_VALUES[args.task]]
    K = args.networks * len(args.ntask)           # all K networks' parameters and activations are live at once
    label = f"--networks={args.networks} x {len(args.ntask)} task counts"
    size = (arch, K, args.batches, args.batch_size, steps, n_in, max(args.ntask))
    check_terms(training_terms(*size, np.dtype(args.dtype).itemsize, label),
                "training activations, parameters and loss history", allow_large=args.allow_large)
    check_time(training_seconds(*size), f"--batches={args.batches} x {label}",
               f"{args.arch} at {arch.flops_per_second:.0e} FLOP/s", allow_long=args.allow_long)


#: Steps of a trial on each --timeline at the default 20 stimulus steps, for the estimates.
TIMELINE_STEPS = {"fixed": 22, "free_rt": 20}


def _body(args) -> dict:
    from nets.pool import forget_networks, trained_networks   # nets.pool builds on train(): imported late
    check_size(args)
    config = config_from_args(args)
    remote = args.dask not in (None, "local")
    if remote and args.workers is not None:
        raise UsageError(f"--workers={args.workers} has no effect with --dask {args.dask} (the cluster decides)")
    workers = None if remote else min(check_workers(args.workers, minimum=1), config.K)
    if args.stack_size is not None and args.stack_size < 1:
        raise UsageError(f"--stack-size={args.stack_size} must be >= 1")
    if not args.json:
        print(f"configuration: arch={config.arch} {config.net}, K={config.K} networks, "
              f"ntask={sorted(set(config.ntask))}, seed={config.seed}, dtype={config.dtype}, "
              f"batches={config.batches}, workers={workers}", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        cache = args.out if args.out is not None else stack.enter_context(tempfile.TemporaryDirectory())
        if args.fresh:
            forget_networks(config, cache)
        _, summary = trained_networks(config, cache, show_progress(args), workers, args.dask,
                                      stack_size=args.stack_size, strict_cache=args.strict_cache)
    return {"config": config.to_dict(), "seconds": summary["seconds"],
            "network_batches_per_second": summary["network_batches_per_second"],
            "final_loss": summary["final_loss"], "checkpoints": summary["checkpoints"] if args.out else None,
            "blas": blas_kernels()}


def _render(summary: dict) -> str:
    rate = summary["network_batches_per_second"]
    where = summary["checkpoints"]
    return "\n".join([f"seconds: {summary['seconds']:.2f}",
                      "network batches per second: " + ("- (loaded, nothing trained)" if rate is None or rate != rate
                                                        else f"{rate:.1f}"),
                      "final loss per network: " + " ".join(f"{v:.4f}" for v in summary["final_loss"]),
                      "checkpoints: " + ("none (no --out)" if where is None else " ".join(where))])


def main(argv=None) -> int:
    return run_main(build_parser(), argv, _body, _render)


if __name__ == "__main__":
    raise SystemExit(main())
