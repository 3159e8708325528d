"""The report's sections for the experiments beyond 3a-5c (5b, S1, S5c, S6, hidden size, large
N, S3b, noise variants, multiplicative boundaries).

:func:`report_sections` runs every entry of a budget (:mod:`verify.networks.budgets`), writes each entry's files under ``out / "rnn_experiments"`` and returns
the markdown (per entry: what it tests, the theory line, the table of rows, the figures and the
checks) with every check, for ``python -m verify`` to render and count.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from verify.networks.budgets import BUDGETS
from verify.networks.config import NetworkCheckConfig
from verify.networks.registry import REGISTRY
from verify.networks.runner import run
from verify.networks.report import format_rows, write_outputs
from verify.verdict import format_table, verdict_line

#: What each budget entry shows and its theory line, for the report.
THEORY = {
    "5b": "Protocol ceiling of each D (orthant folds for D <= 3, half-spaces above) when rank C = D <= N; for "
          "N < D the row-space prediction (only the projection of mu on the row space of C is decodable; reported, "
          "not binding for hidden states). S6: lifetime sparseness vs N and D, measured (no theory).",
    "S1": "Protocol ceiling, which holds when the encoder is invertible (tested per network).",
    "S5c": "Each timeline's ceilings at its own final t.",
    "hidden_size": "Best protocol r^2 of an affine H-dimensional state of mu (theory.capacity): the protocol ceiling "
                   "for H >= D, lower for H < D.",
    "large_n": "Protocol ceiling of each D; it does not depend on N once N >= D.",
    "S3b": "Protocol ceiling under the copula prior (theory.correlated), factor correlation (6/pi) arcsin(rho/2).",
    "noise": "Protocol ceiling of the closed-form estimator variance (mean; GLS for AR(1)); a bound for the Gaussian "
             "kinds, a reference line for Gumbel noise.",
    "multiplicative": "Outside Theorem 3.1: the affine protocol ceiling for reference only; every check non-binding.",
}


def report_sections(out, budget: str = "quick", seed: int = 0, progress: bool = True, workers: int | None = None,
                    dask: str | None = None, exclude=()) -> tuple[str, list, dict]:
    """Run the budget's entries (but those named in ``exclude``, e.g. ``"reference"`` when the
    report runs it as its own section); return (markdown, checks, {entry: result summary}).

    Networks are cached under ``out / "rnn" / "networks"`` (shared with the reference networks'
    section), files go to ``out / "rnn_experiments" / <configuration hash>/``.
    """
    if budget not in BUDGETS:
        raise ValueError(f"budget={budget!r} must be one of {tuple(BUDGETS)}")
    out = Path(out)
    folder, cache = out / "rnn_experiments", out / "rnn" / "networks"
    parts, checks, results = [], [], {}
    for name, entry in BUDGETS[budget].items():
        if name in exclude:
            continue
        config = NetworkCheckConfig(**entry, seed=seed)
        start = time.perf_counter()
        result = run(config, folder, progress=progress, cache=cache, workers=workers, dask=dask)
        files = write_outputs(result, folder, config.key)
        checks += result["checks"]
        titles = "; ".join(REGISTRY[e].title for e in config.experiments)
        figures = "\n".join(f"![{p.stem}]({os.path.relpath(p, out)})" for p in files if p.suffix == ".png"
                            and not p.stem.startswith("calibration"))
        parts.append(f"### {name}: {titles}\n\nTheory line: {THEORY[name]}\n\nBudget: {config.networks} networks per "
                     f"setting, {config.batches} batches ({time.perf_counter() - start:.0f} s).\n\n"
                     f"```\n{format_rows(result)}\n```\n\n{figures}\n\n```\n{format_table(result['checks'])}\n```\n\n"
                     f"{verdict_line(result['checks'])}\n")
        if result["skipped"]:
            parts.append("Not checked: " + "; ".join(result["skipped"]) + "\n")
        results[name] = {"config": result["config"], "key": config.key, "rows": result["rows"],
                         "measurements": result["measurements"], "skipped": result["skipped"]}
    return "\n".join(parts), checks, results
