"""Check any agent (verify.agent): verdicts that pass and fail, invariance, coverage, the file format, the CLI.

(tests/test_agent.py is the optimal agent's; this file is the command that checks outside agents.)
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_ndtr
from scipy.stats import norm

import verify.agent as va
from analysis.decoders import DECODERS
from analysis.geometry import ccgp, ccgp_detail
from analysis.intervals import trial_r2_interval
from analysis.prior import box_prior, splits
from optimal.agent import optimal_probits
from theory.ceilings import r2_protocol
from theory.designs import even_design
from theory.folds import ood_folds
from theory.geometry import ccgp_optimal
from theory.world import LATENT_VARIANCE
from verify.agent.measure import bootstrap_se, fold_trial_errors
from verify.verdict import verdict_word

SIGMA, T = 0.2, 20
FAST = dict(decoders=("ridge_cv",), shuffles=2, n_boot=50)
FAST_ARGS = ["--decoders", "ridge_cv", "--shuffles", "2", "--boot", "50"]
ROOT = Path(__file__).resolve().parents[1]


def optimal_code(seed, n, K=None, H=8, N=6):
    """A linear code of mu = x* + noise at the optimal agent's level (Var = sigma^2 / t), with the optimal
    agent's outputs (log-odds of Phi(z)) on the same trials."""
    rng = np.random.default_rng(seed)
    shape = (n, 2) if K is None else (K, n, 2)
    x = rng.uniform(-0.5, 0.5, shape)
    mu = x + SIGMA / np.sqrt(T) * rng.standard_normal(shape)
    design = even_design(N)
    z = optimal_probits(mu, design, SIGMA, T)
    return dict(states=mu @ rng.standard_normal((2, H)), latents=x, sigma=SIGMA, t=T,
                outputs=log_ndtr(z) - log_ndtr(-z), outputs_kind="logit", C=design.C, b=design.b, mu=mu)


def test_a_linear_code_of_mu_at_the_optimal_level_passes_every_binding_check():
    result = va.check_agent(**optimal_code(0, 4000), **FAST)
    reaches = [c for c in result["checks"] if "reach" in c.name]
    assert {c.name for c in reaches} == {"ood_r2_reaches_line", "ccgp_x1_reaches_optimal", "ccgp_x2_reaches_optimal",
                                         "outputs_reach_ceiling"}
    assert all(c.decided and c.passed for c in reaches)
    assert verdict_word(result["checks"]) == "PASS" and result["layout"] == "one agent"


def test_an_ensemble_is_judged_by_its_spread_over_agents():
    result = va.check_agent(**optimal_code(1, 1000, K=6), **FAST)
    assert result["layout"] == "ensemble"
    assert {r["interval"] for r in result["rows"] if r["ci_low"] is not None} == {"cluster_t"}
    assert all(c.decided and c.passed for c in result["checks"] if "reach" in c.name)


def test_a_random_nonlinear_code_of_noise_fails_the_binding_checks():
    rng = np.random.default_rng(2)
    agent = optimal_code(2, 2000)
    noise = rng.standard_normal((2000, 4))
    agent["states"] = np.tanh(3 * noise @ rng.standard_normal((4, 8))) ** 2
    agent["outputs"] = 3 * np.tanh(noise @ rng.standard_normal((4, 6)))
    result = va.check_agent(**agent, **FAST)
    reaches = [c for c in result["checks"] if "reach" in c.name]
    assert len(reaches) == 4 and all(c.decided and not c.passed for c in reaches)
    assert verdict_word(result["checks"]) == "FAIL"


def test_an_agent_above_the_bayes_bound_fails_the_run():
    """States that hold x* itself while the file claims noisy evidence beat the Bayes bound: the upper check binds."""
    agent = optimal_code(3, 2000)
    agent["states"], agent["t"] = agent["latents"] @ np.random.default_rng(3).standard_normal((2, 8)), 2
    del agent["outputs"], agent["outputs_kind"], agent["C"], agent["b"], agent["mu"]
    checks = {c.name: c for c in va.check_agent(**agent, **FAST)["checks"]}
    bound = checks["ood_r2_below_bayes_bound"]
    assert bound.binding and bound.decided and not bound.passed


def test_without_a_prior_only_the_prior_free_check_is_decided_and_the_output_says_so():
    """The empirical description: r^2 rows carry no line (it needs the prior's shape); the outputs' ceiling
    1 - 12 mean(sigma^2 / t) holds for any prior of the flat-prior MLE, so that check still runs."""
    agent = optimal_code(10, 2000)
    result = va.check_agent(**agent, prior="empirical", **FAST)
    assert [c.name for c in result["checks"]] == ["outputs_reach_ceiling"]
    assert "empirical" in result["prior"]["description"]
    assert all(r["optimal"] is None for r in result["rows"] if r["section"] == "r2")


def test_a_copula_prior_takes_its_own_line_and_no_uniform_closed_form():
    from analysis.prior import copula_prior
    from theory.correlated import protocol_ceiling
    agent = optimal_code(11, 1000)
    del agent["outputs"], agent["outputs_kind"], agent["C"], agent["b"], agent["mu"]
    result = va.check_agent(**agent, prior=copula_prior(0.5), **FAST)
    row = next(r for r in result["rows"] if r["detail"] == "ridge_cv")
    np.testing.assert_allclose(row["optimal"], protocol_ceiling(SIGMA, T, 0.5), rtol=1e-12)
    assert [c.name for c in result["checks"]] == ["ood_r2_reaches_line"]


@settings(max_examples=3)
@given(st.floats(1e-2, 1e2), st.floats(-1e2, 1e2))
def test_r2_and_geometry_are_invariant_to_a_shift_and_scale_of_the_described_latents(scale, shift):
    agent = optimal_code(4, 600)
    del agent["outputs"], agent["outputs_kind"], agent["C"], agent["b"], agent["mu"]
    base = va.check_agent(**agent, **FAST, rng=5)["rows"]
    moved = dict(agent, latents=shift + scale * agent["latents"], sigma=scale * SIGMA)
    rows = va.check_agent(**moved, prior=box_prior([shift - scale / 2] * 2, [shift + scale / 2] * 2), **FAST,
                          rng=5)["rows"]
    assert [(r["measure"], r["detail"]) for r in rows] == [(r["measure"], r["detail"]) for r in base]
    # canonical latents agree to ~(1 + |shift| / scale) eps; every measure is a well-conditioned function of them
    tol = 1e5 * np.finfo(float).eps * (1 + abs(shift) / scale)
    for key in ("value", "ci_low", "ci_high", "null_mean", "optimal", "threshold", "bound"):
        got = np.array([np.nan if r[key] is None else r[key] for r in rows])
        want = np.array([np.nan if r[key] is None else r[key] for r in base])
        np.testing.assert_allclose(got, want, rtol=0, atol=tol, err_msg=key)


def coverage(decoder, M, n, seed):
    """Share of M independent agents (one linear code of mu each, judged alone by its trials) whose 95% interval
    of OOD r^2 covers the large-sample value mean_f r2_protocol(sigma^2 / t)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, (M, n, 2))
    h = (x + SIGMA / np.sqrt(T) * rng.standard_normal(x.shape)) @ rng.standard_normal((2, 3))
    sp = splits(x)
    fit = DECODERS[decoder](h, x, sp)
    errors = fold_trial_errors(h, x, sp, decoder, fit)
    # the weighted per-trial errors reproduce the decoder's fold-mean r^2 (to rounding)
    np.testing.assert_allclose(1 - errors.mean(-1) / LATENT_VARIANCE, fit.r2.mean(-1), rtol=0, atol=1e-12)
    truth = np.mean([r2_protocol(np.full(2, SIGMA**2 / T), f) for f in ood_folds(2)])
    return np.mean([lo <= truth <= hi for _, lo, hi in (trial_r2_interval(e, LATENT_VARIANCE) for e in errors)])


def test_single_agent_r2_intervals_cover_the_protocol_value():
    """Coverage within 3 binomial SE of 95% (SE = sqrt(0.95 x 0.05 / M) = 0.015 at M = 200; the fitted decoders'
    O(H / n) excess error is a fraction of the interval's width at n = 1000). Least squares here (fast); the
    headline ridge_cv, which shares the per-trial errors, in the slow test below."""
    M = 200
    assert coverage("lstsq", M, 1000, 6) >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / M)


@pytest.mark.slow
def test_single_agent_r2_intervals_of_the_headline_decoder_cover_the_protocol_value():
    M = 200
    assert coverage("ridge_cv", M, 2000, 6) >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / M)


def ccgp_coverage(M, n, n_boot, seed):
    """(bootstrap, binomial) coverage of the optimal agent's finite-sample CCGP of x1 by M single agents'
    95% normal intervals: SE by :func:`verify.agent.measure.bootstrap_se`, or binomial given the fitted classifiers."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, (M, n, 2))
    h = (x + SIGMA / np.sqrt(T) * rng.standard_normal(x.shape)) @ rng.standard_normal((2, 3))
    truth = float(ccgp_optimal(SIGMA, T, n_train=n / 2, D=2))
    detail = ccgp_detail(h, x, 0)
    z = norm.ppf(0.975)
    boot = np.array([bootstrap_se(lambda s, xx: ccgp(s, xx, 0), h[m:m + 1], x[m:m + 1], rng, n_boot)
                     for m in range(M)])
    return (np.mean(np.abs(detail["value"] - truth) <= z * boot),
            np.mean(np.abs(detail["value"] - truth) <= z * detail["se"]))


def test_single_agent_ccgp_intervals_cover_the_optimal_agents_value():
    """Bootstrap intervals cover within 3 binomial SE of 95% (SE = sqrt(0.95 x 0.05 / M), M = 40)."""
    M = 40
    assert ccgp_coverage(M, 400, 40, 14)[0] >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / M)


@pytest.mark.slow
def test_the_binomial_se_alone_undercovers_what_the_bootstrap_covers():
    """Why the bootstrap: at M = 200 agents of 1000 trials the binomial SE given the fitted classifiers covers
    decidedly less than 95% (upper 3-SE bound below it), the bootstrap's does not."""
    M = 200
    boot, binomial = ccgp_coverage(M, 1000, 100, 15)
    se = np.sqrt(0.95 * 0.05 / M)
    assert boot >= 0.95 - 3 * se and binomial + 3 * np.sqrt(binomial * (1 - binomial) / M) < 0.95


def test_the_same_seed_gives_the_same_result_and_another_seed_other_nulls():
    agent = optimal_code(7, 600)
    a, b, c = (va.check_agent(**agent, **FAST, rng=s)["rows"] for s in (1, 1, 2))
    assert a == b and [r["null_mean"] for r in a] != [r["null_mean"] for r in c]


# ---------------------------------------------------------------- the file and the command line
def save(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_the_command_writes_results_csv_and_figure_and_prints_strict_json(tmp_path, capsys):
    agent = optimal_code(8, 2000)
    path = save(tmp_path / "agent.npz", **agent)
    code = va.main([path, "--json", "--out", str(tmp_path / "out"), *FAST_ARGS])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["exit_code"] == 0
    assert all(tuple(r) == va.ROW_KEYS for r in out["rows"])
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"results.json", "agent.csv", "agent.png"}
    header = (tmp_path / "out" / "agent.csv").read_text().splitlines()[0]
    assert header == ",".join(va.ROW_KEYS)


def test_a_file_without_a_prior_or_outputs_gets_no_verdict_and_exit_1(tmp_path, capsys):
    """prior='empirical' and no outputs: measurements only, nothing binding decided, so NO VERDICT (exit 1)."""
    agent = optimal_code(13, 800)
    path = save(tmp_path / "agent.npz", states=agent["states"], latents=agent["latents"] * 3 + 7, sigma=SIGMA * 3,
                t=T, prior=np.array("empirical"))
    assert va.main([path, *FAST_ARGS]) == 1
    out = capsys.readouterr().out
    assert "NO VERDICT" in out and "empirical" in out


def good_file():
    a = optimal_code(9, 400)
    return dict(states=a["states"], latents=a["latents"], sigma=np.float64(SIGMA), t=np.float64(T),
                outputs=a["outputs"], outputs_kind=np.array("logit"), C=a["C"], b=a["b"])


BAD_FILES = [
    ("missing states", lambda f: f.pop("states"), "missing key 'states', shape (n, H) or (K, n, H)"),
    ("missing sigma", lambda f: f.pop("sigma"), "missing key 'sigma', shape () or (D,)"),
    ("unknown key", lambda f: f.update(latent=f["latents"]), "unknown keys ['latent']"),
    ("states 1-D", lambda f: f.update(states=f["states"][:, 0]), "states must have shape (n, H) or (K, n, H)"),
    ("states 4-D", lambda f: f.update(states=f["states"][None, :, None]), "select the decision step first"),
    ("n mismatch", lambda f: f.update(latents=f["latents"][:-1]), "latents must have shape (n=400, D)"),
    ("K mismatch", lambda f: f.update(states=np.stack([f["states"]] * 2), latents=np.stack([f["latents"]] * 3)),
     "latents must have shape (n=400, D) or (K=2, n=400, D)"),
    ("one latent", lambda f: f.update(latents=f["latents"][:, :1], C=f["C"][:, :1]), "latents must have D >= 2"),
    ("NaN state", lambda f: f["states"].__setitem__((0, 0), np.nan), "states must be finite"),
    ("latents outside the box", lambda f: f.update(latents=f["latents"] + 0.5), "inside the prior's box"),
    ("one box corner", lambda f: f.update(prior_low=np.zeros(2)), "prior_low and prior_high come together"),
    ("box of wrong D", lambda f: f.update(prior_low=-np.ones(3), prior_high=np.ones(3)),
     "prior_low must have shape (D=2,)"),
    ("sigma negative", lambda f: f.update(sigma=np.float64(-1)), "sigma must be a scalar or shape (D=2,)"),
    ("t an array", lambda f: f.update(t=np.ones(3)), "t must be a scalar > 0"),
    ("C of wrong D", lambda f: f.update(C=np.ones((6, 3))), "C must have shape (N=6, D=2)"),
    ("outputs without C", lambda f: (f.pop("C"), f.pop("b")), "outputs need C"),
    ("C without outputs", lambda f: (f.pop("outputs"), f.pop("outputs_kind")), "give outputs"),
    ("rounded probabilities", lambda f: f.update(outputs=np.round(1 / (1 + np.exp(-f["outputs"]))),
                                                 outputs_kind=np.array("probability")), "strictly inside (0, 1)"),
    ("bad outputs kind", lambda f: f.update(outputs_kind=np.array("odds")), "outputs_kind must be one of"),
    ("rank-deficient C", lambda f: f.update(C=np.ones((6, 2))), "C must have rank D=2"),
    ("bad folds", lambda f: f.update(folds=np.ones((2, 400))), "folds must be a boolean array of shape (F, n=400)"),
    ("empirical with a box", lambda f: f.update(prior=np.array("empirical"), prior_low=-np.ones(2),
                                                prior_high=np.ones(2)), "takes no prior_low"),
]


@pytest.mark.parametrize("label, spoil, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_gets_one_line_naming_the_key_and_exit_2_before_any_work(tmp_path, capsys, monkeypatch, label,
                                                                            spoil, message):
    monkeypatch.setattr(va, "check_inputs", lambda *a, **k: pytest.fail("work started on a bad file"))
    arrays = good_file()
    spoil(arrays)
    assert va.main([save(tmp_path / "bad.npz", **arrays)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err, err


def test_a_file_that_is_not_an_npz_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "x.npz").write_text("not a zip")
    assert va.main([str(tmp_path / "x.npz")]) == 2
    assert "cannot read as an .npz" in capsys.readouterr().err


@pytest.mark.slow
def test_help_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "verify.agent", "--help"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0 and "states" in done.stdout and "--out" in done.stdout


# ---------------------------------------------------------------- the worked example
def example():
    spec = importlib.util.spec_from_file_location("pytorch_gru", ROOT / "examples" / "pytorch_gru.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_worked_example_passes_with_the_numpy_stand_in_agent(tmp_path, capsys):
    """The example's path (trial API -> agent file -> mtd-check) with the optimal agent in place of the GRU."""
    code = example().run("optimal", tmp_path, trials=2000, check_args=FAST_ARGS)
    assert code == 0 and "PASS" in capsys.readouterr().out
    with np.load(tmp_path / "optimal.npz") as f:
        assert set(f.files) <= set(va.KEYS)


@pytest.mark.slow
def test_the_worked_example_trains_a_pytorch_gru_and_checks_it(tmp_path, capsys):
    pytest.importorskip("torch")
    code = example().run("gru", tmp_path, steps=1500, trials=4000)
    result = json.loads((tmp_path / "results.json").read_text())
    assert code in (0, 1) and result["layout"] == "one agent" and result["checks"]


@pytest.mark.slow
def test_the_json_shares_one_schema_with_the_other_commands(tmp_path, capsys):
    from tests.test_json_schema import FAST as OTHERS, _check, _collect, _output
    path = save(tmp_path / "agent.npz", **optimal_code(12, 1000))
    outputs = _collect(OTHERS, tmp_path, capsys)
    outputs["agent"] = _output(va.main, [path, *FAST_ARGS, "--out", "OUT"],
                               tmp_path / "agent", capsys)
    _check(outputs)
