"""Figures of the network checks: what a researcher would show.

- OOD r^2 vs the experiment's axis: each decoder's median with the 95% t interval of its mean over
  networks as a band, each network's headline median as a point, the paper's three lines (what a linear
  decoder of mu(t) reaches; not bounds) in distinct styles, the optimal agent's OOD r^2;
- calibration: binned network logits against the optimal probit z, the optimal logit l*(z) and
  each network's calibrated line;
- angles vs N (encoding axes, ridge decoders with intervals, least squares as sensitivity);
- PCA trajectories coloured by the angle of x*, start and end marked;
- multipliers of dF/dh at the fixed points against the unit circle;
- tuning maps with colour bars.
"""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from analysis.decoders import DECODERS, HEADLINE
from verify.plotting import new_figure, save_figure

_COLOURS = {"ridge_cv": "tab:blue", "lstsq": "tab:red", "whole_cube": "tab:green", "reference_adam": "tab:purple"}
_AXIS_LABELS = {"ntask": "number of tasks N", "t": "evidence samples t (= timing + 1)", "sigma": "noise sd sigma"}


def _draw_r2(ax, rows, figs, axis, x, points: bool) -> None:
    for name in DECODERS:
        mean = [r["decoders"][name].get("estimate", r["decoders"][name]["median"]) for r in rows]
        lo = [r["decoders"][name]["ci_low"] for r in rows]
        hi = [r["decoders"][name]["ci_high"] for r in rows]
        lw = 2.0 if name == HEADLINE else 1.0
        ax.plot(x, mean, "o-", color=_COLOURS[name], lw=lw, ms=4,
                label=f"{name}{' (headline)' if name == HEADLINE else ''}: mean over networks, 95% t interval")
        ax.fill_between(x, lo, hi, color=_COLOURS[name], alpha=0.15, lw=0)
    if points:
        for xi in x:
            pts = np.asarray(figs[xi]["headline_per_network"])
            jitter = xi * (1 + 0.03 * np.linspace(-1, 1, len(pts))) if axis == "ntask" else np.full(len(pts), xi)
            ax.scatter(jitter, pts, s=12, color=_COLOURS[HEADLINE], edgecolor="k", lw=0.4, zorder=3)
        ax.scatter([], [], s=12, color=_COLOURS[HEADLINE], edgecolor="k", lw=0.4, label=f"{HEADLINE}: each network")
    ax.plot(x, [r["ood_optimal"]["median"] for r in rows], "kx", ms=6, label="optimal agent (mu, same trials)")
    ax.plot(x, [r["r2_ceiling"] for r in rows], "-", color="0.4", lw=1.2,
            label=r"paper's line $1 - 12\sigma^2/t$ (a linear decoder of $\mu$)")
    ax.plot(x, [r["r2_protocol"] for r in rows], ":", color="k", lw=1.5,
            label=r"paper's protocol line (a linear decoder of $\mu$, held-out region)")
    ax.plot(x, [r["r2_id_ceiling"] for r in rows], "--", color="tab:orange", lw=1.2,
            label=r"paper's ID line $1/(1 + 12\sigma^2/t)$")
    if all("r2_bayes" in r for r in rows):
        ax.plot(x, [r["r2_bayes"] for r in rows], "-.", color="tab:brown", lw=1.4,
                label=r"Bayes bound (posterior mean of $x^*$; no decoder beats it)")
    if axis == "ntask":
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.set_xlabel(_AXIS_LABELS[axis])


def plot_r2(rows, figures, axis: str, path, budget: str) -> None:
    """OOD r^2 of every decoder vs ``axis`` with interval bands, per-network points and the paper's lines;
    the right panel zooms in on the lines (they differ by ~1e-3 at sigma 0.2, t 20)."""
    rows = sorted(rows, key=lambda r: r[axis])
    figs = {f[axis]: f for f in figures}
    x = np.array([r[axis] for r in rows], dtype=float)
    fig, (ax, zoom) = new_figure(ncols=2, width=5.2, height=4.4)
    _draw_r2(ax, rows, figs, axis, x, points=True)
    _draw_r2(zoom, rows, figs, axis, x, points=True)
    ceilings = [r[k] for r in rows for k in ("r2_ceiling", "r2_protocol", "r2_id_ceiling")]
    spread = max(ceilings) - min(ceilings)
    zoom.set_ylim(min(ceilings) - max(4 * spread, 0.01), max(ceilings) + max(spread, 0.002))
    zoom.set_title("zoom on the lines", fontsize=9)
    zoom.set_ylabel("r$^2$ (zoom)")
    ax.set_ylabel("r$^2$ of decoded x* (held-out region)")
    means = [r["decoders"][name].get("estimate", r["decoders"][name]["median"]) for r in rows for name in DECODERS]
    ax.set_ylim(max(min(means) - 0.1, -1.0), 1.02)      # a diverging sensitivity decoder's band is cut, not drawn
    r0 = rows[0]
    fixed = {"ntask": f"sigma = {r0['sigma']:g}, t = {r0['t']}", "t": f"sigma = {r0['sigma']:g}, N = {r0['ntask']}",
             "sigma": f"t = {r0['t']}, N = {r0['ntask']}"}[axis]
    ax.set_title(f"OOD r$^2$ vs {axis} ({fixed}; {budget})", fontsize=8)
    ax.legend(fontsize=6.5, loc="lower right")
    save_figure(fig, path)


def plot_calibration(rows, figures, path) -> None:
    """Binned logits vs the optimal probit z, one panel per N (fixed timeline only)."""
    panels = [(r, f) for r, f in zip(rows, figures) if f.get("calibration")]
    fig, axes = new_figure(ncols=len(panels), width=4.2, height=4.0)
    for ax, (row, f) in zip(axes, panels):
        zmax = 0.0
        for cur in f["calibration"]["curves"]:
            zs = np.asarray(cur["z_centre"])
            zmax = max(zmax, np.nanmax(np.abs(zs)))
            ax.plot(zs[0], np.asarray(cur["optimal_mean"])[0], "k-", lw=2, label="optimal logit $l^*(z)$ (binned)")
            for k, z, curve, a in zip(cur["network_indices"], zs, cur["logit_mean"], cur["slope"]):
                (line,) = ax.plot(z, curve, "o", ms=3, label=f"network {k} (binned)")
                ax.plot(z, a * z, "--", lw=0.8, color=line.get_color(), label=f"network {k}: calibrated {a:.2f} z")
        ax.set_xlim(-zmax * 1.05, zmax * 1.05)
        ax.set_xlabel(r"optimal probit $z = \sqrt{t}\,(c\cdot\mu + b)/(\sigma |c|)$")
        ax.set_ylabel("network output logit")
        mu = row["mu_agreement"]
        exact, cal = (("n/a" if v is None else f"{v:.3f}") for v in (mu["exact"], mu["calibrated"]))
        where = f"D = {row['D']}, " if "D" in row else ""
        ax.set_title(f"{where}N = {row['ntask']}: mu agreement exact {exact}, calibrated {cal}", fontsize=8)
        handles, labels = ax.get_legend_handles_labels()
        keep = dict(zip(labels, handles))
        ax.legend(keep.values(), keep.keys(), fontsize=6)
    save_figure(fig, path)


def plot_angles(rows, path) -> None:
    """Angles between factor directions vs N, with intervals; least squares as a sensitivity row."""
    fig, (ax,) = new_figure()
    x = np.array([r["ntask"] for r in rows], dtype=float)
    for key, label, style in (("encoding", "encoding axes (h ~ A x*)", "o-"),
                              ("ridge_cv", "ridge decoders (headline)", "s-"),
                              ("lstsq_sensitivity", "least-squares decoders (sensitivity only)", "^:")):
        # dtype float: a state with fewer units than D has no angles (None -> nan, not drawn)
        med, lo, hi = (np.array([r["angles"][key][q] for r in rows], dtype=float)
                       for q in ("median", "ci_low", "ci_high"))
        err = np.array([med - lo, hi - med])
        ax.errorbar(x, med, yerr=np.maximum(err, 0), fmt=style, capsize=3, ms=4,
                    label=f"{label}: median, 95% t interval of the mean")
    ax.plot(x, [r["output_angle"] for r in rows], "k--", label="output-space angle of the design (theory)")
    ax.axhline(90, color="gray", lw=0.8)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.set_xlabel("number of tasks N")
    ax.set_ylabel("angle between the factor directions (deg)")
    ax.set_title("hidden-space angles of x*_1 and x*_2", fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_pca(dyn, path) -> None:
    """Noiseless trajectories in PC1-2, coloured by the angle of x*, start (o) and end (x) marked."""
    nets = dyn["networks"]
    grid = np.asarray(dyn["grid"])
    angle = np.degrees(np.arctan2(grid[:, 1], grid[:, 0]))
    cmap, norm = colormaps["twilight"], Normalize(-180, 180)
    fig, axes = new_figure(ncols=len(nets), width=3.6, height=3.4)
    for ax, d in zip(axes, nets):
        for traj, a in zip(d["trajectory_pca"], angle):
            c = cmap(norm(a))
            ax.plot(traj[:, 0], traj[:, 1], lw=0.7, color=c)
            ax.plot(traj[0, 0], traj[0, 1], "o", ms=3, color=c, mec="k", mew=0.3)
            ax.plot(traj[-1, 0], traj[-1, 1], "X", ms=5, color=c, mec="k", mew=0.3)
        ev = d["pca_explained"]
        ax.set_xlabel(f"PC1 ({100 * ev[0]:.0f}% var)")
        ax.set_ylabel(f"PC2 ({100 * ev[1]:.0f}% var)")
        ax.set_title(f"N = {dyn['ntask']}, network {d['network']} (o start, X decision)", fontsize=8)
    fig.colorbar(ScalarMappable(norm, cmap), ax=axes, label="angle of x* (deg)")
    save_figure(fig, path)


def plot_multipliers(dyn, path) -> None:
    """Eigenvalues of dF/dh at each network's fixed points, with the unit circle."""
    nets = dyn["networks"]
    fig, axes = new_figure(ncols=len(nets), width=3.4, height=3.4)
    theta = np.linspace(0, 2 * np.pi, 200)
    for ax, d in zip(axes, nets):
        ax.plot(np.cos(theta), np.sin(theta), color="gray", lw=0.8)
        m = np.asarray(d["multipliers"])
        if m.size:
            ax.scatter(m.real.ravel(), m.imag.ravel(), s=5, alpha=0.5)
        ax.set_aspect("equal")
        ax.set_xlabel("Re(multiplier)")
        ax.set_ylabel("Im(multiplier)")
        ax.set_title(f"N = {dyn['ntask']}, network {d['network']}: {d['fixed_points']} fixed points", fontsize=8)
    save_figure(fig, path)


def plot_tuning(rates, ntask, path, n_units: int = 4, label: str = "rate") -> None:
    """Maps over the grid of the most variable units of the most active network with the largest N;
    rates (K, 64, H) on the 8 x 8 grid, ntask (K,); ``label`` names the colour bar."""
    rates, ntask = np.asarray(rates), np.asarray(ntask)
    top = np.flatnonzero(ntask == ntask.max())
    k = int(top[np.argmax([np.mean(rates[j] > 0) for j in top])])
    units = np.argsort(-rates[k].var(axis=0))[:n_units]
    side = int(round(np.sqrt(rates.shape[1])))
    fig, axes = new_figure(ncols=n_units, width=3.0, height=2.8)
    for ax, unit in zip(axes, units):
        im = ax.imshow(rates[k][:, unit].reshape(side, side).T, origin="lower", extent=(-0.5, 0.5, -0.5, 0.5),
                       cmap="viridis")
        fig.colorbar(im, ax=ax, label=label, shrink=0.8)
        ax.set_xlabel("x*$_1$")
        ax.set_ylabel("x*$_2$")
        ax.set_title(f"N = {ntask[k]}, network {k}, unit {unit}", fontsize=8)
    save_figure(fig, path)
