"""The network checks (verify.networks: runner, verdicts, report, cli): verdicts, pipeline, files, CLI contract.

Networks here are tiny and barely trained (the point is the plumbing and the verdict logic);
the trained-network numbers come from `python -m verify.networks` and the slow report test.
"""
import csv
import json

import numpy as np
import pytest

from theory.bayes_bound import bayes_line
from analysis.decoders import DECODERS
from verify.networks.config import NetworkCheckConfig
from verify.networks.registry import REGISTRY
from verify.networks.runner import run
from verify.networks.verdicts import below_ceiling, difference
from verify.networks.cli import main
from verify.verdict import Check, all_passed, verdict_line

TINY = dict(ntask=(2, 6), networks=2, batches=60, hidden=16, eval_trials=800, encoder="identity", adam_steps=20,
            n_boot=300)
INTERVAL_KEYS = {"estimate", "median", "q25", "q75", "ci_low", "ci_high", "n_networks", "n_folds", "method",
                 "clipped"}


def _row(value, lo, hi, protocol=0.975):
    iv = {"median": (lo + hi) / 2, "q25": lo, "q75": hi, "ci_low": lo, "ci_high": hi, "n_networks": 5, "n_folds": 4}
    return {"ntask": value, "r2_protocol": protocol, "decoders": {"ridge_cv": iv}}


def test_the_paper_line_is_a_non_binding_note_decided_below_above_or_across():
    below = below_ceiling([_row(2, 0.80, 0.85), _row(24, 0.93, 0.96)], "ntask", "ntask")
    assert below.passed and below.decided and not below.binding and below.verdict == "reproduced"
    above = below_ceiling([_row(2, 0.80, 0.85), _row(24, 0.98, 0.99)], "ntask", "ntask")
    assert not above.passed and above.decided and not above.binding   # above a linear line is no failure
    across = below_ceiling([_row(2, 0.80, 0.85), _row(24, 0.97, 0.98)], "ntask", "ntask")
    assert not across.decided and across.verdict == "undecided"


def test_a_difference_part_decides_only_when_the_bootstrap_interval_excludes_zero():
    rng = np.random.default_rng(0)
    low, high = 0.80 + 0.01 * rng.normal(size=(5, 4)), 0.95 + 0.01 * rng.normal(size=(5, 4))
    noisy = 0.80 + 0.2 * rng.normal(size=(2, 4))
    outcome = [difference(a, b, "x", claim, 0, 500) for a, b, claim in
               ((low, high, "above"), (high, low, "above"), (low, noisy, "above"), (high, low, "below"))]
    assert [(p.passed, p.decided) for p in outcome] == [(True, True), (False, True), (False, False), (True, True)]


def test_undecided_checks_are_visible_but_never_fail_the_run():
    ok = Check("a", "theory claim", 0, 0, "exact", True)
    open_ = Check("b", "theory claim", 0, 0, "interval", False, decided=False)
    assert all_passed([ok, open_]) and open_.verdict == "undecided"
    assert "1 undecided" in verdict_line([ok, open_])
    assert not all_passed([ok, open_, Check("c", "theory claim", 0, 1, "exact", False)])
    d = open_.to_dict()
    assert d["decided"] is False and d["verdict"] == "undecided" and Check.from_dict(d) == open_


def test_paper_claims_outside_the_theory_do_not_decide_the_verdict():
    theory = Check("a", "theory claim", 0, 0, "exact", True)
    paper = Check("b", "paper claim", 0, 1, "exact", False, binding=False)
    assert all_passed([theory, paper]) and paper.verdict == "not reproduced"
    assert "0/1 further paper claims reproduced" in verdict_line([theory, paper])


def test_a_run_without_a_decided_theory_check_says_so_instead_of_passing():
    paper = Check("b", "paper claim", 0, 0, "exact", True, binding=False)
    assert verdict_line([]).startswith("NO VERDICT") and "PASS" not in verdict_line([])
    assert (verdict_line([paper]).startswith("NO VERDICT")
            and "1/1 further paper claims reproduced" in verdict_line([paper]))


def test_every_experiment_declares_its_networks_and_the_registry_knows_the_published_ones():
    assert {"3a", "3c", "4", "5a", "5c", "dynamics"} <= set(REGISTRY)
    config = NetworkCheckConfig(**TINY, experiments=("3a", "3c", "4", "5a", "5c", "dynamics"))
    for e in (REGISTRY[name] for name in config.experiments):
        train = e.networks(config)
        assert train.batches == 60 and train.hidden == 16
    assert REGISTRY["5a"].networks(config).timeline == "free"
    assert REGISTRY["5c"].networks(config).sigma == tuple(s for s in config.sigmas for _ in range(2))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rnn")
    config = NetworkCheckConfig(**TINY, experiments=("3a", "3c", "4", "dynamics"))
    return out, config, run(config, out, progress=False)


def test_run_reports_every_decoder_with_intervals_and_the_theory_line(tiny_run):
    _, config, result = tiny_run
    rows = result["rows"]
    assert [r["ntask"] for r in rows] == list(config.ntask)
    for r in rows:
        assert r["arch"] == "rnn" and r["headline_decoder"] == "ridge_cv"
        assert set(r["decoders"]) == set(DECODERS)
        for iv in r["decoders"].values():
            assert set(iv) == INTERVAL_KEYS
            assert iv["ci_low"] <= iv["median"] <= iv["ci_high"] and (iv["n_networks"], iv["n_folds"]) == (2, 4)
        assert r["r2_ceiling"] == pytest.approx(1 - 12 * 0.2**2 / 20, abs=1e-12)
        assert r["r2_id_ceiling"] == pytest.approx(1 / (1 + 12 * 0.2**2 / 20), abs=1e-12)
        assert r["r2_protocol"] < r["r2_ceiling"]
        assert {"exact", "calibrated"} <= set(r["mu_agreement"])
        assert r["mu_agreement"]["optimal"] == pytest.approx(1.0, abs=1e-9)
        assert {"encoding", "ridge_cv", "lstsq_sensitivity"} == set(r["angles"])
        # The optimal agent's mu on the same trials sits near the protocol ceiling (~600 test trials per fold).
        assert abs(r["ood_optimal"]["median"] - r["r2_protocol"]) < 0.01
        # the Bayes bound of the row's world (closed form, theory.bayes_bound) lies above the paper's lines
        assert r["r2_bayes"] == pytest.approx(bayes_line(0.2, 20, 2, "fullrange")["r2_bayes"], abs=1e-12)
        assert r["r2_bayes"] > r["r2_protocol"] and r["r2_bayes_whole_cube"] > r["r2_id_ceiling"]
    names = {c.name for c in result["checks"]}
    assert {"ood_below_ceiling_ntask", "ood_rises_toward_line_with_ntask", "angles_approach_90",
            "attractor_signature", "below_bayes_bound_ntask"} <= names
    assert not any("r2_bayes" in s for s in result["skipped"])


def test_tidy_records_cover_networks_folds_decoders_and_both_readouts(tiny_run):
    _, config, result = tiny_run
    recs = result["per_network"]
    assert {"network", "arch", "ntask", "fold", "decoder", "r2", "readout", "protocol"} <= set(recs[0])
    decision = [r for r in recs if r["readout"] == "decision" and r["protocol"] == "honest"]
    assert len(decision) == 4 * len(DECODERS) * 4          # networks x decoders x folds
    assert {r["readout"] for r in recs} == {"decision", "last_stimulus", "optimal_agent_mu"}
    # the row medians are the medians of the records
    row = result["rows"][0]
    vals = [r["r2"] for r in decision if r["ntask"] == row["ntask"] and r["decoder"] == "lstsq"]
    assert np.median(vals) == pytest.approx(row["decoders"]["lstsq"]["median"], abs=1e-12)


def test_rerun_loads_the_cached_networks_and_reproduces_every_number(tiny_run):
    out, config, first = tiny_run
    again = run(config, out, progress=False)
    assert np.isnan(again["results"]["reference"]["training"]["network_batches_per_second"])
    assert again["rows"] == first["rows"]


@pytest.mark.slow      # trains and measures real ensembles (5-6 s); synthetic rows cover the verdicts
def test_main_writes_keyed_csv_json_and_figures(tmp_path, capsys):
    argv = ["--ntask", "2", "6", "--networks", "2", "--batches", "60", "--hidden", "16", "--eval-trials", "800",
            "--encoder", "identity", "--experiment", "3a", "--adam-steps", "20", "--n-boot", "200",
            "--out", str(tmp_path), "--quiet", "--json"]
    code = main(argv)
    payload = json.loads(capsys.readouterr().out)
    # the exit code follows the checks' own verdicts: 0 only when some binding check was decided and
    # every decided binding check says PASS
    decided = [c["verdict"] for c in payload["checks"] if c["binding"] and c["decided"]]
    assert code == (0 if decided and set(decided) == {"PASS"} else 1)
    assert {"rows", "per_network", "checks", "config", "files"} <= set(payload)
    key = NetworkCheckConfig(**{**TINY, "n_boot": 200}, experiments=("3a",)).key
    folder = tmp_path / key
    for name in ("results.json", "rows.csv", "per_network.csv", "r2_vs_ntask.png", "calibration.png"):
        assert (folder / name).stat().st_size > 0
    with open(folder / "per_network.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(payload["per_network"])
    assert {"network", "arch", "ntask", "fold", "decoder", "r2"} <= set(table[0])
    # another configuration writes into another folder
    main(argv[:-4] + ["--n-boot", "201", "--out", str(tmp_path), "--quiet"])
    assert (folder / "results.json").exists() and len([p for p in tmp_path.iterdir() if p.name != "networks"]) == 2


@pytest.mark.parametrize("argv, message", [
    (["--ntask", "1"], "ntask"),
    (["--ntask", "0"], "ntask"),
    (["--networks", "0"], "networks"),
    (["--batches", "-5"], "batches"),
    (["--sigma", "-0.1"], "sigma"),
    (["--eval-trials", "10"], "eval_trials"),
    (["--adam-steps", "0"], "adam_steps"),
    (["--experiment", "9z"], "--experiment"),
    (["--encoder", "cubic"], "--encoder"),
    (["--arch", "perceptron"], "--arch"),
    (["--activation", "sigmoid"], "--activation"),
    (["--networks", "1000000000"], "--networks=1000000000"),           # oversized: refused before anything is built
    (["--hidden", "1000000"], "--hidden=1000000"),
    (["--eval-trials", "1000000000000"], "--eval-trials=1000000000000"),
    (["--ntask", "100000000"], "--ntask=100000000"),
    (["--arch", "transformer", "--hidden", "8"], "does not apply to arch='transformer'"),
    # days of training: refused, estimated
    (["--batches", "1000000000", "--networks", "1", "--ntask", "2", "--allow-large"], "--allow-long"),
])
def test_bad_input_exits_2_naming_the_parameter_before_any_training(argv, message, capsys, tmp_path):
    try:
        code = main(argv + ["--out", str(tmp_path)])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "networks").exists()


def test_variant_networks_are_trained_with_their_own_configuration(tmp_path):
    """Non-leaky tanh networks (Fig. 3b) are distinct cached ensembles with the requested update."""
    from nets.ensemble import load_ensemble

    config = NetworkCheckConfig(**{**TINY, "ntask": (2,)}, activation="tanh", leaky=False, experiments=("3a",))
    run(config, tmp_path, progress=False)
    paths = sorted((tmp_path / "networks" / "b60").glob("train-*.npz"))   # one file per network
    assert len(paths) == config.networks
    for path in paths:
        ens = load_ensemble(path)
        assert ens.K == 1 and ens.config.activation == "tanh" and ens.config.leaky is False


@pytest.mark.slow      # trains and measures real ensembles (5-6 s); synthetic rows cover the verdicts
def test_free_rt_and_sigma_experiments_report_their_axes_and_theory_lines(tmp_path):
    config = NetworkCheckConfig(**TINY, sigmas=(0.2, 0.4), experiments=("5a", "5c"))
    result = run(config, tmp_path, progress=False)
    free = result["results"]["free_rt"]["rows"]
    assert [r["t"] for r in free] == list(range(2, 21))
    assert all(r["r2_ceiling"] == pytest.approx(1 - 12 * 0.04 / r["t"]) for r in free)
    assert all(r["mu_agreement"]["exact"] is None for r in free)         # tanh accumulators: no probabilities
    sig = result["results"]["sigma"]["rows"]
    assert [r["sigma"] for r in sig] == [0.2, 0.4]
    assert sig[0]["r2_protocol"] > sig[1]["r2_protocol"]
    names = {c.name for c in result["checks"]}
    assert {"ood_below_ceiling_time", "rises_to_line_time", "ood_below_ceiling_sigma", "ood_falls_with_sigma"} <= names
    files = {p.name for p in (tmp_path / config.key).iterdir()} if (tmp_path / config.key).exists() else set()
    assert files == set()                                               # run() writes no report files itself


def test_claims_by_decoder_reads_each_decoders_records():
    from verify.networks.verdicts import claims_by_decoder

    rng = np.random.default_rng(1)
    records = []
    for n, base in ((2, {"ridge_cv": 0.7, "lstsq": 0.6}), (24, {"ridge_cv": 0.96, "lstsq": 0.6})):
        for net in range(4):
            for _ in range(4):
                for dec, v in base.items():
                    records.append({"experiment": "reference", "ntask": n, "network": net + 4 * (n == 24),
                                    "decoder": dec, "readout": "decision", "protocol": "honest",
                                    "r2": v + 0.002 * rng.normal()})
    rows = [{"experiment": "reference", "ntask": n, "r2_protocol": 0.975, "r2_line_half_evidence": 0.95,
             "decoders": {"ridge_cv": {}, "lstsq": {}}} for n in (2, 24)]
    table = {c["decoder"]: c for c in claims_by_decoder(rows, records, 0, 500)}
    assert table["ridge_cv"]["at_line"] and table["ridge_cv"]["rises_with_ntask"] == "yes"
    assert not table["lstsq"]["at_line"] and table["lstsq"]["rises_with_ntask"] == "undecided"
    assert "reference_adam + reference defect" not in table                  # no such records here


def test_rows_flatten_into_dotted_csv_columns():
    from verify.networks.report import flatten

    assert flatten({"a": 1, "d": {"x": {"m": 2}, "y": 3}}) == {"a": 1, "d.x.m": 2, "d.y": 3}


def test_the_network_cli_answers_to_its_neutral_name_and_its_old_one():
    import subprocess
    import sys

    from verify import rnn
    from verify.networks import cli

    assert rnn.main is cli.main
    res = subprocess.run([sys.executable, "-m", "verify.networks", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "python -m verify.networks" in res.stdout and "--aniso-scales" in res.stdout
    assert "--noise-scales" not in res.stdout                     # the old spelling is a hidden alias


def test_an_all_undecided_run_is_no_verdict_and_exits_1(monkeypatch, tmp_path, capsys):
    """A run whose binding checks are all undecided: NO VERDICT, "passed": false, exit 1."""
    import verify.networks.cli as cli

    undecided = Check("ood_below_ceiling_ntask", "a claim the interval cannot decide", 0.97, 0.96, "interval",
                      False, decided=False)
    monkeypatch.setattr(cli, "run", lambda *a, **k: {"config": {}, "rows": [], "per_network": [], "results": {},
                                                     "checks": [undecided], "skipped": [], "passed": False,
                                                     "measurements": {}})
    monkeypatch.setattr(cli, "write_outputs", lambda result, out, key: [tmp_path / key / "results.json"])
    code = main(["--experiment", "3a", "--ntask", "2", "--networks", "1", "--batches", "1", "--out", str(tmp_path),
                 "--quiet", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1 and payload["passed"] is False and payload["checks"][0]["verdict"] == "undecided"


def test_the_memory_guard_sizes_only_the_requested_experiments_axes(monkeypatch):
    """On a 24 GiB machine (CI's), 80 networks at N = 2, 24 for Fig. 3a hold 160 networks' probe states
    (about 7 GiB): allowed; the default D axis of 5b (5 D values x 2 N) counts only when 5b runs (then
    800 networks, about 35 GiB: refused)."""
    from infra import guard
    from infra.cli import UsageError
    from verify.networks.cli import build_parser, check_size

    monkeypatch.setattr(guard, "machine_memory_bytes", lambda: 24 * 2**30)

    argv = ["--ntask", "2", "24", "--networks", "80", "--batches", "100000"]
    check_size(build_parser().parse_args(argv + ["--experiment", "3a"]))
    with pytest.raises(UsageError, match="--networks=80 x 10 settings"):
        check_size(build_parser().parse_args(argv + ["--experiment", "3a", "5b"]))
