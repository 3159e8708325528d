"""The experiments beyond 3a-5c (5b, S1, S5c, S6, hidden size, large N, --dask): rows, theory
lines, verdicts, figures and the CLI, on tiny barely-trained networks (the plumbing and the
theory attached to each row; the trained-network numbers come from `python -m verify.rnn`)."""
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
    return out, config, run(config, out, progress=False)


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


def test_5b_verdicts_split_identifiable_cells_from_the_predicted_failure(run_5b):
    out, config, result = run_5b
    names = {c.name for c in result["checks"]}
    assert {"ood_below_ceiling_identifiable", "ood_below_ceiling_row_space_prediction"} <= names
    assert "ood_rises_with_identifiability_D4" in names


def test_5b_cli_writes_the_figures_and_rejects_a_dimension_below_two(tmp_path, capsys):
    args = ["--experiment", "5b", "--D", "2", "3", "--ntask", "2", "3", "--networks", "2", "--batches", "20",
            "--hidden", "8", "--eval-trials", "800", "--adam-steps", "5", "--n-boot", "100", "--quiet",
            "--out", str(tmp_path)]
    assert main(args) in (0, 1)
    pngs = {p.name for p in tmp_path.glob("*/*.png")}
    assert {"r2_vs_D.png", "angles_vs_D.png"} <= pngs
    capsys.readouterr()
    assert main(args[:2] + ["--D", "1"] + args[5:]) == 2
    assert "Ds=[1] must be integers >= 2" in capsys.readouterr().err
