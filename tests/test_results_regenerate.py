"""docs/results/regenerate.py: every committed run is a valid command, and each budget says what trains."""
import importlib.util
from pathlib import Path

import pytest

import verify.architectures
import verify.networks.cli

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("regenerate", ROOT / "docs" / "results" / "regenerate.py")
regenerate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(regenerate)


class Validated(Exception):
    """Raised in place of training: the command got past every check of its input."""


def _stop(*args, **kwargs):
    raise Validated


@pytest.mark.parametrize("name", list(regenerate.RUNS))
def test_every_committed_run_passes_its_commands_input_checks_before_training(name, tmp_path, monkeypatch):
    """A typo in RUNS would otherwise show only after hours of other entries' training."""
    _, args, module = (*regenerate.RUNS[name], "verify.networks")[:3]
    target = {"verify.networks": verify.networks.cli, "verify.architectures": verify.architectures}[module]
    monkeypatch.setattr(target, "run", _stop)
    with pytest.raises(Validated):
        target.main([*args, "--out", str(tmp_path), "--json", "--quiet"])


def test_the_budget_names_the_transformers_own_batches():
    _, args, module = regenerate.RUNS["3b"]
    assert regenerate._budget(args, module).endswith(f"(transformer {verify.architectures.TRANSFORMER_BATCHES:.0e})")
    assert "transformer" not in regenerate._budget(regenerate.RUNS["S1"][1])
