"""Network training as tasks on a sweep executor, cached one network per file.

Network k of a :class:`nets.config.TrainConfig` is the one-network configuration
:func:`network_config` (ntask[k], sigma[k], first_network + k: the same random streams), so each
network is cached on its own, at ``cache_dir / b<batches> / train-<hash>.npz`` -- exactly where
``nets.train.train(network_config(config, k), out_dir=cache_dir / f"b{batches}")`` writes it. A
network trained anywhere (an earlier run, another machine's worker, ``python -m nets.train``) is
reused, and a run killed part-way resumes from the per-network files.

This is the one parallel training path (``python -m nets.train`` and the network checks both
use it). Networks with the same task count train stacked, in contiguous stacks of at most
``stack_size``; stacking networks with equal ntask changes none of their arithmetic (nets.train),
so the result does not depend on the stacking, the executor, or where a network was trained. Each
stack is one task :func:`train_stack` on the executor (:func:`infra.engine.make_executor`:
in-process, local processes or Dask); it trains ``checkpoint_every`` batches at a time through
``nets.train.train`` and after every segment splits the stack's checkpoint into the per-network
files. Tasks return their finished checkpoints, which the caller keeps (no second read) and stores
when the worker's disk is not its own. Each network file is read once per call.

Entry points: :func:`train_networks` (config, cache_dir, executor, progress) -> (Ensemble,
checkpoints) on an executor you own, and :func:`trained_networks` (config, cache_dir, progress,
workers, dask_address) -> (Ensemble, summary), which makes the executor itself.
"""
from __future__ import annotations

import concurrent.futures as cf
import sys
import time
from pathlib import Path

import numpy as np

from nets.checkpoint import Checkpoint, checkpoint_path, read_checkpoint, save_checkpoint
from infra.adam import AdamState
from nets.config import TrainConfig
from nets.ensemble import Ensemble, ensemble_with_params
from nets.stacking import stack_params
from nets.train import FINAL_LOSS_WINDOW, train
from infra.cli import cpu_count
from infra.engine import InProcessExecutor, make_executor
from theory.world import check_positive_int

#: Sub-folder of a run-length folder where a stack's checkpoint lives while it trains.
STACK_DIR = "stacks"


def network_config(config: TrainConfig, k: int) -> TrainConfig:
    """The one-network configuration that reproduces network k of ``config``."""
    if not 0 <= k < config.K:
        raise ValueError(f"k={k} must be in 0..{config.K - 1}")
    return _sub_config(config, k, k + 1)


def _sub_config(config: TrainConfig, start: int, stop: int, batches: int | None = None) -> TrainConfig:
    d = config.to_dict()
    d.update(ntask=config.ntask[start:stop], sigma=config.sigma[start:stop],
             first_network=config.first_network + start)
    if batches is not None:
        d["batches"] = batches
    return TrainConfig.from_dict(d)


def run_dir(cache_dir, config: TrainConfig) -> Path:
    """``cache_dir / b<batches>``: networks of one run length (a checkpoint holds only its last state)."""
    return Path(cache_dir) / f"b{config.batches}"


def network_path(cache_dir, config: TrainConfig, k: int) -> Path:
    """The cache file of network k of ``config``."""
    return checkpoint_path(run_dir(cache_dir, config), network_config(config, k))


def _read(path: Path, config: TrainConfig, strict: bool = False) -> Checkpoint | None:
    """The network file at ``path`` (one read), or None when missing, or stale or corrupt (warned once)."""
    ckpt = read_checkpoint(path, expect=config, strict=strict)
    if ckpt is not None and ckpt.batches_done > config.batches:
        raise ValueError(f"{path} holds {ckpt.batches_done} batches, more than batches={config.batches}")
    return ckpt


def _done(ckpt: Checkpoint | None) -> int:
    return 0 if ckpt is None else ckpt.batches_done


def stacks(config: TrainConfig, stack_size: int | None = None) -> list[range]:
    """Contiguous runs of networks with equal ntask, cut into stacks of at most ``stack_size``."""
    K = config.K
    stack_size = K if stack_size is None else check_positive_int("stack_size", stack_size)
    cuts = [0] + [k for k in range(1, K) if config.ntask[k] != config.ntask[k - 1]] + [K]
    out = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        out += [range(s, min(s + stack_size, hi)) for s in range(lo, hi, stack_size)]
    return out


def train_stack(config_dict: dict, start: int, stop: int, cache_dir: str) -> list[Checkpoint]:
    """Train networks start..stop-1 of the configuration (a task for the executor; picklable arguments).

    Networks already finished in the cache are skipped. The others resume from their files: the
    maximal contiguous runs with the same number of batches done train stacked, their files merged
    into one stacked checkpoint first. Each file is read once. Returns the finished one-network
    checkpoints, in order, so that the caller needs no second read, and can store them where the
    worker's files are not visible (a remote cluster without a shared file system).
    """
    config = TrainConfig.from_dict(config_dict)
    paths = [network_path(cache_dir, config, k) for k in range(start, stop)]
    ckpts = [_read(p, network_config(config, k)) for p, k in zip(paths, range(start, stop))]
    k = 0
    while k < len(paths):
        j = k + 1
        while j < len(paths) and _done(ckpts[j]) == _done(ckpts[k]):
            j += 1
        if _done(ckpts[k]) < config.batches:
            ckpts[k:j] = _train_run(config, start + k, start + j, ckpts[k:j], paths[k:j], Path(cache_dir))
        k = j
    return ckpts


def _train_run(config: TrainConfig, start: int, stop: int, ckpts: list, paths: list, cache_dir: Path) -> list:
    """Train networks start..stop-1 (all at the same batches done, ``ckpts`` None when 0) stacked to
    ``config.batches``; returns their final one-network checkpoints."""
    stack_dir = run_dir(cache_dir, config) / STACK_DIR
    sub = _sub_config(config, start, stop)
    stack_path = checkpoint_path(stack_dir, sub)
    done = _done(ckpts[0])
    # The per-network files are the truth: rebuild the stacked checkpoint from them (a stack file
    # left by a killed task is at most one segment ahead and may come from another segmentation).
    if done > 0:
        save_checkpoint(stack_path, _merge_checkpoints(ckpts, sub))
    else:
        stack_path.unlink(missing_ok=True)
    every = config.checkpoint_every
    while done < config.batches:
        target = min(config.batches, (done // every + 1) * every)
        result = train(_sub_config(config, start, stop, batches=target), out_dir=stack_dir, resume=True,
                       progress=False)
        ckpt = Checkpoint(result.config, result.ensemble.params, result.adam, result.rng_states,
                          result.losses[:target], target)
        ckpts = [_network_checkpoint(ckpt, j, network_config(config, start + j)) for j in range(len(paths))]
        for p, c in zip(paths, ckpts):
            save_checkpoint(p, c)
        done = target
    stack_path.unlink(missing_ok=True)
    return ckpts


def _network_checkpoint(ckpt: Checkpoint, j: int, config: TrainConfig) -> Checkpoint:
    """Network j of a stacked checkpoint as a one-network checkpoint of ``config``."""
    sl = slice(j, j + 1)
    adam = AdamState({k: m[sl] for k, m in ckpt.adam.m.items()}, {k: v[sl] for k, v in ckpt.adam.v.items()},
                     ckpt.adam.step)
    return Checkpoint(config, {k: p[sl] for k, p in ckpt.params.items()}, adam, (ckpt.rng_states[j],),
                      ckpt.losses[:, sl], ckpt.batches_done)


def _merge_checkpoints(ckpts: list, config: TrainConfig) -> Checkpoint:
    """One stacked checkpoint of ``config`` from per-network ones (equal ntask and batches done)."""
    cat = lambda dicts: {k: np.concatenate([d[k] for d in dicts]) for k in dicts[0]}
    adam = AdamState(cat([c.adam.m for c in ckpts]), cat([c.adam.v for c in ckpts]), ckpts[0].adam.step)
    return Checkpoint(config, cat([c.params for c in ckpts]), adam, tuple(c.rng_states[0] for c in ckpts),
                      np.concatenate([c.losses for c in ckpts], axis=1), ckpts[0].batches_done)


def scan_networks(config: TrainConfig, cache_dir, strict_cache: bool = False) -> list:
    """Each network's cache file read once: its Checkpoint, or None when missing or unusable (warned)."""
    return [_read(network_path(cache_dir, config, k), network_config(config, k), strict_cache)
            for k in range(config.K)]


def train_networks(config: TrainConfig, cache_dir, executor: cf.Executor | None = None, progress: bool = True,
                   stack_size: int | None = None, cached: list | None = None) -> tuple[Ensemble, list]:
    """Train (or load, or resume) every network of ``config`` as tasks on ``executor``; assemble them.

    Equal bit for bit to ``nets.train.train(config).ensemble`` when all networks share ntask (with
    mixed ntask, equal to the networks trained separately; ``train`` pads their read-outs, which
    changes the rounding of one sum). ``executor`` None runs in-process. ``cached`` is
    :func:`scan_networks` of this configuration when the caller has read it already.
    Returns the ensemble and every network's final checkpoint.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    executor = InProcessExecutor() if executor is None else executor
    ckpts = scan_networks(config, cache_dir) if cached is None else list(cached)
    unfinished = {k for k, c in enumerate(ckpts) if _done(c) < config.batches}
    todo = [g for g in stacks(config, stack_size) if unfinished.intersection(g)]
    before = {k: _stat(network_path(cache_dir, config, k)) for k in unfinished}
    futures = {executor.submit(train_stack, config.to_dict(), g.start, g.stop, str(cache_dir)): g for g in todo}
    bar = _bar(config, len(todo)) if progress and todo else None
    try:
        for future in cf.as_completed(futures):
            for k, ckpt in zip(futures[future], future.result()):
                path = network_path(cache_dir, config, k)
                if k in unfinished and _stat(path) == before[k]:   # the worker's disk is not this one
                    save_checkpoint(path, ckpt)
                ckpts[k] = ckpt
            if bar is not None:
                bar.update(1)
    finally:
        for future in futures:
            future.cancel()
        if bar is not None:
            bar.close()
    return assemble(config, ckpts), ckpts


def _stat(path: Path):
    """(size, mtime in ns) of a file, or None: whether a task wrote it, without reading it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


def unfinished_networks(config: TrainConfig, cache_dir) -> list[int]:
    """Indices k of the networks of ``config`` not yet trained to ``config.batches`` in ``cache_dir``
    (e.g. to skip starting a cluster when there is nothing to train)."""
    return [k for k, c in enumerate(scan_networks(config, cache_dir)) if _done(c) < config.batches]


def forget_networks(config: TrainConfig, cache_dir) -> None:
    """Delete the cache files of the networks of ``config`` (a fresh start)."""
    for k in range(config.K):
        network_path(cache_dir, config, k).unlink(missing_ok=True)


def assemble(config: TrainConfig, ckpts: list) -> Ensemble:
    """The ensemble of ``config`` from its networks' finished one-network checkpoints."""
    for k, c in enumerate(ckpts):
        if _done(c) != config.batches:
            raise ValueError(f"network {k} of the configuration is not trained to batches={config.batches}")
    params = [{name: a[0] for name, a in c.params.items()} for c in ckpts]
    arch = config.architecture
    return ensemble_with_params(config, stack_params(params, arch.param_names, arch.readout_names))


def load_networks(config: TrainConfig, cache_dir) -> Ensemble:
    """The ensemble of ``config`` from its per-network files (all must be finished; each read once)."""
    return assemble(config, scan_networks(config, cache_dir))


def networks_summary(config: TrainConfig, cache_dir, ckpts: list | None = None) -> dict:
    """``checkpoints`` (one file per network) and ``final_loss`` (mean of each network's last
    ``nets.train.FINAL_LOSS_WINDOW`` batch losses) of trained networks (``ckpts``: already read)."""
    ckpts = scan_networks(config, cache_dir) if ckpts is None else ckpts
    losses = [c.losses[-FINAL_LOSS_WINDOW:, 0] for c in ckpts]
    return {"checkpoints": [str(network_path(cache_dir, config, k)) for k in range(config.K)],
            "final_loss": [float(L.mean()) if len(L) else float("nan") for L in losses]}


def trained_networks(config: TrainConfig, cache_dir, progress: bool = True, workers: int | None = None,
                     dask_address: str | None = None, stack_size: int | None = None,
                     strict_cache: bool = False) -> tuple[Ensemble, dict]:
    """Train what is missing on a new executor, then return (Ensemble, summary). Each cache file is read once.

    ``workers`` local processes (default: the CPU count, capped at the networks left), or Dask
    workers with ``dask_address="local"``; with a remote ``dask_address`` leave ``workers`` None.
    Stacks hold ``stack_size`` networks (default: ceil(networks left / workers); one network per
    task on a remote cluster). No executor is started when every network is cached.
    ``strict_cache`` refuses (ValueError) a file written by other code instead of retraining it.
    The summary has ``checkpoints`` and ``final_loss`` (:func:`networks_summary`), ``seconds``
    (this call) and ``network_batches_per_second`` (nan when nothing was trained).
    """
    start = time.perf_counter()
    ckpts = scan_networks(config, cache_dir, strict_cache)
    todo = [k for k, c in enumerate(ckpts) if _done(c) < config.batches]
    if todo:
        remote = dask_address not in (None, "local")
        n = None if remote else min(cpu_count() if workers is None else workers, len(todo))
        size = stack_size if stack_size is not None else 1 if remote else -(-len(todo) // max(n, 1))
        with make_executor(n if not remote else workers, dask_address) as executor:
            ens, ckpts = train_networks(config, cache_dir, executor, progress, stack_size=size, cached=ckpts)
    else:
        ens = assemble(config, ckpts)
    seconds = time.perf_counter() - start
    rate = len(todo) * config.batches / seconds if todo else float("nan")
    return ens, {**networks_summary(config, cache_dir, ckpts), "seconds": seconds,
                 "network_batches_per_second": rate}


def _bar(config: TrainConfig, n_stacks: int):
    from tqdm import tqdm
    return tqdm(total=n_stacks, unit="stack", desc=f"training {config.K} nets", file=sys.stderr, mininterval=0.5)
