"""verify.verdict: the verdict word decides the exit code and "passed"; checks carry numbers.

Each run below is built from checks whose outcome is written down by hand (PASS, FAIL or NO
VERDICT), so the expected exit code and "passed" do not come from the function under test.
"""
import json

import numpy as np
import pytest

from verify.verdict import Check, base_parser, exit_code, format_value, run_cli, verdict_line, verdict_word

GOOD = Check("good", "a theory claim that holds", 1.0, 1.0, "exact", True)
BAD = Check("bad", "a theory claim that fails", 1.0, 2.0, "exact", False)
OPEN = Check("open", "a theory claim its interval cannot decide", 0.97, 0.96, "interval", False, decided=False)
OPEN_OK = Check("open_ok", "a theory claim its interval cannot decide", 0.97, 0.96, "interval", True, decided=False)
PAPER = Check("paper", "a paper claim outside the theory", 0.5, 0.1, ">= 0.5", False, binding=False)
UNDER = Check("under", "below an upper bound (any network that learnt nothing is)", 0.98, 0.6, "below", True,
              kind="upper")
OVER = Check("over", "decidedly above an upper bound", 0.98, 0.99, "below", False, kind="upper")

#: (checks, the verdict word, exit code, "passed") written out by hand.
CASES = [
    ([GOOD], "PASS", 0, True),
    ([GOOD, OPEN], "PASS", 0, True),
    ([GOOD, PAPER], "PASS", 0, True),                     # a paper claim never fails the run
    ([BAD], "FAIL", 1, False),
    ([GOOD, BAD, OPEN], "FAIL", 1, False),
    ([OPEN], "NO VERDICT", 1, False),                     # every binding check undecided
    ([OPEN, OPEN_OK, PAPER], "NO VERDICT", 1, False),
    ([PAPER], "NO VERDICT", 1, False),
    ([], "NO VERDICT", 1, False),
    ([UNDER], "NO VERDICT", 1, False),                    # upper checks alone never make a PASS
    ([UNDER, OPEN], "NO VERDICT", 1, False),
    ([OVER], "FAIL", 1, False),                           # ... but can fail a run
    ([GOOD, OVER], "FAIL", 1, False),
    ([GOOD, UNDER], "PASS", 0, True),
]


def _run(checks, argv, capsys):
    parser = base_parser("test", "prog")
    code = run_cli(parser, argv, lambda args: {"config": {"n": len(checks)}, "checks": list(checks)})
    return code, capsys.readouterr().out


@pytest.mark.parametrize("checks, word, code, passed", CASES, ids=[c[1] + f" {i}" for i, c in enumerate(CASES)])
def test_the_exit_code_and_passed_follow_the_verdict_word(checks, word, code, passed, capsys):
    assert verdict_word(checks) == word and exit_code(checks) == code
    got, out = _run(checks, ["--json"], capsys)
    payload = json.loads(out)
    assert got == code and payload["exit_code"] == code and payload["passed"] is passed
    got, out = _run(checks, [], capsys)
    assert got == code and out.strip().splitlines()[-1].startswith(word + ":")


def test_every_check_record_carries_decided_and_verdict_and_reads_back():
    for check in (GOOD, BAD, OPEN, PAPER):
        d = check.to_dict()
        assert d["decided"] is check.decided and d["verdict"] == check.verdict
        assert Check.from_dict(d) == check
    assert [c.to_dict()["verdict"] for c in (GOOD, BAD, OPEN, PAPER)] == ["PASS", "FAIL", "undecided", "not reproduced"]


@pytest.mark.parametrize("value", ["< 0.975", True, np.bool_(False), [1.0], {"a": 1}])
def test_predicted_and_measured_must_be_numbers_or_none(value):
    for field in ("predicted", "measured"):
        kwargs = dict(name="x", claim="c", predicted=1.0, measured=1.0, tolerance="exact", passed=True) | {field: value}
        with pytest.raises(TypeError, match=field):
            Check(**kwargs)


def test_numpy_numbers_become_python_numbers_and_the_text_form_is_shown_in_tables():
    c = Check("x", "c", np.float64(0.975), np.int64(3), "t", True, predicted_text="< 0.975")
    assert type(c.predicted) is float and type(c.measured) is int
    assert json.dumps(c.to_dict())
    from verify.verdict import format_table
    assert "< 0.975" in format_table([c]) and "3" in format_table([c])
    assert Check("x", "c", None, None, "-", False).to_dict()["predicted"] is None


def test_verdict_line_counts_only_decided_binding_checks():
    assert verdict_line([GOOD, BAD, OPEN, PAPER]) == ("FAIL: 1/2 checks agree with theory; 0/1 further paper claims "
                                                      "reproduced; 1 undecided at this budget")


def test_a_check_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind="):
        Check("x", "y", 1.0, 1.0, "exact", True, kind="lower")


@pytest.mark.parametrize("value, text", [(float("inf"), "inf"), (float("-inf"), "-inf"), (float("nan"), "nan")])
def test_a_non_finite_value_reads_the_same_after_json_keeps_it_as_null(value, text):
    check = Check("c", "claim", value, value, "t", True)
    record = json.loads(json.dumps(check.to_dict()).replace("-Infinity", "null").replace("Infinity", "null")
                        .replace("NaN", "null"))
    back = Check.from_dict(record)
    assert back.measured is None and back.predicted is None
    assert format_value(back.measured, back.measured_text) == text == format_value(check.measured, check.measured_text)
    assert format_value(back.predicted, back.predicted_text) == text
