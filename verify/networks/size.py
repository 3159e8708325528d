"""How big a request for trained networks is, checked before any work: memory and training time.

Every command that trains networks (:mod:`verify.networks.cli`, :mod:`verify.geometry`) sizes its
request here:

- :func:`training_terms`: the size-guard terms (:mod:`infra.guard`) of K networks trained at once
  and probed on ``eval_trials`` trials each;
- :func:`check_training_time`: a lower bound on the training time from the network-batches a run
  trains (:func:`verify.networks.budgets.config_batches`) at :data:`FAST_RATE`; a run whose bound
  exceeds :data:`MAX_HOURS` is refused (exit 2, with the estimate) unless ``--allow-long``.
"""
from __future__ import annotations

from infra.guard import check_time
from verify.networks import pipeline

#: float64 values kept per probe trial and hidden unit by the measurements (states, decoders' copies).
PROBE_COPIES = 4
#: Network-batches per second assumed by the time estimate: above every rate measured on 2 cores
#: (RNN ~2,000-4,000, LSTM ~700-1,500, transformer ~300-600; README, docs/getting-started.md), so the
#: estimate is a lower bound and a refusal is never a false alarm on this class of machine.
FAST_RATE = 10_000.0
#: Longest training (hours, at :data:`FAST_RATE`) a run starts without ``--allow-long``: the
#: published protocol (``python -m verify --full``) takes about 7 hours on 2 cores.
MAX_HOURS = 24.0


def add_allow_long(parser) -> None:
    """``--allow-long``: the one flag that lifts :func:`check_training_time` (every command that trains)."""
    parser.add_argument("--allow-long", action="store_true",
                        help=f"run even when the training is estimated to take more than {MAX_HOURS:g} hours "
                             "(refused otherwise)")


def training_terms(arch: str, K: int, label: str, width: int | None, ntask: int, eval_trials: int,
                   batches: int) -> dict:
    """Size-guard terms {parameter: bytes} of K networks of ``arch`` (``label`` says what makes K) trained
    at once, as the architecture reports them (:func:`verify.networks.pipeline.training_terms`: ``width``
    hidden units or d_model, ``ntask`` outputs, the loss history of ``batches``), and probed on
    ``eval_trials`` trials each (states, the decoders' copies and the logits)."""
    terms = pipeline.training_terms(arch, K, batches, ntask, label, width)
    hidden = width or 64
    probes = f"--eval-trials={eval_trials} x {label}"
    terms[probes] = 8.0 * K * eval_trials * (PROBE_COPIES * hidden + 2)
    terms[f"--ntask={ntask} x {probes}"] = 8.0 * K * eval_trials * ntask      # the probes' logits
    return terms


def check_training_time(network_batches: int, what: str, allow_long: bool) -> float:
    """Refuse (:class:`infra.cli.UsageError`, exit 2) a run that trains ``network_batches`` network-batches
    when even at :data:`FAST_RATE` it takes more than :data:`MAX_HOURS`, unless ``allow_long``.

    ``what`` names the parameters that make the count (e.g. ``"--batches=1000000 x 25 networks"``).
    Returns the estimated seconds (a lower bound).

    Examples
    --------
    >>> check_training_time(10_000, "--batches=1000 x 10 networks", allow_long=False)
    1.0
    """
    seconds = network_batches / FAST_RATE
    check_time(seconds, what, f"{network_batches:.3g} network-batches at {FAST_RATE:g} network-batches/s, faster "
               "than any measured rate", allow_long, MAX_HOURS * 3600)
    return seconds
