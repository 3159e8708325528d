"""The network checks (verify.rnn): verdict logic, caching, files, CLI contract.

Networks here are tiny and barely trained (the point is the plumbing and the verdict logic);
the trained-network numbers are produced by `python -m verify.rnn` and the slow test below.
"""
import json

import numpy as np
import pytest

from theory.ceilings import r2_protocol
from theory.folds import ood_folds
from verify.rnn import K_SE, RNNCheckConfig, _below_ceiling, _median_se, _monotone, _protocol_ceiling, main, run

TINY = dict(ntask=(2, 6), networks=2, batches=60, hidden=16, eval_trials=800, encoder="identity")


def _row(key, value, ood, protocol=0.975, se=0.001, q=0.01, networks=5):
    return {key: value, "ood_r2_median": ood, "ood_r2_q25": ood - q, "ood_r2_q75": ood + q,
            "r2_protocol": protocol, "ood_r2_median_se": se, "networks": networks}


def test_ceiling_check_passes_below_and_fails_above_the_protocol_ceiling():
    assert _below_ceiling([_row("ntask", 2, 0.90), _row("ntask", 24, 0.97)], "ntask", "ntask").passed
    above = 0.975 + 2 * K_SE * 0.001
    assert not _below_ceiling([_row("ntask", 2, 0.90), _row("ntask", 24, above)], "ntask", "ntask").passed


def test_monotonicity_check_needs_a_rise_beyond_its_standard_error():
    rising = [_row("ntask", 2, 0.80), _row("ntask", 24, 0.95)]
    flat = [_row("ntask", 2, 0.90), _row("ntask", 24, 0.901)]
    assert _monotone(rising, "ntask", "ntask", increasing=True).passed
    assert not _monotone(flat, "ntask", "ntask", increasing=True).passed
    assert not _monotone(rising, "ntask", "ntask", increasing=False).passed


def test_protocol_ceiling_averages_the_folds_of_the_closed_form():
    v = np.full(2, 0.2**2 / 20)
    expected = np.mean([r2_protocol(v, f) for f in ood_folds(2)])
    assert _protocol_ceiling(0.2, 20, 2, "fullrange") == pytest.approx(expected, abs=1e-15)


def test_median_standard_error_matches_the_spread_of_simulated_medians():
    """SE(median) = sqrt(pi/2) sd / sqrt(n) for normal samples; check against 4000 simulated
    medians of n = 20 (the asymptotic formula is within ~10% at this n)."""
    rng = np.random.default_rng(0)
    samples = rng.normal(0.9, 0.01, (4000, 20))
    empirical = np.median(samples, axis=1).std()
    predicted = np.mean([_median_se(s) for s in samples[:200]])
    assert predicted == pytest.approx(empirical, rel=0.15)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rnn")
    config = RNNCheckConfig(**TINY, experiments=("3a", "3c", "4", "dynamics"))
    return out, config, run(config, out, progress=False)


def test_run_reports_one_row_per_ntask_with_theory_columns(tiny_run):
    _, config, result = tiny_run
    rows = result["rows"]
    assert [r["ntask"] for r in rows] == list(config.ntask)
    for r in rows:
        assert r["r2_ceiling"] == pytest.approx(1 - 12 * 0.2**2 / 20, abs=1e-12)
        assert r["r2_protocol"] < r["r2_ceiling"]
        assert r["ood_r2_q25"] <= r["ood_r2_median"] <= r["ood_r2_q75"]
        # The optimal agent on the same trials sits at the protocol ceiling within 4 SE of the
        # median (+ the finite-sample bias of least squares, ~ p/n with p = 3 of n ~ 600 per fold).
        assert abs(r["ood_r2_optimal_median"] - r["r2_protocol"]) < 4 * r["ood_r2_median_se"] + 3 / 600
    names = {c.name for c in result["checks"]}
    assert {"ood_below_ceiling_ntask", "ood_rises_with_ntask", "angles_approach_90", "attractor_signature"} <= names
    assert any("published_gap_at_24" in s for s in result["skipped"])


def test_rerun_loads_the_cached_networks_instead_of_training(tiny_run):
    out, config, first = tiny_run
    again = run(config, out, progress=False)
    assert np.isnan(again["results"]["reference"]["training"]["network_batches_per_second"])
    assert [r["ood_r2_median"] for r in again["rows"]] == [r["ood_r2_median"] for r in first["rows"]]


def test_main_writes_csv_json_and_figures(tmp_path, capsys):
    argv = ["--ntask", "2", "6", "--networks", "2", "--batches", "60", "--hidden", "16", "--eval-trials", "800",
            "--encoder", "identity", "--experiment", "3a", "5a", "--out", str(tmp_path), "--quiet", "--json"]
    code = main(argv)
    payload = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and payload["passed"] == (code == 0)
    row = payload["rows"][0]
    for key in ("ntask", "ood_r2_median", "ood_r2_q25", "ood_r2_q75", "id_r2_median", "angle_median",
                "r2_ceiling", "r2_protocol", "mu_agreement_r2", "passed"):
        assert key in row
    for name in ("results.json", "rnn.csv", "free_rt.csv", "r2_vs_ntask.png", "free_rt.png"):
        assert (tmp_path / name).stat().st_size > 0
    free_rt = payload["summary"]["free_rt"]["rows"]
    assert [r["t"] for r in free_rt] == list(range(2, 21))
    assert all(r["r2_ceiling"] == pytest.approx(1 - 12 * 0.04 / r["t"]) for r in free_rt)


@pytest.mark.parametrize("argv, message", [
    (["--ntask", "0"], "ntask"),
    (["--networks", "0"], "networks"),
    (["--batches", "-5"], "batches"),
    (["--sigma", "-0.1"], "sigma"),
    (["--eval-trials", "10"], "eval_trials"),
    (["--experiment", "9z"], "--experiment"),
    (["--encoder", "cubic"], "--encoder"),
    (["--ridge", "-1"], "ridge"),
    (["--ridge", "lots"], "--ridge"),
    (["--activation", "sigmoid"], "--activation"),
])
def test_bad_input_exits_2_with_a_message_naming_the_parameter(argv, message, capsys, tmp_path):
    try:
        code = main(argv + ["--out", str(tmp_path)])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_paper_claims_outside_the_theory_do_not_decide_the_verdict():
    from verify.verdict import Check, all_passed, verdict_line

    theory = Check("a", "theory claim", 0, 0, "exact", True)
    paper = Check("b", "paper claim", 0, 1, "exact", False, binding=False)
    assert all_passed([theory, paper]) and paper.verdict == "not reproduced"
    assert not all_passed([Check("c", "theory claim", 0, 1, "exact", False), paper])
    assert "0/1 further paper claims reproduced" in verdict_line([theory, paper])


def test_variant_networks_are_trained_with_their_own_configuration(tmp_path):
    """Non-leaky tanh networks (Fig. 3b) are distinct cached ensembles with the requested update."""
    from nets.ensemble import load_ensemble

    config = RNNCheckConfig(**{**TINY, "ntask": (2,)}, activation="tanh", leaky=False, experiments=("3a",))
    run(config, tmp_path, progress=False)
    (path,) = (tmp_path / "networks" / "b60").glob("train-*.npz")
    ens = load_ensemble(path)
    assert ens.config.activation == "tanh" and ens.config.leaky is False
