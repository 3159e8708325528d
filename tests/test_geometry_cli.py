"""The geometry CLI: its JSON contract, its checks (a wrong prediction, a network at chance and an agent above the
Bayes bound fail; the optimal agent passes), clipped intervals, bad input, networks, report."""
import json
import subprocess
import sys

import numpy as np
import pytest

import verify.geometry as vg
from theory.geometry import ccgp_optimal

SMALL = ["--ntask", "2", "6", "--trials", "800", "--replicates", "6", "--shuffles", "2", "--quiet"]
PER_N = 4 * 2 + 2 + 4    # four per-coordinate measures x D, shattering, PR, four DCI parts (D, C, I, r2)


def run_json(capsys, argv):
    code = vg.main(argv + ["--json"])
    return code, json.loads(capsys.readouterr().out)


def test_optimal_agent_json_rows_have_exactly_the_keys_and_agree_with_theory(tmp_path, capsys):
    code, out = run_json(capsys, SMALL + ["--out", str(tmp_path)])
    assert code == 0 and out["exit_code"] == 0 and out["passed"] is True
    assert len(out["rows"]) == 2 * PER_N
    assert all(tuple(r) == vg.ROW_KEYS for r in out["rows"])
    assert all(isinstance(r["clipped"], bool) for r in out["rows"])
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
    # days of training: refused, estimated
    (["--arch", "rnn", "--batches", "1000000000", "--networks", "1", "--ntask", "2", "--allow-large"], "--allow-long"),
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


@pytest.mark.slow     # 5-15 s: training, then inner-CV classifiers and lasso on 64-unit states, with nulls
def test_rnn_agent_runs_from_the_network_cache_and_respects_the_bayes_bound(tmp_path, capsys):
    argv = ["--arch", "rnn", "--ntask", "2", "--networks", "2", "--batches", "20", "--trials", "400",
            "--shuffles", "2", "--workers", "1", "--out", str(tmp_path), "--quiet"]
    code, out = run_json(capsys, argv)
    assert code == 0, [c for c in out["checks"] if not c["passed"]]
    assert {(r["agent"], r["ntask"]) for r in out["rows"]} == {("rnn", 2)} and len(out["rows"]) == PER_N
    assert all(r["predicted"] is None for r in out["rows"])
    assert [c["name"] for c in out["checks"]] == ["[rnn N=2] ccgp x1 above chance", "[rnn N=2] ccgp x1",
                                                  "[rnn N=2] ccgp x2 above chance", "[rnn N=2] ccgp x2"]
    assert [c["kind"] for c in out["checks"]] == ["claim", "upper"] * 2
    assert list((tmp_path / "networks" / "b20").glob("*.npz"))
    config = vg.GeometryConfig(arch="rnn", ntask=(2,), networks=2, batches=20)
    _, summary = vg.network_states(config.training(), 400, tmp_path / "networks", False,
                                   np.random.default_rng(0), workers=1)
    assert np.isnan(summary["network_batches_per_second"])   # loaded from the cache, nothing trained


def network_run(monkeypatch, tmp_path, capsys, states, x):
    """The network path of the CLI (``--arch rnn``) on given states (K, n, p) instead of trained networks."""
    monkeypatch.setattr(vg, "network_states", lambda *args, **kwargs: ({2: (states, x)}, None))
    return run_json(capsys, ["--arch", "rnn", "--ntask", "2", "--networks", str(len(states)), "--trials",
                             str(states.shape[1]), "--shuffles", "2", "--out", str(tmp_path), "--quiet"])


def optimal_probits(K, n, N, seed):
    config = vg.GeometryConfig(ntask=(N,), trials=n, replicates=max(K, 2))
    states, x, _ = vg.optimal_states(config, N, np.random.default_rng(seed))
    return states[:K], x[:K]


def test_the_optimal_agents_states_pass_the_network_ccgp_checks(tmp_path, capsys, monkeypatch):
    code, out = network_run(monkeypatch, tmp_path, capsys, *optimal_probits(2, 800, 6, 1))
    assert code == 0 and [c["verdict"] for c in out["checks"]] == ["PASS"] * 4, out["checks"]


def test_a_network_at_chance_fails_the_above_chance_claim(tmp_path, capsys, monkeypatch):
    """States that carry nothing about x* (Gaussian, 8 units): CCGP 1/2 within its binomial SE."""
    rng = np.random.default_rng(2)
    code, out = network_run(monkeypatch, tmp_path, capsys, rng.standard_normal((2, 800, 8)),
                            rng.uniform(-0.5, 0.5, (2, 800, 2)))
    assert code == 1 and out["passed"] is False
    verdicts = {c["name"]: c["verdict"] for c in out["checks"]}
    assert verdicts == {"[rnn N=2] ccgp x1 above chance": "FAIL", "[rnn N=2] ccgp x1": "PASS",
                        "[rnn N=2] ccgp x2 above chance": "FAIL", "[rnn N=2] ccgp x2": "PASS"}


def test_an_agent_that_sees_x_star_itself_fails_the_bayes_bound(tmp_path, capsys, monkeypatch):
    """States = x* (noise-free; CCGP 0.98, the least-squares boundary's extrapolation error left) beat the Bayes
    classifier of the noisy evidence (0.964) by more than the upper check's tolerance (k binomial SEs)."""
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (2, 800, 2))
    code, out = network_run(monkeypatch, tmp_path, capsys, x.copy(), x)
    assert code == 1
    upper = [c for c in out["checks"] if c["kind"] == "upper"]
    assert [c["verdict"] for c in upper] == ["FAIL", "FAIL"] and all(c["measured"] > c["predicted"] for c in upper)


def test_a_single_networks_ccgp_bound_uses_its_binomial_se_not_zero_tolerance(tmp_path, capsys, monkeypatch):
    code, out = network_run(monkeypatch, tmp_path, capsys, *optimal_probits(1, 800, 6, 4))
    assert code == 0, out["checks"]
    assert all("binomial SE" in c["tolerance"] and "(0)" not in c["tolerance"] for c in out["checks"])
    row = next(r for r in out["rows"] if r["metric"] == "ccgp")
    assert row["ci_low"] is None and row["ci_high"] is None          # one network: no interval over networks


def test_intervals_are_clipped_to_the_measures_range_and_say_so():
    mean, low, high, clipped = vg.summary([0.999, 1.0, 0.97], "ccgp", units=64)
    assert high == 1.0 and clipped and low < mean
    assert vg.summary([0.5, 0.52, 0.51], "ccgp", units=64)[3] is False
    assert vg.summary([0.1, 0.2], "informativeness", units=64)[1] == 0.0      # NRMSE >= 0
    assert vg.summary([1.9, 2.0, 2.0], "participation_ratio", units=2)[2] == 2.0


def test_dci_at_odd_n_is_within_its_derived_sampling_shift(tmp_path, capsys):
    """N = 3: x1 sits on a unit direction, so the sample lasso loses disentanglement of order n^(-1/2) log n;
    the check allows the first-order shift, derived, and still passes."""
    code, out = run_json(capsys, ["--ntask", "3", "--trials", "800", "--replicates", "4", "--shuffles", "2",
                                  "--quiet", "--out", str(tmp_path)])
    check = next(c for c in out["checks"] if c["name"] == "[optimal N=3] dci disentanglement")
    assert check["passed"] and check["measured"] < 1 - 1e-3 and "sampling shift" in check["tolerance"]
    shift = vg.dci_sampling_shift(np.sqrt(20) * vg.build_design("even", 3, 2).C / 0.2, 0.2, 20, 400,
                                  np.random.default_rng(0), draws=32)
    assert shift["disentanglement"][0] < 0                     # the loss: the lasso can only lose D at N = 3


def test_ridge_option_is_cross_validated_by_default_and_a_number_fixes_it():
    assert vg.build_parser().parse_args([]).ridge is None
    assert vg.GeometryConfig().penalty == "cv"
    assert vg.build_parser().parse_args(["--ridge", "1e-3"]).ridge == 1e-3
    assert vg.GeometryConfig(ridge=1e-3).penalty == 1e-3
    with pytest.raises(ValueError, match="ridge=-1"):
        vg.GeometryConfig(ridge=-1.0)


@pytest.mark.slow     # 10-30 s: both agents, networks trained, every measure and null on 64-unit states
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
