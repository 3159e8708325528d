"""Hierarchical bootstrap over networks x folds (analysis.bootstrap)."""
import numpy as np
import pytest

from analysis.bootstrap import bootstrap_difference, bootstrap_medians, decide, interval


def test_constant_values_have_a_degenerate_interval_at_the_value():
    iv = interval(np.full((4, 3), 0.9), 0)
    assert iv.median == iv.ci_low == iv.ci_high == iv.q25 == iv.q75 == 0.9
    assert (iv.n_networks, iv.n_folds) == (4, 3)


def test_same_seed_gives_identical_replicates_and_another_seed_does_not():
    v = np.random.default_rng(1).normal(size=(5, 4))
    np.testing.assert_array_equal(bootstrap_medians(v, 3, 200), bootstrap_medians(v, 3, 200))
    assert not np.array_equal(bootstrap_medians(v, 3, 200), bootstrap_medians(v, 4, 200))


def test_replicates_resample_whole_networks_first():
    """With all variance between networks (folds identical within each network), every replicate
    median is a median of network values, so it lies in their range and is often not the sample median;
    with the same values spread within one network only, network resampling changes nothing."""
    between = np.repeat(np.array([[0.0], [1.0], [2.0], [3.0], [4.0]]), 4, axis=1)      # (5, 4)
    meds = bootstrap_medians(between, 0, 2000)
    assert np.all((meds >= 0) & (meds <= 4)) and np.std(meds) > 0.5
    within = np.repeat(np.array([[0.0, 1.0, 2.0, 3.0]]), 1, axis=0)                       # one network
    assert np.std(bootstrap_medians(within, 0, 2000)) < np.std(meds)


def test_interval_width_follows_the_between_network_spread_not_the_fold_count():
    """Same total variance: all of it between networks vs all within networks (independent folds).
    Only the first is a real network-to-network spread; its interval must be clearly wider."""
    rng = np.random.default_rng(2)
    K, F = 6, 4
    between = np.repeat(rng.normal(size=(K, 1)), F, axis=1)
    within = rng.normal(size=(K, F))
    wb = [interval(between, s, 1000) for s in range(5)]
    ww = [interval(within, s, 1000) for s in range(5)]
    width = lambda ivs: np.mean([iv.ci_high - iv.ci_low for iv in ivs])  # noqa: E731
    assert width(wb) > 1.3 * width(ww)


def test_interval_covers_the_true_median_about_95_percent_of_the_time():
    """Coverage over 300 simulated experiments (network offsets sd 0.03, fold noise sd 0.01, K = 8):
    the percentile bootstrap of a median is approximate at small K, so accept 0.85..0.99 (the
    binomial SE of a 0.95 rate over 300 runs is 0.013)."""
    rng = np.random.default_rng(3)
    hits = 0
    for s in range(300):
        v = 0.9 + 0.03 * rng.normal(size=(8, 1)) + 0.01 * rng.normal(size=(8, 4))
        iv = interval(v, s, 500)
        hits += iv.ci_low <= 0.9 <= iv.ci_high
    assert 0.85 <= hits / 300 <= 0.99


def test_difference_is_b_minus_a_and_its_interval_excludes_zero_for_a_clear_rise():
    rng = np.random.default_rng(4)
    a = 0.7 + 0.01 * rng.normal(size=(5, 4))
    b = 0.9 + 0.01 * rng.normal(size=(5, 4))
    diff, lo, hi = bootstrap_difference(a, b, 0, 1000)
    assert diff == pytest.approx(np.median(b) - np.median(a), abs=1e-15)
    assert 0 < lo <= diff <= hi
    diff2, lo2, hi2 = bootstrap_difference(b, a, 0, 1000)
    assert diff2 == -diff and hi2 < 0


@pytest.mark.parametrize("lo, hi, threshold, claim, expected", [
    (0.1, 0.2, 0.3, "below", (True, True)),
    (0.2, 0.4, 0.3, "below", (False, False)),
    (0.35, 0.4, 0.3, "below", (False, True)),
    (0.1, 0.2, 0.0, "above", (True, True)),
    (-0.1, 0.2, 0.0, "above", (False, False)),
    (-0.3, -0.1, 0.0, "above", (False, True)),
])
def test_decide_passes_fails_or_leaves_undecided_by_where_the_interval_lies(lo, hi, threshold, claim, expected):
    assert decide(lo, hi, threshold, claim) == expected


@pytest.mark.parametrize("call, match", [
    (lambda: interval(np.zeros((0, 3)), 0), "values"),
    (lambda: interval([[np.nan]], 0), "finite"),
    (lambda: interval([[1.0]], 0, level=1.5), "level"),
    (lambda: bootstrap_medians([[1.0]], 0, 0), "n_boot"),
    (lambda: decide(0.2, 0.1, 0.0, "above"), "ci_low"),
    (lambda: decide(0.1, 0.2, 0.0, "sideways"), "claim"),
])
def test_bad_input_raises_value_error_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
