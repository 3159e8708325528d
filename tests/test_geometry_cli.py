"""The geometry CLI: its JSON contract, its checks (including a wrong prediction), bad input, networks, report."""
import json
import subprocess
import sys

import numpy as np
import pytest

import verify.geometry as vg
from theory.geometry import ccgp_optimal

SMALL = ["--ntask", "2", "6", "--trials", "800", "--replicates", "6", "--shuffles", "2", "--quiet"]
PER_N = 4 * 2 + 2 + 3    # four per-coordinate measures x D, shattering, PR, three DCI parts


def run_json(capsys, argv):
    code = vg.main(argv + ["--json"])
    return code, json.loads(capsys.readouterr().out)


def test_optimal_agent_json_rows_have_exactly_the_keys_and_agree_with_theory(tmp_path, capsys):
    code, out = run_json(capsys, SMALL + ["--out", str(tmp_path)])
    assert code == 0 and out["exit_code"] == 0 and out["passed"] is True
    assert len(out["rows"]) == 2 * PER_N
    assert all(tuple(r) == vg.ROW_KEYS for r in out["rows"])
    ccgp_row = next(r for r in out["rows"] if r["agent"] == "optimal" and r["ntask"] == 6 and r["metric"] == "ccgp"
                    and r["dichotomy"] == "x1")
    np.testing.assert_allclose(ccgp_row["predicted"], ccgp_optimal(0.2, 20, n_train=400, D=2), rtol=1e-12)
    assert ccgp_row["ci_low"] <= ccgp_row["value"] <= ccgp_row["ci_high"]
    assert ccgp_row["null_q95"] < ccgp_row["value"]
    assert {g["metric"] for g in out["geometric_nulls"]} == set(vg.GEOMETRIC)
    assert {p.name for p in tmp_path.iterdir()} >= {"geometry.csv", "results.json", "metrics_vs_ntask.png"}


def test_a_wrong_prediction_fails_the_run(tmp_path, capsys, monkeypatch):
    right = vg.predictions

    def wrong(config, A):
        p = right(config, A)
        return p | {("ccgp", "x1"): float(ccgp_optimal(config.sigma, config.t / 8))}
    monkeypatch.setattr(vg, "predictions", wrong)
    code, out = run_json(capsys, SMALL + ["--out", str(tmp_path)])
    assert code == 1 and out["passed"] is False
    failed = {c["name"] for c in out["checks"] if not c["passed"]}
    assert failed == {"[optimal N=2] ccgp x1", "[optimal N=6] ccgp x1"}


def test_same_seed_same_rows_and_another_seed_other_rows(tmp_path, capsys):
    tiny = ["--ntask", "2", "--trials", "400", "--replicates", "2", "--shuffles", "2", "--quiet"]
    a = run_json(capsys, tiny + ["--out", str(tmp_path / "a"), "--seed", "3"])[1]["rows"]
    b = run_json(capsys, tiny + ["--out", str(tmp_path / "b"), "--seed", "3"])[1]["rows"]
    c = run_json(capsys, tiny + ["--out", str(tmp_path / "c"), "--seed", "4"])[1]["rows"]
    assert a == b and a != c


@pytest.mark.parametrize("argv, word", [
    (["--ntask", "1"], "ntask"),
    (["--trials", "10"], "trials"),
    (["--sigma", "0"], "sigma"),
    (["--arch", "rnn", "--D", "3", "--ntask", "3"], "D=3"),
    (["--replicates", "1"], "replicates"),
    (["--trials", "1000000000000"], "--trials=1000000000000"),         # oversized: refused before any work
    (["--replicates", "1000000000"], "--replicates=1000000000"),
    (["--ntask", "100000000"], "--ntask=100000000"),
    (["--arch", "rnn", "--networks", "1000000000"], "--networks=1000000000"),
    (["--arch", "rnn", "--batches", "1000000000", "--networks", "1", "--ntask", "2", "--allow-large"], "--allow-long"),     # days of training: refused, estimated
])
def test_bad_input_exits_2_with_a_one_line_message(tmp_path, capsys, argv, word):
    assert vg.main(argv + ["--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert word in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_lstm_and_transformer_agents_train_networks_of_their_architecture(arch):
    training = vg.GeometryConfig(arch=arch, ntask=(2, 6), networks=2).training()
    assert training.arch == arch and training.ntask == (2, 2, 6, 6)


def test_the_old_agent_flag_still_chooses_the_architecture():
    assert vg.build_parser().parse_args(["--agent", "lstm"]).arch == "lstm"
    assert vg.build_parser().parse_args([]).arch == "optimal"


def test_rnn_agent_runs_from_the_network_cache_and_respects_the_bayes_bound(tmp_path, capsys):
    argv = ["--arch", "rnn", "--ntask", "2", "--networks", "2", "--batches", "20", "--trials", "400",
            "--shuffles", "2", "--workers", "1", "--out", str(tmp_path), "--quiet"]
    code, out = run_json(capsys, argv)
    assert code == 0, [c for c in out["checks"] if not c["passed"]]
    assert {(r["agent"], r["ntask"]) for r in out["rows"]} == {("rnn", 2)} and len(out["rows"]) == PER_N
    assert all(r["predicted"] is None for r in out["rows"])
    assert [c["name"] for c in out["checks"]] == ["[rnn N=2] ccgp x1", "[rnn N=2] ccgp x2"]
    assert list((tmp_path / "networks" / "b20").glob("*.npz"))
    config = vg.GeometryConfig(arch="rnn", ntask=(2,), networks=2, batches=20)
    _, summary = vg.network_states(config.training(), 400, tmp_path / "networks", False,
                                   np.random.default_rng(0), workers=1)
    assert np.isnan(summary["network_batches_per_second"])   # loaded from the cache, nothing trained


def test_report_section_gives_markdown_results_and_checks_for_both_agents(tmp_path):
    text, results, checks = vg.report_section(tmp_path, seed=0, progress=False,
                                              budget=dict(ntask=(2, 6), networks=2, batches=20, trials=400,
                                                          replicates=2, shuffles=2), workers=1)
    assert "![metrics vs N](geometry/metrics_vs_ntask.png)" in text
    assert (tmp_path / "geometry" / "metrics_vs_ntask.png").stat().st_size > 0
    assert set(results) == {"optimal", "rnn", "checks"}
    assert any(c.name.startswith("[optimal N=6]") for c in checks) and any(c.name.startswith("[rnn N=2]")
                                                                            for c in checks)
    assert (tmp_path / "rnn" / "networks" / "b20").is_dir()   # the network section's cache


def test_help_runs_as_a_module():
    res = subprocess.run([sys.executable, "-m", "verify.geometry", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and "--arch {optimal," in res.stdout and "CCGP" in res.stdout
