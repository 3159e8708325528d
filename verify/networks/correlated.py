"""Experiment S3b: correlated latents, x* = Phi(z) - 1/2 with z ~ N(0, [[1, rho], [rho, 1]]).

One ensemble per rho of ``--rho`` (needs the ``prior="copula"``, ``rho`` training fields of
:class:`nets.config.TrainConfig`), trained on trials from that prior. The probe trials are drawn
from the same prior, so each quadrant fold's decoder is fit on the prior restricted to the three
training quadrants and tested on the fourth. Theory line per row (:mod:`theory.correlated`):
``factor_correlation`` = (6/pi) arcsin(rho/2) and ``r2_protocol`` = the protocol ceiling under the
prior, averaged over the four folds.

Binding: below the protocol ceiling at every rho.
"""
from __future__ import annotations

from theory.correlated import protocol_ceiling
from theory.priors import CopulaPrior, factor_correlation
from verify.networks import pipeline, verdicts
from verify.networks.experiment import Experiment, Setting, training_kwargs
from verify.networks.sweep_figures import plot_sweep, setting_label


def networks(config):
    return [pipeline.train_config(config.arch, ntask=[max(config.ntask)], networks=config.networks, sigma=config.sigma,
                                  prior="copula", rho=float(rho), **training_kwargs(config)) for rho in config.rhos]


def _rho(info) -> float:
    return float(info["config"].rho)


def settings(config, info):
    return [Setting(_rho(info), tuple(range(info["K"])), None, config.sigma)]


def latents(info, config, rng, shape):
    K, n, D = shape
    return CopulaPrior(_rho(info)).sample(rng, K * n).reshape(K, n, D)


def row_theory(info, setting, t, config) -> dict:
    rho = _rho(info)
    return {"rho": rho, "factor_correlation": float(factor_correlation(rho)),
            "r2_protocol": protocol_ceiling(setting.sigma, t, rho, config.normalisation)}


def verdicts_S3b(config, rows, values, rng, extras):
    return [verdicts.below_ceiling(rows, "rho", "rho")], []


def figure(group, folder, budget) -> list:
    rows = group["rows"]
    if not rows:
        return []
    r0 = rows[0]
    title = (f"S3b: OOD r$^2$ vs latent correlation (N = {r0['ntask']}, {setting_label(r0, budget)})\n"
             "dashed: protocol ceiling under the copula prior (theory.correlated)")
    return plot_sweep([r | {"line": "copula prior"} for r in rows], group["figures"], "rho", "line",
                      folder / "r2_vs_rho.png", title, "copula correlation rho")


CORRELATED = Experiment("S3b", "OOD r^2 vs the latent correlation rho", "rho", networks, settings, verdicts_S3b,
                        ensemble="correlated", row_theory=row_theory, figure=figure, latents=latents)
