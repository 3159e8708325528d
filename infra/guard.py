"""Size guard: refuse, before any work, a request that cannot fit in this machine's memory.

Each entry point estimates the peak memory of a request from its parameters (the largest arrays
it will hold at once) and calls :func:`check_request` with the parameter that drives the
estimate. A request above :data:`MEMORY_FRACTION` of the machine's physical memory is refused
with a one-line :class:`~infra.cli.UsageError` (exit 2) naming the parameter and the estimate;
``--allow-large`` (``infra.cli.base_parser(..., allow_large=True)``) skips the refusal on a bigger machine. A time
estimate, where one is given, is reported in the same message.

Examples
--------
>>> check_request(1024, "--trials=10")        # a kilobyte always fits
>>> format_bytes(3 * 2**30)
'3.0 GiB'
"""
from __future__ import annotations

import os

from infra.cli import UsageError

#: Largest share of physical memory one request may plan to use.
MEMORY_FRACTION = 0.75
#: Bytes of a float64.
FLOAT = 8
#: Longest estimated run accepted without ``--allow-long``: a week (the published network runs
#: take hours at the conservative rates).
LONG_RUN_SECONDS = 7 * 86400.0


def machine_memory_bytes() -> int:
    """Physical memory of this machine: MemTotal of /proc/meminfo, else ``os.sysconf``."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - no way to tell
        return 16 * 2**30


def format_bytes(n: float) -> str:
    """Bytes as B, KiB, MiB, GiB, TiB or PiB with one decimal."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def format_seconds(s: float) -> str:
    """Seconds as s, min, h or days."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.1f} {unit}"
    return f"{s:.1f} s"


def check_request(memory_bytes: float, parameter: str, detail: str = "", seconds: float | None = None,
                  allow_large: bool = False, limit_bytes: float | None = None) -> None:
    """UsageError when ``memory_bytes`` exceeds the limit (default MEMORY_FRACTION of this machine).

    Parameters
    ----------
    memory_bytes : estimated peak memory of the request
    parameter : the option (and value) that drives the estimate, e.g. ``"--trials=10**12"``
    detail : what the estimate counts, e.g. ``"trials x t x N floats"``
    seconds : optional estimated run time, reported in the message
    allow_large : skip the refusal (the ``--allow-large`` flag)
    limit_bytes : the limit (default: MEMORY_FRACTION x :func:`machine_memory_bytes`)
    """
    if allow_large:
        return
    total = machine_memory_bytes()
    limit = MEMORY_FRACTION * total if limit_bytes is None else limit_bytes
    if not memory_bytes <= limit:  # also refuses NaN
        when = f", and about {format_seconds(seconds)}" if seconds is not None else ""
        what = f" ({detail})" if detail else ""
        raise UsageError(f"{parameter} needs about {format_bytes(memory_bytes)} of memory{what}{when}; this machine "
                         f"has {format_bytes(total)} (limit {format_bytes(limit)}); pass --allow-large to run anyway")


def check_terms(terms, detail: str = "", seconds: float | None = None, allow_large: bool = False,
                limit_bytes: float | None = None) -> float:
    """:func:`check_request` on the sum of ``terms`` ({parameter: bytes}), naming the largest term.

    Returns the total estimate (bytes).

    Examples
    --------
    >>> check_terms({"--trials=10": 8e4, "--t=20": 1.6e5})
    240000.0
    """
    terms = {k: float(v) for k, v in terms.items()}
    if not terms:
        raise ValueError("terms must name at least one parameter")
    total = sum(terms.values())
    check_request(total, max(terms, key=terms.get), detail, seconds, allow_large, limit_bytes)
    return total


def ensemble_terms(one: dict, K: int, label: str) -> dict:
    """Size-guard terms of K networks live at once: each of one network's terms times K, its key
    prefixed by ``label`` (what makes K, e.g. ``"--networks=5 x 3 task counts"``) when K > 1.

    Examples
    --------
    >>> ensemble_terms({"--hidden=64": 10.0}, 3, "--networks=3")
    {'--networks=3 x --hidden=64': 30.0}
    """
    return {(f"{label} x {k}" if K > 1 else k): K * v for k, v in one.items()}


def check_time(seconds: float, parameter: str, detail: str = "", allow_long: bool = False,
               limit_seconds: float = LONG_RUN_SECONDS) -> None:
    """UsageError when the estimated run time ``seconds`` exceeds ``limit_seconds`` (``--allow-long`` skips).

    The estimate comes from a conservative rate (each architecture's ``flops_per_second``), so a
    refused run would take at least about that long on one core.

    Examples
    --------
    >>> check_time(3600.0, "--batches=1000")
    """
    if allow_long:
        return
    if not seconds <= limit_seconds:  # also refuses NaN
        what = f" ({detail})" if detail else ""
        raise UsageError(f"{parameter} needs about {format_seconds(seconds)} of computing{what} at a conservative "
                         f"rate; the limit is {format_seconds(limit_seconds)}; pass --allow-long to run anyway")
