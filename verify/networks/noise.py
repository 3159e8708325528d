"""Noise variants on networks: Gaussian, anisotropic, AR(1) and Gumbel evidence noise.

One ensemble per kind of ``--noises`` (the ``noise``, ``aniso_scales`` (anisotropic: per-coordinate
multipliers of sigma) and ``ar1_a`` (AR(1) coefficient) training fields of
:class:`nets.config.TrainConfig`), trained on that noise, the largest N of ``--ntask``.

Probing (``NetworkCheckConfig.noise_probe``, docs/networks.md, "Differences from the reference code"):

- ``"gaussian"`` (default, the reference's: ``generalize.py`` decodes every network on
  ``DenoiseQuads`` trials, isotropic Gaussian noise of sd ``n_sd_in / sqrt(dt)`` = 0.2): every network,
  whatever noise it was trained on, is probed with isotropic Gaussian evidence of its training sigma;
- ``"training"``: each network is probed with the noise it was trained on.

The optimal agent of every row (``ood_optimal``, mu agreement) is matched to the probe's noise
(:func:`nets.frozen.decision_states`). Theory line per row, for the probe's noise model
(:mod:`theory.noise`, :mod:`theory.ceilings`): the per-coordinate error variance v_j(t) of the
estimator in closed form (:func:`theory.noise.estimator_variance`) and the protocol ceiling of a
decoder of mu = x* + N(0, diag v), mean over the quadrant folds: ``r2_protocol_mean`` (sample mean)
and, for AR(1), ``r2_protocol_gls`` (the best linear unbiased estimator). ``r2_protocol`` is the
best estimator's (the optimal agent's, :data:`BEST_ESTIMATOR`): GLS for AR(1), the posterior mean
beta [psi(t) - log sum e^(-X / beta)] for Gumbel (``r2_protocol_posterior``, variance beta^2 psi'(t)),
the mean otherwise (under Gaussian probing: the Gaussian line of every row). ``probe_noise``
names the probe's kind, ``noise`` the training kind.

Claim (binding; the theory's: Theorem 3.1 holds for any noise with a linear sufficient estimator):
for each Gaussian training kind (gaussian, anisotropic, ar1) the networks are at the line of the
probe's best linear estimator (above the line of an agent with half the evidence,
:data:`verify.networks.verdicts.EVIDENCE_FRACTION`, the toolkit's choice). Gumbel-trained networks:
the sample mean is not sufficient for their training noise, so the comparison is a note
(row key ``ceiling_is_bound`` false: the historical name). Notes: every kind against its line; the Bayes upper check.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from theory.bayes_noise import r2_bayes_noise
from theory.ceilings import r2_in_distribution, r2_protocol
from theory.folds import ood_folds
from theory.noise import estimator_variance, make_noise
from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, Setting, training_kwargs
from verify.networks.sweep_figures import plot_sweep, setting_label

#: Kinds whose linear estimator is a sufficient statistic (their line is that of the best estimator).
GAUSSIAN_KINDS = ("gaussian", "anisotropic", "ar1")


def _fields(config, kind: str) -> dict:
    out = {"noise": kind}
    if kind == "anisotropic":
        out["aniso_scales"] = tuple(float(s) for s in config.aniso_scales)
    if kind == "ar1":
        out["ar1_a"] = float(config.ar1_a)
    return out


def probe_ensemble(ens, config):
    """The networks of ``ens`` with the probe's evidence noise: isotropic Gaussian (``noise_probe="gaussian"``)
    or their own training noise (``"training"``). Only the trials change: parameters, designs and encoders stay."""
    if config.noise_probe == "training":
        return ens
    c = dataclasses.replace(ens.config, noise="gaussian", aniso_scales=(), ar1_a=0.0)
    return dataclasses.replace(ens, config=c)


def probe_fields(training, config) -> dict:
    """noise, aniso_scales, ar1_a of the probe trials of networks trained with ``training`` (a TrainConfig)."""
    if config.noise_probe == "training":
        return {"noise": training.noise, "aniso_scales": training.aniso_scales, "ar1_a": training.ar1_a}
    return {"noise": "gaussian", "aniso_scales": (), "ar1_a": 0.0}


def networks(config):
    return [pipeline.train_config(config.arch, ntask=[max(config.ntask)], networks=config.networks, sigma=config.sigma,
                                  **(training_kwargs(config) | _fields(config, kind))) for kind in config.noises]


def settings(config, info):
    # the axis is the kind's position in --noises (numeric, like every axis); rows name the kind in ``noise``
    return [Setting(config.noises.index(info["config"].noise), tuple(range(info["K"])), None, config.sigma)]


def noise_model(kind: str, sigma: float, D: int, scales, a: float):
    """The :class:`theory.noise.NoiseModel` of a training configuration."""
    s = sigma * np.asarray(scales, dtype=float) if kind == "anisotropic" else sigma
    return make_noise(kind, s, D, a if kind == "ar1" else 0.0)


#: The optimal agent's estimator of each kind (:data:`nets.frozen.MATCHED_ESTIMATOR`, per kind): the row's line.
BEST_ESTIMATOR = {"gaussian": "mean", "anisotropic": "mean", "ar1": "gls", "gumbel": "posterior"}


def ceilings(kind: str, sigma: float, t: int, D: int, scales, a: float, normalisation: str) -> dict:
    """Lines of a linear decoder of mu = x* + error of the estimator's variance v(t) (the error is independent
    of x*, so only v matters): ``*_mean`` (sample mean) and ``*_{best}`` (GLS for AR(1), the posterior mean
    for Gumbel); the unsuffixed keys are the best estimator's."""
    model = noise_model(kind, sigma, D, scales, a)
    folds = ood_folds(D)
    out = {}
    best = BEST_ESTIMATOR[kind]
    for est in dict.fromkeys(("mean", best)):
        v = estimator_variance(model, t, est)
        out[f"r2_protocol_{est}"] = float(np.mean([r2_protocol(v, f, normalisation) for f in folds]))
        out[f"r2_id_ceiling_{est}"] = float(np.mean([r2_in_distribution(v, f, normalisation) for f in folds]))
        out[f"r2_ceiling_{est}"] = float(1.0 - 12.0 * np.mean(v))
    return out | {"r2_protocol": out[f"r2_protocol_{best}"], "r2_id_ceiling": out[f"r2_id_ceiling_{best}"],
                  "r2_ceiling": out[f"r2_ceiling_{best}"], "estimator": best}


def bayes(kind: str, sigma: float, t: int, D: int, scales, a: float, normalisation: str) -> dict:
    """The Bayes bound of the probe's noise (:func:`theory.bayes_noise.r2_bayes_noise`): ``r2_bayes`` (mean
    over the OOD folds, the rows' convention) and ``r2_bayes_whole_cube``."""
    model = noise_model(kind, sigma, D, scales, a)
    return {"r2_bayes": float(np.mean([r2_bayes_noise(model, t, f, normalisation) for f in ood_folds(D)])),
            "r2_bayes_whole_cube": r2_bayes_noise(model, t)}


def row_theory(info, setting, t, config) -> dict:
    """The lines of the probe actually used (``probe_noise``): Gaussian evidence of the training sigma
    (``noise_probe="gaussian"``) or the training noise (``"training"``)."""
    c = info["config"]
    kind, probe = c.noise, probe_fields(c, config)
    D, p = int(info["D"]), probe["noise"]
    args = (t, D, probe["aniso_scales"], probe["ar1_a"], config.normalisation)
    reduced = ceilings(p, setting.sigma / np.sqrt(verdicts.EVIDENCE_FRACTION), *args)["r2_protocol"]
    return {"noise": kind, "aniso_scales": list(c.aniso_scales) if kind == "anisotropic" else None,
            "ar1_a": float(c.ar1_a) if kind == "ar1" else None, "ceiling_is_bound": kind in GAUSSIAN_KINDS,
            "probe_noise": p, "r2_line_half_evidence": reduced} \
        | ceilings(p, setting.sigma, *args) | bayes(p, setting.sigma, *args)


def verdicts_noise(config, rows, values, rng, extras):
    sufficient = [r for r in rows if r["ceiling_is_bound"]]
    checks = []
    if sufficient:
        checks.append(verdicts.claim("at_line_under_each_noise", "for every training noise with a sufficient linear "
                                     "estimator, the networks are at the line of the probe's best estimator",
                                     [verdicts.at_line(r, r["noise"]) for r in sufficient], "at the line",
                                     "95% bootstrap interval above the line at "
                                     f"{verdicts.EVIDENCE_FRACTION:g} of the evidence (toolkit's choice)"))
    for r in rows:
        if not r["ceiling_is_bound"]:
            checks.append(dataclasses.replace(verdicts.claim(
                f"at_mean_estimator_line_{r['noise']}", f"note: {r['noise']}-trained networks, against the "
                f"line of the probe's ({r['probe_noise']}) optimal estimator", [verdicts.at_line(r, r["noise"])],
                "at the line", "not binding"),
                binding=False))
    return verdicts.finish(checks, [] if sufficient else ["at_line_under_each_noise: no Gaussian kind in this run"],
                           rows, "noise", "noise_variants")


def figure(group, folder, budget) -> list:
    rows = group["rows"]
    if not rows:
        return []
    order = {r["noise"]: r["noise_index"] for r in rows}
    r0 = rows[0]
    gaussian = all(r["probe_noise"] == "gaussian" for r in rows)
    probing, line = (("Gaussian evidence", "the Gaussian protocol line (sample mean)") if gaussian else
                     ("the training noise",
                      "protocol line of the optimal estimator (GLS for AR(1), posterior for Gumbel)"))
    title = (f"OOD r$^2$ by training noise, probed with {probing} (N = {r0['ntask']}, {setting_label(r0, budget)})\n"
             f"dashed: {line}; x-axis: "
             + ", ".join(f"{i} = {k}" for k, i in order.items()))
    return plot_sweep([r | {"line": "networks"} for r in rows], group["figures"],
                      "noise_index", "line", folder / "r2_by_noise.png", title, "noise kind (index)")


NOISE = Experiment("noise", "OOD r^2 under Gaussian, anisotropic, AR(1) and Gumbel noise", "noise_index", networks,
                   settings, verdicts_noise, ensemble="noise", row_theory=row_theory, figure=figure,
                   probe=probe_ensemble)
