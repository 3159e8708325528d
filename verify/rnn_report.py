"""Files and figures of the network checks (:mod:`verify.rnn`): CSV, NPZ, JSON and PNG.

Every file is written atomically into the output folder:
  rnn.csv, free_rt.csv, sigma.csv, tuning.csv   one row per N, t or sigma
  results.json                                  configuration, rows, verdicts, skipped claims
  tuning.npz, dynamics.npz                      rates on the grid; PCA trajectories, multipliers
  r2_vs_ntask.png, angles_vs_ntask.png, free_rt.png, sigma.png, tuning.png, pca.png,
  eigenvalues.png                               the figures
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from verify.plotting import new_figure, save_figure
from infra.store import atomic_save_npz, atomic_write_bytes, atomic_write_json, csv_bytes

_ROW_GROUPS = (("reference", "rnn.csv", "ntask"), ("free_rt", "free_rt.csv", "t"), ("sigma", "sigma.csv", "sigma"))


def summary(result: dict) -> dict:
    """The JSON-able part of a :func:`verify.rnn.run` result (no large arrays)."""
    out = {}
    for group, _, _ in _ROW_GROUPS:
        if group in result["results"]:
            g = result["results"][group]
            out[group] = {"rows": g["rows"], "training": g["training"]}
    ref = result["results"].get("reference", {})
    if "tuning" in ref:
        out["tuning"] = ref["tuning"]["rows"]
    if "dynamics" in ref:
        out["dynamics"] = [{k: v for k, v in d.items() if k not in ("trajectory_pca", "multipliers")}
                           for d in ref["dynamics"]["networks"]]
    return out


def _plot_r2(rows, key, path, xlabel, log_x=False):
    fig, (ax,) = new_figure()
    x = np.array([r[key] for r in rows], dtype=float)
    med = np.array([r["ood_r2_median"] for r in rows])
    err = np.array([[m - r["ood_r2_q25"] for m, r in zip(med, rows)], [r["ood_r2_q75"] - m for m, r in zip(med, rows)]])
    ax.errorbar(x, med, yerr=err, fmt="o-", capsize=3, label="network OOD r$^2$ (median, IQR)")
    if "id_r2_median" in rows[0]:
        ax.plot(x, [r["id_r2_median"] for r in rows], "s--", ms=4, label="network ID r$^2$")
    ax.plot(x, [r["ood_r2_optimal_median"] for r in rows], "x", color="k", label="optimal agent OOD r$^2$ (same trials)")
    ax.plot(x, [r["r2_ceiling"] for r in rows], "-", color="gray", label=r"ceiling $1 - 12\sigma^2/t$")
    ax.plot(x, [r["r2_protocol"] for r in rows], ":", color="gray", label="protocol ceiling (OOD)")
    ax.plot(x, [r["r2_id_ceiling"] for r in rows], "-.", color="tab:orange", lw=0.8, label="ID ceiling (fitted decoder)")
    if log_x:
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("r$^2$ (decoded x*)")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def _plot_angles(rows, path):
    fig, (ax,) = new_figure()
    x = [r["ntask"] for r in rows]
    ax.plot(x, [r["angle_median"] for r in rows], "o-", label="decoder angle (hidden space, median)")
    ax.plot(x, [r["output_angle"] for r in rows], "k--", label="output-space angle of the design (theory)")
    ax.axhline(90, color="gray", lw=0.8)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(x, [str(v) for v in x])
    ax.set_xlabel("number of tasks N")
    ax.set_ylabel("angle between factor directions (deg)")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def _plot_tuning(tun, path):
    rates, corr = tun["rates"], tun["correlations"]
    k = int(np.argmax([np.mean(r > 0) for r in rates]))       # the most active network
    order = np.argsort(-rates[k].var(axis=0))[:8]
    fig, axes = new_figure(ncols=5, width=2.4, height=2.4)
    side = int(round(np.sqrt(rates.shape[1])))
    for ax, unit in zip(axes[:4], order):
        ax.imshow(rates[k][:, unit].reshape(side, side).T, origin="lower", extent=(-0.5, 0.5, -0.5, 0.5))
        ax.set_title(f"unit {unit}", fontsize=8)
        ax.set_xlabel("x1", fontsize=7)
    c = corr.reshape(-1, corr.shape[-1])
    axes[4].scatter(c[:, 0], c[:, 1] if c.shape[1] > 1 else np.zeros(len(c)), s=4, alpha=0.5)
    axes[4].set_xlabel("corr with x1", fontsize=7)
    axes[4].set_ylabel("corr with x2", fontsize=7)
    axes[4].set_title("all units", fontsize=8)
    save_figure(fig, path)


def _plot_dynamics(dyn, pca_path, eig_path):
    nets = dyn["networks"]
    fig, axes = new_figure(ncols=len(nets), width=3, height=3)
    for ax, d in zip(axes, nets):
        for traj in d["trajectory_pca"]:
            ax.plot(traj[:, 0], traj[:, 1], lw=0.6, alpha=0.6)
        ax.set_title(f"net {d['network']}: PC1-2 {100 * sum(d['pca_explained'][:2]):.0f}%", fontsize=8)
    save_figure(fig, pca_path)
    fig, axes = new_figure(ncols=len(nets), width=3, height=3)
    theta = np.linspace(0, 2 * np.pi, 200)
    for ax, d in zip(axes, nets):
        ax.plot(np.cos(theta), np.sin(theta), color="gray", lw=0.8)
        m = np.asarray(d["multipliers"])
        if m.size:
            ax.scatter(m.real.ravel(), m.imag.ravel(), s=4, alpha=0.5)
        ax.set_aspect("equal")
        ax.set_title(f"net {d['network']}: {d['fixed_points']} fixed points", fontsize=8)
        ax.set_xlabel("Re multiplier of dF/dh", fontsize=7)
    save_figure(fig, eig_path)


def write_outputs(result: dict, out) -> list[Path]:
    """Write the CSV/JSON/NPZ/PNG files of a :func:`verify.rnn.run` result into ``out``."""
    out = Path(out)
    files = [atomic_write_json(out / "results.json", {"config": result["config"], "summary": summary(result),
                                                      "checks": [c.to_dict() for c in result["checks"]],
                                                      "skipped": result["skipped"], "passed": result["passed"]})]
    res = result["results"]
    for group, name, _ in _ROW_GROUPS:
        if group in res and res[group]["rows"]:
            files.append(atomic_write_bytes(out / name, csv_bytes(res[group]["rows"])))
    if "reference" in res:
        rows = res["reference"]["rows"]
        _plot_r2(rows, "ntask", out / "r2_vs_ntask.png", "number of tasks N", log_x=True)
        _plot_angles(rows, out / "angles_vs_ntask.png")
        files += [out / "r2_vs_ntask.png", out / "angles_vs_ntask.png"]
        if "tuning" in res["reference"]:
            tun = res["reference"]["tuning"]
            files.append(atomic_write_bytes(out / "tuning.csv", csv_bytes(tun["rows"])))
            files.append(atomic_save_npz(out / "tuning.npz", grid=tun["grid"], rates=tun["rates"],
                                         correlations=tun["correlations"]))
            _plot_tuning(tun, out / "tuning.png")
            files.append(out / "tuning.png")
        if "dynamics" in res["reference"]:
            dyn = res["reference"]["dynamics"]
            arrays = {f"net{d['network']}_{key}": np.asarray(d[key]) for d in dyn["networks"]
                      for key in ("trajectory_pca", "multipliers")}
            files.append(atomic_save_npz(out / "dynamics.npz", **arrays))
            _plot_dynamics(dyn, out / "pca.png", out / "eigenvalues.png")
            files += [out / "pca.png", out / "eigenvalues.png"]
    if "free_rt" in res:
        _plot_r2(res["free_rt"]["rows"], "t", out / "free_rt.png", "evidence samples t (= timing + 1)")
        files.append(out / "free_rt.png")
    if "sigma" in res:
        _plot_r2(sorted(res["sigma"]["rows"], key=lambda r: r["sigma"]), "sigma", out / "sigma.png", "noise sd sigma")
        files.append(out / "sigma.png")
    return files


def format_rows(result: dict) -> str:
    """Human-readable tables of the rows of each experiment, then skipped claims."""
    lines = []
    cols = ("ood_r2_median", "ood_r2_q25", "ood_r2_q75", "id_r2_median", "r2_id_ceiling", "ood_r2_optimal_median",
            "r2_protocol", "r2_ceiling", "angle_median", "mu_agreement_r2")
    for group, _, key in _ROW_GROUPS:
        if group not in result["results"]:
            continue
        rows = result["results"][group]["rows"]
        lines.append(f"[{group}]  " + f"{key:>6}  " + "  ".join(f"{c[:12]:>12}" for c in cols))
        for r in rows:
            cells = ["—" if r.get(c) is None else f"{r[c]:.4f}" if c != "angle_median" else f"{r[c]:.1f}" for c in cols]
            lines.append(" " * (len(group) + 4) + f"{r[key]:>6g}  " + "  ".join(f"{v:>12}" for v in cells))
        training = result["results"][group]["training"]
        rate = training.get("network_batches_per_second")
        lines.append(f"    trained in {training['seconds']:.1f} s"
                     + (f" ({rate:.0f} network-batches/s)" if rate == rate else " (loaded from cache)"))
    ref = result["results"].get("reference", {})
    for row in ref.get("tuning", {}).get("rows", []):
        lines.append(f"[tuning] N={row['ntask']}: median |corr| x1 {row['abs_corr_x1_median']:.2f}, "
                     f"x2 {row['abs_corr_x2_median']:.2f}; mixed {row['mixed_fraction']:.2f}; "
                     f"sparseness {row['sparseness_median']:.2f}; silent {row['silent_fraction']:.2f}")
    for d in ref.get("dynamics", {}).get("networks", []):
        lines.append(f"[dynamics] net {d['network']}: PC1+PC2 {sum(d['pca_explained'][:2]):.3f} of variance; "
                     f"{d['fixed_points']} fixed points; near-unit multipliers per point {d['near_unit_counts'][:12]}")
    lines += [f"skipped: {s}" for s in result["skipped"]]
    return "\n".join(lines)
