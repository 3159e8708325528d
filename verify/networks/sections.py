"""The report's network sections: the paper's figures in order, and the experiments beyond 3a-5c.

:data:`PAPER_FIGURES` lists the paper's figures in order, each with what the paper claims (as the
toolkit's docs state it), the checks that decide it and the folder of its committed results
(``docs/results/<experiment>/``); :func:`figures_overview` renders that list against a run's checks: the
opening table of ``python -m verify``'s report.

:func:`report_sections` runs every entry of a budget (:mod:`verify.networks.budgets`) but the reference
networks (5b, S1, S5c, S6, hidden size, large N, S3b, noise variants, multiplicative boundaries), writes
each entry's files under ``out / "rnn_experiments"`` and returns the markdown (per entry: what it tests,
the theory line, the table of rows, the figures and the checks) with every check, for ``python -m
verify`` to render and count.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from verify.networks.budgets import BUDGETS
from verify.networks.config import NetworkCheckConfig
from verify.networks.registry import REGISTRY
from verify.networks.runner import run
from verify.networks.report import format_rows, write_outputs
from verify.verdict import Check, format_table, format_value, verdict_line, verdict_word

#: Where the committed results of each experiment live, relative to the repository root.
RESULTS = Path("docs") / "results"
#: The committed results folders of experiments that share a run with others (docs/results/regenerate.py):
#: the reference networks' experiments (3a also at three times the paper's training, and 3a and 3c on 80
#: new networks per N in a run sized before its outcome), S6 on the 5b networks and 5a on the S5c free-RT
#: networks; hidden size also with tanh units; every other experiment has its own.
RESULT_FOLDERS = {"3a": ("reference", "3a_long", "3a_decisive"), "3c": ("reference", "3a_decisive"),
                  "4": ("reference",), "dynamics": ("reference",), "S6": ("5b",), "5a": ("S5c",),
                  "hidden_size": ("hidden_size", "hidden_size_tanh")}
_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PaperFigure:
    """One figure of the paper: its label, the experiment (and results folder) that reproduces it, what
    the paper claims (the toolkit's wording), and the check names (regular expressions, matched whole)
    that decide it. ``measured_only``: the paper states no rule, so the figure is measured, not checked."""

    figure: str
    experiment: str
    claim: str
    checks: tuple
    measured_only: bool = False

    def matches(self, check) -> bool:
        return any(re.fullmatch(pattern, check.name) for pattern in self.checks)


def _with_lines(label: str) -> tuple:
    """The note against the paper's line and the Bayes upper check of an experiment's rows."""
    return (f"ood_below_ceiling_{label}", f"below_bayes_bound_{label}")


#: The paper's figures in order (main text, then supplement), then what the toolkit adds beyond them.
PAPER_FIGURES = (
    PaperFigure("Fig. 3a", "3a", "OOD r^2 rises with the number of tasks N toward the paper's line",
                ("ood_rises_toward_line_with_ntask",) + _with_lines("ntask")),
    PaperFigure("Fig. 3b", "3b", "transformers reach the line at smaller N than RNNs",
                ("transformer_disentangles_at_smaller_ntask",)),
    PaperFigure("Fig. 3c", "3c", "hidden-space decoder angles approach 90 degrees as N grows",
                ("angles_approach_90", "angle_interval_contains_90")),
    PaperFigure("Fig. 4", "4", "units are mixed and smoothly tuned to both factors", (), measured_only=True),
    PaperFigure("Fig. 5a", "5a", "with free reaction time, OOD r^2 rises with evidence time t to the line",
                ("rises_to_line_time",) + _with_lines("time")),
    PaperFigure("Fig. 5b", "5b", "good when N >= D; worse for N < D than for N >= D at the same D",
                ("near_line_when_ntask_at_least_D", "lower_when_ntask_below_D", "ood_below_ceiling_identifiable",
                 "ood_below_ceiling_row_space_prediction",
                 "below_bayes_bound_5b")),
    PaperFigure("Fig. 5c", "5c", "OOD r^2 falls with the noise sigma, at the line at the smallest sigma",
                ("ood_falls_with_sigma",) + _with_lines("sigma")),
    PaperFigure("Fig. S1", "S1", "both encoders (ReLU, quadratic) generalise when invertible, rising with N",
                (r"rises_to_line_.*_encoder",) + _with_lines("invertible_encoders")),
    PaperFigure("Fig. S3b", "S3b", "OOD generalisation holds until the factors are almost fully correlated",
                ("holds_until_rho_near_1", "drop_at_largest_rho", "at_line_single_rho") + _with_lines("rho")),
    PaperFigure("Fig. S5c", "S5c", "free reaction time generalises as well as fixed",
                ("free_rt_equivalent_to_fixed",) + _with_lines("timeline")),
    PaperFigure("Fig. S6", "S6", "lifetime sparseness vs N and D", (), measured_only=True),
    PaperFigure("beyond the paper: noise", "noise", "Theorem 3.1 holds for any noise with a sufficient linear "
                "estimator", ("at_line_under_each_noise", "at_mean_estimator_line_gumbel")
                + _with_lines("noise_variants")),
    PaperFigure("beyond the paper: hidden size", "hidden_size", "OOD r^2 rises with H; the capacity line binds "
                "for H < D", ("rises_to_line_hidden_size", "capacity_binds_below_D", "whole_cube_within_capacity")
                + _with_lines("hidden_size")),
    PaperFigure("beyond the paper: large N", "large_n", "OOD r^2 rises or stays at the line up to N = 96",
                (r"rises_or_stays_at_line_D\d+",) + _with_lines("large_n")),
    PaperFigure("beyond the paper: multiplicative", "multiplicative", "none quoted (outside Theorem 3.1)",
                ("rises_to_line_multiplicative",) + _with_lines("multiplicative")),
    PaperFigure("beyond the paper: dynamics", "dynamics", "a D-D continuous attractor", ("attractor_signature",)),
)


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def _committed(fig: PaperFigure, name: str, summaries: dict) -> str:
    """One committed run of a figure: its verdict on the figure's checks, each binding claim's verdict and
    the budget, from ``docs/results/summary.json`` (written by docs/results/regenerate.py)."""
    summary = summaries.get(name)
    if summary is None:
        return ""
    mine = [c for c in map(Check.from_dict, summary["checks"]) if fig.matches(c)]
    if not mine:
        return f"; {summary['budget']}"
    claims = ", ".join(f"`{c.name}` {c.verdict}" for c in mine if c.binding and c.kind == "claim")
    return f": **{verdict_word(mine)}**" + (f" ({claims})" if claims else "") + f"; {summary['budget']}"


def figures_overview(checks, out) -> str:
    """The report's opening table: per paper figure, the claim, what this run measured, its verdict, and the
    committed results (``docs/results/<experiment>/``, linked relative to ``out``) with their verdict on
    the figure's checks and their budget (from ``docs/results/summary.json``).

    Parameters
    ----------
    checks : sequence of :class:`verify.verdict.Check`, every check of the run
    out : path of the folder the report is written to (links are relative to it)

    Returns
    -------
    str : a markdown table, one row per entry of :data:`PAPER_FIGURES`
    """
    summary_file = _ROOT / RESULTS / "summary.json"
    summaries = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    lines = ["| figure | the paper's claim | measured (this run) | verdict (this run) | committed results: verdict, "
             "budget |", "|---|---|---|---|---|"]
    for fig in PAPER_FIGURES:
        mine = [c for c in checks if fig.matches(c)]
        if mine:
            verdict = verdict_word(mine)
            measured = "; ".join(f"`{c.name}`: {format_value(c.measured, c.measured_text)} ({c.verdict})" for c in mine)
        else:
            verdict = "measured, no check" if fig.measured_only else "not run at this budget"
            measured = "-"
        committed = []
        for name in RESULT_FOLDERS.get(fig.experiment, (fig.experiment,)):
            folder = RESULTS / name
            if (_ROOT / folder).is_dir():
                link = Path(os.path.relpath(_ROOT / folder, Path(out).resolve())).as_posix()
                committed.append(f"[{folder.as_posix()}/]({link}/){_committed(fig, name, summaries)}")
        cell = "<br>".join(committed) or "none committed"
        lines.append(f"| {fig.figure} | {_cell(fig.claim)} | {_cell(measured)} | {verdict} | {_cell(cell)} |")
    return "\n".join(lines)

#: What each budget entry shows and its theory line, for the report.
THEORY = {
    "5b": "The paper's protocol line of each D (orthant folds for D <= 3, half-spaces above) when rank C = D <= N; for "
          "N < D the row-space prediction (only the projection of mu on the row space of C is decodable; reported, "
          "not binding for hidden states). S6: lifetime sparseness vs N and D, measured (no theory).",
    "S1": "The paper's protocol line, which Theorem 3.1 supports when the encoder is invertible (tested per network).",
    "S5c": "Each timeline's paper's lines at its own final t.",
    "hidden_size": "Best protocol r^2 of an affine H-dimensional state of mu (theory.capacity): the paper's protocol "
                   "line for H >= D, lower for H < D.",
    "large_n": "The paper's protocol line of each D; it does not depend on N once N >= D.",
    "S3b": "The paper's protocol line under the copula prior (theory.correlated), factor correlation "
           "(6/pi) arcsin(rho/2).",
    "noise": "The paper's protocol line for the closed-form estimator variance (mean; GLS for AR(1)); the sample "
             "mean is not sufficient under Gumbel noise, so there it is a reference line only.",
    "multiplicative": "Outside Theorem 3.1: the affine protocol line for reference only; every check a note.",
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
        parts.append(f"### {name}: {titles}\n\nTheory line: {THEORY[name]} Every row also carries the Bayes bound "
                     f"`r2_bayes`.\n\nBudget: {config.networks} networks per "
                     f"setting, {config.batches} batches ({time.perf_counter() - start:.0f} s).\n\n"
                     f"```\n{format_rows(result)}\n```\n\n{figures}\n\n```\n{format_table(result['checks'])}\n```\n\n"
                     f"{verdict_line(result['checks'])}\n")
        if result["skipped"]:
            parts.append("Not checked: " + "; ".join(result["skipped"]) + "\n")
        results[name] = {"config": result["config"], "key": config.key, "rows": result["rows"],
                         "measurements": result["measurements"], "skipped": result["skipped"]}
    return "\n".join(parts), checks, results
