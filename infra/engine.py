"""Parameter sweeps: a grid of configurations run as tasks on a ``concurrent.futures.Executor``.

Each point of a grid (the cartesian product of a dict of value lists) is one call
``fn(point) -> result`` of a picklable top-level function, run in-process, on local processes,
or on a Dask cluster (see :func:`make_executor`). Every finished point is written atomically to
``cache_dir/<config_hash(point)>.json`` holding ``{"config", "result", "seconds", "status",
"function"}`` and the integrity header of :mod:`infra.records` (toolkit version, code
fingerprint, checksum), so a rerun loads done points instead of recomputing them and an
interrupted sweep resumes where it stopped, while a point made by other code, or altered, is
recomputed. A point that raises is reported (status ``"failed"`` and its error)
and not cached, so the next run retries it; the other points carry on.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Iterator, Mapping, Sequence

from tqdm import tqdm

from infra.cli import cpu_count
from infra.records import check_usable, read_record, write_record
from infra.store import atomic_write_bytes, atomic_write_json, canonical_json, config_hash, csv_bytes, jsonable

#: Seconds to wait for a remote Dask scheduler before giving up (dask's own default is 30 s).
DASK_CONNECT_SECONDS = 3
#: Status of a point computed in this run, loaded from the cache, or raised an exception.
DONE, CACHED, FAILED = "done", "cached", "failed"


@dataclass(frozen=True)
class Grid:
    """A grid of configurations: the cartesian product of named value lists.

    Order is deterministic: axes in the order given, the last axis varying fastest (as
    ``itertools.product``), so point k is the same for the same axes on every run.

    Examples
    --------
    >>> g = Grid.from_dict({"D": [2, 3], "sigma": [0.1, 0.2]})
    >>> len(g), g.points()[1]
    (4, {'D': 2, 'sigma': 0.2})
    """

    axes: tuple[tuple[str, tuple], ...]

    @classmethod
    def from_dict(cls, axes: Mapping[str, Sequence]) -> Grid:
        """Build a grid from ``{name: [values...]}``; every list non-empty, names strings."""
        items = []
        for name, values in axes.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"grid axis name {name!r} must be a non-empty string")
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise ValueError(f"grid axis {name}={values!r} must be a list of values")
            if len(values) == 0:
                raise ValueError(f"grid axis {name}=[] must have at least one value")
            items.append((name, tuple(values)))
        return cls(tuple(items))

    def __len__(self) -> int:
        n = 1
        for _, values in self.axes:
            n *= len(values)
        return n

    def points(self, base: Mapping | None = None) -> list[dict]:
        """All points as dicts, in grid order; each is ``base`` updated with the axis values."""
        names = [name for name, _ in self.axes]
        base = dict(base or {})
        return [{**base, **dict(zip(names, combo))}
                for combo in itertools.product(*(values for _, values in self.axes))]


class InProcessExecutor(cf.Executor):
    """A synchronous Executor: ``submit`` runs the call at once in the calling thread.

    Used for ``workers`` = 0 or 1 and for debugging (tracebacks and breakpoints stay in the
    main process). The returned Future is already finished.
    """

    def __init__(self):
        self._shutdown = False

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future = cf.Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True


def process_start_method() -> str:
    """The multiprocessing start method for worker processes: ``forkserver``, else ``spawn``.

    ``fork`` copies the parent's threads' locks in whatever state they are in (tqdm's monitor
    thread, a Dask client's event loop, BLAS thread pools), which can deadlock a child; the
    ``forkserver`` and ``spawn`` methods start children from a clean process instead. Both need
    the point function to be importable by name (a top-level function of a module).
    """
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


#: How often (seconds) a worker process checks that the process that started it is alive.
PARENT_POLL_SECONDS = 0.5


def _exit_with_parent(parent_pid: int) -> None:
    """Process-pool initializer: end this worker soon after the sweep's main process dies.

    A worker waiting on the pool's queue never notices a main process killed by SIGKILL or
    SIGTERM (the worker holds both ends of the queue's pipe, and under ``forkserver`` its OS
    parent is the fork server), so a daemon thread polls the main process's pid instead.
    """
    def watch():
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            try:
                os.kill(parent_pid, 0)
            except (ProcessLookupError, PermissionError):  # gone (or the pid now belongs to another user)
                os._exit(1)

    threading.Thread(target=watch, name="sweep-parent-watch", daemon=True).start()


@contextlib.contextmanager
def make_executor(workers: int | None = None, dask_address: str | None = None
                  ) -> Iterator[cf.Executor]:
    """An executor for :func:`run_sweep`, as a context manager that shuts it down on exit.

    Parameters
    ----------
    workers : int or None
        Local parallelism. 0 or 1: in-process (:class:`InProcessExecutor`); > 1: a
        ``ProcessPoolExecutor`` of that many processes (start method from
        :func:`process_start_method`; each worker exits when the calling process dies, see
        :func:`_exit_with_parent`); None: the CPU count. With ``dask_address="local"`` it is
        the number of single-threaded Dask workers; with a remote address it must be None.
    dask_address : str or None
        ``"local"`` starts a ``distributed.LocalCluster``; any other string is a scheduler
        address (``"tcp://host:8786"``) for ``distributed.Client``. Needs the ``[dask]`` extra;
        the workers of a remote cluster need this package installed to import the point function.

    Examples
    --------
    >>> with make_executor(workers=1) as ex:
    ...     ex.submit(pow, 2, 10).result()
    1024
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ValueError(f"workers={workers!r} must be None or an integer >= 0")
    if dask_address is not None:
        with _dask_client(workers, dask_address) as client:
            executor = client.get_executor(pure=False)
            try:
                yield executor
            finally:
                executor.shutdown(wait=True)
        return
    n = cpu_count() if workers is None else workers
    if n <= 1:
        executor = InProcessExecutor()
    else:
        executor = cf.ProcessPoolExecutor(max_workers=n,
                                          mp_context=multiprocessing.get_context(process_start_method()),
                                          initializer=_exit_with_parent, initargs=(os.getpid(),))
    try:
        yield executor
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _dask_client(workers: int | None, address: str):
    """A ``distributed.Client`` on ``address`` (or on a new LocalCluster for ``"local"``)."""
    if not isinstance(address, str) or not address:
        raise ValueError(f"dask_address={address!r} must be 'local' or a scheduler address")
    try:
        import distributed
    except ImportError:
        raise ImportError(f"dask_address={address!r} needs dask.distributed, which is not installed; "
                          "install the [dask] extra: pip install 'multitask-disentangle[dask]'") from None
    if address == "local":
        n = cpu_count() if workers is None else max(workers, 1)
        with distributed.LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=None) as cluster:
            with distributed.Client(cluster) as client:
                yield client
        return
    if workers is not None:
        raise ValueError(f"workers={workers} has no effect with dask_address={address!r}: "
                         "the cluster decides its workers; leave workers unset")
    try:  # dask's own connect timeout is 30 s; a scheduler that answers at all answers within a second
        client = distributed.Client(address, timeout=DASK_CONNECT_SECONDS)
    except (OSError, ValueError, TimeoutError) as exc:
        raise ValueError(f"dask_address={address!r} (--dask): no scheduler answered within "
                         f"{DASK_CONNECT_SECONDS} s ({type(exc).__name__})") from None
    with client:
        yield client


def _call_point(fn: Callable[[dict], dict], point: dict) -> dict:
    """Run ``fn(point)`` where the executor puts it; catch its error so one point cannot sink a sweep.

    The result is converted to plain JSON here, so a fresh result equals the one later loaded
    from the cache, and a result that cannot be serialised fails this point only.
    """
    start = time.perf_counter()
    try:
        result = fn(dict(point))
        if not isinstance(result, Mapping):
            raise TypeError(f"the point function returned {type(result).__name__}, not a dict")
        result = json.loads(json.dumps(result, default=jsonable))
        return {"status": DONE, "result": result, "seconds": time.perf_counter() - start}
    except Exception as exc:
        return {"status": FAILED, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(), "seconds": time.perf_counter() - start}


def function_name(fn: Callable) -> str:
    """``module.qualname`` of a point function, stored with each result to keep caches apart."""
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


@dataclass(frozen=True)
class SweepResult:
    """The outcome of :func:`run_sweep`.

    Attributes
    ----------
    records : tuple of dict, one per point in grid order, each with ``config``, ``hash``,
        ``status`` (``"done"`` computed now, ``"cached"`` loaded, ``"failed"``), ``seconds``
        (compute time of the point, from the cache for cached points), ``result`` (dict, or None
        when failed) and, for failed points, ``error`` and ``traceback``.
    wall_seconds : float, wall-clock time of the whole sweep
    """

    records: tuple
    wall_seconds: float

    def count(self, status: str) -> int:
        """Number of points with this status."""
        return sum(r["status"] == status for r in self.records)

    @property
    def results(self) -> list:
        """The result dicts in grid order (None for failed points)."""
        return [r["result"] for r in self.records]

    @property
    def failed(self) -> list:
        """The records of the points that raised."""
        return [r for r in self.records if r["status"] == FAILED]

    def summary(self) -> dict:
        """Counts and timings: points, done, cached, failed, wall and summed compute seconds."""
        return {"points": len(self.records), DONE: self.count(DONE), CACHED: self.count(CACHED),
                FAILED: self.count(FAILED), "wall_seconds": self.wall_seconds,
                "compute_seconds": sum(r["seconds"] for r in self.records
                                       if r["status"] != CACHED and math.isfinite(r["seconds"]))}


def _point_schema(point_json: str, fname: str, validate: Callable | None):
    """The schema of a finished point record: keys, types, this point, this function, a result dict."""
    def check(record: dict) -> None:
        for key, kind in (("config", dict), ("result", dict), ("seconds", (int, float)), ("status", str),
                          ("function", str)):
            if not isinstance(record.get(key), kind) or isinstance(record.get(key), bool):
                raise ValueError(f"field {key!r} is missing or not a {getattr(kind, '__name__', 'number')}")
        if record["status"] != DONE:
            raise ValueError(f"status={record['status']!r} is not {DONE!r}")
        if canonical_json(record["config"]) != point_json:
            raise ValueError("config is not the point of this file name")
        if validate is not None:
            validate(record["result"])
    return check


def _load_cached(path: Path, point_json: str, fname: str, fingerprint: str | None, validate: Callable | None,
                 strict: bool) -> dict | None:
    """The cached record at ``path`` if it is an intact, current, finished result of ``fname`` on
    this point (see :mod:`infra.records`); None (after a one-line warning for a stale or corrupt
    record) when it must be recomputed. A record of another point function is a usage error."""
    found = read_record(path, fingerprint, _point_schema(point_json, fname, validate))
    if found.ok and found.payload["function"] != fname:
        raise ValueError(f"cache file {path} was written by {found.payload['function']!r}, not {fname!r}; "
                         "use a separate cache_dir for each point function")
    return found.payload if check_usable(found, path, strict) else None


def _scan(fn: Callable, points: Sequence[Mapping], cache_dir: Path, fingerprint: str | None = None,
          validate: Callable | None = None, strict: bool = False) -> tuple[list, dict, dict]:
    """Validate the points and look them up in the cache.

    Returns (hash of each point in order, {hash: (point as plain JSON, its canonical text)},
    {hash: record} for the points already cached).
    """
    fname = function_name(fn)
    keys, unique = [], {}
    for i, point in enumerate(points):
        if not isinstance(point, Mapping) or not all(isinstance(k, str) for k in point):
            raise ValueError(f"points[{i}]={point!r} must be a dict with string keys")
        try:
            point_json = canonical_json(point)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"points[{i}]={point!r} is not JSON-serialisable ({exc})") from None
        key = config_hash(point)
        keys.append(key)
        unique.setdefault(key, (json.loads(point_json), point_json))
    records = {}
    for key, (point, point_json) in unique.items():
        cached = _load_cached(Path(cache_dir) / f"{key}.json", point_json, fname, fingerprint, validate, strict)
        if cached is not None:
            records[key] = {"config": point, "hash": key, "status": CACHED,
                            "seconds": cached["seconds"], "result": cached["result"]}
    return keys, unique, records


def cached_records(fn: Callable, cache_dir, fingerprint: str | None = None, validate: Callable | None = None
                   ) -> list[dict]:
    """Every intact, current record of ``fn`` in ``cache_dir`` (any point), sorted by configuration.

    What a summary of the folder shows: the points of every run into it, not only the last run's.
    Stale and corrupt files are left out silently (the run that needs them recomputes them).
    """
    fname, out = function_name(fn), []
    for path in sorted(Path(cache_dir).glob("*.json")):
        found = read_record(path, fingerprint)
        if not found.ok or found.payload.get("function") != fname or not isinstance(found.payload.get("config"), dict):
            continue
        point_json = canonical_json(found.payload["config"])
        if path.stem != config_hash(found.payload["config"]):
            continue
        try:
            _point_schema(point_json, fname, validate)(found.payload)
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        out.append({"config": found.payload["config"], "hash": path.stem, "status": CACHED,
                    "seconds": found.payload["seconds"], "result": found.payload["result"]})
    return sorted(out, key=lambda r: canonical_json(r["config"]))


def missing_points(fn: Callable[[dict], dict], points: Sequence[Mapping], cache_dir, fingerprint: str | None = None,
                   validate: Callable | None = None, strict: bool = False) -> list[dict]:
    """The points of ``points`` (each once, in order) that ``cache_dir`` holds no usable result of ``fn`` for.

    Lets a caller skip starting workers (a Dask cluster, a process pool) when nothing is left to do.
    """
    _, unique, records = _scan(fn, points, Path(cache_dir), fingerprint, validate, strict)
    return [point for key, (point, _) in unique.items() if key not in records]


def run_sweep(fn: Callable[[dict], dict], points: Sequence[Mapping], cache_dir,
              executor: cf.Executor | None = None, progress: bool = True,
              max_pending: int | None = None, fingerprint: str | None = None,
              validate: Callable | None = None, strict_cache: bool = False) -> SweepResult:
    """Run ``fn`` on every point not already cached, in parallel on ``executor``.

    Parameters
    ----------
    fn : callable, point (dict) -> result (JSON-able dict); a picklable top-level function
        when the executor runs it in another process
    points : sequence of dict, the configurations (JSON-able; e.g. ``Grid.points()``); a point
        listed twice is computed once
    cache_dir : path; finished points go to ``cache_dir/<config_hash(point)>.json``
    executor : ``concurrent.futures.Executor``; None runs in-process
    progress : show a tqdm progress bar on stderr
    max_pending : at most this many points submitted and not yet finished. Default: 1 for an
        :class:`InProcessExecutor` (so each point is saved as soon as it finishes), otherwise all.
    fingerprint : :func:`infra.records.code_fingerprint` of the code the results depend on; a
        cached point of other code (or another toolkit version) is recomputed with a one-line
        warning, or refused (:class:`infra.records.StaleRecord`) under ``strict_cache``
    validate : optional callable(result) raising ValueError for a result that breaks its schema;
        a cached point failing it (or its checksum, or the record schema) is never used

    Returns
    -------
    SweepResult, records in the order of ``points``
    """
    start = time.perf_counter()
    cache_dir = Path(cache_dir)
    if not callable(fn):
        raise ValueError(f"fn={fn!r} must be callable")
    fname = function_name(fn)
    if max_pending is not None and (isinstance(max_pending, bool) or not isinstance(max_pending, int)
                                    or max_pending < 1):
        raise ValueError(f"max_pending={max_pending!r} must be None or an integer >= 1")
    keys, unique, records = _scan(fn, points, cache_dir, fingerprint, validate, strict_cache)
    cache_dir.mkdir(parents=True, exist_ok=True)
    todo = [key for key in unique if key not in records]

    executor = InProcessExecutor() if executor is None else executor
    if max_pending is None:
        max_pending = 1 if isinstance(executor, InProcessExecutor) else max(len(todo), 1)
    bar = tqdm(total=len(unique), initial=len(records), disable=not progress, unit="pt",
               desc=f"sweep {getattr(fn, '__name__', 'fn')}", dynamic_ncols=True)
    pending: dict[cf.Future, str] = {}
    queue = iter(todo)
    try:
        while True:
            for key in itertools.islice(queue, max_pending - len(pending)):
                try:
                    pending[executor.submit(_call_point, fn, unique[key][0])] = key
                except Exception as exc:  # e.g. a closure that this executor cannot send
                    refused = cf.Future()
                    refused.set_exception(exc)
                    records[key] = _finish(refused, key, unique[key][0], fname, cache_dir, fingerprint)
                    bar.update(1)
            if not pending:
                break
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                key = pending.pop(future)
                records[key] = _finish(future, key, unique[key][0], fname, cache_dir, fingerprint)
                bar.update(1)
                bar.set_postfix(failed=sum(r["status"] == FAILED for r in records.values()), refresh=False)
    except KeyboardInterrupt:
        # keep what finished while the interrupt arrived; the rest is cancelled below
        for future, key in pending.items():
            if future.done() and not future.cancelled() and future.exception() is None:
                _finish(future, key, unique[key][0], fname, cache_dir, fingerprint)
        raise
    finally:
        for future in pending:
            future.cancel()
        bar.close()
    return SweepResult(records=tuple(records[k] for k in keys), wall_seconds=time.perf_counter() - start)


def _finish(future: cf.Future, key: str, point: dict, fname: str, cache_dir: Path, fingerprint: str | None) -> dict:
    """Turn a finished future into a record; save it atomically if the point succeeded."""
    try:
        outcome = future.result()
    except Exception as exc:  # the executor itself failed (worker died, function not picklable)
        outcome = {"status": FAILED, "error": f"{type(exc).__name__}: {exc}",
                   "traceback": "".join(traceback.format_exception(exc)), "seconds": float("nan")}
    record = {"config": point, "hash": key, **outcome}
    if outcome["status"] == DONE:
        write_record(cache_dir / f"{key}.json",
                     {"config": point, "result": outcome["result"], "seconds": outcome["seconds"],
                      "status": DONE, "function": fname}, fingerprint or "")
    else:
        record["result"] = None
    return record


def _flatten(prefix: str, value, out: dict) -> None:
    """Scalars of a nested dict as ``a.b.c`` columns; lists are left out (not one cell each)."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif value is None or isinstance(value, (bool, int, float, str)):
        out[prefix] = value


def summary_rows(sweep: SweepResult) -> list[dict]:
    """One flat row per point: config columns, scalar result columns, status, seconds, error.

    A result key that clashes with a config key is prefixed ``result.``.
    """
    rows = []
    for r in sweep.records:
        row = dict(r["config"])
        flat: dict = {}
        _flatten("", r["result"] or {}, flat)
        for k, v in flat.items():
            row[f"result.{k}" if k in r["config"] or k in ("status", "seconds", "error") else k] = v
        row.update(status=r["status"], seconds=r["seconds"], error=r.get("error", ""))
        rows.append(row)
    return rows


def write_summary_csv(sweep: SweepResult, path) -> Path:
    """Write :func:`summary_rows` as CSV (columns in first-seen order), atomically."""
    return atomic_write_bytes(path, csv_bytes(summary_rows(sweep)))


def write_results_json(sweep: SweepResult, path, meta: Mapping | None = None) -> Path:
    """Write every record and the summary (plus ``meta``, e.g. the sweep's name) as JSON, atomically."""
    return atomic_write_json(path, {**dict(meta or {}), "summary": sweep.summary(),
                                    "points": list(sweep.records)})
