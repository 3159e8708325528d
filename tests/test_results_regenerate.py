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
    _, args, module = regenerate.entry(name)
    target = {"verify.networks": verify.networks.cli, "verify.architectures": verify.architectures}[module]
    monkeypatch.setattr(target, "run", _stop)
    with pytest.raises(Validated):
        target.main([*args, "--out", str(tmp_path), "--json", "--quiet"])


def test_the_budget_names_the_transformers_own_batches():
    _, args, module = regenerate.entry("3b")
    assert regenerate._budget(args, module).endswith(f"(transformer {verify.architectures.TRANSFORMER_BATCHES:.0e})")
    _, args, module = regenerate.entry("S1")
    assert "transformer" not in regenerate._budget(args, module)


def test_entries_ending_at_the_same_moment_each_keep_their_summary(tmp_path, monkeypatch):
    """Two runs of regenerate.py once lost an entry: each read summary.json, then each wrote it."""
    import threading
    monkeypatch.setattr(regenerate, "HERE", tmp_path)
    monkeypatch.setattr(regenerate, "LOCK_FOLDER", tmp_path / "lock")
    read = regenerate.json.loads
    both_read = threading.Barrier(2, timeout=0.5)

    def slow_loads(text):            # each writer waits after its read until the other has read too
        out = read(text)
        try:
            both_read.wait()
        except threading.BrokenBarrierError:   # the lock let only one in: the other reads after the write
            pass
        return out

    (tmp_path / "summary.json").write_text("{}")
    monkeypatch.setattr(regenerate.json, "loads", slow_loads)
    names = ["S1", "noise"]
    threads = [threading.Thread(target=regenerate.merge_summary, args=(
        {"name": n, "title": n, "command": "c", "budget": "b", "seconds": 1.0, "exit_code": 0, "checks": []},))
        for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    monkeypatch.setattr(regenerate.json, "loads", read)
    assert sorted(read((tmp_path / "summary.json").read_text())) == names
    assert all(f"## {n}: " in (tmp_path / "README.md").read_text() for n in names)
