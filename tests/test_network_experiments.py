"""The experiments beyond 3a-5c (5b, S1, S5c, S6, hidden size, large N, --dask): rows, theory
lines, verdicts, figures and the CLI, on tiny barely-trained networks (the plumbing and the
theory attached to each row; the trained-network numbers come from `python -m verify.rnn`)."""
import dataclasses

import numpy as np
import pytest

from theory.dimensionality import identifiable_ceiling, r2_projection_whole_cube
from verify.networks.config import NetworkCheckConfig
from verify.networks.runner import run
from verify.rnn import main

TINY = dict(networks=2, batches=40, hidden=16, eval_trials=800, adam_steps=10, n_boot=200)


@pytest.fixture(scope="module")
def run_5b(tmp_path_factory):
    out = tmp_path_factory.mktemp("5b")
    config = NetworkCheckConfig(**TINY, ntask=(3, 6), Ds=(2, 4), experiments=("5b",))
    return out, config, run(config, out, progress=False, workers=1)


def test_5b_rows_carry_D_identifiability_and_the_fold_scheme_of_each_cell(run_5b):
    _, _, result = run_5b
    rows = result["rows"]
    assert [(r["D"], r["ntask"]) for r in rows] == [(2, 3), (2, 6), (4, 3), (4, 6)]
    for r in rows:
        assert r["arch"] == "rnn" and r["identifiable"] == (r["ntask"] >= r["D"])
        assert r["fold_scheme"] == ("orthant" if r["D"] <= 3 else "halfspace")
        assert r["decoders"]["ridge_cv"]["n_folds"] == (4 if r["D"] == 2 else r["D"])


def test_5b_theory_line_is_the_protocol_ceiling_when_identifiable_and_the_row_space_prediction_below(run_5b):
    _, _, result = run_5b
    for r in result["rows"]:
        s2 = r["sigma"] ** 2 / r["t"]
        if r["identifiable"]:
            # the design does not matter once rank C = D: the fold-mean ceiling of that D
            np.testing.assert_allclose(r["r2_protocol"], identifiable_ceiling(r["D"], s2), rtol=1e-12)
        else:
            # only rank C = N < D directions are decodable: strictly below the identifiable ceiling, and the
            # whole-cube ceiling is (N / D) / (1 + 12 s^2) (independent closed form)
            assert r["r2_protocol"] < identifiable_ceiling(r["D"], s2) - 0.1
            np.testing.assert_allclose(r["r2_id_ceiling"], (r["ntask"] / r["D"]) / (1 + 12 * s2), rtol=1e-12)
            assert r["mu_agreement"]["exact"] is None       # mu is not identified: no trilateration


def test_5b_claims_are_binding_and_the_row_space_prediction_is_a_note(run_5b):
    out, config, result = run_5b
    binding = {c.name: c.binding for c in result["checks"]}
    assert binding["near_line_when_ntask_at_least_D"] and binding["lower_when_ntask_below_D"]
    assert not binding["ood_below_ceiling_identifiable"] and not binding["ood_below_ceiling_row_space_prediction"]


def test_5b_cli_writes_the_figures_and_rejects_a_dimension_below_two(tmp_path, capsys):
    args = ["--experiment", "5b", "--D", "2", "3", "--ntask", "2", "3", "--networks", "2", "--batches", "20",
            "--hidden", "8", "--eval-trials", "800", "--adam-steps", "5", "--n-boot", "100", "--quiet",
            "--workers", "1", "--out", str(tmp_path)]
    assert main(args) in (0, 1)
    pngs = {p.name for p in tmp_path.glob("*/*.png")}
    assert {"r2_vs_D.png", "angles_vs_D.png"} <= pngs
    capsys.readouterr()
    assert main(args[:2] + ["--D", "1"] + args[5:]) == 2
    assert "Ds=[1] must be integers >= 2" in capsys.readouterr().err


@pytest.fixture(scope="module")
def run_sweeps(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps")
    config = NetworkCheckConfig(**TINY, ntask=(2, 3), Ds=(2, 3), hiddens=(2, 8), large_ntask=(4, 8), large_Ds=(2,),
                                experiments=("S1", "S5c", "S6", "hidden_size", "large_n"))
    return out, config, run(config, out, progress=False, workers=1)


def test_S1_rows_name_the_encoder_and_report_invertibility_per_network(run_sweeps):
    _, config, result = run_sweeps
    rows = result["results"]["encoder"]["rows"]
    assert [(r["encoder"], r["ntask"]) for r in rows] == [("mlp", 2), ("mlp", 3), ("quadratic", 2), ("quadratic", 3)]
    for r in rows:
        assert len(r["invertibility"]) == config.networks
        assert r["theorem_applies"] == all(i["invertible"] for i in r["invertibility"])
        assert all(i["min_singular"] >= 0 for i in r["invertibility"])


def test_S1_invertibility_detects_a_non_invertible_encoder():
    from theory.encoders import Encoder, draw_encoder, invertibility
    from verify.networks.encoder import INVERTIBILITY_POINTS
    f = draw_encoder("quadratic", 2, rng=0)
    # zero biases make a quadratic layer even, f(x) = f(-x): not invertible, as the row must say
    even = Encoder("quadratic", f.weights, tuple(0 * b for b in f.biases), 2)
    assert invertibility(f, rng=0, n_points=INVERTIBILITY_POINTS).invertible
    assert not invertibility(even, rng=0, n_points=INVERTIBILITY_POINTS).invertible


def test_S5c_has_one_row_per_timeline_at_its_final_t(run_sweeps):
    _, config, result = run_sweeps
    rows = result["results"]["reaction_time"]["rows"]
    assert [r["timeline"] for r in rows] == ["fixed", "free"]
    assert all(r["ntask"] == max(config.ntask) for r in rows)
    for r in rows:      # each row's ceiling is the one of its own t
        np.testing.assert_allclose(r["r2_ceiling"], 1 - 12 * r["sigma"] ** 2 / r["t"], rtol=1e-12)
    names = {c.name for c in result["checks"]}
    assert {"ood_below_ceiling_timeline", "free_rt_equivalent_to_fixed"} <= names


def test_S6_measures_sparseness_per_D_and_N_with_intervals(run_sweeps):
    _, config, result = run_sweeps
    rows = result["measurements"]["S6"]
    assert [(r["D"], r["ntask"]) for r in rows] == [(2, 2), (2, 3), (3, 2), (3, 3)]
    for r in rows:
        iv = r["sparseness"]
        assert iv["ci_low"] <= iv["median"] <= iv["ci_high"]
        assert all(0 <= s <= 1 for s in r["per_network"] if s == s)     # ReLU rates: S in [0, 1]


def test_hidden_size_rows_carry_the_capacity_line(run_sweeps):
    _, _, result = run_sweeps
    rows = result["results"]["hidden_size"]["rows"]
    assert [r["hidden"] for r in rows] == [2, 8]
    for r in rows:      # H >= D = 2: the identifiable ceiling; whole-cube bound min(H, D) / D = 1
        np.testing.assert_allclose(r["r2_protocol"], identifiable_ceiling(2, r["sigma"] ** 2 / r["t"]), rtol=1e-12)
        assert r["r2_bound_any_state"] == 1.0


def test_hidden_size_line_drops_below_D_dimensions():
    from verify.networks.hidden_size import row_theory
    from verify.networks.experiment import Setting
    info = {"hidden": 1, "D": 2}
    line = row_theory(info, Setting(1, (0,), None, 0.2), 20, NetworkCheckConfig())
    s2 = 0.2**2 / 20
    assert not line["identifiable"] and line["r2_bound_any_state"] == 0.5
    # one decodable direction of two: below the best whole-cube value of a 1-d state, (1/2) / (1 + 12 s^2)
    assert line["r2_protocol"] < r2_projection_whole_cube(1, 2, s2) < identifiable_ceiling(2, s2)


@pytest.mark.slow  # the same machinery as 5b, which runs by default
def test_large_n_rows_and_the_sweep_figures_are_written(run_sweeps):
    out, config, result = run_sweeps
    rows = result["results"]["large_n"]["rows"]
    assert [(r["D"], r["ntask"]) for r in rows] == [(2, 4), (2, 8)]
    from verify.networks.report import write_outputs
    files = {p.name for p in write_outputs(result, out, config.key)}
    assert {"r2_vs_ntask_by_encoder.png", "reaction_time.png", "sparseness.png", "r2_vs_hidden.png",
            "r2_vs_large_ntask.png"} <= files


@pytest.mark.slow  # a LocalCluster with worker processes; the engine's Dask tests run by default
def test_dask_local_gives_the_rows_of_the_local_run(tmp_path, capsys):
    pytest.importorskip("distributed")
    import json
    args = ["--experiment", "3a", "--ntask", "2", "3", "--networks", "2", "--batches", "20", "--hidden", "8",
            "--encoder", "identity", "--eval-trials", "800", "--adam-steps", "5", "--n-boot", "100", "--quiet",
            "--json", "--workers", "2"]
    rows = []
    for where, extra in (("local", []), ("dask", ["--dask", "local"])):
        main(args + ["--out", str(tmp_path / where)] + extra)
        rows.append(json.loads(capsys.readouterr().out)["rows"])
    # trained on other processes: bit-identical networks, identical rows
    assert len(rows[0]) == 2 and rows[0] == rows[1]


def test_variant_options_are_validated_before_any_training():
    for bad, rule in ((dict(rhos=(1.0,)), "rhos=[1.0]"), (dict(noises=("cauchy",)), "noises=['cauchy']"),
                      (dict(aniso_scales=(1.0,)), "aniso_scales=[1.0]"), (dict(ar1_a=1.0), "ar1_a=1.0"),
                      (dict(mult_ntask=(6,)), "mult_ntask=[6]")):
        with pytest.raises(ValueError, match=rule.replace("[", r"\[").replace("]", r"\]")):
            NetworkCheckConfig(**bad)


def test_noise_ceilings_follow_the_estimator_variances_in_closed_form():
    from verify.networks.noise import ceilings
    s2 = 0.2**2 / 20
    gauss = ceilings("gaussian", 0.2, 20, 2, (), 0.0, "fullrange")
    np.testing.assert_allclose(gauss["r2_protocol"], identifiable_ceiling(2, s2), rtol=1e-12)
    ar1 = ceilings("ar1", 0.2, 20, 2, (), 0.5, "fullrange")
    # GLS variance sigma^2 (1 + a) / (t (1 - a) + 2 a) (Var of the BLUE), independent of theory.noise's code
    v_gls = 0.04 * 1.5 / (20 * 0.5 + 1.0)
    np.testing.assert_allclose(ar1["r2_ceiling_gls"], 1 - 12 * v_gls, rtol=1e-12)
    assert ar1["estimator"] == "gls" and ar1["r2_protocol_mean"] < ar1["r2_protocol_gls"] < gauss["r2_protocol"]
    gumbel = ceilings("gumbel", 0.2, 20, 2, (), 0.0, "fullrange")     # Var = pi^2 beta^2 / 6 per step
    np.testing.assert_allclose(gumbel["r2_ceiling_mean"], 1 - 12 * np.pi**2 * 0.04 / 6 / 20, rtol=1e-12)
    # the optimal agent's posterior mean: Var = beta^2 psi'(t), psi'(20) = pi^2 / 6 - sum_{k < 20} 1 / k^2
    trigamma = np.pi**2 / 6 - np.sum(1.0 / np.arange(1, 20) ** 2)
    assert gumbel["estimator"] == "posterior"
    np.testing.assert_allclose(gumbel["r2_ceiling"], 1 - 12 * 0.04 * trigamma, rtol=1e-12)


def test_variant_experiments_run_with_their_theory_lines(tmp_path, monkeypatch):
    from theory.correlated import protocol_ceiling
    from verify.networks import correlated
    monkeypatch.setattr(correlated, "BAYES_TRIALS", 500)    # the copula Bayes bound's Monte Carlo is not tested here
    config = NetworkCheckConfig(**TINY, ntask=(2,), rhos=(0.0, 0.6), noises=("gaussian", "ar1", "gumbel"),
                                mult_ntask=(4,), experiments=("S3b", "noise", "multiplicative"))
    result = run(config, tmp_path, progress=False, workers=1)
    s3b = result["results"]["correlated"]["rows"]
    assert [r["rho"] for r in s3b] == [0.0, 0.6]
    for r in s3b:       # probed on uniform quadrants (the reference's): the uniform line at every rho
        assert r["probe_prior"] == "uniform"
        np.testing.assert_allclose(r["r2_protocol"], identifiable_ceiling(2, r["sigma"]**2 / r["t"]), rtol=1e-12)
        np.testing.assert_allclose(r["factor_correlation"], 6 / np.pi * np.arcsin(r["rho"] / 2), rtol=1e-12)
    noise = result["results"]["noise"]["rows"]
    # probed with Gaussian evidence (the reference's): the Gaussian line on every row, whatever the training noise
    assert [(r["noise"], r["probe_noise"], r["estimator"], r["ceiling_is_bound"]) for r in noise] == [
        ("gaussian", "gaussian", "mean", True), ("ar1", "gaussian", "mean", True),
        ("gumbel", "gaussian", "mean", False)]
    for r in noise:
        np.testing.assert_allclose(r["r2_protocol"], identifiable_ceiling(2, r["sigma"]**2 / r["t"]), rtol=1e-12)
    for r in s3b + noise:       # the line of an agent with half the evidence lies below the row's own line
        assert r["r2_line_half_evidence"] < r["r2_protocol"]
    mult = result["results"]["multiplicative"]["rows"]
    assert mult[0]["outside_theorem"] and mult[0]["mu_agreement"]["exact"] is None
    binding = {c.name: c.binding for c in result["checks"]}
    assert binding["holds_until_rho_near_1"] and binding["at_line_under_each_noise"]
    assert not binding["at_mean_estimator_line_gumbel"] and not binding["ood_below_ceiling_noise_variants"]
    # outside Theorem 3.1 no claim binds; only the Bayes bound on decoding x* (true whatever the labels) can fail it
    claims = {c.name for c in result["checks"] if c.binding and c.kind == "claim"}
    assert not any(n.endswith("multiplicative") for n in claims) and "below_bayes_bound_multiplicative" in binding
    # the toolkit's variants, on the same (cached) networks: probes from the copula prior, each training noise
    own = run(dataclasses.replace(config, s3b_probe="prior", noise_probe="training", experiments=("S3b", "noise")),
              tmp_path, progress=False, workers=1)
    for r in own["results"]["correlated"]["rows"]:
        assert r["probe_prior"] == "prior"
        np.testing.assert_allclose(r["r2_protocol"], protocol_ceiling(r["sigma"], r["t"], r["rho"]), rtol=1e-12)
    assert [(r["noise"], r["probe_noise"], r["estimator"]) for r in own["results"]["noise"]["rows"]] == [
        ("gaussian", "gaussian", "mean"), ("ar1", "ar1", "gls"), ("gumbel", "gumbel", "posterior")]


def test_full_budgets_count_the_networks_each_experiment_trains():
    from verify.networks.budgets import FULL, network_batches
    # 5b: 5 dimensions x 4 task counts x 5 networks x 1e5 batches (S6 shares its networks)
    assert network_batches(FULL["5b"]) == 5 * 4 * 5 * 100_000
    # reference: 3a's 5 N x 5 networks, 5a's 5 free-RT networks, 5c's 5 sigmas x 5 networks
    assert network_batches(FULL["reference"]) == (25 + 5 + 25) * 100_000
    assert network_batches(FULL["hidden_size"]) == 7 * 5 * 100_000          # H = 1, 2, 4, ..., 64


def test_report_sections_return_markdown_with_figures_and_the_checks(tmp_path, monkeypatch):
    from verify.networks import budgets, sections
    tiny = {"S5c": dict(ntask=(2,), networks=2, batches=20, eval_trials=800, n_boot=100, adam_steps=5,
                        experiments=("S5c",))}
    monkeypatch.setitem(budgets.BUDGETS, "tiny", tiny)
    md, checks, results = sections.report_sections(tmp_path, "tiny", 0, False, 1)
    assert "### S5c" in md and "reaction_time.png" in md
    assert {c.name for c in checks} == {"ood_below_ceiling_timeline", "free_rt_equivalent_to_fixed",
                                        "below_bayes_bound_timeline"}
    assert [r["timeline"] for r in results["S5c"]["rows"]] == ["fixed", "free"]
    with pytest.raises(ValueError, match="budget='huge'"):
        sections.report_sections(tmp_path, "huge")


def test_hidden_size_needs_an_architecture_with_a_hidden_size():
    with pytest.raises(ValueError, match="arch='transformer' has none"):
        NetworkCheckConfig(arch="transformer", experiments=("hidden_size",))


def test_a_network_whose_state_is_silent_has_no_angle_and_the_others_keep_theirs():
    from verify.networks.measure import _angles
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, (2, 300, 2))
    hidden = np.stack([x[0] @ rng.normal(size=(2, 6)), np.zeros((300, 6))])      # network 1: every unit silent
    ridges = np.full((2, 4), 1e-3)
    intervals, per_network = _angles(hidden, x, ridges, 0, 100)
    assert len(per_network["ridge_cv_degrees"]) == 1 and np.isfinite(per_network["ridge_cv_degrees"][0]).all()
    assert _angles(np.zeros((2, 300, 6)), x, ridges, 0, 100) is None


def test_an_r2_interval_never_reaches_above_one_and_says_when_it_was_clipped():
    from verify.networks.measure import _r2_interval
    wide = _r2_interval(np.array([[0.99] * 4, [0.2] * 4]), 0, 100)         # t interval of 2 networks: +-7
    assert wide["ci_high"] == 1.0 and wide["clipped"] and wide["ci_low"] < 0
    tight = _r2_interval(np.array([[0.95] * 4, [0.96] * 4, [0.955] * 4]), 0, 100)
    assert tight["ci_high"] < 1.0 and not tight["clipped"]


def test_the_reaction_time_figure_draws_a_mean_whose_median_lies_outside_its_interval(tmp_path):
    # skewed networks (one far below the others): the median lies above the t interval of the mean; the figure
    # draws the mean with its interval (a median with the mean's interval made a negative error bar and an exit 2)
    from analysis.bootstrap import interval
    from analysis.decoders import HEADLINE
    from verify.networks.reaction_time import figure
    values = np.r_[np.full(25, 0.95), np.full(5, 0.80)][:, None]          # 30 networks, 5 of them far below
    d = interval(values, 0, 100).to_dict()
    assert d["median"] > d["ci_high"]
    rows = [{"decoders": {HEADLINE: d}, "r2_protocol": 0.975, "r2_ceiling": 0.976, "timeline": tl, "t": 20,
             "ntask": 24, "sigma": 0.2} for tl in ("fixed", "free")]
    figs = [{"headline_per_network": values[:, 0]}] * 2
    paths = figure({"rows": rows, "figures": figs}, tmp_path, "test")
    assert all(p.exists() for p in paths)
