"""The ``python -m verify.curves`` entry point: rows, files, exit codes, input validation."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import verify.curves as curves
from theory.ceilings import r2_ceiling
from verify.curves import CurvesConfig, curve_rows, main, parse_t

ROOT = Path(__file__).resolve().parents[1]

#: A small, fast run: few t values, few trials, few designs.
SMALL = ["--t", "1:8", "--trials", "4000", "--replicates", "4", "--designs", "300", "--angle-ntask", "6", "200"]
REQUIRED = {"sigma", "t", "D", "r2_ceiling", "r2_protocol", "r2_mc", "r2_mc_se", "passed"}


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("text, want", [
    ("20", (20,)),
    ("1:5", (1, 2, 3, 4, 5)),
    ("10:30:10", (10, 20, 30)),
    ("5,1:3", (1, 2, 3, 5)),
    (["3", "1:2"], (1, 2, 3)),
])
def test_parse_t_reads_single_values_lists_and_inclusive_ranges(text, want):
    assert parse_t(text) == want


@pytest.mark.parametrize("text", ["a", "1:", "5:1", "1:10:0", "1.5", ""])
def test_parse_t_rejects_malformed_ranges(text):
    with pytest.raises(ValueError, match="t="):
        parse_t(text)


def test_json_output_has_a_row_per_setting_with_the_required_keys_and_every_row_passes(capsys):
    code, out = run_json(capsys, ["--sigma", "0.2", "0.4"] + SMALL)
    assert code == 0 and out["passed"] is True
    assert len(out["rows"]) == 2 * 8
    assert all(REQUIRED <= set(row) for row in out["rows"])
    assert all(row["passed"] for row in out["rows"])
    assert {c["name"] for c in out["checks"]} >= {"r2_ceiling", "r2_protocol", "accuracy", "angle_spread"}


def test_rows_carry_the_closed_forms_of_the_theory_modules(capsys):
    code, out = run_json(capsys, ["--sigma", "0.3"] + SMALL)
    assert code == 0
    t = np.array([r["t"] for r in out["rows"]])
    np.testing.assert_allclose([r["r2_ceiling"] for r in out["rows"]], 1 - 12 * 0.3**2 / t, rtol=1e-13)


def test_free_rt_rows_are_the_fixed_rt_ceiling_one_sample_later(capsys):
    code, out = run_json(capsys, ["--free-rt", "--t", "0:4", "--trials", "3000", "--replicates", "4",
                                  "--designs", "100", "--angle-ntask", "50"])
    assert code == 0
    assert [r["t"] - r["timing"] for r in out["rows"]] == [1] * 5
    np.testing.assert_allclose([r["r2_ceiling"] for r in out["rows"]],
                               [1 - 12 * 0.04 / (r["timing"] + 1) for r in out["rows"]], rtol=1e-13)


@pytest.mark.parametrize("extra", [
    ["--noise", "anisotropic", "--aniso-scales", "1", "2"],
    ["--noise", "ar1", "--ar1-a", "0.7", "--estimator", "gls"],
    ["--noise", "gumbel"],
    ["--D", "3", "--ntask", "4"],
])
def test_every_noise_model_and_dimension_agrees_with_theory(capsys, extra):
    code, out = run_json(capsys, SMALL + extra)
    assert code == 0, [c for c in out["checks"] if not c["passed"]]


def test_a_wrong_prediction_makes_the_run_fail_with_exit_code_1(capsys, monkeypatch):
    # Feed the CLI the paper's free-RT line 1 - 12 sigma^2 / (t + 1) as if it were the fixed-RT
    # ceiling: the simulation must reject it.
    monkeypatch.setattr(curves, "r2_ceiling", lambda v: r2_ceiling(v * np.arange(1, 9)[:, None] /
                                                                     np.arange(2, 10)[:, None]))
    code, out = run_json(capsys, SMALL)
    assert code == 1
    assert not next(c for c in out["checks"] if c["name"] == "r2_ceiling")["passed"]
    assert not all(row["passed"] for row in out["rows"])


def test_same_seed_gives_identical_rows_and_different_seeds_differ():
    config = CurvesConfig(t=(2, 5), trials=2000, replicates=4, designs=50, angle_ntask=(10,))
    a, b = curve_rows(config), curve_rows(config)
    c = curve_rows(CurvesConfig(t=(2, 5), trials=2000, replicates=4, designs=50, angle_ntask=(10,), seed=1))
    assert a == b
    assert [r["r2_mc"] for r in a] != [r["r2_mc"] for r in c]


def test_out_writes_csv_json_and_plots_and_nothing_is_written_without_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(SMALL) == 0
    assert list(tmp_path.iterdir()) == []
    out = tmp_path / "curves"
    assert main(SMALL + ["--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"curves.csv", "angles.csv", "results.json", "r2_vs_t.png", "r2_vs_sigma.png", "angle_spread.png"}
    lines = (out / "curves.csv").read_text().splitlines()
    assert len(lines) == 1 + 8 and "r2_mc_se" in lines[0]
    assert json.loads((out / "results.json").read_text())["passed"] is True
    assert (out / "r2_vs_t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, word", [
    (["--sigma", "-0.2"], "sigma"),
    (["--t", "abc"], "t="),
    (["--t", "0"], "t"),
    (["--noise", "gaussian", "--estimator", "gls"], "gls"),
    (["--noise", "anisotropic", "--aniso-scales", "1", "2", "3"], "aniso_scales"),
    (["--noise", "ar1", "--ar1-a", "1.0"], "a="),
    (["--design", "even", "--D", "3"], "even"),
    (["--trials", "1"], "trials"),
    (["--alpha", "2"], "alpha"),
])
def test_bad_input_exits_2_with_a_one_line_message_naming_it(capsys, argv, word):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err


def test_unknown_noise_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["--noise", "pink"])
    assert exc.value.code == 2


def test_module_runs_as_a_script_and_prints_help():
    help_text = subprocess.run([sys.executable, "-m", "verify.curves", "--help"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout
    assert "--sigma" in help_text and "Monte-Carlo" in help_text
    done = subprocess.run([sys.executable, "-m", "verify.curves", "--json"] + SMALL, cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["passed"] is True


@pytest.mark.slow
def test_reference_run_finishes_in_under_30_seconds_and_every_row_passes(tmp_path, capsys):
    import time
    start = time.perf_counter()
    code, out = run_json(capsys, ["--sigma", "0.2", "--t", "1:60", "--out", str(tmp_path)])
    assert time.perf_counter() - start < 30
    assert code == 0 and all(r["passed"] for r in out["rows"]) and len(out["rows"]) == 60


def test_plot_helper_rejects_mismatched_shapes_and_saves_a_png(tmp_path):
    from verify.plotting import new_figure, plot_theory_with_points, save_figure
    fig, (ax,) = new_figure(1)
    with pytest.raises(ValueError, match="shapes"):
        plot_theory_with_points(ax, [1, 2], [1], [1], [1])
    plot_theory_with_points(ax, [1, 2], [0.5, 0.7], [1.5], [0.6], [0.01], k=3.0, label="x")
    path = save_figure(fig, tmp_path / "p.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_tiny_noise_passes_with_the_unresolvable_accuracy_settings_undecided():
    """sigma = 1e-6: every trial is decided correctly, so the accuracy SE is 0; theory expects
    < MIN_ERRORS wrong decisions, so those comparisons are undecided (said), never a division by 0."""
    config = CurvesConfig(sigma=(1e-6,), t=(1, 20), trials=2000, replicates=4, angle_ntask=(24,), designs=200)
    result = curves.run(config)
    names = {c.name for c in result["checks"]}
    assert all(c.passed for c in result["checks"]) and {"r2_ceiling", "r2_protocol"} <= names
    assert "accuracy" not in names and "undecided at this budget" in result["undecided"][0]
    assert all(r["accuracy_resolved"] is False for r in result["rows"])


def test_zero_standard_error_is_infinite_z_unless_the_gap_is_rounding():
    assert curves._z(1.0, 1.0 - 1e-17, 0.0) == 0.0
    assert curves._z(1.0, 0.999, 0.0) == float("inf")
    assert curves._z(1.0, 0.99, 0.005) == pytest.approx(2.0)


def test_protocol_plan_keeps_small_runs_whole_and_bounds_large_ones():
    keep, n = curves.protocol_plan(CurvesConfig())
    assert n == CurvesConfig().trials and len(keep) == 60
    big = CurvesConfig(D=40)
    keep, n = curves.protocol_plan(big)
    ts = big.samples[keep]
    assert len(keep) <= curves.PROTOCOL_STEPS and {1, 20, 60} <= set(ts.tolist())
    cost = curves._replicates(big) * n * (2 * 60 * 40 + 3 * len(keep) * 41**2)
    assert cost <= curves.PROTOCOL_BUDGET and n >= 4 * 42


@pytest.mark.slow
def test_forty_dimensions_pass_with_the_extrapolated_protocol():
    result = curves.run(CurvesConfig(D=40))
    assert all(c.passed for c in result["checks"])
    assert "extrapolated to the large-sample limit" in {c.name: c for c in result["checks"]}["r2_protocol"].claim


def test_negative_anisotropy_is_blamed_on_aniso_scales_not_sigma():
    with pytest.raises(ValueError, match="aniso_scales"):
        CurvesConfig(noise="anisotropic", aniso_scales=(-1.0, 2.0))


def test_the_old_aniso_spelling_is_a_hidden_alias_of_aniso_scales():
    from verify.curves import build_parser
    p = build_parser()
    assert p.parse_args(["--aniso", "1", "3"]).aniso_scales == [1.0, 3.0]
    assert p.parse_args([]).aniso_scales == [1.0, 2.0]
    assert "--aniso-scales" in p.format_help() and "--aniso " not in p.format_help()
