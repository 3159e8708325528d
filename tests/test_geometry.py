"""Geometry measures on hand-built states with known answers, invariances, an independent oracle, bad input."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import entropy, ortho_group

from analysis.geometry import (_halves, accuracy, ccgp, ccgp_binomial_se, ccgp_detail, centroids, clip_interval,
                               conditions, dci, dci_ridge, fit_classifier, geometric_null, held_out_pairs,
                               parallelism_bernardi, parallelism_mean_pairs, parallelism_regressor_cosine,
                               participation_ratio, shattering_dimensionality, shuffle_null, unit_shuffle_null)
from theory.geometry import orthant_signs

#: Identities (cosines of identical vectors, accuracies of perfectly separated points) hold to a few
#: hundred ulps after the centring, scaling and solve.
EXACT = 1e-9
K_SE = 3.0   # Monte-Carlo tolerance: this many computed standard errors


def corner_code(rng, B, D, p, reps, jitter=0.0):
    """A factorised linear code of the orthant centres: states A x + a, x = c/4 (+ U(-jitter, jitter)),
    every condition ``reps`` times in random order."""
    signs = orthant_signs(D)
    x = rng.permutation(np.tile(signs / 4, (reps, 1)))
    x = x + rng.uniform(-jitter, jitter, x.shape)
    A = rng.standard_normal((B, p, D))
    a = rng.standard_normal((B, 1, p))
    return np.einsum("bpd,nd->bnp", A, x) + a, x


def lookup_code(rng, B, D, p, n, within=0.05):
    """A random lookup code: each orthant at an independent Gaussian point, plus small scatter."""
    x = rng.uniform(-0.5, 0.5, (n, D))
    g = rng.standard_normal((B, 2 ** D, p))
    return g[:, conditions(x)] + within * rng.standard_normal((B, n, p)), x


def noisy_linear(rng, B, n, D, p, noise=0.05):
    x = rng.uniform(-0.5, 0.5, (B, n, D))
    A = rng.standard_normal((B, p, D))
    return np.einsum("bpd,bnd->bnp", A, x + noise * rng.standard_normal(x.shape)), x


@pytest.mark.parametrize("D", [2, 3])
def test_factorised_linear_code_has_ccgp_one_and_every_parallelism_one(D):
    """Parallelism on the condition centres themselves; CCGP on conditions with scatter along every x_e
    (with the centres alone the training half never varies along x_e, so a classifier cannot learn to
    ignore it, and a non-orthogonal A tilts its extrapolation: that is the limit of CCGP on few points)."""
    rng = np.random.default_rng(0)
    z, x = corner_code(rng, B=3, D=D, p=6, reps=5)
    zj, xj = corner_code(rng, B=3, D=D, p=6, reps=50, jitter=0.1)
    for d in range(D):
        np.testing.assert_allclose(ccgp(zj, xj, d), 1.0, atol=EXACT)
        np.testing.assert_allclose(parallelism_bernardi(z, x, d), 1.0, atol=EXACT)
        np.testing.assert_allclose(parallelism_mean_pairs(z, x, d), 1.0, atol=EXACT)
        np.testing.assert_allclose(parallelism_regressor_cosine(z, x, d), 1.0, atol=EXACT)


def test_random_lookup_code_is_at_chance_for_ccgp_and_parallelism():
    rng = np.random.default_rng(1)
    z, x = lookup_code(rng, B=24, D=3, p=12, n=1600)
    for value, chance in ((ccgp(z, x, 0), 0.5), (parallelism_mean_pairs(z, x, 0), 0.0)):
        se = value.std(ddof=1) / np.sqrt(value.size)
        assert abs(value.mean() - chance) <= K_SE * se, (value.mean(), se)
    assert ccgp(z, x, 0).mean() < 0.9   # and far below a factorised code's 1


def test_shattering_of_a_linear_code_decodes_the_coordinates_but_not_xor():
    rng = np.random.default_rng(2)
    z, x = corner_code(rng, B=1, D=2, p=4, reps=1000)
    z = z + 0.01 * rng.standard_normal(z.shape)
    n_test = z.shape[1] // 2
    xor_accuracy = 3 * shattering_dimensionality(z, x)[0] - 2   # x1, x2 are decoded perfectly
    assert abs(xor_accuracy - 0.5) <= K_SE * np.sqrt(0.25 / n_test)


def test_shuffled_states_lose_the_geometry_of_a_factorised_code():
    rng = np.random.default_rng(3)
    z, x = noisy_linear(rng, B=4, n=2000, D=2, p=5)
    null = shuffle_null(lambda s, xx: ccgp(s, xx, 0), z, x, rng, n_draws=10)
    assert null.shape == (10, 4)
    assert abs(null.mean() - 0.5) <= K_SE * np.sqrt(0.25 / (1000 * null.size))   # independent tests, 1000 each
    assert ccgp(z, x, 0).min() > 0.9


def test_geometric_null_keeps_the_within_condition_scatter_and_the_centroid_spread():
    rng = np.random.default_rng(4)
    z, x = noisy_linear(rng, B=2, n=4000, D=2, p=5)
    captured = []
    geometric_null(lambda s, xx: captured.append(s) or np.zeros(len(s)), z, x, rng, n_draws=1)
    resid = z - np.take_along_axis(centroids(z, x), conditions(x)[..., None], 1)
    new = captured[0]
    new_resid = new - np.take_along_axis(centroids(new, x), conditions(x)[..., None], 1)
    np.testing.assert_allclose(new_resid, resid, atol=1e-10)


def test_participation_ratio_matches_the_eigenvalues_and_the_unit_shuffle_null_is_near_p():
    rng = np.random.default_rng(5)
    z, x = noisy_linear(rng, B=3, n=3000, D=2, p=8)
    lam = np.linalg.eigvalsh(np.stack([np.cov(s.T) for s in z]))
    np.testing.assert_allclose(participation_ratio(z), lam.sum(1) ** 2 / (lam ** 2).sum(1), rtol=1e-10)
    null = unit_shuffle_null(participation_ratio, z, rng, n_draws=3)
    var = z.var(1)
    np.testing.assert_allclose(null.mean(0), var.sum(1) ** 2 / (var ** 2).sum(1), rtol=0.05)


def naive_dci(R):
    """Eastwood & Williams' definitions, one unit and one latent at a time (scipy entropies)."""
    p, D = R.shape
    Dj = np.array([1 - entropy(R[j], base=D) for j in range(p)])
    rho = R.sum(1) / R.sum()
    Cd = np.array([1 - entropy(R[:, d], base=p) for d in range(D)])
    return float(rho @ Dj), float(Cd.mean())


def test_ridge_dci_matches_the_definition_computed_unit_by_unit():
    rng = np.random.default_rng(6)
    z, x = noisy_linear(rng, B=1, n=2000, D=2, p=4, noise=0.0)
    train = np.arange(2000) % 2 == 0
    zt = (z[0, train] - z[0, train].mean(0)) / z[0, train].std(0)
    xt = (x[0, train] - x[0, train].mean(0)) / x[0, train].std(0)
    R = np.abs(np.linalg.solve(zt.T @ zt / len(zt) + (1e-3 + 1e-12) * np.eye(4), zt.T @ xt / len(zt)))
    out = dci_ridge(z, x)
    np.testing.assert_allclose([out["disentanglement"][0], out["completeness"][0]], naive_dci(R), rtol=1e-9)
    np.testing.assert_allclose(out["informativeness"], 0.0, atol=0.05)   # noiseless: NRMSE ~ 0 up to the ridge


def _sklearn_dci(z, x, alpha):
    """E&W's DCI as their code computes it, with scikit-learn's Lasso: z-score on the training (even) trials,
    one Lasso per latent, R = |coef|, scipy entropies, NRMSE on the odd trials."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    train = np.arange(len(z)) % 2 == 0
    zs = (z - z[train].mean(0)) / z[train].std(0)
    xs = (x - x[train].mean(0)) / x[train].std(0)
    fits = [linear_model.Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(zs[train], xs[train, d])
            for d in range(x.shape[1])]
    R = np.abs(np.stack([f.coef_ for f in fits], 1))
    nrmse = [np.sqrt(np.mean((f.predict(zs[~train]) - xs[~train, d]) ** 2)) / xs[~train, d].std()
             for d, f in enumerate(fits)]
    return naive_dci(R) + (float(np.mean(nrmse)),)


@pytest.mark.parametrize("alpha", [0.003, 0.03])
def test_lasso_dci_matches_one_computed_with_scikit_learn_lasso(alpha):
    """Same penalty, same data: the exact homotopy against scikit-learn's coordinate descent at duality gap
    1e-14 |y|^2 (its weights within sqrt(2 gap / lambda_min) ~ 1e-6 of the optimum on this well-conditioned
    code; D, C and NRMSE are smooth in the weights there, so they agree to ~1e-6)."""
    rng = np.random.default_rng(16)
    z, x = noisy_linear(rng, B=1, n=500, D=3, p=5, noise=0.1)
    z = z + 0.3 * rng.standard_normal(z.shape)            # full-rank units: a unique, well-conditioned lasso
    ours = dci(z, x, alpha)
    np.testing.assert_allclose([ours[k][0] for k in ("disentanglement", "completeness", "informativeness")],
                               _sklearn_dci(z[0], x[0], alpha), atol=1e-5)


def test_dci_tells_an_axis_aligned_code_from_a_rotated_one_that_ccgp_cannot():
    rng = np.random.default_rng(7)
    x = rng.uniform(-0.5, 0.5, (1, 4000, 2))
    mu = x + 0.03 * rng.standard_normal(x.shape)
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    rotated = mu @ np.array([[c, -s], [s, c]]).T
    assert dci(mu, x)["disentanglement"][0] > 0.95
    assert dci(rotated, x)["disentanglement"][0] < 0.05
    np.testing.assert_allclose(ccgp(rotated, x, 0), ccgp(mu, x, 0), atol=2 / 2000)


def test_least_squares_classifier_matches_scikit_learn_ridge_classifier():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(8)
    z, x = noisy_linear(rng, B=1, n=500, D=2, p=6, noise=0.2)
    y = np.where(x[0, :, 0] > 0, 1.0, -1.0)
    train = x[0, :, 1] > 0
    ridge = 0.05
    w, w0 = fit_classifier(z, train[None, None], y[None, None, None], ridge)
    zt = z[0, train]
    scale2 = np.trace(np.cov(zt.T, bias=True)) / zt.shape[1]
    ref = sklearn.RidgeClassifier(alpha=train.sum() * (ridge + 1e-12) * scale2).fit(zt, y[train])
    np.testing.assert_allclose(w[0, 0, 0], np.ravel(ref.coef_), rtol=1e-8)
    np.testing.assert_allclose(w0[0, 0, 0], np.ravel(ref.intercept_)[0], rtol=1e-8, atol=1e-12)


@given(seed=st.integers(0, 2 ** 32 - 1), scale=st.floats(1e-3, 1e3), shift=st.floats(-1e2, 1e2))
def test_classifier_measures_and_pr_are_invariant_to_rotations_translations_and_scalings(seed, scale, shift):
    rng = np.random.default_rng(seed)
    z, x = noisy_linear(rng, B=2, n=400, D=2, p=4, noise=0.1)
    Q = ortho_group.rvs(4, random_state=seed % (2 ** 32 - 1))
    moved = scale * z @ Q.T + shift
    # an accuracy can move by one trial when a test point lies within rounding of the boundary
    one_trial = 1 / 100
    np.testing.assert_allclose(ccgp(moved, x, 1), ccgp(z, x, 1), atol=one_trial)
    np.testing.assert_allclose(shattering_dimensionality(moved, x), shattering_dimensionality(z, x), atol=one_trial)
    for f in (parallelism_bernardi, parallelism_mean_pairs, parallelism_regressor_cosine):
        np.testing.assert_allclose(f(moved, x, 0), f(z, x, 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(participation_ratio(moved), participation_ratio(z), rtol=1e-6)


@given(seed=st.integers(0, 2 ** 32 - 1))
def test_dci_is_invariant_to_per_unit_scalings_translations_and_permutations(seed):
    rng = np.random.default_rng(seed)
    z, x = noisy_linear(rng, B=1, n=400, D=2, p=4, noise=0.1)
    perm = rng.permutation(4)
    moved = z[..., perm] * rng.uniform(0.01, 100, 4) + rng.uniform(-10, 10, 4)
    a, b = dci(z, x), dci(moved, x)
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-6, atol=1e-9)


@given(seed=st.integers(0, 2 ** 32 - 1), scale=st.floats(1e-3, 1e3))
def test_ccgp_is_invariant_to_permuting_units_and_to_a_common_positive_scaling(seed, scale):
    rng = np.random.default_rng(seed)
    z, x = noisy_linear(rng, B=2, n=400, D=3, p=5, noise=0.1)
    moved = scale * z[..., rng.permutation(5)]
    # a permutation is orthogonal: the penalty grid and the fits are the same up to rounding, so an accuracy
    # moves by at most one test trial of a pair (n / 4 trials per adjacent pair at D = 3)
    np.testing.assert_allclose(ccgp(moved, x, 2), ccgp(z, x, 2), atol=1 / 100)


def test_ccgp_at_d2_trains_on_one_side_of_the_other_coordinate_and_tests_on_the_other_as_before():
    """One held-out condition per side, pairs differing only in x_d: at D = 2 the pair is a side of x_e."""
    rng = np.random.default_rng(17)
    z, x = noisy_linear(rng, B=3, n=800, D=2, p=4, noise=0.1)
    assert held_out_pairs(2, 0) == [(0, 1), (2, 3)]
    train, test = _halves(x, 0)                   # the former protocol: train on x_e > 0, test on x_e < 0, swap
    y = np.where(x[..., 0] > 0, 1.0, -1.0)
    Y = np.broadcast_to(y[:, None, None, :], train.shape[:2] + (1, 800))
    w, w0 = fit_classifier(z, train, Y, 1e-3)
    before = accuracy(z, w, w0, test, Y)[..., 0].mean(-1)
    np.testing.assert_allclose(ccgp(z, x, 0, ridge=1e-3), before, atol=EXACT)


def test_ccgp_at_d3_holds_out_one_condition_per_side_for_each_of_the_four_pairs():
    rng = np.random.default_rng(18)
    z, x = noisy_linear(rng, B=2, n=1600, D=3, p=5, noise=0.05)
    out = ccgp_detail(z, x, 1)
    assert held_out_pairs(3, 1) == [(0, 2), (1, 3), (4, 6), (5, 7)]
    assert out["accuracy"].shape == (2, 4) and len(held_out_pairs(3, 1, "all")) == 16
    np.testing.assert_array_equal(out["n_test"], np.stack([[np.isin(conditions(x[b]), p).sum()
                                                            for p in held_out_pairs(3, 1)] for b in range(2)]))
    np.testing.assert_allclose(out["value"], out["accuracy"].mean(-1), rtol=1e-12)
    zj, xj = corner_code(rng, B=2, D=3, p=6, reps=50, jitter=0.1)      # factorised: every pair generalises
    np.testing.assert_allclose(ccgp(zj, xj, 1, pairs="all"), 1.0, atol=EXACT)


@pytest.mark.slow   # importing decodanda (pandas, seaborn) alone takes ~5 s
def test_ccgp_agrees_with_decodanda_holding_out_one_condition_per_side():
    """decodanda's CCGP_dichotomy (OneOut, max_semantic_dist=1) with the same least-squares classifier, on
    a noisy linear D = 3 code. decodanda resamples ndata trials per condition with replacement (global numpy
    seed) and averages R resamplings, so the two differ by test-trial noise: at most K_SE x the root sum of
    both binomial SEs (decodanda's from its 2 ndata R test trials per pair)."""
    decodanda = pytest.importorskip("decodanda")
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(21)
    n, D, ndata, R = 2400, 3, 300, 3
    x = rng.uniform(-0.5, 0.5, (n, D))
    z = (x + 0.15 * rng.standard_normal(x.shape)) @ rng.standard_normal((5, D)).T
    data = {"raster": z, "trial": np.arange(n)} | {f"x{d}": np.where(x[:, d] > 0, 1, -1) for d in range(D)}
    np.random.seed(0)   # decodanda draws from numpy's global generator
    dec = decodanda.Decodanda(data=data, conditions={f"x{d}": [-1, 1] for d in range(D)},
                              classifier=linear_model.RidgeClassifier(alpha=1e-6))
    theirs = np.mean(dec.CCGP_dichotomy("x0", resamplings=R, ndata=ndata))
    ours = ccgp_detail(z[None], x[None], 0, ridge=1e-6)
    se_theirs = np.sqrt(theirs * (1 - theirs) / (2 * ndata * R * 4))
    assert abs(ours["value"][0] - theirs) <= K_SE * np.hypot(ours["se"][0], se_theirs), (ours["value"], theirs)


def test_ccgp_binomial_se_matches_the_spread_of_simulated_test_outcomes():
    """R simulated test sets of the pairs' sizes at fixed accuracies: the sd of the mean accuracy over R draws
    estimates the SE with relative standard error 1 / sqrt(2 (R - 1))."""
    rng = np.random.default_rng(19)
    a, n, R = np.array([0.9, 0.8, 0.95, 0.7]), np.array([100, 250, 80, 400]), 4000
    draws = (rng.binomial(n, a, (R, 4)) / n).mean(-1)
    se = ccgp_binomial_se(a, n)
    assert abs(draws.std(ddof=1) / se - 1) <= K_SE / np.sqrt(2 * (R - 1))
    assert ccgp_binomial_se(a, n, disjoint=False) >= se          # the bound for overlapping test sets


def test_clip_interval_clips_to_the_measure_range_and_says_so():
    assert clip_interval(0.95, 1.02, "ccgp") == (0.95, 1.0, True)
    assert clip_interval(-1.3, 0.2, "parallelism_mean_pairs") == (-1.0, 0.2, True)
    assert clip_interval(1.5, 2.5, "participation_ratio", units=2) == (1.5, 2.0, True)
    assert clip_interval(0.2, 0.4, "disentanglement") == (0.2, 0.4, False)
    low, high, clipped = clip_interval(float("nan"), float("nan"), "ccgp")
    assert np.isnan(low) and np.isnan(high) and not clipped


def test_participation_ratio_changes_under_diag_1_10_though_it_is_invariant_to_rotations():
    """Isotropic 2-D states (whitened: sample covariance exactly I) have PR 2; diag(1, 10) makes the
    covariance diag(1, 100), PR (1 + 100)^2 / (1 + 100^2) = 1.0200 (an invertible map, not an isometry)."""
    rng = np.random.default_rng(20)
    g = rng.standard_normal((500, 2))
    g -= g.mean(0)
    white = g @ np.linalg.inv(np.linalg.cholesky(np.cov(g.T)).T)
    np.testing.assert_allclose(participation_ratio(white[None]), 2.0, rtol=1e-12)
    np.testing.assert_allclose(participation_ratio((white @ np.diag([1.0, 10.0]))[None]), 101 ** 2 / 10001,
                               rtol=1e-12)


def test_nulls_are_reproducible_from_the_seed():
    rng = np.random.default_rng(9)
    z, x = noisy_linear(rng, B=2, n=400, D=2, p=3)
    f = lambda s, xx: ccgp(s, xx, 0)  # noqa: E731
    np.testing.assert_array_equal(shuffle_null(f, z, x, 5, 3), shuffle_null(f, z, x, 5, 3))
    np.testing.assert_array_equal(geometric_null(f, z, x, 5, 3), geometric_null(f, z, x, 5, 3))
    assert not np.array_equal(shuffle_null(f, z, x, 5, 3), shuffle_null(f, z, x, 6, 3))


_Z = np.zeros((2, 40, 3))
_X = np.random.default_rng(0).uniform(-0.5, 0.5, (40, 2))


@pytest.mark.parametrize("call, word", [
    (lambda: ccgp(_Z[0], _X), "states"),
    (lambda: ccgp(_Z, _X[:10]), "x_star"),
    (lambda: ccgp(_Z, _X, 2), "dim"),
    (lambda: ccgp(_Z, _X[:, :1], 0), "D=1"),
    (lambda: ccgp(_Z, _X, 0, ridge=-1.0), "ridge"),
    (lambda: ccgp(_Z, _X, 0, ridge="loo"), "ridge"),
    (lambda: ccgp(_Z, _X, 0, pairs="some"), "pairs"),
    (lambda: dci(_Z, _X, alpha=-0.1), "alpha"),
    (lambda: dci(_Z, _X, alpha="aic"), "alpha"),
    (lambda: dci_ridge(_Z, _X, ridge=-1.0), "ridge"),
    (lambda: ccgp_binomial_se([1.2], [10]), "accuracy"),
    (lambda: ccgp_binomial_se([0.9], [0]), "n_test"),
    (lambda: clip_interval(0, 1, "speed"), "metric"),
    (lambda: clip_interval(0, 1, "participation_ratio"), "units"),
    (lambda: ccgp(np.full_like(_Z, np.nan), _X), "finite"),
    (lambda: parallelism_bernardi(_Z, np.random.default_rng(0).uniform(-1, 1, (40, 4))), "D=4"),
    (lambda: participation_ratio(_Z[:, :1]), "states"),
    (lambda: shuffle_null(participation_ratio, _Z, _X, 0, 0), "n_draws"),
])
def test_geometry_measures_reject_bad_input_naming_it(call, word):
    with pytest.raises(ValueError, match=word):
        call()
