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

from infra.cli import UsageError
from infra.guard import ensemble_terms, recurrent_training_terms
from theory.encoders import MLP_WIDTHS

#: Steps of a reference trial (fixation, 20 stimulus steps, decision), for the size estimate.
TRIAL_STEPS = 22
#: float64 values kept per probe trial and hidden unit by the measurements (states, decoders' copies).
PROBE_COPIES = 4
#: Network-batches per second assumed by the time estimate: above every rate measured on 2 cores
#: (RNN ~2,000-4,000, LSTM ~700-1,500, transformer ~300-600; README, docs/getting-started.md), so the
#: estimate is a lower bound and a refusal is never a false alarm on this class of machine.
FAST_RATE = 10_000.0
#: Longest training (hours, at :data:`FAST_RATE`) a run starts without ``--allow-long``: the
#: published protocol (``python -m verify --full``) takes about 7 hours on 2 cores.
MAX_HOURS = 24.0


def training_terms(K: int, label: str, hidden: int, ntask: int, eval_trials: int) -> dict:
    """Size-guard terms {parameter: bytes} of K networks (``label`` says what makes K) trained at once
    (``hidden`` units, ``ntask`` outputs, the widest encoder's inputs) and probed on ``eval_trials``
    trials each (states, the decoders' copies and the logits)."""
    one = recurrent_training_terms(batch_size=16, steps=TRIAL_STEPS, hidden=hidden, inputs=MLP_WIDTHS[-1] + 1,
                                   outputs=1, ntask=ntask)
    terms = ensemble_terms(one, K, label)
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
    if seconds > MAX_HOURS * 3600 and not allow_long:
        raise UsageError(f"{what}: {network_batches:.3g} network-batches take at least {seconds / 3600:.3g} hours "
                         f"(at {FAST_RATE:g} network-batches/s, faster than any measured rate), more than "
                         f"{MAX_HOURS:g}; pass --allow-long to run it anyway")
    return seconds
