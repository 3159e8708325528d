"""The lasso (exact homotopy) against scikit-learn and its own optimality certificate; its inner cross-validation."""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from analysis.lasso import ALPHA_GRID, _moments, duality_gap, lasso, lasso_cv, lasso_gram
from theory.designs import even_design

#: The homotopy solves small linear systems exactly: its duality gap is rounding, a few hundred ulps of y^T y / n.
GAP = 1e-12


def probits(rng, N, n=1000, sigma=0.2, t=20):
    """The optimal agent's probits of the even design: N units spanning the D = 2 directions of mu."""
    x = rng.uniform(-0.5, 0.5, (n, 2))
    mu = x + sigma / np.sqrt(t) * rng.standard_normal(x.shape)
    return mu @ (np.sqrt(t) * even_design(N).C / sigma).T, x


def correlated(rng, n=300, p=6, F=2):
    X = rng.standard_normal((n, p))
    X[:, 3] = X[:, 0] + 0.1 * X[:, 3]                                  # two strongly correlated units
    return X, X @ rng.standard_normal((p, F)) + rng.standard_normal((n, F))


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.5])
def test_lasso_agrees_with_scikit_learn_lasso_at_the_same_alpha(alpha):
    """scikit-learn's coordinate descent stops at duality gap g = 1e-10 |y|^2 / n; the objective is
    lambda_min-strongly convex (G full rank here), so its weights lie within sqrt(2 g / lambda_min) of the
    optimum, which ours reach to rounding: that bound (plus 1e-10) is the tolerance."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    X, Y = correlated(rng)
    W, b = lasso(X, Y, alpha)
    G, c, _, _ = _moments(X, Y, np.ones(len(X), bool))
    lam = np.linalg.eigvalsh(G)[0]
    for f in range(Y.shape[1]):
        ref = linear_model.Lasso(alpha=alpha, tol=1e-10, max_iter=1_000_000).fit(X, Y[:, f])
        yy = np.var(Y[:, f])
        gap = duality_gap(G, c[:, f:f + 1], np.array([yy]), ref.coef_[:, None], alpha)[0]
        tol = np.sqrt(2 * max(gap, 1e-10 * yy) / lam) + 1e-10
        np.testing.assert_allclose(W[:, f], ref.coef_, atol=tol)
        np.testing.assert_allclose(b[f], ref.intercept_, atol=tol * np.abs(X.mean(0)).sum() + 1e-10)


@pytest.mark.parametrize("N", [3, 6, 24])
def test_lasso_on_rank_deficient_probits_is_certified_optimal_by_its_duality_gap(N):
    """N units spanning 2 dimensions (G of rank 2), where coordinate descent crawls: the gap is rounding."""
    rng = np.random.default_rng(N)
    z, x = probits(rng, N)
    z = (z - z.mean(0)) / z.std(0)
    G, c, _, _ = _moments(z, x, np.ones(len(z), bool))
    yy = x.var(0)
    for g in (1e-1, 1e-3, 1e-5):
        alpha = g * np.abs(c).max(0)
        W = lasso_gram(G, c, alpha)
        assert np.all(duality_gap(G, c, yy, W, alpha) <= GAP * yy)
        assert np.all(np.sum(W != 0, 0) <= 2)          # a lasso solution in general position uses <= rank units


@given(seed=st.integers(0, 2 ** 32 - 1), alpha=st.floats(1e-4, 2.0))
@example(seed=73178557, alpha=0.001953125)     # a unit leaves the path and must rejoin it further down
def test_lasso_kkt_conditions_hold(seed, alpha):
    """Optimality: |c_j - G_j.w| <= alpha everywhere, = alpha with the sign of w_j where w_j != 0."""
    rng = np.random.default_rng(seed)
    X, Y = correlated(rng, n=120, p=5, F=1)
    G, c, _, _ = _moments(X, Y, np.ones(len(X), bool))
    W = lasso_gram(G, c, alpha)
    r = c - G @ W
    scale = 1e-9 * max(1.0, np.abs(c).max())
    assert np.all(np.abs(r) <= alpha + scale)
    on = W != 0
    np.testing.assert_allclose(r[on], alpha * np.sign(W[on]), atol=scale)


def test_lasso_cv_never_sees_trials_outside_train_and_picks_a_grid_penalty():
    rng = np.random.default_rng(1)
    X, Y = correlated(rng, n=200)
    train = np.arange(200) < 150
    W, b, alpha = lasso_cv(X, Y, train)
    Y2 = Y.copy()
    Y2[~train] = 1e6 * rng.standard_normal(Y2[~train].shape)
    W2, b2, alpha2 = lasso_cv(X, Y2, train)
    np.testing.assert_array_equal(W, W2)
    np.testing.assert_array_equal(alpha, alpha2)
    _, c, _, _ = _moments(X, Y, train)
    ratio = alpha / np.abs(c).max(0)
    assert all(np.isclose(r, ALPHA_GRID, rtol=1e-12).any() for r in ratio)


def test_lasso_cv_picks_a_small_penalty_for_a_strong_linear_signal_and_the_largest_for_noise():
    """Noise targets: every penalty below alpha_max adds held-out variance; a strong signal: shrinkage costs."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((600, 4))
    Y = np.stack([X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.standard_normal(600),
                  rng.standard_normal(600)], 1)
    _, _, alpha = lasso_cv(X, Y)
    _, c, _, _ = _moments(X, Y, np.ones(600, bool))
    assert alpha[0] / np.abs(c[:, 0]).max() < 1e-2
    assert alpha[1] / np.abs(c[:, 1]).max() > 1e-2


@pytest.mark.parametrize("call, word", [
    (lambda: lasso(np.zeros((5, 2)), np.zeros((4, 1)), 0.1), "leading axes"),
    (lambda: lasso(np.full((5, 2), np.nan), np.zeros((5, 1)), 0.1), "finite"),
    (lambda: lasso(np.ones((5, 2)), np.zeros((5, 1)), -0.1), "alpha"),
    (lambda: lasso(np.ones((5, 2)), np.zeros((5, 1)), 0.1, mask=np.eye(5, dtype=bool)[0]), "mask"),
    (lambda: lasso_cv(np.ones((20, 2)), np.zeros((20, 1)), folds=1), "folds"),
    (lambda: lasso_cv(np.ones((5, 2)), np.zeros((5, 1))), "train"),
    (lambda: lasso_cv(np.ones((20, 2)), np.zeros((20, 1)), grid=[]), "grid"),
])
def test_lasso_rejects_bad_input_naming_it(call, word):
    with pytest.raises(ValueError, match=word):
        call()
