"""Budgets of the network experiments, per experiment group, and the time they take.

:data:`FULL` holds the published budgets (``python -m verify --full``): 5 networks per setting and
1e5 training batches, the axes of the paper's figures. :data:`QUICK` holds smoke budgets that
finish in about a minute each on 2 cores (their intervals mostly cannot decide: "undecided").
Each entry is a set of :class:`verify.networks.config.NetworkCheckConfig` overrides.
:func:`network_batches` counts what a budget trains; with a measured rate (network-batches per
second, printed by every run) :func:`estimate_seconds` gives its wall time.
"""
from __future__ import annotations

from verify.networks.config import NetworkCheckConfig
from verify.networks.registry import REGISTRY, available

_PUBLISHED = dict(networks=5, batches=100_000)

FULL = {
    "reference": dict(ntask=(2, 3, 6, 12, 24), experiments=("3a", "3c", "4", "dynamics", "5a", "5c"), **_PUBLISHED),
    "5b": dict(ntask=(3, 6, 9, 12), Ds=(2, 4, 6, 8, 10), experiments=("5b", "S6"), **_PUBLISHED),
    "S1": dict(ntask=(2, 3, 6, 12, 24), encoders=("mlp", "quadratic"), experiments=("S1",), **_PUBLISHED),
    "S5c": dict(ntask=(24,), experiments=("S5c",), **_PUBLISHED),
    "hidden_size": dict(ntask=(24,), hiddens=(2, 4, 8, 16, 32, 64), experiments=("hidden_size",), **_PUBLISHED),
    "large_n": dict(large_ntask=(24, 48, 96), large_Ds=(2, 4), experiments=("large_n",), **_PUBLISHED),
    "S3b": dict(ntask=(24,), rhos=(0.0, 0.3, 0.6, 0.9), experiments=("S3b",), **_PUBLISHED),
    "noise": dict(ntask=(24,), noises=("gaussian", "anisotropic", "ar1", "gumbel"), experiments=("noise",),
                  **_PUBLISHED),
    "multiplicative": dict(mult_ntask=(4, 8, 12, 24), experiments=("multiplicative",), **_PUBLISHED),
}

_SMOKE = dict(networks=2, batches=3000, eval_trials=4000, n_boot=1000)
QUICK = {
    "5b": dict(ntask=(3, 6), Ds=(2, 4), experiments=("5b", "S6"), **_SMOKE),
    "S1": dict(ntask=(2, 24), experiments=("S1",), **_SMOKE),
    "S5c": dict(ntask=(24,), experiments=("S5c",), **_SMOKE),
    "hidden_size": dict(ntask=(24,), hiddens=(2, 8, 64), experiments=("hidden_size",), **_SMOKE),
    "large_n": dict(large_ntask=(24, 96), large_Ds=(2, 4), experiments=("large_n",), **_SMOKE),
    "S3b": dict(ntask=(24,), rhos=(0.0, 0.9), experiments=("S3b",), **_SMOKE),
    "noise": dict(ntask=(24,), experiments=("noise",), **_SMOKE),
    "multiplicative": dict(mult_ntask=(4, 24), experiments=("multiplicative",), **_SMOKE),
}

BUDGETS = {"quick": QUICK, "full": FULL}


def runnable(budget: dict) -> dict:
    """The entries of ``budget`` whose experiments the installed nets can train."""
    have = set(available())
    return {name: entry for name, entry in budget.items() if set(entry["experiments"]) <= have}


def network_batches(overrides: dict, seed: int = 0) -> int:
    """Network-batches one budget entry trains (each experiment group's ensembles counted once)."""
    config = NetworkCheckConfig(**overrides, seed=seed)
    total, seen = 0, set()
    for name in config.experiments:
        e = REGISTRY[name]
        if e.group in seen:
            continue
        seen.add(e.group)
        specs = e.networks(config)
        total += sum(s.K * s.batches for s in (specs if isinstance(specs, list) else [specs]))
    return total


def estimate_seconds(budget: dict, rate: float) -> dict:
    """{entry: seconds} at ``rate`` network-batches per second (training only; runnable entries)."""
    return {name: network_batches(entry) / rate for name, entry in runnable(budget).items()}
