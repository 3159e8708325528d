"""Fig. 3b/3c across architectures (verify.architectures): the comparison claim and a tiny end-to-end run."""
import pytest

from verify import architectures as va

CEILING = 0.975


def _rows(levels):
    """Rows whose headline interval is high / low / unclear against the line CEILING - NEAR_CEILING."""
    line = CEILING - va.NEAR_CEILING
    spans = {"high": (line + 0.005, line + 0.01), "low": (line - 0.02, line - 0.01), "unclear": (line - 0.01, line + 0.01)}
    return [{"ntask": n, "r2_protocol": CEILING, "ood_r2_ci_low": spans[lv][0], "ood_r2_ci_high": spans[lv][1]}
            for n, lv in levels]


@pytest.mark.parametrize("transformer, rnn, reproduced, decided", [
    ([(2, "high"), (24, "high")], [(2, "low"), (24, "high")], True, True),        # earlier: reproduced
    ([(2, "low"), (24, "high")], [(2, "low"), (24, "high")], False, True),        # same N: not reproduced
    ([(2, "high"), (24, "high")], [(2, "high"), (24, "high")], False, True),      # both everywhere: not
    ([(2, "unclear"), (24, "high")], [(2, "low"), (24, "high")], False, False),   # the interval cannot tell
    ([(2, "high"), (24, "high")], [(2, "unclear"), (24, "high")], False, False),
])
def test_transformer_claim_is_decided_only_by_intervals_that_separate(transformer, rnn, reproduced, decided):
    check = va.transformer_claim({"transformer": _rows(transformer), "rnn": _rows(rnn)})
    assert check.passed is reproduced and check.decided is decided and check.binding is False


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
