"""Fig. 3b/3c across architectures (verify.architectures): the comparison claim and a tiny end-to-end run."""
import numpy as np
import pytest

from verify import architectures as va

def _values(levels, rng):
    """{N: (5 networks, 4 folds)} of headline r^2 around each level, network sd 0.005."""
    return {n: level + 0.005 * rng.standard_normal((5, 4)) for n, level in levels}


def _rows(values):
    """Rows as the runner builds them: the headline interval and the line at half the evidence."""
    from analysis.bootstrap import interval
    from verify.networks.verdicts import half_evidence_line
    line = half_evidence_line(0.2, 20, 2, "fullrange")          # 0.9487 at sigma 0.2, t 20
    return [{"ntask": n, "r2_line_half_evidence": line, "decoders": {"ridge_cv": interval(v, 0, 500).to_dict()}}
            for n, v in values.items()]


@pytest.mark.parametrize("transformer, rnn, reproduced, decided", [
    ([(2, 0.96), (24, 0.97)], [(2, 0.70), (24, 0.97)], True, True),       # at the line and closer at N = 2
    ([(2, 0.70), (24, 0.97)], [(2, 0.70), (24, 0.97)], False, False),     # equal everywhere: the intervals cannot tell
    ([(2, 0.96), (24, 0.90)], [(2, 0.70), (24, 0.97)], False, True),      # further at N = 24: refuted
    ([(2, 0.70), (24, 0.97)], [(2, 0.90), (24, 0.97)], False, True),      # the RNN is there first: refuted
    ([(2, 0.90), (24, 0.91)], [(2, 0.70), (24, 0.91)], False, True),      # closer but never at the line: refuted
])
def test_transformer_claim_is_decided_by_the_interval_of_each_difference(transformer, rnn, reproduced, decided):
    rng = np.random.default_rng(0)
    values = {"transformer": _values(transformer, rng), "rnn": _values(rnn, rng)}
    check = va.transformer_claim(values, {label: _rows(v) for label, v in values.items()}, 1, 500)
    assert check.passed is reproduced and check.decided is decided and check.binding is True


def test_the_transformer_trains_for_the_reference_budget_when_the_others_train_the_published_one():
    budget = dict(ntask=(2, 24), networks=5, batches=100_000)
    assert va.variant_config(dict(arch="transformer"), budget, 0).batches == va.TRANSFORMER_BATCHES
    assert va.variant_config(dict(arch="lstm"), budget, 0).batches == 100_000
    assert va.variant_config(dict(arch="transformer"), dict(budget, batches=40), 0).batches == 40


def test_every_architecture_runs_through_the_shared_pipeline(tmp_path):
    budget = dict(ntask=(2, 6), networks=2, batches=30, eval_trials=400, encoder="identity", n_boot=100, adam_steps=10)
    result = va.run(tmp_path, budget, seed=0, progress=False, workers=1)
    assert set(result["rows"]) == {label for label, _ in va.VARIANTS}
    for label, rows in result["rows"].items():
        assert [r["ntask"] for r in rows] == [2, 6]
        assert {r["arch"] for r in rows} == {result["configs"][label]["arch"]}
    assert result["configs"]["rnn non-leaky"]["leaky"] is False
    assert result["figure"].exists() and "transformer" in va.markdown(result)
    assert result["checks"][-1].name == "transformer_disentangles_at_smaller_ntask"


def test_transformer_tuning_covers_its_attention_values_and_the_rnn_tuning_only_its_rates():
    from types import SimpleNamespace

    from analysis.tuning import grid_latents, unit_correlations
    from nets.config import ensemble_config
    from nets.ensemble import ensemble_inputs
    from nets.layers import layernorm_forward
    from nets.train import train
    from verify.networks.tuning import tuning

    check = SimpleNamespace(encode_fixation=False)
    tiny = dict(ntask=[2, 6], networks=1, batches=3, batch_size=4, encoder="identity")
    ens = train(ensemble_config(arch="transformer", d_model=8, n_head=2, d_mlp=8, dtype="float64", **tiny),
                progress=False).ensemble
    out = tuning(ens, check)
    assert [(r["source"], r["ntask"]) for r in out["rows"]] == [("hidden", 2), ("hidden", 6),
                                                                 ("attention_values", 2), ("attention_values", 6)]
    # the value vectors at the last stimulus step, from the parameters: v = LN_1(u W_p + b_p) W_v + b_v
    x = grid_latents(8, 2)
    u, _ = ensemble_inputs(ens, x, 0, sigma=0.0)                      # (K, n, T, n_in), noiseless
    p, C = ens.params, 8
    last = u[:, :, -2] @ p["W_p"] + p["b_p"][:, None]
    a1, _ = layernorm_forward(last, p["ln1_g"][:, None], p["ln1_b"][:, None], 1e-5)
    v = a1 @ p["W_qkv"][:, :, 2 * C:] + p["b_qkv"][:, None, 2 * C:]
    np.testing.assert_allclose(out["values"], v, rtol=1e-12, atol=1e-14)   # float64 rounding
    np.testing.assert_allclose(out["values_correlations"], unit_correlations(v, x), rtol=1e-9, atol=1e-12)
    assert np.all(np.ptp(v, axis=1) > 1e-6)                           # every value unit varies over the grid
    assert all(r["sparseness_median"] is None for r in out["rows"])    # signed populations
    rnn = train(ensemble_config(hidden=4, **tiny), progress=False).ensemble
    out = tuning(rnn, check)
    assert {r["source"] for r in out["rows"]} == {"hidden"} and out["values"] is None
    assert all(r["sparseness_median"] is not None for r in out["rows"])   # ReLU rates


@pytest.mark.parametrize("argv, names", [(["--networks", "0"], "networks"), (["--ntask", "1", "24"], "ntask"),
                                         (["--batches", "1000000000"], "--batches"), (["--archs", "gru"], "--archs")])
def test_bad_command_lines_exit_2_naming_the_parameter_before_any_training(argv, names, tmp_path, capsys):
    try:
        code = va.main([*argv, "--out", str(tmp_path), "--quiet"])
    except SystemExit as e:             # argparse's own refusal (an unknown choice)
        code = e.code
    assert code == 2
    assert names in capsys.readouterr().err
    assert not (tmp_path / "networks").exists()


def test_the_command_line_compares_the_chosen_architectures_and_names_each_rows_variant(tmp_path, capsys,
                                                                                      monkeypatch):
    import json
    small = dict(eval_trials=400, encoder="identity", n_boot=100, adam_steps=10)       # a tiny probe: seconds
    full = va.variant_config
    monkeypatch.setattr(va, "variant_config", lambda fields, budget, seed: full(fields, budget | small, seed))
    argv = ["--archs", "rnn", "--ntask", "2", "6", "--networks", "2", "--batches", "20", "--workers", "1",
            "--out", str(tmp_path), "--json", "--quiet"]
    assert va.main(argv) in (0, 1)
    payload = json.loads(capsys.readouterr().out)
    assert {r["variant"] for r in payload["rows"]} == {"rnn"} and [r["ntask"] for r in payload["rows"]] == [2, 6]
    # the transformer claim needs both the RNN and the transformer: with the RNN alone it is not made
    assert not any(c["name"] == "transformer_disentangles_at_smaller_ntask" for c in payload["checks"])
    assert (tmp_path / "architectures.png").exists() and (tmp_path / "results.json").exists()
    assert json.loads((tmp_path / "results.json").read_text())["rows"] == payload["rows"]
