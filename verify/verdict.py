"""Verdicts: every check ends in a claim, a prediction, a measurement, a tolerance and PASS/FAIL.

Also the pieces every ``verify`` command-line entry point shares: the common options
(``--seed``, ``--json``, ``--out``), the human-readable table, and the exit codes, which follow
the verdict word (:func:`verdict_word`): 0 = PASS (every decided binding check agrees with theory),
1 = FAIL (a check disagrees) or NO VERDICT (no binding check was decided), 2 = bad usage or input.
"""
from __future__ import annotations

import argparse
import math
import numbers
from dataclasses import asdict, dataclass, fields
from collections.abc import Callable, Sequence

import numpy as np

from infra import cli
from infra.cli import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, UsageError  # noqa: F401 (the CLIs' names)


#: What a check tests: a positive claim, or an upper bound (see :class:`Check`).
KINDS = ("claim", "upper")


@dataclass(frozen=True)
class Check:
    """One verified claim.

    ``predicted`` and ``measured`` are numbers (or None where there is none, e.g. a run that
    failed); ``predicted_text`` and ``measured_text`` are their human-readable forms where a bare
    number says too little (``"< 0.975"``, ``"0.95 [0.94, 0.96]"``; empty: the number itself).
    ``tolerance`` says how far apart they may be and why, e.g. ``"<= 3.1e-14 (16 eps x conditioning
    bound)"``. A JSON record has one type per field: numbers stay numbers in every CLI.

    ``binding=False`` marks an empirical claim of the paper that the theory does not imply
    (e.g. hidden-space decoder angles, attractor dynamics): it is measured and reported as
    reproduced or not, but does not decide the exit code.

    ``decided=False`` marks a claim the measurement's interval cannot decide at this budget
    (e.g. an interval over networks that contains the threshold): its verdict is "undecided", it
    is shown in every table and JSON record, and it never fails the run.

    ``kind`` is ``"claim"`` (a positive claim: its pass can make the run's PASS) or ``"upper"`` (an
    upper-bound check, e.g. "below the Bayes bound": it can fail a run, but a run whose only
    decided binding checks are upper checks is NO VERDICT, since a network that learnt nothing
    passes every upper bound).
    """

    name: str
    claim: str
    predicted: object
    measured: object
    tolerance: str
    passed: bool
    binding: bool = True
    decided: bool = True
    predicted_text: str = ""
    measured_text: str = ""
    kind: str = "claim"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} must be one of {KINDS}")
        for name in ("predicted", "measured"):
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.integer, np.floating)):
                raise TypeError(f"{name}={v!r} must be a number or None (a text form goes in {name}_text)")
            object.__setattr__(self, name, int(v) if isinstance(v, (int, np.integer)) else float(v))
            if not math.isfinite(v) and not getattr(self, f"{name}_text"):
                # JSON (every record and cache) keeps inf and nan as null: the text form keeps the value
                object.__setattr__(self, f"{name}_text", f"{float(v):g}")

    @property
    def verdict(self) -> str:
        if not self.decided:
            return "undecided"
        if self.binding:
            return "PASS" if self.passed else "FAIL"
        return "reproduced" if self.passed else "not reproduced"

    def to_dict(self) -> dict:
        """The JSON record: every field and the verdict word (one shape for every check)."""
        d = asdict(self)
        d["passed"], d["binding"], d["decided"] = bool(self.passed), bool(self.binding), bool(self.decided)
        d["verdict"] = self.verdict
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Check:
        """Inverse of :meth:`to_dict` (every field kept, ``claim`` and ``binding`` included).

        ``passed`` and ``binding`` must be JSON booleans: a record with ``"passed": "no"`` is refused.
        """
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in d and n not in ("binding", "decided", "predicted_text",
                                                                "measured_text", "kind")]
        if missing:
            raise ValueError(f"check record is missing {missing}")
        for flag in ("passed", "binding", "decided"):
            if flag in d and not isinstance(d[flag], bool):
                raise ValueError(f"check record field {flag}={d[flag]!r} must be true or false")
        return cls(**{n: d[n] for n in names if n in d})   # "verdict" is derived, not read


def format_value(v, text: str = "") -> str:
    """A predicted or measured value for a table: its text form if it has one, floats to 6
    significant digits, None as '-'."""
    if text:
        return text
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def format_table(checks: Sequence[Check]) -> str:
    """A plain-text table: name, predicted, measured, tolerance, verdict; then each claim."""
    rows = [("check", "predicted", "measured", "tolerance", "verdict")]
    rows += [(c.name, format_value(c.predicted, c.predicted_text), format_value(c.measured, c.measured_text),
              c.tolerance, c.verdict) for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += [""] + [f"{c.name}: {c.claim}" + ("" if c.binding else " [not binding]")
                     for c in checks]
    return "\n".join(lines)


def all_passed(checks: Sequence[Check]) -> bool:
    """True when every decided binding check passed (paper claims outside the theory and claims
    undecided at this budget do not count)."""
    return all(c.passed for c in checks if c.binding and c.decided)


def verdict_word(checks: Sequence[Check]) -> str:
    """FAIL when a decided binding check failed; else PASS when a decided binding check of kind
    "claim" passed; else NO VERDICT (a pass that nothing could have failed is no pass, and upper
    checks alone pass for any network, however bad)."""
    decided = [c for c in checks if c.binding and c.decided]
    if not all(c.passed for c in decided):
        return "FAIL"
    return "PASS" if any(c.kind == "claim" for c in decided) else "NO VERDICT"


def exit_code(checks: Sequence[Check]) -> int:
    """The exit code of the verdict word: 0 for PASS, 1 for FAIL and for NO VERDICT."""
    return EXIT_PASS if verdict_word(checks) == "PASS" else EXIT_FAIL


def verdict_line(checks: Sequence[Check]) -> str:
    """'PASS: 3/3 checks agree with theory' (+ how many paper claims were reproduced), or
    'NO VERDICT: ...' (see :func:`verdict_word`)."""
    binding = [c for c in checks if c.binding and c.decided]
    extra = [c for c in checks if not c.binding and c.decided]
    undecided = [c for c in checks if not c.decided]
    if any(c.kind == "claim" for c in binding) or not all(c.passed for c in binding):
        line = f"{verdict_word(checks)}: {sum(c.passed for c in binding)}/{len(binding)} checks agree with theory"
    elif binding:
        line = (f"{verdict_word(checks)}: only upper-bound checks were decided ({len(binding)}, all passed); "
                "no claim was decided")
    else:
        line = f"{verdict_word(checks)}: no check against theory was decided (measurements only)"
    if extra:
        line += f"; {sum(c.passed for c in extra)}/{len(extra)} further paper claims reproduced"
    if undecided:
        line += f"; {len(undecided)} undecided at this budget"
    return line


def base_parser(doc: str, prog: str, **options) -> argparse.ArgumentParser:
    """:func:`infra.cli.base_parser`: --seed, --json, --quiet (and --out, --workers, --dask on request)."""
    return cli.base_parser(doc, prog, **options)


def hidden_alias(parser: argparse.ArgumentParser, flag: str, dest: str, **kwargs) -> None:
    """An old spelling ``flag`` of the option stored in ``dest``: accepted, not shown in --help."""
    parser.add_argument(flag, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)


def run_cli(parser: argparse.ArgumentParser, argv, body: Callable[[argparse.Namespace], dict]) -> int:
    """Parse ``argv``, run ``body(args)``, print the result, return the exit code.

    ``body`` returns a dict with at least ``config``, ``checks`` (list of :class:`Check`) and,
    optionally, ``text`` (extra human-readable lines) and ``shown_checks`` (the checks to tabulate
    in the human-readable output, when not all of them). A ``ValueError`` raised by ``body`` (bad
    input found by the library's validation) becomes a one-line message and exit code 2.
    The exit code follows :func:`verdict_word`: 0 for PASS only; FAIL and NO VERDICT (no decided
    binding check: a verdict that cannot fail is no verdict) exit 1 and write ``"passed": false``.
    """
    def payload(result: dict) -> dict:
        checks = result["checks"]
        out = {k: v for k, v in result.items() if k not in ("checks", "text", "shown_checks")}
        return out | {"checks": [c.to_dict() for c in checks], "passed": code(result) == EXIT_PASS}

    def render(result: dict) -> str:
        lines = ["configuration: " + ", ".join(f"{k}={v}" for k, v in result["config"].items())]
        if result.get("text"):
            lines.append(result["text"])
        shown = result.get("shown_checks", result["checks"])
        lines += ([format_table(shown), ""] if shown else []) + [verdict_line(result["checks"])]
        return "\n".join(lines)

    def code(result: dict) -> int:
        return exit_code(result["checks"])

    return cli.run_main(parser, argv, body, render, code, to_json=payload)
