"""Export one trained numpy network to a documented ``.npz`` whose names are PyTorch ``state_dict`` names.

The file (see docs/task-api.md for every key's shape and dtype) holds:

- the network, under the state_dict names of a module with a submodule ``rnn`` (``nn.RNN``), ``lstm``
  (``nn.LSTM``) or ``transformer`` (an input ``nn.Linear``, one ``nn.TransformerEncoderLayer`` and a
  final ``nn.LayerNorm``), and the read-out ``readout`` (``nn.Linear(H, N)``); PyTorch stores a weight
  as (out, in), the toolkit as (in, out), so every weight is the toolkit's transposed;
- the frozen input encoder, ``encoder.<j>.weight`` / ``encoder.<j>.bias`` (``nn.Sequential`` indices
  0, 2, 4 of Linear, activation, Linear, activation, Linear; absent for the identity encoder);
- the world: ``sigma`` (the per-step noise sd), ``noise_sigma`` (D,) (per coordinate: the sd, the Gumbel
  scale for Gumbel noise), ``t`` (stimulus steps, the evidence behind the decision), ``C`` (N, D), ``b`` (N,);
- ``meta``: a JSON string with the format, the architecture and its settings, the PyTorch module
  arguments, the read-out nonlinearity, and ``task``: the :class:`nets.dataset.TaskSpec` fields of the
  network's task (``TaskSpec(**meta["task"])`` rebuilds its trials).

What maps: the RNN with ``alpha = 1`` and the leaky update (r_t = phi(a_t)), activation ``relu`` or
``tanh`` = ``nn.RNN(nonlinearity=...)``; its recurrent noise is training-only (the exported network is
the evaluation-mode one, as every check runs it), recorded in ``meta``. A leak alpha < 1 or the
non-leaky update (r_t = r_{t-1} + alpha phi(a_t)) has no ``nn.RNN`` equivalent and is refused. The LSTM
already uses PyTorch's gate order (i, f, g, o) and maps one to one. The transformer maps onto
``nn.TransformerEncoderLayer(norm_first=True, activation=GELU(approximate="tanh"))`` with a causal
mask; nothing of its parameters is left without a counterpart (it has no positional embedding), but
HuggingFace's GPT-2 stores the four projection weights untransposed (``Conv1D``, (in, out)).
"""
from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from nets.dataset import TaskSpec
from nets.ensemble import Ensemble, load_ensemble

FORMAT = "multitask-disentangle network export"
FORMAT_VERSION = 1

#: Toolkit parameter -> (PyTorch name, transposed?) per architecture (the read-out is added for all).
NAMES = {
    "rnn": {"W_in": ("rnn.weight_ih_l0", True), "W_rec": ("rnn.weight_hh_l0", True),
            "b_in": ("rnn.bias_ih_l0", False), "b_rec": ("rnn.bias_hh_l0", False)},
    "lstm": {"W_ih": ("lstm.weight_ih_l0", True), "W_hh": ("lstm.weight_hh_l0", True),
             "b_ih": ("lstm.bias_ih_l0", False), "b_hh": ("lstm.bias_hh_l0", False)},
    "transformer": {
        "W_p": ("transformer.input_proj.weight", True), "b_p": ("transformer.input_proj.bias", False),
        "ln1_g": ("transformer.layer.norm1.weight", False), "ln1_b": ("transformer.layer.norm1.bias", False),
        "W_qkv": ("transformer.layer.self_attn.in_proj_weight", True),
        "b_qkv": ("transformer.layer.self_attn.in_proj_bias", False),
        "W_ao": ("transformer.layer.self_attn.out_proj.weight", True),
        "b_ao": ("transformer.layer.self_attn.out_proj.bias", False),
        "ln2_g": ("transformer.layer.norm2.weight", False), "ln2_b": ("transformer.layer.norm2.bias", False),
        "W_fc": ("transformer.layer.linear1.weight", True), "b_fc": ("transformer.layer.linear1.bias", False),
        "W_mp": ("transformer.layer.linear2.weight", True), "b_mp": ("transformer.layer.linear2.bias", False),
        "lnf_g": ("transformer.norm_f.weight", False), "lnf_b": ("transformer.norm_f.bias", False)},
}
READOUT = {"W_out": ("readout.weight", True), "b_out": ("readout.bias", False)}
#: The output nonlinearity after the read-out, by the configuration's loss.
OUTPUT = {"bce_sigmoid": "sigmoid", "mse_tanh5": "bound * tanh"}


def _check_mappable(ens: Ensemble) -> None:
    c = ens.config
    if c.arch == "rnn" and (c.net.alpha != 1 or not c.net.leaky):
        raise ValueError(f"arch='rnn' with alpha={c.net.alpha!r}, leaky={c.net.leaky!r} has no nn.RNN equivalent: "
                         "only alpha=1 with the leaky update (r_t = phi(a_t)) maps onto nn.RNN")


def _torch_module(ens: Ensemble, n_in: int) -> dict:
    """The PyTorch constructors (as names and keyword arguments) the exported names belong to."""
    c, H = ens.config, None
    if c.arch == "rnn":
        H = c.net.hidden
        core = {"rnn": ["nn.RNN", {"input_size": n_in, "hidden_size": H, "nonlinearity": c.net.activation}]}
    elif c.arch == "lstm":
        H = c.net.hidden
        core = {"lstm": ["nn.LSTM", {"input_size": n_in, "hidden_size": H}]}
    else:
        H = c.net.d_model
        core = {"transformer.input_proj": ["nn.Linear", {"in_features": n_in, "out_features": H}],
                "transformer.layer": ["nn.TransformerEncoderLayer", {
                    "d_model": H, "nhead": c.net.n_head, "dim_feedforward": c.net.d_mlp, "dropout": c.net.dropout,
                    "activation": "gelu (approximate='tanh')", "layer_norm_eps": c.net.ln_eps, "norm_first": True,
                    "attn_mask": "causal (step t attends to steps s <= t)"}],
                "transformer.norm_f": ["nn.LayerNorm", {"normalized_shape": H, "eps": c.net.ln_eps}]}
    return {**core, "readout": ["nn.Linear", {"in_features": H, "out_features": None}]}


def export_arrays(ens: Ensemble | str | Path, k: int = 0) -> tuple[dict, dict]:
    """Network ``k`` of an ensemble (or of the checkpoint file at that path) as (arrays, meta).

    Returns
    -------
    arrays : dict name -> ndarray (the module docstring; the network's dtype, world arrays float64)
    meta : dict, JSON-serialisable
    """
    if isinstance(ens, (str, Path)):
        ens = load_ensemble(ens)
    if not isinstance(ens, Ensemble):
        raise ValueError(f"ens must be an Ensemble or a checkpoint path; got {type(ens).__name__}")
    if not (isinstance(k, int) and 0 <= k < ens.K):
        raise ValueError(f"k={k!r} must be an int in [0, K={ens.K})")
    _check_mappable(ens)
    c = ens.config
    N = c.ntask[k]
    arrays = {}
    for name, (torch_name, transpose) in {**NAMES[c.arch], **READOUT}.items():
        p = ens.params[name][k]
        if name in READOUT:
            p = p[..., :N]                               # drop the zero padding of a smaller network
        arrays[torch_name] = np.ascontiguousarray(p.T if transpose else p)
    for j, (W, b) in enumerate(zip(ens.encoders[k].weights, ens.encoders[k].biases)):
        arrays[f"encoder.{2 * j}.weight"] = np.ascontiguousarray(W.T)
        arrays[f"encoder.{2 * j}.bias"] = np.array(b)
    spec = TaskSpec.from_train_config(c, k)
    design = ens.designs[k]
    arrays.update(sigma=np.array(c.sigma[k]), noise_sigma=np.array(spec.noise_model().sigma, dtype=float),
                  t=np.array(c.n_stim), C=np.array(design.C, dtype=float), b=np.array(design.b, dtype=float))
    n_in = ens.n_in
    module = _torch_module(ens, n_in)
    module["readout"][1]["out_features"] = N
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "arch": c.arch, "net": asdict(c.net),
            "torch": module, "output": OUTPUT[c.loss], "bound": c.bound, "n_in": n_in, "ntask": N,
            "hidden": int(arrays["readout.weight"].shape[1]), "dtype": c.dtype, "encoder": c.encoder,
            "input_layout": "(T, B, n_in), time-major as nn.RNN(batch_first=False)",
            "task": {f.name: getattr(spec, f.name) for f in fields(spec) if f.init}}
    return arrays, meta


def save_export(ens: Ensemble | str | Path, path, k: int = 0) -> Path:
    """Write :func:`export_arrays` of network ``k`` to ``path`` (an uncompressed ``.npz``); return the path."""
    arrays, meta = export_arrays(ens, k)
    path = Path(path)
    with open(path, "wb") as fh:                         # a file object: numpy adds no ".npz" suffix
        np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
    return path


def load_export(path) -> tuple[dict, dict]:
    """Read an export: (arrays, meta), ``arrays`` every key but ``meta``, ``meta`` the parsed JSON."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path={str(path)!r} does not exist")
    with np.load(path, allow_pickle=False) as f:
        if "meta" not in f.files:
            raise ValueError(f"path={str(path)!r} has no 'meta' key: not a network export")
        meta = json.loads(str(f["meta"]))
        arrays = {name: f[name] for name in f.files if name != "meta"}
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"path={str(path)!r} has format {meta.get('format')!r} version {meta.get('version')!r}; "
                         f"expected {FORMAT!r} version {FORMAT_VERSION}")
    return arrays, meta
