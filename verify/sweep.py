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

Grid values are comma-separated (D=2,3); integer parameters also take a:b (range(a, b)).

Example:  python -m verify.sweep r2 --grid D=2,3 ntask=3,6 sigma=0.1,0.2 --seed 0,1 --workers 2

Exit code 0 when every point finished and every point's checks passed, 1 when a point failed
or a check disagreed, 2 on bad usage, 130 when interrupted (finished points are kept).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimal.agent import log_outputs, optimal_probits, running_mle
from theory.identifiability import diagnose
from optimal.trilateration import recover_mu_from_log_outputs
from theory.world import LATENT_VARIANCE, check_positive_int, check_sigma, sample_evidence, sample_latents
from infra.store import jsonable
from verify.montecarlo import K_SINGLE, r2_estimate
from verify.theorem31 import Theorem31Config, make_config_design
from verify.theorem31 import run as run_theorem31
from infra.engine import (CACHED, DONE, FAILED, Grid, InProcessExecutor, make_executor, missing_points, run_sweep,
                           write_results_json, write_summary_csv)
from infra.cli import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, show_progress


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
    dict with ``r2``, ``r2_predicted``, ``r2_se`` (from :func:`verify.montecarlo.r2_estimate`) and
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

    ``checks`` becomes ``{name: {predicted, measured, tolerance, passed}}`` so that each check's
    numbers get their own CSV columns.
    """
    out = run_theorem31(Theorem31Config(**point))
    checks = {c.name: {k: v for k, v in c.to_dict().items() if k not in ("name", "claim")} for c in out["checks"]}
    return {"identifiable": out["identifiable"], "passed": out["passed"], "checks": checks, "info": out["info"]}


@dataclass(frozen=True)
class SweepSpec:
    """A registered sweep: its point function and its configuration class, as import paths.

    Both are resolved by import (``module:name``), so the function is always pickled by its
    module name, even when this file runs as ``__main__``.
    """

    name: str
    point: str      # "module:function", point (dict) -> result (dict)
    config: str     # "module:Class", a frozen dataclass whose defaults and validation the points use

    def resolve(self):
        """(point function, config class); ValueError if a module is missing."""
        try:
            return tuple(getattr(importlib.import_module(m), attr)
                         for m, attr in (s.split(":") for s in (self.point, self.config)))
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"sweep {self.name!r} is not available: {exc}") from None


SWEEPS = {s.name: s for s in (
    SweepSpec("r2", "verify.sweep:r2_point", "verify.sweep:R2Config"),
    SweepSpec("theorem31", "verify.sweep:theorem31_point", "verify.theorem31:Theorem31Config"),
)}


def parse_value(name: str, text: str, default):
    """Parse one grid value to the type of the parameter's default (int, float, bool, str).

    A parameter whose default is None takes an int, a float, ``none`` or a string.
    """
    text = text.strip()
    if isinstance(default, bool):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"{name}={text!r} must be true or false")
    if default is None:
        if text.lower() == "none":
            return None
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text
    try:
        return type(default)(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} must be of type {type(default).__name__}") from None


def parse_axis(item: str, defaults: dict) -> tuple[str, list]:
    """``"KEY=V1,V2"`` (or ``KEY=a:b`` for an integer parameter) -> (KEY, [values])."""
    key, sep, values = item.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ValueError(f"--grid item {item!r} must look like KEY=V1,V2,...")
    if key not in defaults:
        raise ValueError(f"--grid parameter {key!r} is unknown; parameters: {', '.join(defaults)}")
    default = defaults[key]
    if ":" in values and isinstance(default, int) and not isinstance(default, bool):
        lo, _, hi = values.partition(":")
        lo, hi = parse_value(key, lo, default), parse_value(key, hi, default)
        if hi <= lo:
            raise ValueError(f"--grid range {key}={values} is empty (need a < b in a:b)")
        return key, list(range(lo, hi))
    parts = values.split(",")
    if any(not p.strip() for p in parts):
        raise ValueError(f"--grid item {item!r} has an empty value")
    return key, [parse_value(key, p, default) for p in parts]


def build_grid(spec: SweepSpec, items: list[str], seeds: str) -> tuple[Grid, dict, type]:
    """The grid of a command line: (Grid, the defaults, the point function). Validates every point."""
    fn, config_cls = spec.resolve()
    defaults = dataclasses.asdict(config_cls())
    axes = {}
    for item in items:
        key, values = parse_axis(item, defaults)
        if key in axes or key == "seed":
            raise ValueError(f"--grid parameter {key!r} given twice (give seeds with --seed)")
        axes[key] = values
    axes["seed"] = parse_axis(f"seed={seeds}", defaults)[1]
    grid = Grid.from_dict(axes)
    for point in grid.points(defaults):
        config_cls(**point)
    return grid, defaults, fn


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m verify.sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sweep", help=f"registered sweep: {', '.join(SWEEPS)}")
    p.add_argument("--grid", nargs="*", default=[], metavar="KEY=V1,V2",
                   help="parameter lists; the grid is their cartesian product")
    p.add_argument("--seed", default="0", help="seeds, comma-separated or a:b (default 0)")
    p.add_argument("--out", default="sweeps", help="output folder (default sweeps/)")
    p.add_argument("--workers", type=int, default=None,
                   help="local processes (0 or 1: in-process; default the CPU count)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on the Dask scheduler at ADDRESS, or 'local' for a LocalCluster")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-point table")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout instead of tables")
    return p


def _point_table(records: list, axes: list[str]) -> str:
    rows = [["#"] + axes + ["status", "seconds", "passed", "error"]]
    for i, r in enumerate(records):
        passed = (r["result"] or {}).get("passed", "")
        rows.append([str(i)] + [str(r["config"][a]) for a in axes]
                    + [r["status"], f"{r['seconds']:.3g}", str(passed), r.get("error", "")])
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.sweep not in SWEEPS:
            raise ValueError(f"sweep={args.sweep!r} is unknown; registered sweeps: {', '.join(SWEEPS)}")
        if args.workers is not None and args.workers < 0:
            raise ValueError(f"--workers={args.workers} must be >= 0 (0 or 1: in-process)")
        spec = SWEEPS[args.sweep]
        grid, defaults, fn = build_grid(spec, args.grid, args.seed)
        out = Path(args.out) / spec.name
        config = {"sweep": spec.name, "grid": {k: list(v) for k, v in grid.axes}, "defaults": defaults,
                  "workers": args.workers, "dask": args.dask, "out": str(out)}
        if not args.json:
            print("configuration: " + ", ".join(f"{k}={v}" for k, v in config.items()), flush=True)
        points = grid.points(defaults)
        # with every point cached there is nothing to run: do not start processes or a cluster
        workers = make_executor(args.workers, args.dask) if missing_points(fn, points, out / "points") \
            else contextlib.nullcontext(InProcessExecutor())
        with workers as executor:
            sweep = run_sweep(fn, points, out / "points", executor, progress=show_progress(args))
    except (ValueError, ImportError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; finished points are saved, rerun to resume", file=sys.stderr)
        return 130
    files = {"csv": str(write_summary_csv(sweep, out / "summary.csv")),
             "json": str(write_results_json(sweep, out / "results.json", {"config": config}))}
    summary = sweep.summary()
    passed = summary[FAILED] == 0 and all(r["result"].get("passed", True) for r in sweep.records
                                          if r["status"] != FAILED)
    if args.json:
        print(json.dumps({"config": config, "summary": summary, "points": list(sweep.records),
                          "files": files, "passed": passed}, default=jsonable))
    else:
        if not args.quiet:
            print(_point_table(list(sweep.records), [k for k, v in grid.axes if len(v) > 1] or ["seed"]))
        print(f"points {summary['points']}: {summary[DONE]} computed, {summary[CACHED]} cached, "
              f"{summary[FAILED]} failed; wall {summary['wall_seconds']:.2f} s, "
              f"compute {summary['compute_seconds']:.2f} s")
        print(f"wrote {files['csv']} and {files['json']}")
        print("PASS: every point finished and agrees with theory" if passed else
              "FAIL: some points failed or disagree with theory (see the table)")
    return EXIT_PASS if passed else EXIT_FAIL


if __name__ == "__main__":
    raise SystemExit(main())
