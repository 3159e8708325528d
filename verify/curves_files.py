"""Files of a :mod:`verify.curves` run: the rows as CSV, the checks as JSON, and the plots
(r^2 vs t with residuals, r^2 vs sigma, the angle spread vs N)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from infra.store import atomic_write_bytes, atomic_write_json, csv_bytes
from theory.angles import angle_spread
from theory.ceilings import r2_ceiling, r2_protocol
from theory.folds import ood_folds
from theory.noise import estimator_variance
from verify.plotting import new_figure, plot_theory_with_points, save_figure

#: Evidence length used for the r^2-vs-sigma plot and the headline of each check (the reference).
REFERENCE_T = 20


def _theory_vs_sigma(config, sigmas: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    folds = ood_folds(config.D)
    v = np.array([estimator_variance(config.noise_model(s), t, config.estimator) for s in sigmas])
    return r2_ceiling(v), np.mean([r2_protocol(v, f) for f in folds], axis=0)


def write_outputs(result: dict, config, out) -> list[Path]:
    """Write curves.csv, angles.csv, results.json and the PNG plots into ``out``."""
    out = Path(out)
    rows, angles, k, kp = result["rows"], result["angle_rows"], result["k_se"], result["k_se_protocol"]
    xkey = "timing" if config.free_rt else "t"
    paths = [atomic_write_bytes(out / "curves.csv", csv_bytes(rows))]
    if angles:
        paths.append(atomic_write_bytes(out / "angles.csv", csv_bytes(angles)))
    payload = {key: value for key, value in result.items() if key != "checks"}
    payload["checks"] = [c.to_dict() for c in result["checks"]]
    payload["passed"] = all(c.passed for c in result["checks"])
    paths.append(atomic_write_json(out / "results.json", payload))

    fig, (ax, res) = new_figure(2)
    for sigma in config.sigma:
        sel = [r for r in rows if r["sigma"] == float(sigma)]
        x = np.array([r[xkey] for r in sel])
        def get(key, sel=sel):
            return np.array([r[key] for r in sel])
        plot_theory_with_points(ax, x, get("r2_ceiling"), x, get("r2_mc"), get("r2_mc_se"), k=k,
                                label=f"ceiling sigma={sigma:g}")
        plot_theory_with_points(ax, x, get("r2_protocol"), x, get("r2_protocol_mc"), get("r2_protocol_mc_se"), k=kp,
                                label=f"protocol sigma={sigma:g}", theory_style="--")
        res.errorbar(x, get("r2_mc") - get("r2_ceiling"), yerr=k * get("r2_mc_se"), fmt="o", ms=3, capsize=2,
                     label=f"ceiling sigma={sigma:g}")
        res.errorbar(x, get("r2_protocol_mc") - get("r2_protocol"), yerr=kp * get("r2_protocol_mc_se"), fmt="s",
                     ms=3, capsize=2, label=f"protocol sigma={sigma:g}")
    res.axhline(0.0, color="k", lw=1)
    ax.set(xlabel="decision timing (t - 1 samples)" if config.free_rt else "evidence samples t", ylabel="r^2",
           title=f"r^2 vs t ({config.noise} noise, D={config.D})", ylim=(max(-0.5, ax.get_ylim()[0]), 1.0))
    res.set(xlabel=xkey, ylabel="simulation - theory",
            title=f"residuals (bars: +-{k:.2f} SE; protocol +-{kp:.2f} SE)")
    ax.legend(fontsize=7)
    res.legend(fontsize=7)
    paths.append(save_figure(fig, out / "r2_vs_t.png"))

    t_ref = int(min(config.samples, key=lambda t: abs(t - REFERENCE_T)))
    fig, (ax,) = new_figure(1)
    grid = np.linspace(max(config.sigma) * 1e-3, 1.25 * max(config.sigma), 200)
    ceiling, protocol = _theory_vs_sigma(config, grid, t_ref)
    sel = [r for r in rows if r["t"] == t_ref]
    x = np.array([r["sigma"] for r in sel])
    plot_theory_with_points(ax, grid, ceiling, x, [r["r2_mc"] for r in sel], [r["r2_mc_se"] for r in sel], k=k,
                            label="ceiling")
    plot_theory_with_points(ax, grid, protocol, x, [r["r2_protocol_mc"] for r in sel],
                            [r["r2_protocol_mc_se"] for r in sel], k=kp, label="protocol", theory_style="--")
    ax.set(xlabel="sigma (per-step noise sd)", ylabel="r^2", title=f"r^2 vs sigma at t={t_ref}")
    ax.legend(fontsize=7)
    paths.append(save_figure(fig, out / "r2_vs_sigma.png"))

    if angles:
        fig, (ax,) = new_figure(1)
        n = np.array([r["ntask"] for r in angles], dtype=float)
        grid = np.geomspace(n.min(), n.max(), 200)
        plot_theory_with_points(ax, grid, angle_spread(grid, config.D), n, [r["spread_mc_deg"] for r in angles],
                                [r["spread_mc_se_deg"] for r in angles], k=k, label=f"D={config.D}")
        ax.set(xscale="log", yscale="log", xlabel="tasks N", ylabel="spread of angle around 90 deg (deg)",
               title="output-space factor angles, random designs")
        ax.legend(fontsize=7)
        paths.append(save_figure(fig, out / "angle_spread.png"))
    return paths
