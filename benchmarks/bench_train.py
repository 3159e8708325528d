"""Training throughput of the numpy ensemble trainer, in network-batches per second.

Measures nets.train at the reference size (N = 24 tasks, 64 hidden units, batch 16, 22 steps,
MLP encoder 2 -> 100 -> 100 -> 40) for K = 1, 5, 25 networks trained together, in float32 and
float64. When PyTorch happens to be importable, it also times the same training step written
in PyTorch (frozen MLP encoder, ReLU RNN, sigmoid read-out, BCE over all steps, Adam), one
network at a time as a PyTorch user would, on the same machine in the same run, and prints the
ratio. PyTorch is never a dependency of the toolkit.

Run by hand, not in CI:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_train.py [--batches 200]
(the numpy trainer is fastest with a single-threaded BLAS; see benchmarks/README.md).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nets.config import ensemble_config  # noqa: E402
from nets.pool import trained_networks  # noqa: E402
from infra.cli import cpu_count  # noqa: E402

N_TASK, HIDDEN, BATCH, N_STIM, SIGMA = 24, 64, 16, 20, 0.2


def numpy_rate(K: int, dtype: str, batches: int, workers: int) -> float:
    """Network-batches per wall second of K networks on ``workers`` processes (nets.pool, the path of
    ``python -m nets.train``, on a fresh cache; after a short warm-up run)."""
    kw = dict(ntask=[N_TASK], networks=K, hidden=HIDDEN, batch_size=BATCH, dtype=dtype)
    with tempfile.TemporaryDirectory() as cache:
        trained_networks(ensemble_config(**kw, batches=3), cache, False, workers)
        return trained_networks(ensemble_config(**kw, batches=batches), cache, False, workers)[1][
            "network_batches_per_second"]


def torch_rate(dtype: str, batches: int, threads: int | None = None) -> float | None:
    """Batches per second of one network trained with PyTorch (None if PyTorch is not installed).

    ``threads`` sets ``torch.set_num_threads`` (None: PyTorch's default, one per core).
    """
    try:
        import torch
    except ImportError:
        return None
    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads)
    tdtype = getattr(torch, dtype)
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Linear(2, 100), torch.nn.ReLU(), torch.nn.Linear(100, 100),
                                  torch.nn.ReLU(), torch.nn.Linear(100, 40)).to(tdtype).requires_grad_(False)
    rnn = torch.nn.RNN(41, HIDDEN, nonlinearity="relu", batch_first=True).to(tdtype)
    readout = torch.nn.Linear(HIDDEN, N_TASK).to(tdtype)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(readout.parameters()), lr=1e-3)
    phi = (torch.arange(N_TASK, dtype=tdtype) + 0.5) * math.pi / N_TASK
    normals = torch.stack([-torch.tan(phi), torch.ones_like(phi)], dim=1)
    loss_fn = torch.nn.BCELoss()
    T = N_STIM + 2

    def step():
        x = torch.rand(BATCH, 2, dtype=tdtype) - 0.5
        X = x[:, None, :] + SIGMA * torch.randn(BATCH, N_STIM, 2, dtype=tdtype)
        u = torch.zeros(BATCH, T, 41, dtype=tdtype)
        u[:, :-1, 0] = 1
        u[:, 1:-1, 1:] = encoder(X)
        y = torch.full((BATCH, T, N_TASK), 0.5, dtype=tdtype)
        y[:, -1] = (x @ normals.T > 0).to(tdtype)
        h, _ = rnn(u)
        loss = loss_fn(torch.sigmoid(readout(h)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(batches):
        step()
    rate = batches / (time.perf_counter() - start)
    torch.set_num_threads(default_threads)
    return rate


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", type=int, default=200, help="batches per measurement (default 200)")
    p.add_argument("--networks", type=int, nargs="+", default=[1, 5, 25])
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    p.add_argument("--workers", type=int, default=1, help="worker processes (nets.pool)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = []
    torch_runs = {}
    for dtype in args.dtypes:
        # PyTorch's intra-op threads can collapse on a shared machine; time 1 thread and the
        # default, and compare against the faster (the fairer baseline)
        runs = {n: torch_rate(dtype, args.batches, n) for n in (1, None)}
        torch_runs[dtype] = {("default" if n is None else str(n)): r for n, r in runs.items()}
        torch_nbs = None if runs[1] is None else max(runs.values())
        for K in args.networks:
            nbs = numpy_rate(K, dtype, args.batches, args.workers)
            rows.append({"K": K, "dtype": dtype, "numpy_network_batches_per_second": nbs,
                         "torch_one_by_one_network_batches_per_second": torch_nbs,
                         "ratio_vs_torch": None if torch_nbs is None else nbs / torch_nbs,
                         "minutes_for_25_networks_x_1e5_batches": 25e5 / nbs / 60})
    env = {"OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"), "cpus": cpu_count(),
           "load_average_1min": os.getloadavg()[0], "workers": args.workers,
           "torch_batches_per_second_by_threads": torch_runs}
    if args.json:
        print(json.dumps({"environment": env, "results": rows}))
        return 0
    print("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    print(f"{'K':>3} {'dtype':>8} {'numpy nb/s':>11} {'torch nb/s':>11} {'ratio':>6} {'25x1e5 (min)':>13}")
    for r in rows:
        t = r["torch_one_by_one_network_batches_per_second"]
        torch_col = "-" if t is None else f"{t:.1f}"
        ratio_col = "-" if t is None else f"{r['ratio_vs_torch']:.1f}"
        print(f"{r['K']:>3} {r['dtype']:>8} {r['numpy_network_batches_per_second']:>11.1f} {torch_col:>11} "
              f"{ratio_col:>6} {r['minutes_for_25_networks_x_1e5_batches']:>13.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
