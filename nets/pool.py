"""Network training as tasks on a sweep executor, cached one network per file.

Network k of a :class:`nets.config.TrainConfig` is the one-network configuration
:func:`network_config` (ntask[k], sigma[k], first_network + k: the same random streams), so each
network is cached on its own, at ``cache_dir / b<batches> / train-<hash>.npz`` -- exactly where
``nets.train.train(network_config(config, k), out_dir=cache_dir / f"b{batches}")`` writes it. A
network trained anywhere (an earlier run, another machine's worker, ``python -m nets.train``) is
reused, and a run killed part-way resumes from the per-network files.

Networks with the same task count train stacked, in contiguous groups of at most ``group_size``;
stacking networks with equal ntask changes none of their arithmetic (nets.train), so the result
does not depend on the grouping, the executor, or where a network was trained. Each group is one
task :func:`train_group` on the executor (:func:`infra.engine.make_executor`: in-process, local
processes or Dask); it trains ``checkpoint_every`` batches at a time through ``nets.train.train``
and after every segment splits the group's checkpoint into the per-network files. Tasks also
return their finished checkpoints, which the caller stores when the worker's disk is not its own.

Entry points: :func:`train_networks` (config, cache_dir, executor, progress) -> Ensemble on an
executor you own, and :func:`trained_networks` (config, cache_dir, progress, workers,
dask_address) -> (Ensemble, summary), which makes the executor itself.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import sys
import time
from pathlib import Path

import numpy as np

from nets.checkpoint import Checkpoint, checkpoint_path, load_checkpoint, read_checkpoint, save_checkpoint
from nets.adam import AdamState
from nets.config import TrainConfig
from nets.ensemble import Ensemble, ensemble_with_params
from nets.stacking import stack_params
from nets.train import train
from infra.engine import InProcessExecutor, make_executor
from theory.world import check_positive_int

#: Sub-folder of a run-length folder where a group's stacked checkpoint lives while it trains.
GROUP_DIR = "groups"


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


def _batches_done(path: Path, config: TrainConfig) -> int:
    """Batches the network file at ``path`` holds: 0 when missing, or stale or corrupt (warned once)."""
    ckpt = read_checkpoint(path, expect=config)
    if ckpt is None:
        return 0
    done = ckpt.batches_done
    if done > config.batches:
        raise ValueError(f"{path} holds {done} batches, more than batches={config.batches}")
    return done


def groups(config: TrainConfig, group_size: int | None = None) -> list[range]:
    """Contiguous runs of networks with equal ntask, cut into groups of at most ``group_size``."""
    K = config.K
    group_size = K if group_size is None else check_positive_int("group_size", group_size)
    cuts = [0] + [k for k in range(1, K) if config.ntask[k] != config.ntask[k - 1]] + [K]
    out = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        out += [range(s, min(s + group_size, hi)) for s in range(lo, hi, group_size)]
    return out


def train_group(config_dict: dict, start: int, stop: int, cache_dir: str) -> list[Checkpoint]:
    """Train networks start..stop-1 of the configuration (a task for the executor; picklable arguments).

    Networks already finished in the cache are skipped. The others resume from their files: the
    maximal contiguous runs with the same number of batches done train stacked, their files merged
    into one stacked checkpoint first. Returns the finished one-network checkpoints, in order, so
    that the caller can store them where the worker's files are not visible (a remote cluster
    without a shared file system).
    """
    config = TrainConfig.from_dict(config_dict)
    paths = [network_path(cache_dir, config, k) for k in range(start, stop)]
    done = [_batches_done(p, network_config(config, k)) for p, k in zip(paths, range(start, stop))]
    k = 0
    while k < len(paths):
        j = k + 1
        while j < len(paths) and done[j] == done[k]:
            j += 1
        if done[k] < config.batches:
            _train_run(config, start + k, start + j, done[k], paths[k:j], Path(cache_dir))
        k = j
    return [load_checkpoint(p) for p in paths]


def _train_run(config: TrainConfig, start: int, stop: int, done: int, paths: list, cache_dir: Path) -> None:
    """Train networks start..stop-1 (all at ``done`` batches) stacked to ``config.batches``."""
    group_dir = run_dir(cache_dir, config) / GROUP_DIR
    sub = _sub_config(config, start, stop)
    group_path = checkpoint_path(group_dir, sub)
    # The per-network files are the truth: rebuild the stacked checkpoint from them (a group file
    # left by a killed task is at most one segment ahead and may come from another segmentation).
    if done > 0:
        save_checkpoint(group_path, _merge_checkpoints([load_checkpoint(p) for p in paths], sub))
    else:
        group_path.unlink(missing_ok=True)
    every = config.checkpoint_every
    while done < config.batches:
        target = min(config.batches, (done // every + 1) * every)
        train(_sub_config(config, start, stop, batches=target), out_dir=group_dir, resume=True, progress=False)
        ckpt = load_checkpoint(group_path)
        for j, p in enumerate(paths):
            save_checkpoint(p, _network_checkpoint(ckpt, j, network_config(config, start + j)))
        done = target
    group_path.unlink(missing_ok=True)


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


def train_networks(config: TrainConfig, cache_dir, executor: cf.Executor | None = None, progress: bool = True,
                   group_size: int | None = None) -> Ensemble:
    """Train (or load, or resume) every network of ``config`` as tasks on ``executor``; assemble them.

    Equal bit for bit to ``nets.train.train(config).ensemble`` when all networks share ntask (with
    mixed ntask, equal to the networks trained separately; ``train`` pads their read-outs, which
    changes the rounding of one sum). ``executor`` None runs in-process.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    executor = InProcessExecutor() if executor is None else executor
    unfinished = set(unfinished_networks(config, cache_dir))
    todo = [g for g in groups(config, group_size) if unfinished.intersection(g)]
    futures = {executor.submit(train_group, config.to_dict(), g.start, g.stop, str(cache_dir)): g for g in todo}
    bar = _bar(config, len(todo)) if progress and todo else None
    try:
        for future in cf.as_completed(futures):
            for k, ckpt in zip(futures[future], future.result()):
                path = network_path(cache_dir, config, k)
                if _batches_done(path, network_config(config, k)) != config.batches:  # not on a shared disk
                    save_checkpoint(path, ckpt)
            if bar is not None:
                bar.update(1)
    finally:
        for future in futures:
            future.cancel()
        if bar is not None:
            bar.close()
    return load_networks(config, cache_dir)


def unfinished_networks(config: TrainConfig, cache_dir) -> list[int]:
    """Indices k of the networks of ``config`` not yet trained to ``config.batches`` in ``cache_dir``
    (e.g. to skip starting a cluster when there is nothing to train)."""
    return [k for k in range(config.K)
            if _batches_done(network_path(cache_dir, config, k), network_config(config, k)) < config.batches]


def load_networks(config: TrainConfig, cache_dir) -> Ensemble:
    """The ensemble of ``config`` from its per-network files (all must be finished)."""
    params = []
    for k in range(config.K):
        path = network_path(cache_dir, config, k)
        if _batches_done(path, network_config(config, k)) != config.batches:
            raise ValueError(f"network {k} of the configuration is not trained to batches={config.batches} "
                             f"in {path}")
        p = load_checkpoint(path).params
        params.append({name: a[0] for name, a in p.items()})
    arch = config.architecture
    return ensemble_with_params(config, stack_params(params, arch.param_names, arch.readout_names))


def networks_summary(config: TrainConfig, cache_dir) -> dict:
    """``checkpoints`` (one file per network) and ``final_loss`` (mean of each network's last
    ``nets.train.FINAL_LOSS_WINDOW`` batch losses) of trained networks."""
    from nets.train import FINAL_LOSS_WINDOW
    paths = [network_path(cache_dir, config, k) for k in range(config.K)]
    losses = [load_checkpoint(p).losses[-FINAL_LOSS_WINDOW:, 0] for p in paths]
    return {"checkpoints": [str(p) for p in paths],
            "final_loss": [float(L.mean()) if len(L) else float("nan") for L in losses]}


def trained_networks(config: TrainConfig, cache_dir, progress: bool = True, workers: int | None = None,
                     dask_address: str | None = None) -> tuple[Ensemble, dict]:
    """Train what is missing on a new executor, then return (Ensemble, summary).

    ``workers`` local processes (default: the CPU count, capped at the networks left), or Dask
    workers with ``dask_address="local"``; with a remote ``dask_address`` leave ``workers`` None.
    Groups hold ceil(networks left / workers) networks (one network per task on a remote cluster).
    No executor is started when every network is cached. The summary has ``checkpoints`` and
    ``final_loss`` (:func:`networks_summary`), ``seconds`` (this call) and
    ``network_batches_per_second`` (nan when nothing was trained).
    """
    start = time.perf_counter()
    todo = unfinished_networks(config, cache_dir)
    if todo:
        remote = dask_address not in (None, "local")
        n = None if remote else min((os.cpu_count() or 1) if workers is None else workers, len(todo))
        size = 1 if remote else -(-len(todo) // max(n, 1))
        with make_executor(n if not remote else workers, dask_address) as executor:
            ens = train_networks(config, cache_dir, executor, progress, group_size=size)
    else:
        ens = load_networks(config, cache_dir)
    seconds = time.perf_counter() - start
    rate = len(todo) * config.batches / seconds if todo else float("nan")
    return ens, {**networks_summary(config, cache_dir), "seconds": seconds, "network_batches_per_second": rate}


def _bar(config: TrainConfig, n_groups: int):
    from tqdm import tqdm
    return tqdm(total=n_groups, unit="group", desc=f"training {config.K} nets", file=sys.stderr, mininterval=0.5)
