"""Figures of the sweep experiments (5b, S1, S5c, S6, hidden size, large N): headline OOD r^2
against one axis, one line per value of a second, with the theory line of every cell.

Each line: the headline decoder's median with the 95% t interval of its mean over networks as a band,
every network's own median as a point, and the cell's theory line (dashed, same colour: the paper's
protocol line, what a linear decoder of mu(t) reaches, or the experiment's own line); cells the theory
marks as not identifiable are drawn with hollow markers.
"""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps

from analysis.decoders import HEADLINE
from verify.plotting import new_figure, save_figure


def _lines(rows, figures, line_key):
    groups: dict = {}
    for r, f in zip(rows, figures):
        groups.setdefault(r[line_key], []).append((r, f))
    return groups


def draw_sweep(ax, rows, figures, x_key: str, line_key: str, theory_key: str = "r2_protocol",
               theory_label: str = "paper's protocol line", x_label: str | None = None) -> None:
    """Headline OOD r^2 vs ``x_key``, one line per ``line_key`` value, theory dashed per line."""
    groups = _lines(rows, figures, line_key)
    cmap = colormaps["viridis"]
    for i, (value, cells) in enumerate(sorted(groups.items(), key=lambda kv: str(kv[0]))):
        cells = sorted(cells, key=lambda rf: rf[0][x_key])
        colour = cmap(i / max(len(groups) - 1, 1) * 0.85)
        x = np.array([r[x_key] for r, _ in cells], dtype=float)
        med = [r["decoders"][HEADLINE]["median"] for r, _ in cells]
        lo = [r["decoders"][HEADLINE]["ci_low"] for r, _ in cells]
        hi = [r["decoders"][HEADLINE]["ci_high"] for r, _ in cells]
        ax.plot(x, med, "-", color=colour, lw=1.6,
                label=f"{line_key} = {value}: median; band: 95% t interval of the mean")
        ax.fill_between(x, lo, hi, color=colour, alpha=0.18, lw=0)
        ax.plot(x, [r[theory_key] for r, _ in cells], "--", color=colour, lw=1.1)
        for xi, (r, f) in zip(x, cells):
            pts = np.asarray(f["headline_per_network"])
            face = colour if r.get("identifiable", True) else "none"
            shift = 1 + 0.02 * (i - (len(groups) - 1) / 2)        # lines side by side (relative: log axes too)
            ax.scatter(np.full(len(pts), xi * shift), pts, s=14,
                       facecolor=face, edgecolor=colour, lw=0.8, zorder=3)
    xs = sorted({r[x_key] for r in rows})
    ax.set_xticks(xs, [f"{v:g}" for v in xs])
    meds = [r["decoders"][HEADLINE]["median"] for r in rows] + [r[theory_key] for r in rows]
    ax.set_ylim(max(min(meds) - 0.15, -0.5), 1.02)     # a diverging interval of an untrained network is clipped
    ax.plot([], [], "k--", lw=1.1, label=f"{theory_label} (a linear decoder of mu; per line)")
    ax.scatter([], [], s=14, facecolor="0.5", edgecolor="0.5", label="each network (hollow: not identifiable)")
    ax.set_xlabel(x_label or x_key)
    ax.set_ylabel(f"OOD r$^2$ of decoded x* ({HEADLINE})")
    ax.legend(fontsize=6.5, loc="best")


def setting_label(row: dict, budget: str) -> str:
    """'sigma = 0.2, t = 20, rnn; <budget>': the run setting a sweep figure's title names, from a row."""
    return f"sigma = {row['sigma']:g}, t = {row['t']}, {row['arch']}; {budget}"


def plot_sweep(rows, figures, x_key: str, line_key: str, path, title: str, x_label: str | None = None,
               log_x: bool = False) -> list:
    """One-panel sweep figure (see :func:`draw_sweep`); returns [path]."""
    fig, (ax,) = new_figure(width=6.0, height=4.4)
    draw_sweep(ax, rows, figures, x_key, line_key, x_label=x_label)
    if log_x:
        xs = sorted({r[x_key] for r in rows})
        ax.set_xscale("log", base=2)
        ax.minorticks_off()
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
    ax.set_title(title, fontsize=7.5, wrap=True)
    save_figure(fig, path)
    return [path]


def plot_angles_sweep(rows, x_key: str, line_key: str, path, title: str) -> list:
    """Median pairwise ridge-decoder and encoding-axis angles vs ``x_key`` with intervals."""
    fig, (ax,) = new_figure(width=5.5, height=4.0)
    groups = _lines(rows, rows, line_key)
    cmap = colormaps["viridis"]
    for i, (value, cells) in enumerate(sorted(groups.items(), key=lambda kv: str(kv[0]))):
        cells = sorted((r for r, _ in cells), key=lambda r: r[x_key])
        colour = cmap(i / max(len(groups) - 1, 1) * 0.85)
        x = np.array([r[x_key] for r in cells], dtype=float)
        for key, style in (("ridge_cv", "o-"), ("encoding", "s:")):
            # dtype float: a state with fewer units than D has no angles (None -> nan, not drawn)
            med, lo, hi = (np.array([r["angles"][key][q] for r in cells], dtype=float)
                           for q in ("median", "ci_low", "ci_high"))
            err = np.array([med - lo, hi - med])
            ax.errorbar(x, med, yerr=np.maximum(err, 0), fmt=style, color=colour, capsize=2, ms=3,
                        label=f"{line_key} = {value}: {key} angles, median, 95% t interval")
    ax.axhline(90, color="gray", lw=0.8)
    ax.set_xlabel(x_key)
    ax.set_ylabel("pairwise angle between factor directions (deg)")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=6)
    save_figure(fig, path)
    return [path]
