"""Measure one experiment setting from frozen states: decoders, intervals, calibration, angles.

Input: the :class:`verify.networks.pipeline.States` of an ensemble, the per-network facts
(:func:`verify.networks.pipeline.network_info`) and a :class:`verify.networks.experiment.Setting`.
Output: the measured part of the setting's row (every median with its bootstrap interval over
networks x folds), the tidy per-network records, and the calibration curves for the figures.
Arrays only: nothing here touches :mod:`nets`.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from analysis.bootstrap import interval
from analysis.calibration import calibrate
from analysis.decoders import (DECODERS, HEADLINE, encoding_axes, fit_linear_decoder, fold_splits, lstsq,
                               pairwise_angles, reference_adam, ridge_cv)
from optimal.estimates import matched_sigma
from theory.accuracy import decision_scale
from verify.networks.verdicts import EVIDENCE_FRACTION

READOUTS = ("decision", "last_stimulus")


def _interval(values, rng, n_boot, upper: float | None = None) -> dict:
    """The interval over networks; ``upper``: the measure's largest possible value (r^2 <= 1), where the
    interval is clipped (it only removes impossible values) and ``clipped`` says so."""
    out = interval(values, rng, n_boot).to_dict()
    out["clipped"] = bool(upper is not None and out["ci_high"] is not None and out["ci_high"] > upper)
    if out["clipped"]:
        out["ci_high"] = float(upper)
    return out


def _r2_interval(values, rng, n_boot) -> dict:
    """An r^2's interval over networks, clipped at 1 (no r^2 exceeds it)."""
    return _interval(values, rng, n_boot, upper=1.0)


def _noise_sd(states, info, k) -> np.ndarray:
    """Network k's per-axis matched sd sqrt(t v_d) of its mu (:func:`optimal.estimates.matched_sigma`),
    shape (D,): the sd that makes the optimal probits of :func:`analysis.calibration.calibrate` those of the
    probe's noise model (per-axis for anisotropic noise, GLS for AR(1), the posterior for Gumbel). States
    without ``mu_var`` (built by hand) have Gaussian evidence of the network's sigma."""
    if getattr(states, "mu_var", None) is None:
        return np.full(states.mu.shape[-1], float(info["sigma"][k]))
    return matched_sigma(states.mu_var[k], states.t)


def _design_groups(states, info, idx) -> list:
    """Positions (into idx) of networks sharing a design and a matched noise sd: calibrated together."""
    groups: dict = {}
    for pos, k in enumerate(idx):
        d = info["designs"][k]
        groups.setdefault((d.C.tobytes(), d.b.tobytes(), _noise_sd(states, info, k).tobytes()), []).append(pos)
    return list(groups.values())


def _calibration(states, info, idx) -> tuple[dict, dict]:
    """mu agreement (exact, calibrated, optimal) medians over networks, and the curves."""
    K = len(idx)
    exact, calibrated, slope = np.full(K, np.nan), np.full(K, np.nan), np.full(K, np.nan)
    optimal, curves = [], []
    for pos in _design_groups(states, info, idx):
        ks = [idx[p] for p in pos]
        N = int(info["ntask"][ks[0]])
        cal = calibrate(states.logits[ks, :, :N], states.mu[ks], info["designs"][ks[0]],
                        _noise_sd(states, info, ks[0]), states.t)
        exact[pos], calibrated[pos], slope[pos] = cal.exact, cal.calibrated, cal.slope
        optimal.append(cal.optimal)
        curves.append({"network_indices": ks, "z_centre": cal.z_centre, "logit_mean": cal.logit_mean,
                       "optimal_mean": cal.optimal_mean, "slope": cal.slope})
    agreement = {"exact": float(np.median(exact)),
                 "calibrated": float(np.nanmedian(calibrated)) if np.any(np.isfinite(calibrated)) else None,
                 "optimal": float(min(optimal)), "logit_slope": float(np.median(slope))}
    return agreement, {"curves": curves, "exact": exact, "calibrated": calibrated}


def _task_accuracy(states, info, idx, fraction: float, rng, n_boot) -> tuple[dict, float, float]:
    """How well the networks solve their tasks: the interval over networks of each network's decision
    accuracy (sign of its read-out against the side of x*, mean over probe trials and tasks), and what the
    optimal agent is expected to score on the same latents, with all its evidence and with ``fraction`` of
    it: mean over trials, tasks and networks of Phi(|c_i . x* + b_i| / tau_i), tau_i of
    :func:`theory.accuracy.decision_scale` with v_d the variance of mu_d of the network's noise model
    (:func:`_noise_sd`), divided by ``fraction`` for the reduced evidence. The setting's networks share N."""
    N = int(info["ntask"][idx[0]])
    designs = [info["designs"][k] for k in idx]
    C, b = np.stack([d.C for d in designs]), np.stack([d.b for d in designs])            # (K, N, D), (K, N)
    side = np.einsum("knd,kjd->knj", states.x_star[idx], C) + b[:, None]                  # (K, n, N)
    acc = np.mean((states.logits[idx, :, :N] > 0) == (side > 0), axis=(1, 2))               # (K,)
    tau = np.stack([decision_scale(d, _noise_sd(states, info, k) ** 2 / states.t)
                    for d, k in zip(designs, idx)])[:, None]                                # (K, 1, N)
    optimal, reduced = (float(np.mean(ndtr(np.abs(side) * np.sqrt(f) / tau))) for f in (1.0, fraction))
    return _interval(acc[:, None], rng, n_boot, upper=1.0), optimal, reduced


def _angles(hidden, x, ridges, rng, n_boot) -> tuple[dict, dict] | None:
    """Encoding-axis, ridge-decoder and (sensitivity) least-squares decoder angles, with intervals;
    and the per-network ridge and encoding angles, (K', pairs) nested lists (keys ridge_cv_degrees,
    encoding_degrees: one JSON type per field name, docs/networks.md).

    A network whose state carries nothing of some coordinate (an all-zero encoding axis or decoder
    column, e.g. every unit silent) has no angle: it is left out (K' <= K); None when no network is left.
    """
    axes = [encoding_axes(hidden, x), fit_linear_decoder(hidden, x, np.median(ridges, axis=-1)).W,
            fit_linear_decoder(hidden, x, 0.0).W]                          # each (K, H, D)
    defined = np.all([np.all(np.linalg.norm(V, axis=-2) > 0, axis=-1) for V in axes], axis=0)
    if not defined.any():
        return None
    enc, ridge, ls = (pairwise_angles(V[defined]) for V in axes)         # (K', P)
    r = np.random.default_rng(rng).spawn(3)
    return {"encoding": _interval(enc, r[0], n_boot), "ridge_cv": _interval(ridge, r[1], n_boot),
            "lstsq_sensitivity": _interval(ls, r[2], n_boot)}, \
        {"ridge_cv_degrees": ridge.tolist(), "encoding_degrees": enc.tolist()}


def _records(name, fit_r2, idx, info, names, readout, protocol, t) -> list:
    return [{"network": int(k), "ntask": int(info["ntask"][k]), "sigma": float(info["sigma"][k]), "t": int(t),
             "fold": names[f], "decoder": name, "readout": readout, "protocol": protocol, "r2": float(fit_r2[p, f])}
            for p, k in enumerate(idx) for f in range(len(names))]


def measure_setting(states, info, setting, config, rng, decoders=tuple(DECODERS)) -> tuple[dict, list, dict]:
    """The measured part of one row, its tidy records and its figure data.

    Parameters
    ----------
    states : pipeline.States of the whole ensemble (the setting's networks are picked by index)
    info : pipeline.network_info of the ensemble
    setting : experiment.Setting
    config : NetworkCheckConfig (normalisation, reference_defect, n_boot)
    rng : seed or Generator; decoders : names from analysis.decoders.DECODERS (headline first)

    Returns
    -------
    row : dict with headline_decoder, decoders {name: interval}, ood_last_stimulus, ood_optimal,
        reference_emulation, task_accuracy (interval; None for non-affine boundaries) with
        task_accuracy_optimal and task_accuracy_half_evidence, mu_agreement, angles, networks
    records : list of tidy dicts (network, ntask, sigma, t, fold, decoder, readout, protocol, r2)
    figure : dict with calibration curves and per-network headline medians
    """
    idx = list(setting.networks)
    hidden, x = states.hidden[idx], states.x_star[idx]
    kw = dict(normalisation=config.normalisation, ntask=info["ntask"][idx], steps=config.adam_steps)
    protocol = "reference_defect" if config.reference_defect else "honest"
    splits = fold_splits(x, reference_defect=config.reference_defect)
    streams = iter(np.random.SeedSequence(np.random.default_rng(rng).integers(2**63)).spawn(32))
    row, records, fits = {"headline_decoder": HEADLINE, "decoders": {}}, [], {}
    for name in decoders:
        fits[name] = DECODERS[name](hidden, x, splits, rng=next(streams), **kw)
        row["decoders"][name] = _r2_interval(fits[name].r2, next(streams), config.n_boot)
        records += _records(name, fits[name].r2, idx, info, splits.names, "decision", protocol, states.t)
    head = fits[HEADLINE] if HEADLINE in fits else ridge_cv(hidden, x, splits, **kw)
    # on the free timeline the last stimulus step is the last step: nothing new to decode
    stim = ridge_cv(states.hidden_stim[idx], x, splits, **kw) if info["timeline"] == "fixed" else head
    row["ood_last_stimulus"] = _r2_interval(stim.r2, next(streams), config.n_boot)
    records += _records(HEADLINE, stim.r2, idx, info, splits.names, "last_stimulus", protocol, states.t)
    opt = lstsq(states.mu[idx], x, splits, **kw)
    row["ood_optimal"] = _r2_interval(opt.r2, next(streams), config.n_boot)
    records += _records("lstsq", opt.r2, idx, info, splits.names, "optimal_agent_mu", protocol, states.t)
    if x.shape[-1] == 2:
        if config.reference_defect and "reference_adam" in fits:
            emu = fits["reference_adam"]
        else:
            emu = reference_adam(hidden, x, fold_splits(x, reference_defect=True), rng=next(streams), **kw)
            records += _records("reference_adam", emu.r2, idx, info, splits.names, "decision", "reference_defect",
                                states.t)
        # like the reference's figure: percentiles over networks x folds x fits pooled (n_folds = folds x fits)
        row["reference_emulation"] = _r2_interval(emu.r2_fits.reshape(len(idx), -1), next(streams), config.n_boot)
    figure = {"headline_per_network": np.median(head.r2, axis=-1), "calibration": None}
    # mu is trilaterated from the logits only where it is identified (rank C = D, Theorem 3.1) and the
    # boundaries are the affine ones of the theorem (not the multiplicative variant)
    identified = info["boundaries"] == "linear" and all(np.linalg.matrix_rank(info["designs"][k].C) == x.shape[-1]
                                                        for k in idx)
    if info["boundaries"] == "linear":      # the sign of each read-out is the network's answer (both timelines)
        row["task_accuracy"], row["task_accuracy_optimal"], row["task_accuracy_half_evidence"] = _task_accuracy(
            states, info, idx, EVIDENCE_FRACTION, next(streams), config.n_boot)
    else:
        row["task_accuracy"], row["task_accuracy_optimal"], row["task_accuracy_half_evidence"] = None, None, None
    if info["timeline"] == "fixed" and identified:
        row["mu_agreement"], figure["calibration"] = _calibration(states, info, idx)
    else:
        row["mu_agreement"] = {"exact": None, "calibrated": None, "optimal": None, "logit_slope": None}
    # per-network angles (K, pairs) too: the verdict on angles (Fig. 3c) bootstraps over networks
    angles = _angles(hidden, x, head.ridge, next(streams), config.n_boot) if hidden.shape[-1] >= x.shape[-1] else None
    if angles is not None:
        row["angles"], row["angles_per_network"] = angles
    else:   # H < D: D directions in R^H are dependent; or no network's state carries every coordinate
        empty = dict.fromkeys(("median", "q25", "q75", "ci_low", "ci_high", "n_networks", "n_folds"))
        row["angles"] = {name: dict(empty) for name in ("encoding", "ridge_cv", "lstsq_sensitivity")}
        row["angles_per_network"] = None
    row["networks"] = len(idx)
    row["values"] = {"headline": head.r2}
    return row, records, figure
