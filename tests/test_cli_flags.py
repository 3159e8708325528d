"""The README's table of shared options says exactly which CLI has which flag (read from the parsers)."""
import re
from pathlib import Path

import pytest

import nets.train
from verify import agent, architectures, curves, geometry, information_mc, report, sweep, theorem31
from verify.networks import cli as networks

README = Path(__file__).resolve().parents[1] / "README.md"
PARSERS = {"verify": report, "verify.theorem31": theorem31, "verify.information_mc": information_mc,
           "verify.curves": curves, "verify.networks": networks, "verify.geometry": geometry,
           "nets.train": nets.train, "verify.sweep": sweep, "verify.agent": agent,
           "verify.architectures": architectures}


def _table() -> tuple[list, dict]:
    lines = [line for line in README.read_text().splitlines() if line.startswith("| tool | `--out`")]
    assert len(lines) == 1, "the README has one table of shared options"
    text = README.read_text().split(lines[0], 1)[1].splitlines()[2:]
    flags = re.findall(r"`(--[a-z-]+)`", lines[0])
    rows = {}
    for line in text:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = {f for f, c in zip(flags, cells[1:]) if c == "yes"}
    return flags, rows


def _shown(module) -> set:
    """The options a parser shows in --help (hidden aliases excluded)."""
    return {o for a in module.build_parser()._actions if a.help != "==SUPPRESS==" for o in a.option_strings}


def test_the_table_lists_every_cli():
    assert set(_table()[1]) == set(PARSERS)


@pytest.mark.parametrize("tool", sorted(PARSERS))
def test_each_row_has_exactly_the_parsers_flags(tool):
    flags, rows = _table()
    shown = _shown(PARSERS[tool])
    assert rows[tool] == {f for f in flags if f in shown}
    assert {"--seed", "--json", "--quiet", "-h"} <= shown
