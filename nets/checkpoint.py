"""Training checkpoints: one atomically written ``.npz`` holding everything needed to resume exactly.

A checkpoint stores the full configuration (JSON), the stacked parameters, the Adam moments
and step, every network's data-stream RNG state (JSON of ``bit_generator.state``), the loss
history and the number of batches done. Because it is a single file written atomically
(:func:`infra.records.write_npz_record`), a run killed at any moment leaves either the previous
checkpoint or the new one, never a mixture. The file name is keyed by the hash of the
configuration without its run-length fields, so a longer run of the same configuration
resumes from a shorter one.

Every checkpoint is a record (:mod:`infra.records`): it carries the toolkit version, a
fingerprint of the code that trains networks (:data:`CODE`: the sources the trainer imports within
``nets``, ``theory`` and ``infra``) and a checksum over every array (parameters, Adam moments, losses and the JSON
of the configuration and RNG states). :func:`read_checkpoint` never resumes from a file that is
truncated, altered, holds non-finite parameters, or was written by other code: it warns in one
line and the caller starts afresh (or, with ``strict=True``, a stale file is refused).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infra.adam import AdamState
from nets.config import RUN_LENGTH_FIELDS, TrainConfig, config_difference
from infra.records import (CORRUPT, ReadResult, check_usable, code_fingerprint, import_closure, read_npz_record,
                           write_npz_record)
from infra.store import config_hash

FORMAT_VERSION = 3               # 2: the configuration names its architecture (arch, net); 3: a record
#: The modules whose source decides what a checkpoint holds: what the trainer, the training pool and
#: this module import within nets, theory and infra (an edit there invalidates it; a module they do
#: not import, e.g. the frozen networks' evaluation or a closed form, does not).
CODE = import_closure(("nets.train", "nets.pool", "nets.checkpoint"), ("nets", "theory", "infra"))


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
    """Write ``ckpt`` to ``path`` atomically, as a record of :data:`CODE`."""
    names = ckpt.config.architecture.param_names
    arrays = {f"param_{k}": ckpt.params[k] for k in names}
    arrays.update({f"adam_m_{k}": ckpt.adam.m[k] for k in names})
    arrays.update({f"adam_v_{k}": ckpt.adam.v[k] for k in names})
    meta = {"format": FORMAT_VERSION, "config": ckpt.config.to_dict(), "adam_step": ckpt.adam.step,
            "rng_states": list(ckpt.rng_states), "batches_done": ckpt.batches_done}
    return write_npz_record(path, code_fingerprint(CODE), meta=np.array(json.dumps(meta)), losses=ckpt.losses,
                            **arrays)


def _must_be_finite(name: str) -> bool:
    """The arrays a usable checkpoint holds only finite numbers in: parameters and Adam moments."""
    return name.startswith(("param_", "adam_m_", "adam_v_"))


def read_checkpoint(path, expect: TrainConfig | None = None, strict: bool = False) -> Checkpoint | None:
    """The checkpoint at ``path``, or None when there is none usable (missing, or stale or corrupt:
    then a one-line warning; ``strict`` refuses a stale one with a ValueError instead).

    A configuration different from ``expect`` (beyond the run-length fields) is an error, not a
    reason to start afresh: the file name is keyed by the configuration, so it means a clash.
    """
    path = Path(path)
    result = read_npz_record(path, code_fingerprint(CODE), require_finite=_must_be_finite)
    if not check_usable(result, path, strict=strict):
        return None
    try:
        ckpt = _unpack(result.payload, path)
    except (KeyError, ValueError, TypeError) as exc:       # intact bytes, wrong contents: never used
        check_usable(ReadResult(CORRUPT, reason=f"schema: {exc}"), path)
        return None
    return _require_config(ckpt, path, expect)


def load_checkpoint(path, expect: TrainConfig | None = None) -> Checkpoint:
    """Read a checkpoint that must exist and be usable; if ``expect`` is given, refuse one whose
    configuration differs (only the run-length fields ``batches``, ``checkpoint_every`` may)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint={str(path)!r} does not exist")
    result = read_npz_record(path, code_fingerprint(CODE), require_finite=_must_be_finite)
    if not result.ok:
        raise ValueError(f"checkpoint={str(path)!r} is {result.status}: {result.reason}")
    return _require_config(_unpack(result.payload, path), path, expect)


def _unpack(f: dict, path: Path) -> Checkpoint:
    meta = json.loads(str(f["meta"]))
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"checkpoint={str(path)!r} has format {meta.get('format')}; expected {FORMAT_VERSION}")
    config = TrainConfig.from_dict(meta["config"])
    names = config.architecture.param_names
    params = {k: f[f"param_{k}"] for k in names}
    adam = AdamState(m={k: f[f"adam_m_{k}"] for k in names},
                     v={k: f[f"adam_v_{k}"] for k in names}, step=int(meta["adam_step"]))
    return Checkpoint(config=config, params=params, adam=adam, rng_states=tuple(meta["rng_states"]),
                      losses=f["losses"], batches_done=int(meta["batches_done"]))


def _require_config(ckpt: Checkpoint, path: Path, expect: TrainConfig | None) -> Checkpoint:
    if expect is not None:
        diff = config_difference(ckpt.config, expect)
        if diff:
            detail = "; ".join(f"{k}: checkpoint {a!r} vs requested {b!r}" for k, (a, b) in diff.items())
            raise ValueError(f"checkpoint={str(path)!r} was written by a different configuration ({detail})")
    return ckpt
