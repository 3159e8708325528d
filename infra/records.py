"""Cache integrity: every cached record says which code made it and proves it is intact.

A record (a sweep point, a checkpoint, a trained network) is stored with a header:

- ``toolkit``: the toolkit version (:data:`TOOLKIT_VERSION`);
- ``fingerprint``: :func:`code_fingerprint` of the packages or modules its result depends on
  (a hash of their source files), so editing a formula or a training step invalidates it;
- ``checksum``: SHA-256 of the canonical payload, so an altered, truncated or hand-edited file
  is detected.

Reading (:func:`read_record`, :func:`read_npz_record`) classifies what is found:
``missing`` (no file), ``corrupt`` (unreadable, truncated, empty, wrong checksum or schema:
never used), ``stale`` (intact but written by other code or another toolkit version) or
``ok``. A caller recomputes anything that is not ``ok``, warning in one line for stale and
corrupt records (:func:`warn_once`), or refuses a stale record under ``--strict-cache``
(:class:`StaleRecord`, a ValueError, so the CLIs exit 2).

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "r.json"
>>> _ = write_record(p, {"x": 1}, fingerprint="abc")
>>> read_record(p, fingerprint="abc").status, read_record(p, fingerprint="abd").status
('ok', 'stale')
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import io
import json
import sys
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from infra.store import atomic_write_bytes, atomic_write_json, canonical_json, finite_json

#: Version of the toolkit's record format and numerics; bump it to invalidate every cache.
TOOLKIT_VERSION = "0.2.0"
#: Statuses of a read: usable, no file, damaged (never used), intact but from other code.
OK, MISSING, CORRUPT, STALE = "ok", "missing", "corrupt", "stale"
#: Header keys of a JSON record (besides ``payload``) and of the ``__record__`` entry of an npz.
HEADER_KEYS = ("toolkit", "fingerprint", "checksum")


class StaleRecord(ValueError):
    """A cached record made by other code or another toolkit version, refused under --strict-cache."""


@dataclass(frozen=True)
class ReadResult:
    """What :func:`read_record` found: ``status`` (ok, missing, corrupt, stale), the payload when
    ``ok`` (else None) and ``reason``, a short text for the warning."""

    status: str
    payload: object = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK


def payload_checksum(payload) -> str:
    """Hex SHA-256 of the canonical JSON of ``payload`` (sorted keys, numpy converted)."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def _source_files(name: str) -> tuple[Path, list[Path]]:
    """(root folder, sorted .py files) of a package (every file below it) or a module (itself)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise ValueError(f"code_fingerprint: no module or package named {name!r}")
    if spec.submodule_search_locations:
        root = Path(list(spec.submodule_search_locations)[0])
        return root, sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    return Path(spec.origin).parent, [Path(spec.origin)]


@cache
def _fingerprint(names: tuple) -> str:
    h = hashlib.sha256(TOOLKIT_VERSION.encode())
    for name in names:
        root, files = _source_files(name)
        for path in files:
            h.update(f"\0{name}:{path.relative_to(root).as_posix()}\0".encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def import_closure(roots, packages) -> tuple:
    """The modules ``roots`` import, directly or not, within the top-level ``packages`` (roots and the
    packages' ``__init__`` modules included), found by reading their sources (nothing is imported).

    Packages appear as ``"<package>.__init__"``. A result that depends on what some code computes
    depends on exactly these sources, so
    ``code_fingerprint(import_closure(...))`` goes stale when one of them changes and stays valid when
    an unrelated module of the same package does (e.g. a new closed form beside the trainer).
    """
    packages = tuple(packages)
    roots = (roots,) if isinstance(roots, str) else tuple(roots)
    return _closure(roots, packages)


@cache
def _closure(roots: tuple, packages: tuple) -> tuple:
    def module_file(name):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        return None if spec is None or spec.origin in (None, "built-in") else Path(spec.origin)

    def wanted(name):
        return name.split(".")[0] in packages and module_file(name) is not None

    seen, todo = set(), [r for r in roots if wanted(r)]
    if len(todo) != len(roots):
        raise ValueError(f"roots={roots!r} must name modules of the packages {packages}")
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]          # parent packages' __init__
        path = module_file(name)
        package = name if path.name == "__init__.py" else ".".join(parts[:-1])
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names if wanted(a.name)]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:                                            # relative: from the package up
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                todo += [m for m in [base] + [f"{base}.{a.name}" for a in node.names] if m and wanted(m)]
    # a package stands for its __init__ alone (code_fingerprint would hash every file below a package)
    return tuple(sorted(f"{n}.__init__" if module_file(n).name == "__init__.py" else n for n in seen))


def code_fingerprint(names) -> str:
    """Hash of the source files of the named packages and modules (e.g. ``["theory", "optimal"]``).

    Computed once per process and name list; a package counts every ``.py`` file below it.
    """
    names = (names,) if isinstance(names, str) else tuple(names)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"names={names!r} must be a non-empty list of module or package names")
    return _fingerprint(tuple(sorted(set(names))))


def write_record(path, payload: dict, fingerprint: str) -> Path:
    """Write ``payload`` (a JSON-able dict) with the header keys beside its own, atomically.

    Non-finite floats are stored as null (strict JSON) and the checksum covers what is stored.
    """
    if not isinstance(payload, dict) or any(k in payload for k in HEADER_KEYS):
        raise ValueError(f"payload must be a dict without the keys {HEADER_KEYS}")
    stored = finite_json(json.loads(canonical_json(payload)))
    return atomic_write_json(path, {**stored, "toolkit": TOOLKIT_VERSION, "fingerprint": fingerprint,
                                    "checksum": payload_checksum(stored)})


def _classify(header: dict, checksum: str, fingerprint: str | None) -> ReadResult | None:
    """CORRUPT or STALE when the header says so, else None (the payload may be used)."""
    if isinstance(header, dict) and not any(k in header for k in HEADER_KEYS):
        return ReadResult(STALE, reason="written before records carried a header (an older toolkit)")
    if not isinstance(header, dict) or any(not isinstance(header.get(k), str) for k in HEADER_KEYS):
        return ReadResult(CORRUPT, reason=f"header lacks {list(HEADER_KEYS)}")
    if header["checksum"] != checksum:
        return ReadResult(CORRUPT, reason="checksum mismatch (the payload was altered or truncated)")
    if header["toolkit"] != TOOLKIT_VERSION:
        return ReadResult(STALE, reason=f"written by toolkit {header['toolkit']}, this is {TOOLKIT_VERSION}")
    if fingerprint is not None and header["fingerprint"] != fingerprint:
        return ReadResult(STALE, reason="written by different code (source fingerprint changed)")
    return None


def read_record(path, fingerprint: str | None = None, validate=None) -> ReadResult:
    """Read a record written by :func:`write_record`.

    Parameters
    ----------
    fingerprint : the code fingerprint the caller expects (None: do not compare)
    validate : optional callable(payload) raising ValueError when the payload breaks its schema
        (a record that fails it is ``corrupt``)
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ReadResult(MISSING, reason="no file")
    except OSError as exc:
        return ReadResult(CORRUPT, reason=f"unreadable ({exc.strerror or exc})")
    try:
        record = json.loads(raw)
    except ValueError:
        return ReadResult(CORRUPT, reason="not JSON (empty or truncated file)")
    if not isinstance(record, dict):
        return ReadResult(CORRUPT, reason="not a record (not a JSON object)")
    payload = {k: v for k, v in record.items() if k not in HEADER_KEYS}
    bad = _classify(record, payload_checksum(payload), fingerprint)
    if bad is not None:
        return bad
    if validate is not None:
        try:
            validate(payload)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return ReadResult(CORRUPT, reason=f"schema: {exc}")
    return ReadResult(OK, payload)


def _arrays_checksum(arrays: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def write_npz_record(path, fingerprint: str, **arrays) -> Path:
    """``numpy.savez`` of ``arrays`` plus a ``__record__`` header (toolkit, fingerprint, checksum
    over every array's name, dtype, shape and bytes: RNG states stored as arrays included), atomically."""
    if "__record__" in arrays:
        raise ValueError("'__record__' is reserved for the record header")
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    header = {"toolkit": TOOLKIT_VERSION, "fingerprint": fingerprint, "checksum": _arrays_checksum(arrays)}
    buf = io.BytesIO()
    np.savez(buf, __record__=np.array(json.dumps(header)), **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def read_npz_record(path, fingerprint: str | None = None, require_finite=()) -> ReadResult:
    """Read a record written by :func:`write_npz_record`; payload = {name: array}.

    ``require_finite`` names arrays that must hold only finite numbers (e.g. network parameters),
    or is a predicate on the names: a record with NaN or inf there is ``corrupt`` (never resumed
    from). The file is read once either way.
    """
    path = Path(path)
    if not path.exists():
        return ReadResult(MISSING, reason="no file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        return ReadResult(CORRUPT, reason=f"unreadable npz ({type(exc).__name__})")
    if "__record__" not in arrays:
        return ReadResult(STALE, reason="written before records carried a header (an older toolkit)")
    try:
        header = json.loads(str(arrays.pop("__record__")))
    except ValueError:
        return ReadResult(CORRUPT, reason="unreadable record header")
    bad = _classify(header, _arrays_checksum(arrays), fingerprint)
    if bad is not None:
        return bad
    if callable(require_finite):
        require_finite = [name for name in arrays if require_finite(name)]
    for name in require_finite:
        if name not in arrays:
            return ReadResult(CORRUPT, reason=f"array {name!r} missing")
        if not np.all(np.isfinite(arrays[name])):
            return ReadResult(CORRUPT, reason=f"array {name!r} holds NaN or inf")
    return ReadResult(OK, arrays)


def check_usable(result: ReadResult, path, strict: bool = False, stream=None) -> bool:
    """True when ``result`` may be used; else warn in one line (stale or corrupt) and return False.

    Under ``strict`` a stale record raises :class:`StaleRecord` instead (the CLIs exit 2);
    a corrupt one is always recomputed.
    """
    if result.ok:
        return True
    if result.status == MISSING:
        return False
    if strict and result.status == STALE:
        raise StaleRecord(f"--strict-cache: {path} is stale ({result.reason}); delete it or drop --strict-cache")
    warn_once(f"warning: {result.status} cache record {path}: {result.reason}; recomputing", stream)
    return False


_WARNED: set = set()


def warn_once(message: str, stream=None) -> None:
    """Print ``message`` on stderr (or ``stream``) once per process."""
    if message not in _WARNED:
        _WARNED.add(message)
        print(message, file=sys.stderr if stream is None else stream)
