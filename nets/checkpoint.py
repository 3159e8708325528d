"""Training checkpoints: one atomically written ``.npz`` holding everything needed to resume exactly.

A checkpoint stores the full configuration (JSON), the stacked parameters, the Adam moments
and step, every network's data-stream RNG state (JSON of ``bit_generator.state``), the loss
history and the number of batches done. Because it is a single file written with
:func:`infra.store.atomic_save_npz`, a run killed at any moment leaves either the previous
checkpoint or the new one, never a mixture. The file name is keyed by the hash of the
configuration without its run-length fields, so a longer run of the same configuration
resumes from a shorter one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nets.adam import AdamState
from nets.config import RUN_LENGTH_FIELDS, TrainConfig, config_difference
from infra.store import atomic_save_npz, config_hash

FORMAT_VERSION = 2               # 2: the configuration names its architecture (arch, net)


@dataclass(frozen=True)
class Checkpoint:
    """The resumable state of an ensemble after ``batches_done`` batches.

    Attributes
    ----------
    losses : ndarray, shape (batches_done, K), per-batch training loss of each network
    rng_states : tuple of dict, the data-stream ``bit_generator.state`` of each network
    """

    config: TrainConfig
    params: dict
    adam: AdamState
    rng_states: tuple
    losses: np.ndarray
    batches_done: int


def checkpoint_path(out_dir, config: TrainConfig) -> Path:
    """``out_dir / "train-<hash>.npz"``, the hash ignoring the run-length fields."""
    key = {k: v for k, v in config.to_dict().items() if k not in RUN_LENGTH_FIELDS}
    return Path(out_dir) / f"train-{config_hash(key)}.npz"


def save_checkpoint(path, ckpt: Checkpoint) -> Path:
    """Write ``ckpt`` to ``path`` atomically."""
    names = ckpt.config.architecture.param_names
    arrays = {f"param_{k}": ckpt.params[k] for k in names}
    arrays.update({f"adam_m_{k}": ckpt.adam.m[k] for k in names})
    arrays.update({f"adam_v_{k}": ckpt.adam.v[k] for k in names})
    meta = {"format": FORMAT_VERSION, "config": ckpt.config.to_dict(), "adam_step": ckpt.adam.step,
            "rng_states": list(ckpt.rng_states), "batches_done": ckpt.batches_done}
    return atomic_save_npz(path, meta=np.array(json.dumps(meta)), losses=ckpt.losses, **arrays)


def load_checkpoint(path, expect: TrainConfig | None = None) -> Checkpoint:
    """Read a checkpoint; if ``expect`` is given, refuse one whose configuration differs.

    Only the run-length fields (``batches``, ``checkpoint_every``) may differ.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint={str(path)!r} does not exist")
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["meta"]))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"checkpoint={str(path)!r} has format {meta.get('format')}; expected {FORMAT_VERSION}")
        config = TrainConfig.from_dict(meta["config"])
        names = config.architecture.param_names
        params = {k: f[f"param_{k}"] for k in names}
        adam = AdamState(m={k: f[f"adam_m_{k}"] for k in names},
                         v={k: f[f"adam_v_{k}"] for k in names}, step=int(meta["adam_step"]))
        losses = f["losses"]
    if expect is not None:
        diff = config_difference(config, expect)
        if diff:
            detail = "; ".join(f"{k}: checkpoint {a!r} vs requested {b!r}" for k, (a, b) in diff.items())
            raise ValueError(f"checkpoint={str(path)!r} was written by a different configuration ({detail})")
    return Checkpoint(config=config, params=params, adam=adam, rng_states=tuple(meta["rng_states"]),
                      losses=losses, batches_done=int(meta["batches_done"]))
