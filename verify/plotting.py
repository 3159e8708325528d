"""Shared plotting helpers: theory curves with Monte-Carlo (or measured) points and error bars.

Figures are built on matplotlib's object API with the Agg canvas (no pyplot global state, no
display needed) and saved atomically through :func:`infra.store.atomic_write_bytes`.
"""
from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from infra.store import atomic_write_bytes


def new_figure(ncols: int = 1, width: float = 5.0, height: float = 3.6):
    """A Figure with ``ncols`` side-by-side axes on an Agg canvas. Returns (fig, list of axes)."""
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def plot_theory_with_points(ax, x_theory, y_theory, x_points, y_points, se_points=None, *, k: float = 1.0,
                            label: str = "", color=None, theory_style: str = "-"):
    """Draw a theory line and measured points with +-k SE error bars on ``ax``.

    Parameters
    ----------
    x_theory, y_theory : ndarray, shape (M,), the closed form on a grid
    x_points, y_points : ndarray, shape (K,), the measurements
    se_points : ndarray, shape (K,), standard errors (or None for no bars)
    k : half-width of the error bars in standard errors
    """
    x_theory, y_theory = np.asarray(x_theory, float), np.asarray(y_theory, float)
    x_points, y_points = np.asarray(x_points, float), np.asarray(y_points, float)
    if x_theory.shape != y_theory.shape or x_points.shape != y_points.shape:
        raise ValueError(f"x and y shapes differ: theory {x_theory.shape} vs {y_theory.shape}, "
                         f"points {x_points.shape} vs {y_points.shape}")
    (line,) = ax.plot(x_theory, y_theory, theory_style, color=color, lw=1.5,
                      label=f"{label} theory" if label else "theory")
    yerr = None if se_points is None else k * np.asarray(se_points, float)
    ax.errorbar(x_points, y_points, yerr=yerr, fmt="o", ms=3, capsize=2, color=line.get_color(),
                label=(f"{label} simulation" if label else "simulation")
                + (f" (+-{k:.3g} SE)" if yerr is not None else ""))
    return line


def save_figure(fig, path, dpi: int = 120):
    """Render ``fig`` as PNG and write it to ``path`` atomically. Returns the path."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return atomic_write_bytes(path, buf.getvalue())
