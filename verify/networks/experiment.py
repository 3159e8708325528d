"""What a published experiment declares: its axis, its networks, its theory line, its verdicts.

An :class:`Experiment` is data: the shared runner (:mod:`verify.networks.runner`) trains or loads
its networks, measures each of its settings with the named decoders, attaches the theory line to
each row, and asks the experiment for its verdicts. Experiments that share an ensemble (3a, 3c, 4
and dynamics all use the reference networks) share one training and one measurement. (An
"ensemble" here is the set of networks trained for an experiment; :mod:`nets` calls networks
trained together a "group".)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np

from theory.bayes_bound import bayes_line
from theory.ceilings import r2_ceiling_gaussian, r2_in_distribution, r2_protocol
from theory.folds import ood_folds
from verify.networks import pipeline


@dataclass(frozen=True)
class Setting:
    """One row of an experiment: an axis value, the networks measured, how they are run.

    Attributes
    ----------
    value : the axis value (N, t or sigma); networks : indices into the ensemble
    n_stim : stimulus steps of the evaluation trials (None: the training value)
    sigma : evidence noise sd of the trials (the networks' training sigma)
    """

    value: object
    networks: tuple
    n_stim: int | None
    sigma: float


@dataclass(frozen=True)
class Experiment:
    """A published experiment.

    Attributes
    ----------
    name, title : registry key and what it shows
    axis : row key of the experiment's axis ("ntask", "t", "sigma"), or None: no decoder rows (the
        experiment only adds an ``extra`` measurement to an ensemble another experiment measures)
    networks : config -> TrainConfig of its ensemble (via :func:`verify.networks.pipeline.train_config`),
        or a list of them (one ensemble per value of an axis the TrainConfig holds once, e.g. D or H);
        the settings of every ensemble are measured and their rows concatenated
    settings : (config, info) -> list of Setting (info: :func:`verify.networks.pipeline.network_info`)
    verdicts : (config, rows, values, rng, extras) -> (checks, skipped); values: each row's (K, F)
        headline r^2; extras: {experiment name: its extra result} of the same ensemble
    extra : (ens, config) -> dict, measurements beyond the decoders (tuning, dynamics), or None
    ensemble : name of the ensemble it runs on (experiments with the same ensemble share networks)
    row_theory : (info, setting, t, config) -> dict merged into each row after the default theory
        line (the experiment's own axes and ceilings), or None
    figure : (ensemble result, folder, budget label) -> list of paths, the experiment's own figures
        (None: the shared OOD r^2 figure of its axis)
    latents : (info, config, rng, shape) -> x* of the probe trials, shape (K, n, D) (None: uniform
        on the cube; S3b draws them from its correlated prior)
    output : the kind of files, JSON summary and text lines its ``extra`` result has, a key of
        :data:`verify.networks.report.EXTRA_OUTPUTS` ("tuning", "dynamics"), or None (none beyond
        the rows; S6's rows go into the result's ``measurements``)
    probe : (ens, config) -> the ensemble the probe trials run on: the same networks with another
        evidence-noise model (the noise variants' Gaussian probing), or None (the trained ensemble)
    """

    name: str
    title: str
    axis: str | None
    networks: Callable
    settings: Callable | None = None
    verdicts: Callable = field(default=lambda config, rows, values, rng, extras: ([], []))
    extra: Callable | None = None
    ensemble: str = "reference"
    row_theory: Callable | None = None
    figure: Callable | None = None
    latents: Callable | None = None
    output: str | None = None
    probe: Callable | None = None


#: Options of the checks' configuration that belong to the network architecture's own configuration.
ARCH_OPTIONS = ("hidden", "activation", "leaky")


def training_kwargs(config) -> dict:
    """The network options every ensemble of a run shares; an architecture option is passed on only
    when the architecture has it (the transformer has no ``hidden``, ``activation`` or ``leaky``)."""
    own = pipeline.arch_options(config.arch)
    return dict(batches=config.batches, encoder=config.encoder, seed=config.seed,
                **{name: getattr(config, name) for name in ARCH_OPTIONS if name in own})


def fold_mean(ceiling, sigma: float, t: float, D: int, normalisation: str) -> float:
    """Mean over the OOD folds of a fold-wise ceiling (r2_protocol or r2_in_distribution)."""
    v = np.full(D, sigma**2 / t)
    return float(np.mean([ceiling(v, f, normalisation) for f in ood_folds(D)]))


def theory_line(sigma: float, t: float, D: int, normalisation: str) -> dict:
    """The theory lines of a row (uniform prior, isotropic Gaussian evidence).

    The paper's lines, what a *linear* decoder of the running mean mu(t) reaches (not upper bounds):
    ``r2_ceiling`` = 1 - 12 sigma^2 / t (mu itself), ``r2_protocol`` (the held-out protocol, mean over
    the OOD folds: the line every verdict compares with) and ``r2_id_ceiling`` (fit on the whole cube).
    The true bound, what the posterior mean E[x* | evidence] under the prior reaches, which no decoder
    of any state beats beyond noise (:func:`theory.bayes_bound.bayes_line`): ``r2_bayes`` (fold mean,
    the same normalisation) and ``r2_bayes_whole_cube``. Experiments whose prior or noise differ
    override these keys in their ``row_theory``.
    """
    return {"r2_ceiling": float(r2_ceiling_gaussian(sigma, t)),
            "r2_protocol": fold_mean(r2_protocol, sigma, t, D, normalisation),
            "r2_id_ceiling": fold_mean(r2_in_distribution, sigma, t, D, normalisation)} \
        | bayes_line(sigma, t, D, normalisation)


def by_value(values, info_key: str, info: dict, n_stim=None, sigma=None) -> list:
    """Settings grouping the networks whose ``info[info_key]`` equals each value."""
    out = []
    for v in values:
        idx = tuple(int(k) for k in np.flatnonzero(info[info_key] == v))
        s = float(info["sigma"][idx[0]]) if sigma is None else sigma
        out.append(Setting(v, idx, n_stim, s))
    return out
