"""Verdicts: every check ends in a claim, a prediction, a measurement, a tolerance and PASS/FAIL.

Also the pieces every ``verify`` command-line entry point shares: the common options
(``--seed``, ``--json``, ``--out``), the human-readable table, and the exit codes
(0 = every binding check agrees with theory, 1 = a check disagrees, 2 = bad usage or input).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

from verify.store import finite_json, jsonable

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class Check:
    """One verified claim.

    ``predicted`` and ``measured`` are numbers (or short strings); ``tolerance`` says how far
    apart they may be and why, e.g. ``"<= 3.1e-14 (16 eps x conditioning bound)"``.

    ``binding=False`` marks an empirical claim of the paper that the theory does not imply
    (e.g. hidden-space decoder angles, attractor dynamics): it is measured and reported as
    reproduced or not, but does not decide the exit code.
    """

    name: str
    claim: str
    predicted: object
    measured: object
    tolerance: str
    passed: bool
    binding: bool = True

    @property
    def verdict(self) -> str:
        if self.binding:
            return "PASS" if self.passed else "FAIL"
        return "reproduced" if self.passed else "not reproduced"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = bool(self.passed)
        d["binding"] = bool(self.binding)
        return d


def format_value(v) -> str:
    """A predicted or measured value for a table: floats to 6 significant digits."""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def format_table(checks: Sequence[Check]) -> str:
    """A plain-text table: name, predicted, measured, tolerance, verdict; then each claim."""
    rows = [("check", "predicted", "measured", "tolerance", "verdict")]
    rows += [(c.name, format_value(c.predicted), format_value(c.measured), c.tolerance, c.verdict) for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += [""] + [f"{c.name}: {c.claim}" + ("" if c.binding else " [paper claim, not implied by the theory]")
                     for c in checks]
    return "\n".join(lines)


def all_passed(checks: Sequence[Check]) -> bool:
    """True when every binding check passed (paper claims outside the theory do not count)."""
    return all(c.passed for c in checks if c.binding)


def verdict_line(checks: Sequence[Check]) -> str:
    """'PASS: 3/3 checks agree with theory' (+ how many paper claims were reproduced)."""
    binding = [c for c in checks if c.binding]
    extra = [c for c in checks if not c.binding]
    line = (f"{'PASS' if all_passed(checks) else 'FAIL'}: {sum(c.passed for c in binding)}/{len(binding)} "
            "checks agree with theory")
    if extra:
        line += f"; {sum(c.passed for c in extra)}/{len(extra)} further paper claims reproduced"
    return line


class UsageError(ValueError):
    """Bad input detected after argument parsing; reported as a one-line message, exit 2."""


def base_parser(doc: str, prog: str) -> argparse.ArgumentParser:
    """An ArgumentParser whose description is the module docstring, with --seed and --json."""
    p = argparse.ArgumentParser(prog=prog, description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same output")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout instead of a table")
    return p


def run_cli(parser: argparse.ArgumentParser, argv, body: Callable[[argparse.Namespace], dict]) -> int:
    """Parse ``argv``, run ``body(args)``, print the result, return the exit code.

    ``body`` returns a dict with at least ``config``, ``checks`` (list of :class:`Check`) and,
    optionally, ``text`` (extra human-readable lines) and ``shown_checks`` (the checks to tabulate
    in the human-readable output, when not all of them). A ``ValueError`` raised by ``body`` (bad
    input found by the library's validation) becomes a one-line message and exit code 2.
    """
    args = parser.parse_args(argv)
    if getattr(args, "seed", 0) is not None and args.seed < 0:
        parser.error(f"argument --seed: {args.seed} must be >= 0")
    try:
        result = body(args)
    except ValueError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    checks = result["checks"]
    passed = all_passed(checks)
    if args.json:
        payload = {k: v for k, v in result.items() if k not in ("checks", "text")}
        payload["checks"] = [c.to_dict() for c in checks]
        payload["passed"] = passed
        print(json.dumps(finite_json(json.loads(json.dumps(payload, default=jsonable))), allow_nan=False))
    else:
        print("configuration: " + ", ".join(f"{k}={v}" for k, v in result["config"].items()))
        if result.get("text"):
            print(result["text"])
        print(format_table(result.get("shown_checks", checks)))
        print("\n" + verdict_line(checks))
    return EXIT_PASS if passed else EXIT_FAIL

