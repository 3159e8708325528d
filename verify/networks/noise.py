"""Noise variants on networks: Gaussian, anisotropic, AR(1) and Gumbel evidence noise.

One ensemble per kind of ``--noises`` (the ``noise``, ``noise_scales`` (anisotropic: per-coordinate
multipliers of sigma) and ``noise_a`` (AR(1) coefficient) training fields of
:class:`nets.config.TrainConfig`), trained and probed on that noise, the largest N of ``--ntask``.
Theory line per row (:mod:`theory.noise`, :mod:`theory.ceilings`): the per-coordinate error
variance v_j(t) of the estimator in closed form (:func:`theory.noise.estimator_variance`) and the
protocol ceiling of a decoder of mu = x* + N(0, diag v), mean over the quadrant folds:
``r2_protocol_mean`` (sample mean) and, for AR(1), ``r2_protocol_gls`` (the best linear unbiased
estimator). ``r2_protocol`` is the best estimator's: GLS for AR(1), the mean otherwise.

Claim (binding; the theory's: Theorem 3.1 holds for any noise with a linear sufficient estimator):
for each Gaussian kind (gaussian, anisotropic, ar1) the networks are at the line of its best linear
estimator (above the line of an agent with half the evidence,
:data:`verify.networks.verdicts.EVIDENCE_FRACTION`, the toolkit's choice). Gumbel noise: the
sample mean is not sufficient, so its line is a reference and the comparison is a note
(row key ``ceiling_is_bound`` false: the historical name). Notes: every kind against its line; the Bayes upper check.
"""
from __future__ import annotations

import dataclasses

import numpy as np

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
        out["aniso_scales"] = tuple(float(s) for s in config.noise_scales)
    if kind == "ar1":
        out["ar1_a"] = float(config.noise_a)
    return out


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


def ceilings(kind: str, sigma: float, t: int, D: int, scales, a: float, normalisation: str) -> dict:
    model = noise_model(kind, sigma, D, scales, a)
    folds = ood_folds(D)
    out = {}
    for est in ("mean", "gls") if kind == "ar1" else ("mean",):
        v = estimator_variance(model, t, est)
        out[f"r2_protocol_{est}"] = float(np.mean([r2_protocol(v, f, normalisation) for f in folds]))
        out[f"r2_id_ceiling_{est}"] = float(np.mean([r2_in_distribution(v, f, normalisation) for f in folds]))
        out[f"r2_ceiling_{est}"] = float(1.0 - 12.0 * np.mean(v))
    best = "gls" if kind == "ar1" else "mean"
    return out | {"r2_protocol": out[f"r2_protocol_{best}"], "r2_id_ceiling": out[f"r2_id_ceiling_{best}"],
                  "r2_ceiling": out[f"r2_ceiling_{best}"], "estimator": best}


def row_theory(info, setting, t, config) -> dict:
    c = info["config"]
    kind = c.noise
    reduced = ceilings(kind, setting.sigma / np.sqrt(verdicts.EVIDENCE_FRACTION), t, int(info["D"]), c.aniso_scales,
                       c.ar1_a, config.normalisation)["r2_protocol"]
    return {"noise": kind, "noise_scales": list(c.aniso_scales) if kind == "anisotropic" else None,
            "noise_a": float(c.ar1_a) if kind == "ar1" else None, "ceiling_is_bound": kind in GAUSSIAN_KINDS,
            "r2_line_half_evidence": reduced} \
        | ceilings(kind, setting.sigma, t, int(info["D"]), c.aniso_scales, c.ar1_a, config.normalisation)


def verdicts_noise(config, rows, values, rng, extras):
    sufficient = [r for r in rows if r["ceiling_is_bound"]]
    checks = []
    if sufficient:
        checks.append(verdicts.claim("at_line_under_each_noise", "for every noise kind with a sufficient linear "
                                     "estimator, the networks are at that estimator's line",
                                     [verdicts.at_line(r, r["noise"]) for r in sufficient], "at the line",
                                     "95% bootstrap interval above the line at "
                                     f"{verdicts.EVIDENCE_FRACTION:g} of the evidence (toolkit's choice)"))
    for r in rows:
        if not r["ceiling_is_bound"]:
            checks.append(dataclasses.replace(verdicts.claim(
                f"at_mean_estimator_line_{r['noise']}", f"note: {r['noise']} noise, against the sample mean's line "
                "(not the best estimator's)", [verdicts.at_line(r, r["noise"])], "at the line", "not binding"),
                binding=False))
    return verdicts.finish(checks, [] if sufficient else ["at_line_under_each_noise: no Gaussian kind in this run"],
                           rows, "noise", "noise_variants")


def figure(group, folder, budget) -> list:
    rows = group["rows"]
    if not rows:
        return []
    order = {r["noise"]: r["noise_index"] for r in rows}
    r0 = rows[0]
    title = (f"OOD r$^2$ by evidence noise (N = {r0['ntask']}, {setting_label(r0, budget)})\n"
             "dashed: protocol ceiling of the best estimator (GLS for AR(1)); x-axis: "
             + ", ".join(f"{i} = {k}" for k, i in order.items()))
    return plot_sweep([r | {"line": "networks"} for r in rows], group["figures"],
                      "noise_index", "line", folder / "r2_by_noise.png", title, "noise kind (index)")


NOISE = Experiment("noise", "OOD r^2 under Gaussian, anisotropic, AR(1) and Gumbel noise", "noise_index", networks,
                   settings, verdicts_noise, group="noise", row_theory=row_theory, figure=figure)
