"""Training throughput of every architecture against PyTorch, and numpy-vs-PyTorch agreement.

For each of rnn, lstm and transformer at the reference size (N = 24 tasks, width 64, batch 16,
22 steps, MLP encoder, default flags, float32), measures nets.train's network-batches per second
for K = 25 networks on --workers processes (wall time), and on one process per CPU second, and
the same training step in PyTorch one network at a time (benchmarks/torch_reference.py, run with
--torch-python, a throwaway environment with torch: never a dependency of the toolkit), with
PyTorch on 1 thread and on its default threads (the faster one is the wall-time baseline). On a
shared machine wall-time ratios swing with the load (the 2 numpy workers need both cores, PyTorch
on 1 thread one), so the headline ratio is per CPU second, one core each: numpy's single process
against PyTorch on 1 thread. It also reports the FLOP/s the numpy trainer achieves (matrix
products only, counted from the shapes) and checks, in float64 and evaluation mode, that the
numpy forward and gradients equal PyTorch's for the same weights (gate layout, attention scaling,
LayerNorm, GELU).

Each measurement is taken --repeats times, numpy and PyTorch interleaved so that a change in the
machine's load hits both, and the best of the repeats is the rate (every repeat is kept in the
JSON). The environment records numpy's BLAS and the kernel family OpenBLAS runs: OpenBLAS picks
it from the CPU unless OPENBLAS_CORETYPE forces one (e.g. Haswell's AVX2 kernels on an AVX-512
CPU, ~1.8x slower products), while PyTorch dispatches its own kernels from the CPU whatever that
variable says. Run by hand, not in CI:

    python benchmarks/bench_archs.py --torch-python /tmp/torchenv/bin/python [--batches 200] [--json]
    env -u OPENBLAS_CORETYPE python benchmarks/bench_archs.py ...   # OpenBLAS's own kernel choice
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from infra.blas import blas_kernels  # noqa: E402
from nets.config import ensemble_config  # noqa: E402
from nets.ensemble import build_ensemble, network_task  # noqa: E402
from nets.losses import loss_and_grad  # noqa: E402
from nets.train import draw_batch, loss_weights, train  # noqa: E402
from nets.pool import trained_networks  # noqa: E402
from nets.architecture import ARCHS  # noqa: E402
from infra.cli import cpu_count  # noqa: E402
from theory.encoders import stack_encoders  # noqa: E402

HERE = Path(__file__).resolve().parent
N, W, B, T, N_IN, N_STIM = 24, 64, 16, 22, 41, 20


def flops_per_network_batch(arch: str) -> float:
    """Matrix-product FLOPs (2 m k n each) of one training step of one network, encoder included.

    Backward = 2 x forward for every product, less the input gradient of the first layer.
    """
    rows = B * T
    enc = 2 * B * N_STIM * (2 * 100 + 100 * 100 + 100 * 40)            # frozen encoder, forward only
    first = 2 * rows * N_IN * {"rnn": W, "lstm": 4 * W, "transformer": W}[arch]
    rest = {"rnn": 2 * rows * (W * W + W * N),
            "lstm": 2 * rows * (W * 4 * W + W * N),
            "transformer": 2 * rows * (W * 3 * W + W * W + W * 4 * W + 4 * W * W + W * N)
            + 2 * 2 * B * 8 * T * T * (W // 8)}[arch]                   # q k^T and P v
    return enc + 3 * (first + rest) - first


def numpy_rate(arch: str, K: int, batches: int, workers: int) -> float:
    """Network-batches per wall second of K networks on ``workers`` processes (nets.pool, a fresh cache)."""
    with tempfile.TemporaryDirectory() as cache:
        trained_networks(ensemble_config(ntask=[N], networks=K, arch=arch, batches=3), cache, False, workers)
        config = ensemble_config(ntask=[N], networks=K, arch=arch, batches=batches)
        return trained_networks(config, cache, False, workers)[1]["network_batches_per_second"]


def numpy_cpu_rate(arch: str, K: int, batches: int) -> float:
    """Network-batches per CPU second of one process training K networks (single-threaded BLAS)."""
    config = ensemble_config(ntask=[N], networks=K, arch=arch, batches=batches)
    train(ensemble_config(ntask=[N], networks=K, arch=arch, batches=3), progress=False)
    start = time.process_time()
    train(config, progress=False)
    return K * batches / (time.process_time() - start)


def torch_rate(python: str, arch: str, batches: int, threads: int | None) -> dict:
    cmd = [python, str(HERE / "torch_reference.py"), "rate", "--arch", arch, "--batches", str(batches)]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(out.stdout)


def agreement(python: str, arch: str) -> dict:
    """Forward and gradients of one float64 network, numpy vs PyTorch, evaluation mode."""
    config = ensemble_config(ntask=[N], arch=arch, dtype="float64", batch_size=4, seed=3)
    ens, rngs = build_ensemble(config)
    design, encoder = network_task(config, 0)
    u, y, _ = draw_batch(config, range(1), [design], rngs, stack_encoders([encoder], np.float64))
    _, z, cache = ens.arch.forward(ens.params, u, None)
    _, dz = loss_and_grad(z, y, loss_weights(config))
    grads = ens.arch.backward(ens.params, cache, dz)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.npz"
        np.savez(path, arch=arch, n_head=getattr(config.net, "n_head", 0), u=u[0].swapaxes(0, 1),
                 y=y[0].swapaxes(0, 1), z=z[0].swapaxes(0, 1),
                 **{f"param_{k}": v[0] for k, v in ens.params.items()}, **{f"grad_{k}": v[0] for k, v in grads.items()})
        out = subprocess.run([python, str(HERE / "torch_reference.py"), "agree", "--npz", str(path)],
                             capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout)


def measure(arch: str, args) -> dict:
    """The numpy and PyTorch rates of one architecture, best of ``args.repeats`` interleaved runs."""
    numpy_runs, cpu_runs, torch_runs = [], [], {"1": [], "default": []}
    for _ in range(args.repeats):
        numpy_runs.append(numpy_rate(arch, args.networks, args.batches, args.workers))
        cpu_runs.append(numpy_cpu_rate(arch, args.networks, args.batches))
        if args.torch_python:
            for t in (1, None):
                torch_runs[str(t or "default")].append(torch_rate(args.torch_python, arch, args.batches, t))
    nbs, cpu = max(numpy_runs), max(cpu_runs)
    row = {"arch": arch, "K": args.networks, "workers": args.workers, "repeats": args.repeats,
           "numpy_network_batches_per_second": nbs, "numpy_network_batches_per_cpu_second": cpu,
           "numpy_runs_per_second": numpy_runs, "numpy_runs_per_cpu_second": cpu_runs,
           "gflop_per_second": nbs * flops_per_network_batch(arch) / 1e9,
           "mflop_per_network_batch": flops_per_network_batch(arch) / 1e6,
           "minutes_for_25_networks_x_2e4_batches": 25 * 2e4 / nbs / 60}
    if args.torch_python:
        best = {t: max(runs, key=lambda r: r["batches_per_second"]) for t, runs in torch_runs.items()}
        wall = max(r["batches_per_second"] for r in best.values())
        torch_cpu = max(r["batches_per_cpu_second"] for r in torch_runs["1"])
        row.update(torch_runs_by_threads=torch_runs, torch_one_by_one_network_batches_per_second=wall,
                   torch_one_thread_batches_per_cpu_second=torch_cpu, ratio_vs_torch=nbs / wall,
                   ratio_vs_torch_per_cpu_second=cpu / torch_cpu,
                   agreement_with_torch=agreement(args.torch_python, arch))
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--torch-python", default=None, help="python of an environment with torch (none: numpy only)")
    p.add_argument("--batches", type=int, default=200, help="timed batches per measurement (default 200)")
    p.add_argument("--networks", type=int, default=25, help="K networks trained together (default 25)")
    p.add_argument("--workers", type=int, default=2, help="nets.train worker processes (default 2)")
    p.add_argument("--archs", nargs="+", choices=ARCHS, default=list(ARCHS), help="architectures to measure")
    p.add_argument("--repeats", type=int, default=3, help="interleaved repeats per measurement; the best counts "
                   "(default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    for name in ("batches", "networks", "workers", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    start_load = os.getloadavg()[0]
    rows = [measure(arch, args) for arch in args.archs]
    env = {"cpus": cpu_count(), "load_average_1min_start": start_load, "load_average_1min_end": os.getloadavg()[0],
           "time": time.strftime("%Y-%m-%d %H:%M"), "blas": blas_kernels()}
    if args.json:
        print(json.dumps({"environment": env, "results": rows}))
        return 0
    print("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    print(f"{'arch':>11} {'numpy nb/s':>11} {'GFLOP/s':>8} {'torch nb/s':>11} {'ratio':>6} {'25x2e4 (min)':>13} "
          f"{'numpy/cpu-s':>11} {'torch/cpu-s':>11} {'cpu ratio':>9} {'max|dz|':>9} {'max|dgrad|':>10}")
    for r in rows:
        t = r.get("torch_one_by_one_network_batches_per_second")
        agree = r.get("agreement_with_torch")
        torch_col = "-" if t is None else f"{t:.1f}"
        ratio_col = "-" if t is None else f"{r['ratio_vs_torch']:.1f}"
        tc = r.get("torch_one_thread_batches_per_cpu_second")
        tc_col = "-" if tc is None else f"{tc:.1f}"
        cr_col = "-" if tc is None else f"{r['ratio_vs_torch_per_cpu_second']:.1f}"
        dz_col = "-" if agree is None else f"{agree['max_abs_z']:.1e}"
        dg_col = "-" if agree is None else f"{max(agree['max_abs_grad'].values()):.1e}"
        print(f"{r['arch']:>11} {r['numpy_network_batches_per_second']:>11.1f} {r['gflop_per_second']:>8.1f} "
              f"{torch_col:>11} {ratio_col:>6} {r['minutes_for_25_networks_x_2e4_batches']:>13.1f} "
              f"{r['numpy_network_batches_per_cpu_second']:>11.1f} {tc_col:>11} {cr_col:>9} {dz_col:>9} {dg_col:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
