"""The Theorem 3.1 check: its verdicts, its failure modes, its CLI contract."""
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.theorem31 import Theorem31Config, main, run


def _names(result):
    return {c.name: c for c in result["checks"]}


@settings(max_examples=10)
@given(st.integers(1, 5), st.integers(0, 6), st.floats(0.01, 2.0), st.integers(1, 60), st.booleans(),
       st.integers(0, 2**16))
def test_every_check_passes_when_conditions_hold(D, extra, sigma, t, offsets, seed):
    result = run(Theorem31Config(D=D, ntask=D + extra, sigma=sigma, t=t, trials=400, offsets=offsets, seed=seed))
    assert result["identifiable"]
    assert set(_names(result)) == {"recovery", "latent", "r2", "information_mle", "information_preserved"}
    assert result["passed"], [c for c in result["checks"] if not c.passed]


@settings(max_examples=8)
@given(st.integers(2, 6), st.data())
def test_predicted_failure_is_confirmed_when_ntask_below_D(D, data):
    ntask = data.draw(st.integers(1, D - 1))
    result = run(Theorem31Config(D=D, ntask=ntask, trials=2000, seed=data.draw(st.integers(0, 99))))
    checks = _names(result)
    assert not result["identifiable"] and result["passed"]
    assert {"row_space_recovery", "null_space_invisible", "null_space_not_decodable"} <= set(checks)
    assert f"{D - ntask} null-space" in result["explanation"]


def test_rank_deficient_design_with_enough_tasks_is_caught():
    result = run(Theorem31Config(D=4, ntask=8, rank=2, trials=2000))
    assert result["info"]["rank"] == 2 and not result["identifiable"] and result["passed"]


def test_noiseless_outputs_identify_cells_not_points():
    result = run(Theorem31Config(D=2, ntask=6, sigma=0.0, trials=5000))
    checks = _names(result)
    assert not result["identifiable"] and result["passed"]
    # Six lines through the origin cut the plane into 2N = 12 cells; all are hit by 5000 uniform points.
    assert checks["cells_not_points"].measured == 12


def test_r2_check_fails_when_fed_a_wrong_noise_level():
    """The r^2 check can fail: errors of mu(20) simulated at sigma = 0.25 pass against 0.25, fail against 0.2."""
    from verify.theorem31 import _r2_check

    err = 0.25 / np.sqrt(20) * np.random.default_rng(0).standard_normal((10_000, 2))
    assert _r2_check(err**2, 0.25, 20).passed
    assert not _r2_check(err**2, 0.2, 20).passed


def test_same_seed_gives_identical_results_and_different_seeds_differ():
    a = run(Theorem31Config(trials=500, seed=3))
    b = run(Theorem31Config(trials=500, seed=3))
    c = run(Theorem31Config(trials=500, seed=4))
    assert [x.measured for x in a["checks"]] == [x.measured for x in b["checks"]]
    assert _names(a)["r2"].measured != _names(c)["r2"].measured


def test_recovery_stays_at_float64_precision_for_huge_probits():
    result = run(Theorem31Config(D=3, ntask=5, sigma=0.01, t=3000, trials=200, offsets=True))
    assert result["info"]["max_abs_probit"] > 1000 and result["passed"]
    assert _names(result)["recovery"].measured < 1e-13


def test_main_prints_a_pass_table_and_returns_zero(capsys):
    assert main(["--D", "3", "--ntask", "5", "--trials", "500"]) == 0
    out = capsys.readouterr().out
    assert "recovery" in out and "PASS: 5/5" in out and "seed=0" in out


def test_main_json_has_the_documented_shape(capsys):
    assert main(["--D", "3", "--ntask", "2", "--trials", "500", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["identifiable"] is False and payload["passed"] is True
    assert payload["config"]["D"] == 3 and payload["config"]["design"] == "random"
    assert set(payload["checks"][0]) == {"name", "claim", "predicted", "measured", "tolerance", "passed", "binding"}


@pytest.mark.parametrize("argv, message", [
    (["--D", "0"], "D=0"),
    (["--sigma", "-1"], "sigma"),
    (["--ntask", "x"], "--ntask"),
    (["--t", "0"], "t=0"),
    (["--trials", "1"], "trials"),
    (["--design", "even", "--D", "3"], "even"),
    (["--design", "square"], "--design"),
    (["--rank", "3", "--D", "3", "--ntask", "5"], "rank"),
    (["--sigma", "nan"], "sigma"),
    (["--seed", "-1"], "--seed"),
    (["--frobnicate"], "unrecognized"),
])
def test_bad_input_exits_2_with_a_message_naming_the_parameter(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_module_runs_as_a_script():
    proc = subprocess.run([sys.executable, "-m", "verify.theorem31", "--D", "3", "--ntask", "5", "--trials", "300"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "PASS" in proc.stdout


def test_noiseless_limit_check_fails_when_labels_disagree_with_the_probits(monkeypatch):
    """outputs_binary compares Phi(z) at sigma -> 0 with the labels; flipped labels must fail it."""
    from verify import theorem31

    monkeypatch.setattr(theorem31, "hard_outputs", lambda x, design: 1.0 - (x @ design.C.T + design.b > 0))
    result = run(Theorem31Config(D=2, ntask=3, sigma=0.0, trials=500))
    assert not _names(result)["outputs_binary"].passed
