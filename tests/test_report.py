"""The full report (python -m verify): sections, files, exit code, resume.

The report's parts are shrunk here (two Theorem 3.1 points, one small curves run, a tiny network
budget) so that the plumbing is tested in seconds; the parts themselves have their own tests.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verify import report
from verify.networks import budgets
from verify.networks.config import NetworkCheckConfig


@pytest.fixture
def small_report(monkeypatch):
    monkeypatch.setattr(report, "THEOREM31_POINTS", (
        ("D2 N3", dict(D=2, ntask=3, trials=500)),
        ("D3 N2 (N < D)", dict(D=3, ntask=2, trials=2000)),
    ))
    monkeypatch.setattr(report, "CURVES_RUNS", (
        ("gaussian", dict(sigma=(0.2,), t=(5, 20), trials=2000, replicates=4, angle_ntask=(24,), designs=200),
         "r^2 vs t", ("r2_vs_t",)),
    ))
    # One N: a 40-batch network cannot show the rise with N, only the ceiling check applies.
    monkeypatch.setitem(budgets.REFERENCE, "quick", dict(ntask=(6,), networks=2, batches=40, hidden=8,
                                                      eval_trials=800, encoder="identity", experiments=("3a",),
                                                      adam_steps=20, n_boot=200))


@pytest.mark.slow
def test_report_writes_markdown_json_and_figures_and_exits_0(small_report, tmp_path, capsys):
    """The whole report on a tiny budget (~13 s, mostly the geometry part); its fast twin is
    test_theory_only_report_keeps_its_json_keys_and_marks_the_figures_not_run."""
    code = report.main(["--out", str(tmp_path), "--quick", "--quiet", "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    md = (tmp_path / "report.md").read_text()
    for title in ("Theorem 3.1", "Closed-form predictions", "Trained networks", "Representation geometry"):
        assert f"## {title}" in md
    key = NetworkCheckConfig(**budgets.REFERENCE["quick"]).key
    assert f"rnn/{key}/r2_vs_ntask.png" in md and (tmp_path / "rnn" / key / "r2_vs_ntask.png").exists()
    for decoder in ("ridge_cv", "lstsq", "whole_cube", "reference_adam + reference defect"):
        assert f"| {decoder} |" in md                          # which claims each decoder reproduces
    assert (tmp_path / "curves" / "gaussian" / "r2_vs_t.png").exists()
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["passed"] is True and len(results["sections"]) == 4
    assert "report written to" in out


def test_theory_only_report_keeps_its_json_keys_and_marks_the_figures_not_run(small_report, tmp_path):
    assert report.main(["--out", str(tmp_path), "--skip-networks", "--quiet", "--workers", "1"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"budget", "seconds", "passed", "sections", "results"} <= set(results) and results["passed"] is True
    assert [s["title"].split(":")[0] for s in results["sections"]] == ["Theorem 3.1", "Closed-form predictions and "
                                                                       "their Monte-Carlo twins"]
    md = (tmp_path / "report.md").read_text()
    assert md.index("# 1. The paper's figures, in order") < md.index("# 2. Theory checks") < md.index("# Glossary")
    assert "# 3. Trained networks in detail" not in md
    fig3a = next(line for line in md.splitlines() if line.startswith("| Fig. 3a |"))
    assert "not run at this budget" in fig3a


def test_report_exits_1_when_a_binding_check_fails(small_report, monkeypatch, tmp_path):
    def wrong_point(point):
        return {"checks": {"recovery": {"claim": "mu is recovered", "predicted": 0.0, "measured": 1.0,
                                        "tolerance": "<= 1e-14", "passed": False, "binding": True}},
                "passed": False, "identifiable": True}

    monkeypatch.setattr(report, "theorem31_point", wrong_point)
    assert report.main(["--out", str(tmp_path), "--skip-networks", "--quiet", "--workers", "1"]) == 1
    assert "| FAIL |" in (tmp_path / "report.md").read_text()


def test_a_point_result_without_readable_verdicts_is_a_failed_check_not_bad_input(small_report, monkeypatch,
                                                                                  tmp_path):
    monkeypatch.setattr(report, "theorem31_point", lambda point: {"checks": {}, "passed": True})
    assert report.main(["--out", str(tmp_path), "--skip-networks", "--quiet", "--workers", "1"]) == 1
    assert "result has no checks" in (tmp_path / "report.md").read_text()


@pytest.mark.slow      # 3-5 s (a report run twice); tests/test_engine.py covers the sweep cache
def test_rerun_takes_finished_sweep_points_from_the_cache(small_report, tmp_path, capsys):
    report.main(["--out", str(tmp_path), "--skip-networks", "--quiet", "--workers", "1"])
    points = sorted((tmp_path / "theorem31" / "points").glob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in points]
    report.main(["--out", str(tmp_path), "--skip-networks", "--quiet", "--workers", "1", "--json"])
    assert len(points) == 2 and [p.stat().st_mtime_ns for p in points] == stamps
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["passed"] is True


def test_bad_report_options_exit_2(capsys):
    for argv in (["--workers", "-1"], ["--full", "--quick"], ["--bogus"]):
        try:
            code = report.main(argv)
        except SystemExit as exc:
            code = exc.code
        assert code == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_report_with_its_real_budget_exits_0_within_3_minutes(tmp_path):
    """The documented smoke test, as a user runs it: no monkeypatching, a fresh output folder."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "verify", "--quick", "--quiet", "--out", str(tmp_path)],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert seconds < 180, f"python -m verify --quick took {seconds:.0f} s"
    results = json.loads((tmp_path / "results.json").read_text())
    networks = results["results"]["networks"]
    assert {"ridge_cv", "lstsq", "whole_cube", "reference_adam"} == set(networks["rows"][0]["decoders"])


@pytest.mark.slow
def test_full_report_adds_the_architectures_and_the_further_experiments(small_report, monkeypatch, tmp_path):
    tiny = dict(networks=2, batches=30, eval_trials=400, encoder="identity", n_boot=100, adam_steps=10)
    monkeypatch.setitem(budgets.REFERENCE, "full", dict(ntask=(2, 6), experiments=("3a", "3c"), **tiny))
    monkeypatch.setitem(budgets.BUDGETS, "full", {"S5c": dict(ntask=(6,), experiments=("S5c",), **tiny)})
    # 30-batch networks have not learned, so a comparison across N may decide either way: not bad input
    assert report.main(["--out", str(tmp_path), "--full", "--quiet", "--workers", "1"]) in (0, 1)
    md = (tmp_path / "report.md").read_text()
    assert "## Architectures (Fig. 3b, 3c)" in md and "| transformer |" not in md.split("## Architectures")[0]
    assert "## Further network experiments" in md and "### S5c" in md
    assert (tmp_path / "architectures" / "architectures.png").exists()


def test_a_part_without_a_decided_theory_check_is_marked_no_verdict_not_pass(tmp_path):
    from verify.verdict import Check
    checked = report.Section("checked", "s", "t", (Check("a", "a claim", 1.0, 1.0, "exact", True),), (), 1.0)
    measured = report.Section("measured only", "s", "t", (), (), 1.0)
    table = [line for line in report.render_markdown([checked, measured], tmp_path, 2.0).splitlines()
             if line.startswith(("| checked", "| measured only"))]
    assert table[0].endswith("| PASS | 1.0 |") and table[1].endswith("| NO VERDICT | 1.0 |")


def test_report_opens_with_the_papers_figures_then_theory_then_networks_then_a_glossary(tmp_path, monkeypatch):
    """The structure of report.md on a tiny input: figures overview first, in the paper's order, each row
    with its claim's verdict (PASS and FAIL both possible) and a link to the experiment's committed results
    (3a's are in docs/results/reference/) or "none committed"."""
    from verify.networks import sections
    from verify.verdict import Check
    root = tmp_path / "repo"
    (root / "docs" / "results" / "reference").mkdir(parents=True)
    monkeypatch.setattr(sections, "_ROOT", root)
    rise = Check("ood_rises_toward_line_with_ntask", "rises", None, None, "t", True, measured_text="0.3 [0.1, 0.5]")
    falls = Check("ood_falls_with_sigma", "falls", None, None, "t", False, measured_text="-0.2 [-0.3, -0.1]")
    committed_fail = Check("ood_rises_toward_line_with_ntask", "rises", None, None, "t", False)
    (root / "docs" / "results" / "summary.json").write_text(json.dumps(
        {"reference": {"budget": "15 networks per setting x 1e+05 batches", "checks": [committed_fail.to_dict()]}}))
    theory = report.Section("Theorem 3.1: trilateration", "s", "t", (Check("a", "exact", 1.0, 1.0, "eps", True),),
                            (), 1.0)
    nets = report.Section("Trained networks against the theory", "s", "t", (rise, falls), (), 1.0, "", "networks")
    md = report.render_markdown([nets, theory], tmp_path, 2.0)
    order = [md.index(h) for h in ("# 1. The paper's figures, in order", "# 2. Theory checks",
                                   "## Theorem 3.1", "# 3. Trained networks in detail",
                                   "## Trained networks against the theory", "# Glossary")]
    assert order == sorted(order)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in md.splitlines() if line.startswith("| Fig. ")}
    figures = list(rows)
    assert figures.index("Fig. 3a") < figures.index("Fig. 3c") < figures.index("Fig. 5a") < figures.index("Fig. S1")
    assert "| PASS |" in rows["Fig. 3a"] and "0.3 [0.1, 0.5]" in rows["Fig. 3a"]
    assert "| FAIL |" in rows["Fig. 5c"]
    assert "not run at this budget" in rows["Fig. 5b"] and "measured, no check" in rows["Fig. 4"]
    assert "[docs/results/reference/](" in rows["Fig. 3a"] and "none committed" in rows["Fig. 5a"]
    # the committed run's own verdict (here FAIL, while this run's is PASS) and its budget
    assert rows["Fig. 3a"].endswith("**FAIL** (`ood_rises_toward_line_with_ntask` FAIL); 15 networks per setting x "
                                    "1e+05 batches |")
    link = rows["Fig. 3a"].split("[docs/results/reference/](")[1].split(")")[0]
    assert (tmp_path / link).resolve() == root / "docs" / "results" / "reference"
    assert "chosen after the first audit" in md and "the paper's line" in md.lower()
