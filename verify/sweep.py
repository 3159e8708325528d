"""Run a registered parameter sweep over a grid, in parallel, cached and resumable.

Each point of the grid (the cartesian product of the --grid lists and of --seed, seed varying
fastest; every other parameter at the sweep's default) is one task, run in-process
(--workers 0 or 1), on local processes (--workers N, default the CPU count) or on a Dask
cluster (--dask ADDRESS, or --dask local for a local one; needs the [dask] extra).

Finished points are saved one file each, OUT/NAME/points/<config hash>.json, as soon as they
finish; a rerun loads them instead of recomputing, so an interrupted sweep resumes where it
stopped. A point that raises is reported (and retried on the next run); the others carry on.
At the end OUT/NAME/summary.csv (one row per point: parameters, scalar results, status,
seconds) and OUT/NAME/results.json (every record) are written.

Sweeps:
  r2         the optimal agent's mu(t), recovered by trilateration from its outputs, has
             r^2 = 1 - 12 sigma^2 / t against x* (1 - [k 12 sigma^2 / t + (D - k)] / D if
             rank(C) = k < D); parameters of verify.sweep.R2Config
  theorem31  the checks of python -m verify.theorem31; parameters of Theorem31Config

Grid values are comma-separated (D=2,3); integer parameters and --seed also take a range a:b[:step]
with both ends included (D=2:4 is 2, 3, 4; --seed 0:2 is 0, 1, 2; verify.ranges). A grid of more
than MAX_POINTS (100,000) points is refused before any work, with its count.

Example:  python -m verify.sweep r2 --grid D=2,3 ntask=3,6 sigma=0.1,0.2 --seed 0,1 --workers 2

Exit code 0 when every point finished and every point's checks passed, 1 when a point failed
or a check disagreed, 2 on bad usage, 130 when interrupted (finished points are kept).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import math
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence

import numpy as np

from optimal.agent import log_outputs, optimal_probits, running_mle
from theory.identifiability import diagnose
from optimal.trilateration import recover_mu_from_log_outputs
from theory.world import LATENT_VARIANCE, check_positive_int, check_sigma, sample_evidence, sample_latents
from analysis.estimates import K_SINGLE, r2_estimate
from verify.theorem31 import Theorem31Config, make_config_design, memory_terms
from verify.ranges import is_range, parse_range
from verify.verdict import Check
from verify.theorem31 import run as run_theorem31
from infra.engine import (CACHED, DONE, FAILED, Grid, InProcessExecutor, SweepResult, cached_records, make_executor,
                          missing_points, run_sweep,
                           write_results_json, write_summary_csv)
from infra.cli import (EXIT_FAIL, EXIT_PASS, EXIT_USAGE, check_dask_available, cpu_count, probe_out_dir, show_progress,
                       strict_json)
from infra.guard import FLOAT, check_request, check_terms
from infra.lock import folder_lock
from infra.records import code_fingerprint


@dataclass(frozen=True)
class R2Config(Theorem31Config):
    """One point of the ``r2`` sweep: the fields of :class:`~verify.theorem31.Theorem31Config`
    (``rank`` forces a rank-deficient C), fewer trials by default, and sigma > 0."""

    trials: int = 2000

    def __post_init__(self):
        super().__post_init__()
        check_sigma(self.sigma, allow_zero=False)
        check_positive_int("seed", self.seed, 0)


def r2_prediction(sigma: float, t: int, D: int, rank: int) -> float:
    """r^2 of the trilaterated mu against x*, pooled over coordinates, normalised by Var = 1/12.

    With P the projector onto the row space of C (rank k), mu_hat - x* = P eps - (I - P) x*,
    two orthogonal parts, so MSE per coordinate = [k sigma^2 / t + (D - k) / 12] / D and
    r^2 = 1 - [k 12 sigma^2 / t + (D - k)] / D  (= 1 - 12 sigma^2 / t when k = D).
    """
    return 1.0 - (rank * sigma**2 / (t * LATENT_VARIANCE) + (D - rank)) / D


def r2_point(point: dict) -> dict:
    """Simulate the optimal agent at one point and measure r^2 of its decoded mu(t) against x*.

    x* ~ U([-1/2, 1/2]^D), evidence X(1..t), mu(t) the running MLE, outputs (log Phi(z),
    log Phi(-z)) with z the optimal probits, mu_hat = trilateration of the outputs; the squared
    error |mu_hat - x*|^2 / D per trial goes to :func:`r2_verdict` with :func:`r2_prediction`.
    """
    c = R2Config(**point)
    rng = np.random.default_rng(c.seed)
    design = make_config_design(c, rng)
    rank = diagnose(design).rank
    x = sample_latents(rng, c.trials, c.D)
    mu = running_mle(sample_evidence(rng, x, c.t, c.sigma))[:, -1]
    mu_hat = recover_mu_from_log_outputs(*log_outputs(optimal_probits(mu, design, c.sigma, c.t)),
                                         design, c.sigma, c.t, allow_projection=True)
    verdict = r2_verdict(np.mean((mu_hat - x) ** 2, axis=1), r2_prediction(c.sigma, c.t, c.D, rank))
    return {**verdict, "rank": rank, "identifiable": rank == c.D}


def r2_verdict(sq_err: np.ndarray, predicted: float) -> dict:
    """Compare r^2 = 1 - 12 mean(sq_err) with ``predicted``, allowing K_SINGLE standard errors.

    Parameters
    ----------
    sq_err : ndarray, shape (trials,), squared error per trial (averaged over coordinates)
    predicted : the r^2 theory predicts

    Returns
    -------
    dict with ``r2``, ``r2_predicted``, ``r2_se`` (from :func:`analysis.estimates.r2_estimate`) and
    ``passed`` = |r2 - predicted| <= K_SINGLE * SE
    """
    sq_err = np.asarray(sq_err, dtype=float)
    if sq_err.ndim != 1:
        raise ValueError(f"sq_err must be a finite 1-D array of >= 2 trials; got shape {sq_err.shape}")
    est = r2_estimate(sq_err)
    r2, se = float(est.value), float(est.se)
    return {"r2": r2, "r2_predicted": float(predicted), "r2_se": se,
            "passed": bool(abs(r2 - predicted) <= K_SINGLE * se)}


def theorem31_point(point: dict) -> dict:
    """The Theorem 3.1 checks (``verify.theorem31.run``) at one point, as plain JSON.

    ``checks`` becomes ``{name: {claim, predicted, measured, tolerance, passed, binding}}`` so that
    each check's numbers get their own CSV columns (:func:`theorem31_checks` reads them back).
    """
    out = run_theorem31(Theorem31Config(**point))
    checks = {c.name: {k: v for k, v in c.to_dict().items() if k != "name"} for c in out["checks"]}
    return {"identifiable": out["identifiable"], "passed": out["passed"], "checks": checks, "info": out["info"]}


def theorem31_checks(result: dict) -> list[Check]:
    """The :class:`~verify.verdict.Check` list of a :func:`theorem31_point` result (claim and
    binding kept), in name order: a fresh result and one read back from the cache (stored with sorted
    keys) list the same rows in the same order. ValueError when the result breaks that schema."""
    if not isinstance(result.get("checks"), dict) or not result["checks"]:
        raise ValueError("result has no checks")
    return [Check.from_dict({"name": name, **result["checks"][name]}) for name in sorted(result["checks"])]


def validate_r2(result: dict) -> None:
    """Schema of an :func:`r2_point` result: finite numbers, boolean flags, a consistent verdict."""
    for key in ("r2", "r2_predicted", "r2_se"):
        if not isinstance(result.get(key), (int, float)) or isinstance(result.get(key), bool):
            raise ValueError(f"result field {key!r} must be a number")
    for key in ("passed", "identifiable"):
        if not isinstance(result.get(key), bool):
            raise ValueError(f"result field {key!r} must be true or false")
    if not isinstance(result.get("rank"), int) or isinstance(result["rank"], bool):
        raise ValueError("result field 'rank' must be an integer")
    if result["passed"] != bool(abs(result["r2"] - result["r2_predicted"]) <= K_SINGLE * result["r2_se"]):
        raise ValueError("result field 'passed' disagrees with r2, r2_predicted and r2_se")


def validate_theorem31(result: dict) -> None:
    """Schema of a :func:`theorem31_point` result: boolean flags, every check readable, and
    ``passed`` equal to every check passing."""
    for key in ("passed", "identifiable"):
        if not isinstance(result.get(key), bool):
            raise ValueError(f"result field {key!r} must be true or false")
    if result["passed"] != all(c.passed for c in theorem31_checks(result)):
        raise ValueError("result field 'passed' disagrees with its checks")


@dataclass(frozen=True)
class SweepSpec:
    """A registered sweep: its point function and its configuration class, as import paths.

    Both are resolved by import (``module:name``), so the function is always pickled by its
    module name, even when this file runs as ``__main__``.
    """

    name: str
    point: str      # "module:function", point (dict) -> result (dict)
    config: str     # "module:Class", a frozen dataclass whose defaults and validation the points use
    validate: str = ""  # "module:function", result (dict) -> None, ValueError when a cached result is bad
    #: packages and modules the results depend on: their source hash keys the cache
    depends: tuple = ("theory", "optimal", "infra", "analysis.estimates", "verify.theorem31",
                      "verify.information_mc", "verify.montecarlo", "verify.sweep", "verify.verdict")

    def resolve(self):
        """(point function, config class, validator or None); ValueError if a module is missing."""
        try:
            fn, cls, *check = (getattr(importlib.import_module(m), attr) for m, attr in
                               (s.split(":") for s in (self.point, self.config, self.validate) if s))
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"sweep {self.name!r} is not available: {exc}") from None
        return fn, cls, (check[0] if check else None)

    def fingerprint(self) -> str:
        """:func:`infra.records.code_fingerprint` of :attr:`depends`."""
        return code_fingerprint(self.depends)


SWEEPS = {s.name: s for s in (
    SweepSpec("r2", "verify.sweep:r2_point", "verify.sweep:R2Config", "verify.sweep:validate_r2"),
    SweepSpec("theorem31", "verify.sweep:theorem31_point", "verify.theorem31:Theorem31Config",
              "verify.sweep:validate_theorem31"),
)}


def _type_name(kind) -> str:
    return "none" if kind is type(None) else kind.__name__


def parse_value(name: str, text: str, hint):
    """Parse one grid value to the declared type of the parameter (int, float, bool, str, or a
    union of them with None, e.g. ``int | None``, which also takes ``none``).

    Examples
    --------
    >>> parse_value("rank", "2", int | None), parse_value("rank", "none", int | None)
    (2, None)
    """
    text = text.strip()
    kinds = typing.get_args(hint) or (hint,)
    if type(None) in kinds and text.lower() == "none":
        return None
    for kind in kinds:
        if kind is bool:
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
        elif kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        elif kind is str:
            return text
    if kinds == (bool,):
        raise ValueError(f"{name}={text!r} must be true or false")
    raise ValueError(f"{name}={text!r} must be of type {' or '.join(_type_name(k) for k in kinds)}")


def parse_axis(item: str, hints: dict) -> tuple[str, Sequence]:
    """``"KEY=V1,V2"`` (or ``KEY=a:b[:step]`` for an integer parameter, both ends included:
    :func:`verify.ranges.parse_range`) -> (KEY, values)."""
    key, sep, values = item.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ValueError(f"--grid item {item!r} must look like KEY=V1,V2,...")
    if key not in hints:
        raise ValueError(f"--grid parameter {key!r} is unknown; parameters: {', '.join(hints)}")
    hint = hints[key]
    if is_range(values) and int in (typing.get_args(hint) or (hint,)):
        return key, parse_range(key, values)
    parts = values.split(",")
    if any(not p.strip() for p in parts):
        raise ValueError(f"--grid item {item!r} has an empty value")
    return key, [parse_value(key, p, hint) for p in parts]


#: Memory the sweep itself holds per point (its dict, record, summary row), for the size guard.
BYTES_PER_POINT = 4096
#: Most points of one sweep: each is a task with a result file, so even the fastest point (~10 ms)
#: makes 1e5 points a quarter of an hour of bookkeeping alone; a larger grid is refused with its count.
MAX_POINTS = 100_000


def build_grid(spec: SweepSpec, items: list[str], seeds: str, allow_large: bool = False,
               workers: int = 1) -> tuple[Grid, dict, Callable]:
    """The grid of a command line: (Grid, the defaults, the point function). Validates every point.

    The size guard (:mod:`infra.guard`) refuses a grid whose points, or whose largest point times
    the workers running at once, cannot fit in memory, before any point is built.
    """
    fn, config_cls, _ = spec.resolve()
    defaults = dataclasses.asdict(config_cls())
    hints = {f.name: typing.get_type_hints(config_cls)[f.name] for f in dataclasses.fields(config_cls)}
    axes = {}
    for item in items:
        key, values = parse_axis(item, hints)
        if key in axes or key == "seed":
            raise ValueError(f"--grid parameter {key!r} given twice (give seeds with --seed)")
        axes[key] = values
    axes["seed"] = parse_axis(f"seed={seeds}", hints)[1]
    n_points = math.prod(len(v) for v in axes.values())       # len of a range: no value is listed
    biggest = max(axes, key=lambda k: len(axes[k]))
    if n_points > MAX_POINTS:
        flag = f"--seed={seeds}" if biggest == "seed" else f"--grid {biggest}"
        raise ValueError(f"{flag} ({len(axes[biggest])} values): the grid has {n_points} points, more than "
                         f"{MAX_POINTS} (verify.sweep.MAX_POINTS)")
    if min(axes["seed"]) < 0:
        raise ValueError(f"--seed={seeds!r}: seeds must be integers >= 0")
    check_request(n_points * BYTES_PER_POINT, f"--grid {biggest} ({len(axes[biggest])} values)",
                  f"{n_points} points", allow_large=allow_large)
    grid = Grid.from_dict(axes)
    heaviest, worst = {}, 0.0
    for point in grid.points(defaults):
        try:
            config = config_cls(**point)
        except TypeError as exc:
            raise ValueError(f"--grid point {point}: {exc}") from None
        terms = point_memory_terms(config)
        if sum(terms.values()) > worst:
            heaviest, worst = terms, sum(terms.values())
    check_terms({f"{k} (x {min(workers, n_points)} workers at once)": v * min(workers, n_points)
                 for k, v in heaviest.items()}, "the largest point", allow_large=allow_large)
    return grid, defaults, fn


def point_memory_terms(config) -> dict:
    """Estimated peak bytes of one point (:func:`verify.theorem31.memory_terms`; an ``r2`` point
    also holds its whole trials x t x D evidence stream)."""
    terms = memory_terms(config)
    if isinstance(config, R2Config):
        terms[f"--grid trials={config.trials} x t={config.t}"] = 3 * FLOAT * config.trials * config.t * config.D
    return terms


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m verify.sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sweep", help=f"registered sweep: {', '.join(SWEEPS)}")
    p.add_argument("--grid", nargs="*", action="extend", default=[], metavar="KEY=V1,V2",
                   help="parameter lists KEY=V1,V2 or, for integers, KEY=a:b (both ends included); the grid is "
                        "their cartesian product (several --grid options add up; a parameter given twice is an "
                        f"error; at most {MAX_POINTS} points)")
    p.add_argument("--seed", default="0",
                   help="seeds >= 0, comma-separated or a range a:b, both ends included (0:2 is 0, 1, 2; default 0)")
    p.add_argument("--out", default="sweeps", help="output folder (default sweeps/); checked for writing first")
    p.add_argument("--workers", type=int, default=None,
                   help="local processes (0 or 1: in-process; default the CPU count)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on the Dask scheduler at ADDRESS, or 'local' for a LocalCluster")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-point table")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout instead of tables")
    p.add_argument("--strict-cache", action="store_true",
                   help="refuse (exit 2) a cached point made by other code or another toolkit version "
                        "instead of recomputing it")
    p.add_argument("--allow-large", action="store_true",
                   help="run even when the estimated memory exceeds 75%% of this machine's")
    return p


def _point_table(records: list, axes: list[str]) -> str:
    rows = [["#"] + axes + ["status", "seconds", "passed", "error"]]
    for i, r in enumerate(records):
        passed = (r["result"] or {}).get("passed", "")
        rows.append([str(i)] + [str(r["config"][a]) for a in axes]
                    + [r["status"], f"{r['seconds']:.3g}", str(passed), r.get("error", "")])
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def folder_sweep(sweep: SweepResult, fn: Callable, cache: Path, fingerprint: str, validate) -> SweepResult:
    """This run's records followed by every other intact, current point of ``fn`` in ``cache``
    (points of earlier or concurrent runs with other grids), for the folder's summary files."""
    seen = {r["hash"] for r in sweep.records}
    others = [r for r in cached_records(fn, cache, fingerprint, validate) if r["hash"] not in seen]
    return SweepResult(records=tuple(sweep.records) + tuple(others), wall_seconds=sweep.wall_seconds)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.sweep not in SWEEPS:
            raise ValueError(f"sweep={args.sweep!r} is unknown; registered sweeps: {', '.join(SWEEPS)}")
        if args.workers is not None and args.workers < 0:
            raise ValueError(f"--workers={args.workers} must be >= 0 (0 or 1: in-process)")
        check_dask_available(args.dask)
        spec = SWEEPS[args.sweep]
        n_workers = cpu_count() if args.workers is None else max(args.workers, 1)
        grid, defaults, fn = build_grid(spec, args.grid, args.seed, args.allow_large, n_workers)
        _, _, validate = spec.resolve()
        out = probe_out_dir(probe_out_dir(args.out) / spec.name)
        fingerprint = spec.fingerprint()
        config = {"sweep": spec.name, "grid": {k: list(v) for k, v in grid.axes}, "defaults": defaults,
                  "workers": args.workers, "dask": args.dask, "out": str(out)}
        if not args.json:
            print("configuration: " + ", ".join(f"{k}={v}" for k, v in config.items()), flush=True)
        points = grid.points(defaults)
        cache = dict(fingerprint=fingerprint, validate=validate, strict=args.strict_cache)
        with folder_lock(out):  # concurrent runs into one --out take turns, each reusing the other's points
            # with every point cached there is nothing to run: do not start processes or a cluster
            workers = make_executor(args.workers, args.dask) if missing_points(fn, points, out / "points", **cache) \
                else contextlib.nullcontext(InProcessExecutor())
            with workers as executor:
                sweep = run_sweep(fn, points, out / "points", executor, progress=show_progress(args),
                                  fingerprint=fingerprint, validate=validate, strict_cache=args.strict_cache)
            folder = folder_sweep(sweep, fn, out / "points", fingerprint, validate)
            files = {"csv": str(write_summary_csv(folder, out / "summary.csv")),
                     "json": str(write_results_json(folder, out / "results.json", {"config": config}))}
    except (ValueError, ImportError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; finished points are saved, rerun to resume", file=sys.stderr)
        return 130
    summary = sweep.summary()
    passed = summary[FAILED] == 0 and all(r["result"].get("passed", True) for r in sweep.records
                                          if r["status"] != FAILED)
    if args.json:
        print(strict_json({"config": config, "summary": summary, "points": list(sweep.records),
                           "files": [files["csv"], files["json"]], "folder_points": len(folder.records),
                           "passed": passed}))
    else:
        if not args.quiet:
            print(_point_table(list(sweep.records), [k for k, v in grid.axes if len(v) > 1] or ["seed"]))
        print(f"points {summary['points']}: {summary[DONE]} computed, {summary[CACHED]} cached, "
              f"{summary[FAILED]} failed; wall {summary['wall_seconds']:.2f} s, "
              f"compute {summary['compute_seconds']:.2f} s")
        print(f"wrote {files['csv']} and {files['json']} ({len(folder.records)} points in the folder)")
        print("PASS: every point finished and agrees with theory" if passed else
              "FAIL: some points failed or disagree with theory (see the table)")
    return EXIT_PASS if passed else EXIT_FAIL


if __name__ == "__main__":
    raise SystemExit(main())
