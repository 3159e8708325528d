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
    assert set(payload["checks"][0]) == {"name", "claim", "predicted", "measured", "tolerance", "passed", "binding",
                                         "decided", "verdict", "predicted_text", "measured_text", "kind"}


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


def test_long_runs_check_every_step_on_a_subset_and_log_spaced_steps_on_all():
    """t = 3000 > FULL_STEPS: the same verdicts as the full check, the coverage stated in the claim."""
    from verify.theorem31 import LOG_STEPS, SUBSET_TRIALS, check_steps
    steps = check_steps(3000)
    assert steps[0] == 1 and steps[-1] == 3000 and len(steps) <= LOG_STEPS and np.all(np.diff(steps) > 0)
    assert np.array_equal(check_steps(20), np.arange(1, 21))
    result = run(Theorem31Config(D=4, ntask=7, sigma=0.01, t=3000, trials=1000, design="random", offsets=True))
    checks = _names(result)
    assert result["passed"]
    assert f"{SUBSET_TRIALS} trials at every t" in checks["recovery"].claim
    assert f"{len(steps)} log-spaced t" in checks["latent"].claim


def test_log_spaced_running_means_have_the_law_of_the_full_stream():
    """mu(t_k) from summed increments: mean x*, variance sigma^2 / t_k at every checked step
    (4 SE on the variance ratio, SE = sqrt(2 / (n D)))."""
    from verify.theorem31 import _simulate, check_steps
    config = Theorem31Config(D=2, ntask=3, sigma=0.3, t=500, trials=4000)
    from theory.designs import build_design
    design = build_design("even", 3, 2, 0)
    rng = np.random.default_rng(1)
    x, mu, t, _, population = next(_simulate(config, design, rng, np.random.default_rng(2)))
    assert population and np.array_equal(t, check_steps(500))
    ratio = ((mu - x[:, None, :]) ** 2).mean(axis=(0, 2)) / (0.3**2 / t)
    assert np.all(np.abs(ratio - 1) <= 4 * np.sqrt(2 / (4000 * 2)))


def test_information_check_at_large_t_uses_the_exact_law_and_passes():
    from verify.information_mc import STREAM_MAX_T, _simulate_mu
    from theory.world import sample_evidence, sample_latents
    # up to STREAM_MAX_T the chunked stream is bit-identical to one unchunked draw
    a = _simulate_mu(np.random.default_rng(4), 3000, 2, 0.2, STREAM_MAX_T)
    rng = np.random.default_rng(4)
    x = sample_latents(rng, 3000, 2)
    assert np.array_equal(a[0], x) and np.array_equal(a[1], sample_evidence(rng, x, STREAM_MAX_T, 0.2).mean(axis=1))
    # beyond it mu(t) - x* ~ N(0, sigma^2 / t) without a (n, t, D) stream
    x, mu = _simulate_mu(np.random.default_rng(5), 20000, 2, 0.2, 10**9)
    ratio = np.var(mu - x) / (0.04 / 10**9)
    assert abs(ratio - 1) <= 4 * np.sqrt(2 / 40000)
