"""Exported networks (nets.export): the file round-trips, and PyTorch's equations on the exported names
reproduce the toolkit's outputs."""
import json

import numpy as np
import pytest

from nets.config import ensemble_config
from nets.dataset import TaskSpec, build_task
from nets.ensemble import build_ensemble
from nets.export import export_arrays, load_export, save_export
from nets.train import train

# float64 networks: the PyTorch equations below run the same products in another order, so they agree
# with the toolkit's forward to a few ulps of the logits' scale (1e-12 relative, 1e-12 absolute near 0)
TOL = dict(rtol=1e-10, atol=1e-12)
SMALL = {"rnn": dict(hidden=7), "lstm": dict(hidden=6), "transformer": dict(d_model=8, n_head=2, d_mlp=12)}


def ensemble(arch, **kw):
    config = ensemble_config(ntask=[3, 5], arch=arch, n_stim=4, dtype="float64", **{**SMALL[arch], **kw})
    return build_ensemble(config)[0]


def inputs_and_logits(ens, k, arrays, meta, B=5):
    """A batch of network k's own task through the toolkit's forward: u (T, B, n_in), z (T, B, N)."""
    task = build_task(TaskSpec(**meta["task"]))
    u = task.batch(np.random.default_rng(1), B).inputs
    _, z, _ = ens.arch.forward(ens.params, u[None])
    return u, z[k][..., :meta["ntask"]]


def linear(x, arrays, name):
    """nn.Linear: x W^T + b."""
    return x @ arrays[f"{name}.weight"].T + arrays[f"{name}.bias"]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def torch_rnn(arrays, meta, u):
    """nn.RNN's equations: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), h_0 = 0."""
    act = np.tanh if meta["torch"]["rnn"][1]["nonlinearity"] == "tanh" else (lambda a: np.maximum(a, 0))
    h, out = np.zeros((u.shape[1], arrays["rnn.weight_hh_l0"].shape[0])), []
    for x in u:
        h = act(x @ arrays["rnn.weight_ih_l0"].T + arrays["rnn.bias_ih_l0"]
                + h @ arrays["rnn.weight_hh_l0"].T + arrays["rnn.bias_hh_l0"])
        out.append(linear(h, arrays, "readout"))
    return np.array(out)


def torch_lstm(arrays, meta, u):
    """nn.LSTM's equations, weight rows in the blocks (W_i | W_f | W_g | W_o)."""
    H = arrays["lstm.weight_hh_l0"].shape[1]
    h = c = np.zeros((u.shape[1], H))
    out = []
    for x in u:
        G = (x @ arrays["lstm.weight_ih_l0"].T + arrays["lstm.bias_ih_l0"]
             + h @ arrays["lstm.weight_hh_l0"].T + arrays["lstm.bias_hh_l0"])
        i, f, g, o = sigmoid(G[:, :H]), sigmoid(G[:, H:2 * H]), np.tanh(G[:, 2 * H:3 * H]), sigmoid(G[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(linear(h, arrays, "readout"))
    return np.array(out)


def layer_norm(x, arrays, name, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * arrays[f"{name}.weight"] + arrays[f"{name}.bias"]


def torch_transformer(arrays, meta, u):
    """Input nn.Linear, nn.TransformerEncoderLayer(norm_first=True, GELU tanh, causal mask), nn.LayerNorm, read-out."""
    kw = meta["torch"]["transformer.layer"][1]
    eps, nh = kw["layer_norm_eps"], kw["nhead"]
    p = "transformer.layer."
    x = linear(u.swapaxes(0, 1), arrays, "transformer.input_proj")                    # (B, T, C)
    B, T, C = x.shape
    a = layer_norm(x, arrays, p + "norm1", eps)
    qkv = a @ arrays[p + "self_attn.in_proj_weight"].T + arrays[p + "self_attn.in_proj_bias"]
    q, k, v = (qkv[..., j * C:(j + 1) * C].reshape(B, T, nh, C // nh).transpose(0, 2, 1, 3) for j in range(3))
    S = q @ k.transpose(0, 1, 3, 2) / np.sqrt(C // nh) + np.triu(np.full((T, T), -np.inf), 1)
    P = np.exp(S - S.max(-1, keepdims=True))
    y = ((P / P.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
    x = x + linear(y, arrays, p + "self_attn.out_proj")
    m = linear(layer_norm(x, arrays, p + "norm2", eps), arrays, p + "linear1")
    m = 0.5 * m * (1 + np.tanh(np.sqrt(2 / np.pi) * (m + 0.044715 * m ** 3)))
    x = x + linear(m, arrays, p + "linear2")
    hf = layer_norm(x, arrays, "transformer.norm_f", eps)
    return linear(hf, arrays, "readout").swapaxes(0, 1)


TORCH_EQUATIONS = {"rnn": torch_rnn, "lstm": torch_lstm, "transformer": torch_transformer}


@pytest.mark.parametrize("arch, kw", [("rnn", {}), ("rnn", dict(activation="tanh")), ("lstm", {}),
                                      ("transformer", {})])
@pytest.mark.parametrize("k", [0, 1])
def test_pytorch_equations_on_the_exported_names_reproduce_the_toolkits_outputs(arch, kw, k):
    ens = ensemble(arch, **kw)
    arrays, meta = export_arrays(ens, k)
    u, z = inputs_and_logits(ens, k, arrays, meta)
    np.testing.assert_allclose(TORCH_EQUATIONS[arch](arrays, meta, u), z, **TOL)


def test_the_check_fails_for_a_wrong_gate_order():
    """Swapping the LSTM's f and g blocks (another framework's order) changes the outputs: the test above can fail."""
    ens = ensemble("lstm")
    arrays, meta = export_arrays(ens, 0)
    u, z = inputs_and_logits(ens, 0, arrays, meta)
    H = meta["net"]["hidden"]
    swapped = dict(arrays)
    for name in ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0"):
        w = arrays[name]
        swapped[name] = np.concatenate([w[:H], w[2 * H:3 * H], w[H:2 * H], w[3 * H:]])
    assert not np.allclose(torch_lstm(swapped, meta, u), z, **TOL)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "transformer"])
def test_export_round_trips_through_the_file(arch, tmp_path):
    ens = ensemble(arch)
    arrays, meta = export_arrays(ens, 1)
    path = save_export(ens, tmp_path / "net.npz", k=1)
    loaded, loaded_meta = load_export(path)
    assert loaded_meta == json.loads(json.dumps(meta))
    assert set(loaded) == set(arrays)
    for name, a in arrays.items():
        np.testing.assert_array_equal(loaded[name], a)
        assert loaded[name].dtype == a.dtype


def test_export_holds_the_world_and_the_encoder_of_its_task(tmp_path):
    ens = ensemble("rnn")
    arrays, meta = load_export(save_export(ens, tmp_path / "net.npz", k=0))
    assert arrays["readout.weight"].shape == (3, 7)                  # network 0's 3 tasks, padding dropped
    np.testing.assert_array_equal(arrays["readout.weight"], ens.params["W_out"][0][:, :3].T)
    np.testing.assert_array_equal(arrays["C"], ens.designs[0].C)
    assert float(arrays["sigma"]) == ens.config.sigma[0] and int(arrays["t"]) == ens.config.n_stim
    task = build_task(TaskSpec(**meta["task"]))
    for name, a in task.encoder_arrays().items():
        np.testing.assert_array_equal(arrays[name], a)
    np.testing.assert_array_equal(task.design.b, arrays["b"])


def test_a_trained_network_exports_from_its_checkpoint_file(tmp_path):
    config = ensemble_config(ntask=[3], hidden=5, n_stim=3, batch_size=4, batches=3, dtype="float64")
    result = train(config, out_dir=tmp_path, progress=False)
    arrays, meta = export_arrays(result.checkpoint)
    np.testing.assert_array_equal(arrays["rnn.weight_hh_l0"], result.ensemble.params["W_rec"][0].T)
    assert not np.array_equal(arrays["rnn.weight_hh_l0"], ensemble_weights_at_init(config))   # trained: moved
    u, z = inputs_and_logits(result.ensemble, 0, arrays, meta)
    np.testing.assert_allclose(torch_rnn(arrays, meta, u), z, **TOL)


def ensemble_weights_at_init(config):
    return build_ensemble(config)[0].params["W_rec"][0].T


@pytest.mark.parametrize("kw", [dict(alpha=0.5), dict(leaky=False)])
def test_rnns_without_an_nn_rnn_equivalent_are_refused(kw):
    with pytest.raises(ValueError, match="no nn.RNN equivalent"):
        export_arrays(ensemble("rnn", **kw), 0)


def test_recurrent_noise_is_training_only_and_exports():
    arrays, meta = export_arrays(ensemble("rnn", rec_noise=0.1), 0)
    assert meta["net"]["rec_noise"] == 0.1 and "rnn.weight_hh_l0" in arrays


@pytest.mark.parametrize("content, message", [(dict(x=np.zeros(2)), "no 'meta'"),
                                              (dict(meta=np.array(json.dumps({"format": "other"}))), "format")])
def test_files_that_are_not_exports_are_refused(content, message, tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, **content)
    with pytest.raises(ValueError, match=message):
        load_export(path)
    with pytest.raises(ValueError, match="does not exist"):
        load_export(tmp_path / "missing.npz")


def test_a_network_index_out_of_range_is_refused():
    with pytest.raises(ValueError, match="k=2"):
        export_arrays(ensemble("rnn"), 2)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["rnn", "lstm", "transformer"])
def test_the_export_loads_into_pytorch_modules_and_gives_the_same_outputs(arch):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    ens = ensemble(arch)
    arrays, meta = export_arrays(ens, 1)
    u, z = inputs_and_logits(ens, 1, arrays, meta)
    state = {k: torch.from_numpy(v) for k, v in arrays.items()}

    def sub(prefix):
        return {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")}

    readout = nn.Linear(meta["hidden"], meta["ntask"]).double()
    readout.load_state_dict(sub("readout"))
    x = torch.from_numpy(u)                                           # (T, B, n_in): batch_first=False
    with torch.no_grad():
        if arch == "rnn":
            core = nn.RNN(**meta["torch"]["rnn"][1]).double()
            core.load_state_dict(sub("rnn"))
            h = core(x)[0]
        elif arch == "lstm":
            core = nn.LSTM(**meta["torch"]["lstm"][1]).double()
            core.load_state_dict(sub("lstm"))
            h = core(x)[0]
        else:
            kw = dict(meta["torch"]["transformer.layer"][1])
            kw.pop("attn_mask")
            kw["activation"] = nn.GELU(approximate="tanh")
            proj = nn.Linear(meta["n_in"], kw["d_model"]).double()
            proj.load_state_dict(sub("transformer.input_proj"))
            layer = nn.TransformerEncoderLayer(**kw).double().eval()
            layer.load_state_dict(sub("transformer.layer"))
            norm = nn.LayerNorm(kw["d_model"], eps=kw["layer_norm_eps"]).double()
            norm.load_state_dict(sub("transformer.norm_f"))
            T = x.shape[0]
            mask = torch.triu(torch.full((T, T), float("-inf"), dtype=torch.float64), diagonal=1)
            h = norm(layer(proj(x), src_mask=mask))
        out = readout(h).numpy()
    np.testing.assert_allclose(out, z, **TOL)
