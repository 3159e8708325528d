"""The one table of network budgets, and the training they take.

:data:`REFERENCE` holds the budgets of the reference networks (N = 2 .. 24 at sigma 0.2) that the
report's network, geometry and architecture parts share (``python -m verify --quick``, default,
``--full``). :data:`FULL` holds the published budgets (``python -m verify --full``): 5 networks per setting and
1e5 training batches, the axes of the paper's figures. :data:`QUICK` holds smoke budgets that
finish in about a minute each on 2 cores (their intervals mostly cannot decide: "undecided").
Each entry is a set of :class:`verify.networks.config.NetworkCheckConfig` overrides, named for the
figure or experiment it reproduces (its own ensembles:
:attr:`verify.networks.experiment.Experiment.ensemble`). :func:`network_batches` (:func:`config_batches` of a
built configuration) counts what a budget trains; with a measured rate (network-batches per
second, printed by every run) :func:`estimate_seconds` gives its wall time.
"""
from __future__ import annotations

from verify.networks.config import NetworkCheckConfig
from verify.networks.registry import REGISTRY

_PUBLISHED = dict(networks=5, batches=100_000)

FULL = {
    "reference": dict(ntask=(2, 3, 6, 12, 24), experiments=("3a", "3c", "4", "dynamics", "5a", "5c"), **_PUBLISHED),
    "5b": dict(ntask=(3, 6, 9, 12), Ds=(2, 4, 6, 8, 10), experiments=("5b", "S6"), **_PUBLISHED),
    "S1": dict(ntask=(2, 3, 6, 12, 24), encoders=("mlp", "quadratic"), experiments=("S1",), **_PUBLISHED),
    "S5c": dict(ntask=(24,), experiments=("S5c",), **_PUBLISHED),
    "hidden_size": dict(ntask=(24,), hiddens=(1, 2, 4, 8, 16, 32, 64), experiments=("hidden_size",), **_PUBLISHED),
    "large_n": dict(large_ntask=(24, 48, 96), large_Ds=(2, 4), experiments=("large_n",), **_PUBLISHED),
    "S3b": dict(ntask=(24,), rhos=(0.0, 0.3, 0.6, 0.9), experiments=("S3b",), **_PUBLISHED),
    "noise": dict(ntask=(24,), noises=("gaussian", "anisotropic", "ar1", "gumbel"), experiments=("noise",),
                  **_PUBLISHED),
    "multiplicative": dict(mult_ntask=(4, 8, 12, 24), experiments=("multiplicative",), **_PUBLISHED),
}

#: The reference experiments (Fig. 3a, 3c, tuning, dynamics) every budget of the report runs.
REFERENCE_EXPERIMENTS = ("3a", "3c", "4", "dynamics")
#: Reference networks by report budget. quick: a smoke test whose real budget finishes in < 3 minutes
#: on 2 cores (its networks are barely trained: 3a is decidedly below the line, FAIL, or undecided); full: the published
#: protocol (>= 5 networks per N, 1e5 batches, 5a and 5c too).
REFERENCE = {
    "quick": dict(ntask=(2, 24), networks=2, batches=3000, eval_trials=4000, n_boot=1000,
                  experiments=REFERENCE_EXPERIMENTS),
    "default": dict(ntask=(2, 6, 24), networks=5, batches=100_000, experiments=REFERENCE_EXPERIMENTS),
    "full": FULL["reference"],
}

_SMOKE = dict(networks=2, batches=3000, eval_trials=4000, n_boot=1000)
QUICK = {
    "5b": dict(ntask=(3, 6), Ds=(2, 4), experiments=("5b", "S6"), **_SMOKE),
    "S1": dict(ntask=(2, 24), experiments=("S1",), **_SMOKE),
    "S5c": dict(ntask=(24,), experiments=("S5c",), **_SMOKE),
    "hidden_size": dict(ntask=(24,), hiddens=(1, 2, 8, 64), experiments=("hidden_size",), **_SMOKE),
    "large_n": dict(large_ntask=(24, 96), large_Ds=(2, 4), experiments=("large_n",), **_SMOKE),
    "S3b": dict(ntask=(24,), rhos=(0.0, 0.9), experiments=("S3b",), **_SMOKE),
    "noise": dict(ntask=(24,), experiments=("noise",), **_SMOKE),
    "multiplicative": dict(mult_ntask=(4, 24), experiments=("multiplicative",), **_SMOKE),
}

BUDGETS = {"quick": QUICK, "full": FULL}


def config_batches(config: NetworkCheckConfig) -> int:
    """Network-batches a configuration trains (each ensemble's networks counted once)."""
    total, seen = 0, set()
    for name in config.experiments:
        e = REGISTRY[name]
        if e.ensemble in seen:
            continue
        seen.add(e.ensemble)
        specs = e.networks(config)
        total += sum(s.K * s.batches for s in (specs if isinstance(specs, list) else [specs]))
    return total


def network_batches(overrides: dict, seed: int = 0) -> int:
    """Network-batches one budget entry trains (:func:`config_batches` of its configuration)."""
    return config_batches(NetworkCheckConfig(**overrides, seed=seed))


def estimate_seconds(budget: dict, rate: float) -> dict:
    """{entry: seconds} at ``rate`` network-batches per second (training only)."""
    return {name: network_batches(entry) / rate for name, entry in budget.items()}
