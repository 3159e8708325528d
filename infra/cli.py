"""The command-line convention every entry point of the toolkit follows.

Options: ``--help``; ``--seed`` (>= 0); ``--json`` (one strict-JSON object on stdout: no NaN or
Infinity tokens, non-finite numbers become null); ``--quiet`` (no progress bars; bars are also
off when stderr is not a terminal, so log files get no ``\\r`` frames); ``--out DIR`` (created
and probed for writing before any work starts); ``--workers`` (default: the CPU count) and
``--dask ADDRESS|local`` where the work can be distributed.

Exit codes: 0 = every binding check agrees with theory (or the job succeeded), 1 = a check
disagrees, 2 = bad usage or input, decided before any work starts. A ``ValueError`` raised by
the library's validation becomes a one-line message naming the parameter, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from collections.abc import Callable

from infra.store import finite_json, jsonable

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    """Bad input detected after argument parsing; reported as a one-line message, exit 2."""


def cpu_count() -> int:
    """CPUs this process may use (the affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def base_parser(doc: str, prog: str, *, out: str | None | bool = False, workers: bool = False,
                dask: bool = False, allow_large: bool = False, allow_long: bool = False
                ) -> argparse.ArgumentParser:
    """An ArgumentParser with the module docstring as description and the shared options.

    Parameters
    ----------
    out : False (no ``--out``), None (``--out`` optional, default: write nothing) or a default folder
    workers : add ``--workers N`` (default: the CPU count; results never depend on it)
    dask : add ``--dask ADDRESS|local`` (run the tasks on a Dask cluster; needs the ``[dask]`` extra)
    allow_large : add ``--allow-large`` (skip the size guard of :mod:`infra.guard`)
    allow_long : add ``--allow-long`` (skip the time guard, :func:`infra.guard.check_time`)
    """
    p = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default 0); same seed, same output")
    p.add_argument("--json", action="store_true", help="print one strict-JSON object on stdout instead of tables")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (they are off anyway when stderr is not a terminal)")
    if out is not False:
        where = "write no files" if out is None else out
        p.add_argument("--out", default=out, help=f"output folder (default: {where}); checked for writing first")
    if workers:
        p.add_argument("--workers", type=int, default=None,
                       help="worker processes (default: the CPU count; results do not depend on it)")
    if dask:
        p.add_argument("--dask", default=None, metavar="ADDRESS|local",
                       help="run the tasks on a Dask cluster at ADDRESS, or on a local one ('local'); "
                            "needs pip install '.[dask]'")
    if allow_large:
        p.add_argument("--allow-large", action="store_true",
                       help="run even when the estimated memory exceeds 75%% of this machine's "
                            "(the size guard refuses such a request otherwise)")
    if allow_long:
        p.add_argument("--allow-long", action="store_true",
                       help="run even when the estimated time at a conservative rate exceeds a week "
                            "(the time guard refuses such a request otherwise)")
    return p


def show_progress(args: argparse.Namespace | None = None, stream=None) -> bool:
    """Progress bars on: not ``--quiet`` and the stream (default stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    if args is not None and getattr(args, "quiet", False):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def probe_out_dir(path, option: str = "--out") -> Path:
    """Create ``path`` (and parents) and check a file can be written in it; else UsageError.

    Run before any work, so an unwritable output folder is reported in one line instead of a
    traceback after a long run.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option}={str(path)!r} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{option}={str(path)!r} is not a writable folder ({exc.strerror or exc})") from None
    return path


def check_workers(workers: int | None, option: str = "--workers", minimum: int = 0) -> int:
    """``workers`` or the CPU count when None; UsageError below ``minimum``."""
    if workers is None:
        return cpu_count()
    if workers < minimum:
        raise UsageError(f"{option}={workers} must be >= {minimum}")
    return workers


def check_dask_available(address: str | None, option: str = "--dask") -> None:
    """UsageError when ``--dask`` is given but dask.distributed is not installed."""
    if address is None:
        return
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError(f"{option}={address!r} needs dask.distributed: install the [dask] extra, "
                         "pip install '.[dask]'") from None


def strict_json(obj) -> str:
    """One line of strict JSON: numpy converted, every non-finite float as null.

    Examples
    --------
    >>> strict_json({"a": float("inf"), "b": [1, float("nan")]})
    '{"a": null, "b": [1, null]}'
    """
    return json.dumps(finite_json(json.loads(json.dumps(obj, default=jsonable))), allow_nan=False)


def run_main(parser: argparse.ArgumentParser, argv, body: Callable[[argparse.Namespace], dict],
             render: Callable[[dict], str], exit_code: Callable[[dict], int] = lambda r: EXIT_PASS,
             to_json: Callable[[dict], dict] = lambda r: r) -> int:
    """Parse, validate the shared options, run ``body``, print, return the exit code.

    ``body(args)`` returns a dict; ``render(result)`` its human-readable text; ``exit_code(result)``
    0 or 1; ``to_json(result)`` its JSON-able form (default: the dict itself), printed with ``--json``
    as strict JSON with ``exit_code`` added. ``--out`` (when the parser has it and it is set) is
    probed before ``body``.
    """
    args = parser.parse_args(argv)
    if args.seed is not None and args.seed < 0:
        parser.error(f"argument --seed: {args.seed} must be >= 0")
    try:
        if getattr(args, "out", None) is not None:
            probe_out_dir(args.out)
        if hasattr(args, "workers"):
            check_workers(args.workers)
        check_dask_available(getattr(args, "dask", None))
        result = body(args)
    except ValueError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    code = exit_code(result)
    if args.json:
        print(strict_json({**to_json(result), "exit_code": code}))
    else:
        print(render(result))
    return code
