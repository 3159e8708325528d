"""Files for long runs: configuration hashes and atomic writes.

Long runs (training, sweeps) key their results by a hash of their full configuration, so a
rerun finds what is already done, and write every file atomically (write to a temporary file in
the same folder, then ``os.replace``), so an interrupted run never leaves a half-written file.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def jsonable(obj):
    """``json.dumps`` default: numpy arrays and scalars, sets and dataclasses as plain JSON."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if hasattr(obj, "__dataclass_fields__"):
        return {k: getattr(obj, k) for k in obj.__dataclass_fields__}
    raise TypeError(f"cannot serialise {type(obj).__name__} into a configuration")


def finite_json(obj):
    """``obj`` with every non-finite float (nan, inf) replaced by None, so that it is strict JSON.

    Examples
    --------
    >>> finite_json({"a": [1.0, float("inf")], "b": float("nan")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        return None
    return obj


def canonical_json(config) -> str:
    """Deterministic JSON of a configuration (sorted keys, numpy and dataclasses converted)."""
    return json.dumps(config, sort_keys=True, default=jsonable, separators=(",", ":"))


def config_hash(config, length: int = 16) -> str:
    """Hex SHA-256 of :func:`canonical_json` (first ``length`` characters).

    Examples
    --------
    >>> config_hash({"a": 1, "b": [2, 3]}) == config_hash({"b": [2, 3], "a": 1})
    True
    """
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:length]


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path, obj) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(finite_json(json.loads(json.dumps(obj, default=jsonable))), indent=2, sort_keys=True,
                      allow_nan=False) + "\n"
    return atomic_write_bytes(path, text.encode())


def csv_bytes(rows) -> bytes:
    """Rows (dicts) as CSV: columns in first-seen order over all rows, missing cells empty.

    Examples
    --------
    >>> csv_bytes([{"a": 1}, {"a": 2, "b": 3}]).decode().splitlines()
    ['a,b', '1,', '2,3']
    """
    rows = list(rows)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def atomic_save_npz(path, **arrays) -> Path:
    """``numpy.savez`` to ``path``, atomically."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())
