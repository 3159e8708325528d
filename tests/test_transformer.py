"""The transformer of nets.transformer and its layers (nets.layers): every backward against central finite
differences, the forward against a naive per-trial, per-position, per-head loop, dropout (same mask,
off at evaluation), the causal mask by perturbation, initialisation."""
import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from nets import layers
from nets.losses import loss_and_grad
from nets.stacking import sample_stacked_noise, stack_params
from nets.transformer import PARAM_NAMES, READOUT_NAMES, Transformer, TransformerConfig, init_params

#: Central differences in float64 with h ~ eps^(1/3), Richardson-extrapolated (:func:`_numeric_grad`): the
#: plain difference's truncation error h^2 f''' / 6 reaches 3e-8 where LayerNorm is steep (third derivatives
#: ~ rstd^3 ~ 1e3 at rstd < 10; found by hypothesis), the extrapolated one's O(h^4 rstd^5) is below 1e-15, and
#: round-off stays ~eps |f| / h ~ 1e-10: 1e-8 absolute is 100x above that and orders of magnitude below a
#: wrong term.
FD_STEP = 6e-6
GRAD_ATOL = 1e-8
GRAD_RTOL = 1e-6
#: The naive loop sums in another order than the stacked matmuls: a few ulps of O(1) values.
LOOP_RTOL = 1e-11
LOOP_ATOL = 1e-12

SEED = st.integers(0, 2**32 - 1)


def _numeric_grad(f, x):
    """Central differences of the scalar f at x (any shape), Richardson-extrapolated:
    (4 D(h / 2) - D(h)) / 3 cancels the h^2 term of D(h) = (f(x + h) - f(x - h)) / (2 h)."""
    def central(idx, h):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        return (f(plus) - f(minus)) / (2 * h)

    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        g[idx] = (4 * central(idx, FD_STEP / 2) - central(idx, FD_STEP)) / 3
    return g


@given(seed=SEED, rows=st.integers(1, 4), C=st.integers(2, 6))
def test_layernorm_backward_matches_central_differences(seed, rows, C):
    rng = np.random.default_rng(seed)
    x, g, b, w = rng.normal(size=(rows, C)), rng.normal(size=C), rng.normal(size=C), rng.normal(size=(rows, C))
    y, cache = layers.layernorm_forward(x, g, b)
    dx, dg, db = layers.layernorm_backward(w, cache, g, 0)
    np.testing.assert_allclose(dx, _numeric_grad(lambda v: (layers.layernorm_forward(v, g, b)[0] * w).sum(), x),
                               rtol=GRAD_RTOL, atol=GRAD_ATOL)
    np.testing.assert_allclose(dg, _numeric_grad(lambda v: (layers.layernorm_forward(x, v, b)[0] * w).sum(), g),
                               rtol=GRAD_RTOL, atol=GRAD_ATOL)
    np.testing.assert_allclose(db, w.sum(axis=0), rtol=1e-14)
    # the naive definition: (x - mean) / sqrt(biased variance + eps) * g + b, row by row
    for r in range(rows):
        ref = (x[r] - np.mean(x[r])) / np.sqrt(np.var(x[r]) + 1e-5) * g + b
        np.testing.assert_allclose(y[r], ref, rtol=LOOP_RTOL, atol=LOOP_ATOL)


@given(x=st.lists(st.floats(-6, 6), min_size=1, max_size=8))
def test_gelu_matches_its_tanh_formula_and_its_backward_matches_central_differences(x):
    x = np.array(x)
    y, th = layers.gelu_forward(x)
    ref = [0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3))) for v in x]
    np.testing.assert_allclose(y, ref, rtol=1e-14, atol=1e-15)
    dx = layers.gelu_backward(np.ones_like(x), x, th)
    np.testing.assert_allclose(dx, _numeric_grad(lambda v: layers.gelu_forward(v)[0].sum(), x),
                               rtol=GRAD_RTOL, atol=GRAD_ATOL)


@given(seed=SEED, lead=st.integers(1, 3), T=st.integers(1, 5), d=st.integers(1, 4), dropout=st.booleans())
def test_masked_attention_backward_matches_central_differences_with_the_same_dropout_mask(seed, lead, T, d,
                                                                                           dropout):
    rng = np.random.default_rng(seed)
    q, k, v, w = (rng.normal(size=(lead, T, d)) for _ in range(4))
    drop = layers.dropout_mask(rng, (lead, T, T), 0.3, np.float64) if dropout else None
    y, cache = layers.attention_forward(q, k, v, drop)
    dq, dk, dv = layers.attention_backward(w, cache)
    for got, which in ((dq, 0), (dk, 1), (dv, 2)):
        def f(val, which=which):
            args = [q, k, v]
            args[which] = val
            return (layers.attention_forward(*args, drop)[0] * w).sum()
        np.testing.assert_allclose(got, _numeric_grad(f, [q, k, v][which]), rtol=GRAD_RTOL, atol=GRAD_ATOL)
    # naive: position t attends to s <= t with softmax weights of q_t . k_s / sqrt(d)
    for a in range(lead):
        for t in range(T):
            s = np.array([q[a, t] @ k[a, j] / np.sqrt(d) for j in range(t + 1)])
            p = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
            if drop is not None:
                p = p * drop[a, t, :t + 1]
            np.testing.assert_allclose(y[a, t], sum(p[j] * v[a, j] for j in range(t + 1)),
                                       rtol=LOOP_RTOL, atol=LOOP_ATOL)


def test_dropout_mask_keeps_entries_at_rate_one_minus_p_and_rescales_them():
    m = layers.dropout_mask(np.random.default_rng(0), (200_000,), 0.1, np.float64)
    kept = m > 0
    threshold = round(0.1 * 2**16)
    np.testing.assert_allclose(np.unique(m[kept]), 2**16 / (2**16 - threshold), rtol=1e-15)
    p_exact = threshold / 2**16
    se = np.sqrt(p_exact * (1 - p_exact) / m.size)
    assert abs(np.mean(~kept) - p_exact) < 4 * se          # 4 binomial standard errors
    assert abs(p_exact - 0.1) < 2**-17
    np.testing.assert_array_equal(layers.dropout_mask(np.random.default_rng(0), (200_000,), 0.1, np.float32) > 0,
                                  kept)                    # same draws in either precision


SMALL = dict(seed=SEED, K=st.integers(1, 2), B=st.integers(1, 2), T=st.integers(1, 4), n_in=st.integers(1, 3),
             N=st.integers(1, 2), n_head=st.sampled_from([1, 2]), hd=st.integers(1, 3), d_mlp=st.integers(1, 5))


def _model(seed, K, B, T, n_in, N, n_head, hd, d_mlp, dropout=0.3):
    rng = np.random.default_rng(seed)
    arch = Transformer(TransformerConfig(d_model=n_head * hd, n_head=n_head, d_mlp=d_mlp, dropout=dropout))
    params = stack_params([arch.init_params(rng, n_in, N) for _ in range(K)], PARAM_NAMES, READOUT_NAMES)
    # move off the initial point (zero biases, unit gains, tiny weights) so every term matters
    params = {k: v + 0.5 * rng.normal(size=v.shape) for k, v in params.items()}
    u = rng.normal(size=(K, T, B, n_in))
    noise = sample_stacked_noise(arch, [rng] * K, T, B, np.float64)
    return rng, arch, params, u, noise


def _naive(arch, params, u, noise):
    """The module docstring's lines, one network, one trial, one position, one head at a time."""
    c = arch.config
    K, T, B, _ = u.shape
    hd = c.d_model // c.n_head
    z = np.zeros((K, T, B, params["W_out"].shape[-1]))

    def ln(x, g, b):
        return (x - x.mean()) / np.sqrt(x.var() + c.ln_eps) * g + b

    def gelu(x):
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))

    for k in range(K):
        P = {n: v[k] for n, v in params.items()}
        mask = (lambda site, *idx: 1.0) if noise is None else (lambda site, *idx, k=k: noise[site][(k,) + idx])
        for j in range(B):
            x0 = [(u[k, t, j] @ P["W_p"] + P["b_p"]) * mask("emb", t, j) for t in range(T)]
            qkv = [ln(x0[t], P["ln1_g"], P["ln1_b"]) @ P["W_qkv"] + P["b_qkv"] for t in range(T)]
            for t in range(T):
                y = np.zeros(c.d_model)
                for h in range(c.n_head):
                    cols = slice(h * hd, (h + 1) * hd)
                    q = qkv[t][:c.d_model][cols]
                    scores = np.array([q @ qkv[s][c.d_model:2 * c.d_model][cols] / np.sqrt(hd) for s in range(t + 1)])
                    w = np.exp(scores - scores.max())
                    w /= w.sum()
                    for s in range(t + 1):
                        y[cols] += w[s] * mask("attn", j, h, t, s) * qkv[s][2 * c.d_model:][cols]
                x1 = x0[t] + (y @ P["W_ao"] + P["b_ao"]) * mask("res1", t, j)
                m = gelu(ln(x1, P["ln2_g"], P["ln2_b"]) @ P["W_fc"] + P["b_fc"]) @ P["W_mp"] + P["b_mp"]
                x2 = x1 + m * mask("res2", t, j)
                z[k, t, j] = ln(x2, P["lnf_g"], P["lnf_b"]) @ P["W_out"] + P["b_out"]
    return z


@given(**SMALL, train=st.booleans())
def test_transformer_forward_matches_a_naive_loop_over_trials_positions_and_heads(seed, K, B, T, n_in, N, n_head,
                                                                                  hd, d_mlp, train):
    _, arch, params, u, noise = _model(seed, K, B, T, n_in, N, n_head, hd, d_mlp)
    noise = noise if train else None
    _, z, _ = arch.forward(params, u, noise)
    np.testing.assert_allclose(z, _naive(arch, params, u, noise), rtol=LOOP_RTOL, atol=LOOP_ATOL)


@given(**SMALL, kind=st.sampled_from(["bce_sigmoid", "mse_tanh5"]), train=st.booleans())
# a steep LayerNorm: plain central differences were 2.9e-8 off here (W_p), beyond GRAD_ATOL + GRAD_RTOL |g|
@example(seed=560, K=2, B=2, T=3, n_in=2, N=1, n_head=1, hd=3, d_mlp=1, kind="bce_sigmoid", train=False)
def test_transformer_backward_matches_central_differences(seed, K, B, T, n_in, N, n_head, hd, d_mlp, kind, train):
    rng, arch, params, u, noise = _model(seed, K, B, T, n_in, N, n_head, hd, d_mlp)
    noise = noise if train else None
    y = rng.uniform(0, 1, (K, T, B, N)) if kind == "bce_sigmoid" else rng.uniform(-5, 5, (K, T, B, N))
    w = np.ones((1, T, 1, N))
    _, z, cache = arch.forward(params, u, noise)
    # LayerNorm bends on the scale of its input's sd: keep it well above the finite-difference step
    # (a near-constant row, e.g. a width-2 stream with equal entries, makes differences meaningless)
    assume(all(np.max(cache[ln][1]) < 10 for ln in ("ln1", "ln2", "lnf")))      # rstd = 1 / sd < 10
    grads = arch.backward(params, cache, loss_and_grad(z, y, w, kind)[1])
    for name in PARAM_NAMES:
        def f(v, name=name):
            return loss_and_grad(arch.forward({**params, name: v}, u, noise)[1], y, w, kind)[0].sum()
        np.testing.assert_allclose(grads[name], _numeric_grad(f, params[name]), rtol=GRAD_RTOL, atol=GRAD_ATOL,
                                   err_msg=name)


@given(**SMALL, cut=st.integers(0, 3))
def test_outputs_at_step_s_do_not_depend_on_inputs_after_s(seed, K, B, T, n_in, N, n_head, hd, d_mlp, cut):
    rng, arch, params, u, noise = _model(seed, K, B, T, n_in, N, n_head, hd, d_mlp)
    s = min(cut, T - 1)
    later = u.copy()
    later[:, s + 1:] += 10 * rng.normal(size=later[:, s + 1:].shape)
    for mode in (noise, None):                              # training (dropout) and evaluation
        _, z, _ = arch.forward(params, u, mode)
        _, z_later, _ = arch.forward(params, later, mode)
        # masked weights are exactly 0, so the past is unchanged bit for bit
        np.testing.assert_array_equal(z[:, :s + 1], z_later[:, :s + 1])
        # and the later outputs do see the change (unless LayerNorm of a width-1 stream erases every
        # input, or dropout zeroed the changed embeddings)
        if s + 1 < T and mode is None and arch.config.d_model > 1:
            assert np.any(z[:, s + 1:] != z_later[:, s + 1:])


@given(**SMALL)
def test_dropout_zero_and_evaluation_mode_give_identical_outputs(seed, K, B, T, n_in, N, n_head, hd, d_mlp):
    rng, arch, params, u, noise = _model(seed, K, B, T, n_in, N, n_head, hd, d_mlp)
    off = Transformer(TransformerConfig(**{**arch.config.__dict__, "dropout": 0.0}))
    assert off.sample_noise(rng, T, B, np.float64) == {}
    _, z_eval, _ = arch.forward(params, u, None)
    _, z_off, _ = off.forward(params, u, sample_stacked_noise(off, [rng] * K, T, B, np.float64))
    np.testing.assert_array_equal(z_eval, z_off)
    ones = {site: np.ones_like(m) for site, m in noise.items()}   # an all-keep mask is the identity
    np.testing.assert_array_equal(arch.forward(params, u, ones)[1], z_eval)


def test_transformer_initialisation_follows_gpt2():
    config = TransformerConfig()
    p = init_params(0, 41, 24, config)
    C = config.d_model
    assert p["W_qkv"].shape == (C, 3 * C) and p["W_fc"].shape == (C, config.d_mlp) and p["W_p"].shape == (41, C)
    for name in ("W_p", "W_qkv", "W_fc"):       # N(0, 0.02): sample sd within 5% (>= 2624 draws: SE ~1.4%)
        np.testing.assert_allclose(p[name].std(), 0.02, rtol=0.05, err_msg=name)
    for name in ("W_ao", "W_mp"):               # the output projections, N(0, 0.02 / sqrt(2))
        np.testing.assert_allclose(p[name].std(), 0.02 / np.sqrt(2), rtol=0.05, err_msg=name)
    for name in ("b_p", "b_qkv", "b_ao", "b_fc", "b_mp", "ln1_b", "ln2_b", "lnf_b"):
        np.testing.assert_array_equal(p[name], 0, err_msg=name)
    for name in ("ln1_g", "ln2_g", "lnf_g"):
        np.testing.assert_array_equal(p[name], 1, err_msg=name)
    assert np.max(np.abs(p["W_out"])) <= 1 / np.sqrt(C) and np.max(np.abs(p["b_out"])) <= 1 / np.sqrt(C)


@pytest.mark.parametrize("kwargs, match", [
    (dict(d_model=64, n_head=5), "multiple of n_head=5"),
    (dict(dropout=1.0), "dropout=1.0"),
    (dict(dropout=-0.1), "dropout=-0.1"),
    (dict(d_mlp=0), "d_mlp=0"),
    (dict(ln_eps=0.0), "ln_eps=0.0"),
])
def test_bad_transformer_configuration_is_rejected_with_a_message_naming_it(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TransformerConfig(**kwargs)


@given(**SMALL)
def test_attention_values_are_the_value_projection_of_the_first_layernorm(seed, K, B, T, n_in, N, n_head, hd,
                                                                          d_mlp):
    _, arch, params, u, _ = _model(seed, K, B, T, n_in, N, n_head, hd, d_mlp)
    _, _, cache = arch.forward(params, u, None)
    C = arch.config.d_model
    a1 = layers.layernorm_forward(np.einsum("ktbi,kic->ktbc", u, params["W_p"]) + params["b_p"][:, None, None],
                                  params["ln1_g"][:, None, None], params["ln1_b"][:, None, None])[0]
    v = np.einsum("ktbc,kcd->ktbd", a1, params["W_qkv"][:, :, 2 * C:]) + params["b_qkv"][:, None, None, 2 * C:]
    np.testing.assert_allclose(arch.attention_values(cache), v, rtol=LOOP_RTOL, atol=LOOP_ATOL)
