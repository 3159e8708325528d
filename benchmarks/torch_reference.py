"""PyTorch references for the benchmarks: the same training step one network at a time, and agreement checks.

Runs in a throwaway environment that has torch (never a dependency of the toolkit):

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchenv/bin/python benchmarks/torch_reference.py rate --arch lstm --batches 200
    /tmp/torchenv/bin/python benchmarks/torch_reference.py agree --npz case.npz

``rate`` times the reference training step (frozen MLP encoder 2 -> 100 -> 100 -> 40, the network,
sigmoid read-out, BCE over all 22 steps, Adam) for one network at the reference size and prints
{"arch", "threads", "batches_per_second", "batches_per_cpu_second"} as JSON. ``agree`` loads numpy parameters,
inputs and the numpy forward outputs and gradients written by ``bench_archs.py``, copies the parameters into
the PyTorch modules (``nn.RNN``-style cell, ``nn.LSTM``, a GPT-2 block built from ``nn.Linear``,
``nn.LayerNorm``, ``scaled_dot_product_attention`` and tanh ``GELU``), runs them in float64 in
evaluation mode and prints the largest differences as JSON.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

N_TASK, HIDDEN, BATCH, N_STIM, SIGMA, N_IN = 24, 64, 16, 20, 0.2, 41


class GPTBlock(nn.Module):
    """The reference GPT-2 configuration: input projection, one pre-LN block, final LN (no positions)."""

    def __init__(self, n_in=N_IN, C=64, n_head=8, d_mlp=256, p=0.1):
        super().__init__()
        self.n_head, self.p = n_head, p
        self.proj = nn.Linear(n_in, C)
        self.ln1, self.ln2, self.lnf = nn.LayerNorm(C), nn.LayerNorm(C), nn.LayerNorm(C)
        self.qkv, self.ao = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.fc, self.mp = nn.Linear(C, d_mlp), nn.Linear(d_mlp, C)
        self.drop = nn.Dropout(p)

    def forward(self, u):                                   # u (B, T, n_in)
        B, T, _ = u.shape
        x = self.drop(self.proj(u))
        q, k, v = self.qkv(self.ln1(x)).split(x.shape[-1], dim=-1)
        heads = [t.view(B, T, self.n_head, -1).transpose(1, 2) for t in (q, k, v)]
        y = F.scaled_dot_product_attention(*heads, is_causal=True, dropout_p=self.p if self.training else 0.0)
        x = x + self.drop(self.ao(y.transpose(1, 2).reshape(B, T, -1)))
        x = x + self.drop(self.mp(F.gelu(self.fc(self.ln2(x)), approximate="tanh")))
        return self.lnf(x)


class LeakyRNN(nn.Module):
    """The reference RNN (alpha = 1, ReLU): r_t = relu(u_t W_in + b_in + r_{t-1} W_rec + b_rec)."""

    def __init__(self, n_in=N_IN, H=HIDDEN):
        super().__init__()
        self.rnn = nn.RNN(n_in, H, nonlinearity="relu", batch_first=True)

    def forward(self, u):
        return self.rnn(u)[0]


class LSTMNet(nn.Module):
    def __init__(self, n_in=N_IN, H=HIDDEN):
        super().__init__()
        self.lstm = nn.LSTM(n_in, H, batch_first=True)

    def forward(self, u):
        return self.lstm(u)[0]


NETS = {"rnn": LeakyRNN, "lstm": LSTMNet, "transformer": GPTBlock}


def rate(arch: str, batches: int, threads: int | None, dtype=torch.float32) -> tuple[float, float]:
    """Batches per wall second and per CPU second (all threads) of one network trained with PyTorch
    (``threads``: None = PyTorch's default)."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(2, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                            nn.Linear(100, 40)).to(dtype).requires_grad_(False)
    net, readout = NETS[arch]().to(dtype), nn.Linear(HIDDEN, N_TASK).to(dtype)
    net.train()
    opt = torch.optim.Adam(list(net.parameters()) + list(readout.parameters()), lr=1e-3)
    phi = (torch.arange(N_TASK, dtype=dtype) + 0.5) * math.pi / N_TASK
    normals = torch.stack([-torch.tan(phi), torch.ones_like(phi)], dim=1)
    loss_fn = nn.BCELoss()
    T = N_STIM + 2

    def step():
        x = torch.rand(BATCH, 2, dtype=dtype) - 0.5
        X = x[:, None, :] + SIGMA * torch.randn(BATCH, N_STIM, 2, dtype=dtype)
        u = torch.zeros(BATCH, T, N_IN, dtype=dtype)
        u[:, :-1, 0] = 1
        u[:, 1:-1, 1:] = encoder(X)
        y = torch.full((BATCH, T, N_TASK), 0.5, dtype=dtype)
        y[:, -1] = (x @ normals.T > 0).to(dtype)
        loss = loss_fn(torch.sigmoid(readout(net(u))), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        step()
    return batches / (time.perf_counter() - start), batches / (time.process_time() - cpu)


def _load_into(arch: str, net: nn.Module, readout: nn.Linear, p: dict) -> None:
    """Copy one numpy network's parameters (row-vector convention: y = x W + b) into the modules."""
    t = lambda a: torch.tensor(a.T.copy() if a.ndim == 2 else a)  # noqa: E731
    with torch.no_grad():
        readout.weight.copy_(t(p["W_out"]))
        readout.bias.copy_(t(p["b_out"]))
        if arch == "rnn":
            r = net.rnn
            r.weight_ih_l0.copy_(t(p["W_in"]))
            r.bias_ih_l0.copy_(t(p["b_in"]))
            r.weight_hh_l0.copy_(t(p["W_rec"]))
            r.bias_hh_l0.copy_(t(p["b_rec"]))
        elif arch == "lstm":
            r = net.lstm
            r.weight_ih_l0.copy_(t(p["W_ih"]))
            r.bias_ih_l0.copy_(t(p["b_ih"]))
            r.weight_hh_l0.copy_(t(p["W_hh"]))
            r.bias_hh_l0.copy_(t(p["b_hh"]))
        else:
            for mod, w, b in ((net.proj, "W_p", "b_p"), (net.qkv, "W_qkv", "b_qkv"), (net.ao, "W_ao", "b_ao"),
                              (net.fc, "W_fc", "b_fc"), (net.mp, "W_mp", "b_mp"), (net.ln1, "ln1_g", "ln1_b"),
                              (net.ln2, "ln2_g", "ln2_b"), (net.lnf, "lnf_g", "lnf_b")):
                mod.weight.copy_(t(p[w]))
                mod.bias.copy_(t(p[b]))


def _grad_of(arch: str, net: nn.Module, readout: nn.Linear, name: str):
    """The PyTorch gradient matching numpy parameter ``name``, in the numpy layout."""
    if name in ("W_out", "b_out"):
        g = readout.weight.grad if name == "W_out" else readout.bias.grad
    elif arch in ("rnn", "lstm"):
        r = net.rnn if arch == "rnn" else net.lstm
        key = {"W_in": "weight_ih_l0", "b_in": "bias_ih_l0", "W_rec": "weight_hh_l0", "b_rec": "bias_hh_l0",
               "W_ih": "weight_ih_l0", "b_ih": "bias_ih_l0", "W_hh": "weight_hh_l0", "b_hh": "bias_hh_l0"}[name]
        g = getattr(r, key).grad
    else:
        mods = {"p": net.proj, "qkv": net.qkv, "ao": net.ao, "fc": net.fc, "mp": net.mp,
                "ln1": net.ln1, "ln2": net.ln2, "lnf": net.lnf}
        if name.startswith("ln"):
            mod, which = mods[name[:3]], name[4:]
            g = mod.weight.grad if which == "g" else mod.bias.grad
        else:
            mod = mods[name[2:]]
            g = mod.weight.grad if name[0] == "W" else mod.bias.grad
    g = g.numpy()
    return g.T if g.ndim == 2 else g


def agree(npz: str) -> dict:
    """Max |numpy - PyTorch| of z and of every gradient, for the case stored in ``npz``."""
    f = np.load(npz)
    arch = str(f["arch"])
    torch.set_default_dtype(torch.float64)
    u, y, z_np = f["u"], f["y"], f["z"]                     # (B, T, n_in), (B, T, N), (B, T, N)
    names = [k[6:] for k in f.files if k.startswith("param_")]
    p = {n: f["param_" + n] for n in names}
    H = p["W_out"].shape[0]
    net = {"rnn": lambda: LeakyRNN(u.shape[-1], H), "lstm": lambda: LSTMNet(u.shape[-1], H),
           "transformer": lambda: GPTBlock(u.shape[-1], H, int(f["n_head"]), p["W_fc"].shape[1])}[arch]()
    readout = nn.Linear(H, y.shape[-1])
    _load_into(arch, net, readout, p)
    net.eval()
    z = readout(net(torch.tensor(u)))
    loss = F.binary_cross_entropy_with_logits(z, torch.tensor(y))   # mean over all entries, as nets.losses
    loss.backward()
    out = {"arch": arch, "max_abs_z": float(np.max(np.abs(z.detach().numpy() - z_np)))}
    out["max_abs_grad"] = {n: float(np.max(np.abs(_grad_of(arch, net, readout, n) - f["grad_" + n])))
                           for n in names}
    out["max_abs_grad_value"] = float(max(np.max(np.abs(f["grad_" + n])) for n in names))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("rate", help="batches per second of one PyTorch network")
    r.add_argument("--arch", choices=list(NETS), required=True, help="architecture")
    r.add_argument("--batches", type=int, default=200, help="timed batches (after 5 warm-up ones)")
    r.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: PyTorch's)")
    a = sub.add_parser("agree", help="numpy vs PyTorch forward and gradients")
    a.add_argument("--npz", required=True, help="case written by bench_archs.py")
    args = p.parse_args(argv)
    if args.command == "rate":
        wall, cpu = rate(args.arch, args.batches, args.threads)
        print(json.dumps({"arch": args.arch, "threads": args.threads or torch.get_num_threads(),
                          "batches_per_second": wall, "batches_per_cpu_second": cpu}))
    else:
        print(json.dumps(agree(args.npz)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
