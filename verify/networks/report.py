"""Files and figures of the network checks (:mod:`verify.networks.cli`): CSV, NPZ, JSON and PNG.

Everything is written atomically into ``OUT/<config hash>/`` (the hash of the full check
configuration, :attr:`verify.networks.config.NetworkCheckConfig.key`), so runs with different
options never overwrite each other's files (the columns are documented in docs/networks.md):

  rows.csv                one row per experiment setting (nested keys flattened with '.')
  per_network.csv         the tidy table: one r^2 per network x fold x decoder x read-out
  tuning.csv              experiment 4 per N (an experiment whose ``output`` is "tuning")
  results.json            configuration, rows, verdicts, skipped claims, calibration curves
  tuning.npz, dynamics.npz  rates on the grid (and the transformer's attention values); PCA
                          trajectories and multipliers (``output`` "dynamics")
  r2_vs_ntask.png, calibration.png, angles_vs_ntask.png, free_rt.png, sigma.png, tuning.png,
  tuning_values.png (transformer), pca.png, eigenvalues.png  the figures
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.decoders import DECODERS
from infra.store import atomic_save_npz, atomic_write_bytes, atomic_write_json, csv_bytes
from verify.networks import figures

_R2_FIGURES = {"ntask": "r2_vs_ntask.png", "t": "free_rt.png", "sigma": "sigma.png"}


def flatten(row: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}: nested row keys as CSV columns."""
    out = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out |= flatten(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def _calibration_json(ensemble: dict) -> list:
    keys = ("network_indices", "z_centre", "logit_mean", "optimal_mean", "slope")
    return [{"ntask": f.get("ntask"), **{k: c[k] for k in keys}}
            for f in ensemble["figures"] if f.get("calibration") for c in f["calibration"]["curves"]]


def _tuning_summary(tun: dict) -> dict:
    return {"tuning": tun["rows"]}


def _tuning_files(tun: dict, out: Path) -> list[Path]:
    files = [atomic_write_bytes(out / "tuning.csv", csv_bytes(tun["rows"]))]
    values = {} if tun["values"] is None else {"values": tun["values"],
                                                "values_correlations": tun["values_correlations"]}
    files.append(atomic_save_npz(out / "tuning.npz", grid=tun["grid"], rates=tun["rates"],
                                 correlations=tun["correlations"], ntask=tun["ntask"], **values))
    figures.plot_tuning(tun["rates"], tun["ntask"], out / "tuning.png")
    files.append(out / "tuning.png")
    if values:
        figures.plot_tuning(tun["values"], tun["ntask"], out / "tuning_values.png", label="value")
        files.append(out / "tuning_values.png")
    return files


def _tuning_lines(tun: dict) -> list[str]:
    return [f"[tuning {row['source']}] N={row['ntask']}: median |corr| x1 {row['abs_corr_x1_median']:.2f}, "
            f"x2 {row['abs_corr_x2_median']:.2f}; mixed {row['mixed_fraction']:.2f}; "
            + ("" if row["sparseness_median"] is None else f"sparseness {row['sparseness_median']:.2f}; ")
            + f"silent {row['silent_fraction']:.2f}" for row in tun["rows"]]


def _dynamics_summary(dyn: dict) -> dict:
    return {"dynamics": [{k: v for k, v in d.items() if k not in ("trajectory_pca", "multipliers")}
                         for d in dyn["networks"]]}


def _dynamics_files(dyn: dict, out: Path) -> list[Path]:
    if not dyn["networks"]:
        return []
    arrays = {f"net{d['network']}_{k}": np.asarray(d[k]) for d in dyn["networks"]
              for k in ("trajectory_pca", "multipliers")}
    files = [atomic_save_npz(out / "dynamics.npz", grid=dyn["grid"], **arrays)]
    figures.plot_pca(dyn, out / "pca.png")
    figures.plot_multipliers(dyn, out / "eigenvalues.png")
    return files + [out / "pca.png", out / "eigenvalues.png"]


def _dynamics_lines(dyn: dict) -> list[str]:
    return [f"[dynamics] net {d['network']}: PC1+PC2 {sum(d['pca_explained'][:2]):.3f} of variance; "
            f"{d['fixed_points']} fixed points; near-unit multipliers per point {d['near_unit_counts'][:12]}"
            for d in dyn["networks"]]


@dataclass(frozen=True)
class ExtraOutput:
    """What an experiment's ``extra`` result adds to a run: JSON summary entries, files, text lines."""

    summary: Callable[[dict], dict]
    files: Callable[[dict, Path], list]
    lines: Callable[[dict], list]


#: Extra outputs by kind (:attr:`verify.networks.experiment.Experiment.output`).
EXTRA_OUTPUTS = {"tuning": ExtraOutput(_tuning_summary, _tuning_files, _tuning_lines),
                 "dynamics": ExtraOutput(_dynamics_summary, _dynamics_files, _dynamics_lines)}


def _extras(g: dict):
    """(extra result, its ExtraOutput) of every experiment of an ensemble that declares an output."""
    return [(g["extras"][name], EXTRA_OUTPUTS[kind]) for name, kind in g.get("outputs", {}).items()]


def summary(result: dict) -> dict:
    """The JSON-able per-ensemble part of a :func:`verify.networks.runner.run` result (no large arrays)."""
    out = {}
    for ensemble, g in result["results"].items():
        entry = {"rows": g["rows"], "training": g["training"], "calibration": _calibration_json(g)}
        for extra, kind in _extras(g):
            entry |= kind.summary(extra)
        out[ensemble] = entry
    return out


def budget_label(config: dict) -> str:
    return f"{config['batches']} batches, {config['networks']} networks per setting, {config['arch']}"


def write_outputs(result: dict, out, key: str) -> list[Path]:
    """Write the files of a run into ``out / key``; returns their paths."""
    out = Path(out) / key
    files = [atomic_write_json(out / "results.json", {
        "config": result["config"], "key": key, "rows": result["rows"], "summary": summary(result),
        "checks": [c.to_dict() for c in result["checks"]], "skipped": result["skipped"],
        "passed": result["passed"]})]
    if result["rows"]:
        files.append(atomic_write_bytes(out / "rows.csv", csv_bytes([flatten(r) for r in result["rows"]])))
    if result["per_network"]:
        files.append(atomic_write_bytes(out / "per_network.csv", csv_bytes(result["per_network"])))
    label = budget_label(result["config"])
    for ensemble, g in result["results"].items():
        if g.get("figure") is not None:   # an experiment's own figures (verify.networks sweeps)
            files += g["figure"](g, out, label)
        elif g["rows"]:
            path = out / _R2_FIGURES[g["axis"]]
            figures.plot_r2(g["rows"], g["figures"], g["axis"], path, label)
            files.append(path)
        if any(f.get("calibration") for f in g["figures"]):
            path = out / ("calibration.png" if ensemble == "reference" else f"calibration_{ensemble}.png")
            figures.plot_calibration(g["rows"], g["figures"], path)
            files.append(path)
        if g["axis"] == "ntask" and len(g["rows"]) > 0 and g.get("figure") is None:
            figures.plot_angles(g["rows"], out / "angles_vs_ntask.png")
            files.append(out / "angles_vs_ntask.png")
        for extra, kind in _extras(g):
            files += kind.files(extra, out)
    return files


def _cell(v, angle=False) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if angle else f"{v:.4f}"


def format_rows(result: dict) -> str:
    """Human-readable tables: every decoder's mean over networks [95% t interval] per setting, the paper's
    lines (what a linear decoder of mu reaches) and the Bayes bound, mu agreement and angles; then tuning,
    dynamics and skipped claims."""
    lines = []
    for ensemble, g in result["results"].items():
        if not g["rows"]:
            continue
        key = g["axis"]
        lines.append(f"[{ensemble}] OOD r^2 by decoder, mean over networks [95% t interval]; the paper's lines "
                     "(a linear decoder of mu: protocol, ID, 1 - 12 s^2/t) and the Bayes bound")
        lines.append(f"  {key:>6}  " + "  ".join(f"{n:>26}" for n in DECODERS)
                     + "  protocol        ID  1-12s2/t     Bayes")
        for r in g["rows"]:
            cells = [f"{d.get('estimate', d['median']):.4f} [{d['ci_low']:.4f}, {d['ci_high']:.4f}]"
                     for d in (r["decoders"][n] for n in DECODERS)]
            lines.append(f"  {r[key]:>6g}  " + "  ".join(f"{c:>26}" for c in cells)
                         + f"  {r['r2_protocol']:>8.4f}  {r['r2_id_ceiling']:>8.4f}  {r['r2_ceiling']:>8.4f}  "
                         f"{_cell(r.get('r2_bayes')):>8}")
        lines.append("  medians over networks (descriptive):")
        lines.append(f"  {key:>6}  last-stim  optimal  ref+defect  mu exact  mu calib  enc angle  ridge angle"
                     "  lstsq angle (sensitivity)")
        for r in g["rows"]:
            mu, a = r["mu_agreement"], r["angles"]
            emu = r.get("reference_emulation", {}).get("median")
            lines.append(f"  {r[key]:>6g}  {_cell(r['ood_last_stimulus']['median']):>9}  "
                         f"{_cell(r['ood_optimal']['median']):>7}  {_cell(emu):>10}  {_cell(mu['exact']):>8}  "
                         f"{_cell(mu['calibrated']):>8}  {_cell(a['encoding']['median'], True):>9}  "
                         f"{_cell(a['ridge_cv']['median'], True):>11}  "
                         f"{_cell(a['lstsq_sensitivity']['median'], True):>11}")
        training = g["training"]
        rate = training.get("network_batches_per_second")
        lines.append(f"  trained in {training['seconds']:.1f} s"
                     + (f" ({rate:.0f} network-batches/s)" if rate == rate else " (loaded from cache)"))
    for g in result["results"].values():
        for extra, kind in _extras(g):
            lines += kind.lines(extra)
    lines += [f"skipped: {s}" for s in result["skipped"]]
    return "\n".join(lines)
