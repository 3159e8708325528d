"""Where a training step spends its time: CPU time per layer function, per network-batch.

Wraps the functions a training step calls -- for the transformer each layer of
:mod:`nets.transformer` (linear layers, LayerNorm, attention, GELU, dropout), for the LSTM and
the RNN the forward pass, the backward pass (and the LSTM's gate nonlinearity) -- and the
trainer's other stages (batch drawing with the encoder and the dropout masks, loss, Adam) with
timers, trains K networks on one process with a single-threaded BLAS, and prints milliseconds
per network-batch for each, with the FLOP/s of the transformer's linear layers. CPU time
(``time.process_time``), not wall time, so that other processes on a shared machine distort the
split less. Run by hand, not in CI:

    python benchmarks/profile_train.py [--arch transformer] [--networks 13] [--batches 100]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


import nets.lstm as nls  # noqa: E402
import nets.rnn as nrn  # noqa: E402
import nets.train as nt  # noqa: E402
import nets.transformer as ntr  # noqa: E402
from nets.config import ensemble_config  # noqa: E402

SECONDS = defaultdict(float)
CALLS = defaultdict(int)


def _timed(name, fn):
    def wrapper(*args, **kwargs):
        start = time.process_time()
        out = fn(*args, **kwargs)
        SECONDS[name] += time.process_time() - start
        CALLS[name] += 1
        return out
    return wrapper


def instrument(modules_and_names):
    for module, names in modules_and_names:
        for name in names:
            setattr(module, name, _timed(f"{module.__name__.split('.')[-1]}.{name}", getattr(module, name)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=["rnn", "lstm", "transformer"], default="transformer", help="architecture")
    p.add_argument("--networks", type=int, default=13, help="K networks in the stack (13 = 25 on 2 workers)")
    p.add_argument("--batches", type=int, default=100, help="batches timed (after 5 warm-up batches)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="training dtype")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    layers = {"transformer": (ntr, ["_linear", "_linear_backward", "layernorm_forward", "layernorm_backward",
                                    "attention_forward", "attention_backward", "gelu_forward", "gelu_backward",
                                    "_drop", "dropout_mask"]),
              "lstm": (nls, ["forward_tm", "backward_tm", "_gates"]), "rnn": (nrn, ["forward_tm", "backward_tm"])}
    instrument([layers[args.arch], (nt, ["draw_batch", "loss_and_grad", "adam_step"])])
    config = ensemble_config(ntask=[24], networks=args.networks, arch=args.arch, dtype=args.dtype,
                             batches=args.batches)
    nt.train(ensemble_config(ntask=[24], networks=args.networks, arch=args.arch, dtype=args.dtype, batches=5),
             progress=False)
    SECONDS.clear()
    CALLS.clear()
    start, cpu = time.perf_counter(), time.process_time()
    ens = nt.train(config, progress=False).ensemble
    wall, total = time.perf_counter() - start, time.process_time() - cpu
    nb = config.K * args.batches
    # matrix-product FLOPs of one network-batch: 2 m k n per product, backward twice the forward
    R, C, F, n_in, N = config.batch_size * config.n_steps, 64, 256, ens.n_in, 24
    fwd_linear = 2 * R * (n_in * C + C * 3 * C + C * C + C * F + F * C + C * N)
    flops = 3 * fwd_linear - 2 * R * n_in * C   # backward = 2 x forward, less the projection's input gradient
    rows = {k: {"ms_per_network_batch": 1e3 * v / nb, "share": v / total, "calls": CALLS[k]}
            for k, v in sorted(SECONDS.items(), key=lambda kv: -kv[1])}
    nested = ("transformer.dropout_mask", "lstm._gates")          # timed inside draw_batch / forward_tm
    other = total - sum(v for k, v in SECONDS.items() if k not in nested)
    out = {"arch": args.arch, "networks": config.K, "dtype": args.dtype,
           "network_batches_per_cpu_second": nb / total, "network_batches_per_wall_second": nb / wall,
           "layers": rows, "unaccounted_share": max(other, 0.0) / total}
    if args.arch == "transformer":
        linear = SECONDS["transformer._linear"] + SECONDS["transformer._linear_backward"]
        out.update(linear_flop_per_network_batch=flops, gflop_per_second_overall=flops * nb / total / 1e9,
                   gflop_per_second_in_linear_layers=flops * nb / 1e9 / linear)
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{args.arch} K={config.K} {args.dtype}: {out['network_batches_per_cpu_second']:.0f} network-batches "
          f"per CPU second ({out['network_batches_per_wall_second']:.0f} per wall second) on one process")
    if args.arch == "transformer":
        print(f"  {flops / 1e6:.0f} MFLOP in the linear layers per network-batch, "
              f"{out['gflop_per_second_overall']:.1f} GFLOP/s overall, "
              f"{out['gflop_per_second_in_linear_layers']:.1f} GFLOP/s inside them")
    for k, r in rows.items():
        print(f"  {k:32s} {r['ms_per_network_batch']:7.3f} ms  {100 * r['share']:5.1f}%")
    print(f"  {'(rest: loop, stacking, Python)':32s} {'':7s}     {100 * out['unaccounted_share']:5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
