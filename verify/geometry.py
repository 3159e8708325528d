"""Representation geometry of an agent: CCGP, parallelism, shattering dimensionality, participation ratio, DCI.

The measures the field uses to call a representation "abstract" or "disentangled" (Bernardi et al. 2020;
Eastwood & Williams 2018; :mod:`analysis.geometry`), computed on an agent's state at the decision time,
with nulls, and compared with the optimal agent's closed forms (:mod:`theory.geometry`).

Agents (--arch): ``optimal`` (its probits, an affine image of mu(t); --replicates independent samples
of --trials trials), or trained networks of an architecture, ``rnn``, ``lstm`` or ``transformer``
(trained or loaded through :mod:`verify.networks.pipeline`, into the same cache as the other network
checks). ``--agent`` is the old name of --arch.

Rows (``--json``: ``rows``): one per (agent, N, metric, dichotomy or variant) with keys agent
(``optimal`` or the architecture), ntask (N), metric, dichotomy (``x1``.. for the per-coordinate
measures, ``all`` for shattering and PR, the DCI part for ``dci``), value (mean over replicates or
networks), ci_low, ci_high (95% Student t interval over them), null_mean, null_q95 (mean and 95th
percentile of the measure of one replicate or network with its states shuffled across trials; for
the participation ratio each unit shuffled on its own), predicted (the optimal agent's value at this
sample size, to first order in 1/n where derived; null for networks).
``geometric_nulls`` has Bernardi's random-centroid null for CCGP, parallelism and shattering.

Checks: the optimal agent's CCGP, parallelism, shattering, participation ratio and DCI within k standard
errors of the closed forms (DCI: plus its O(1/n) plug-in bias, estimated from half the trials), k chosen
so that all checks of a run pass together with probability 99% (Bonferroni, Student t); for networks,
no CCGP above the optimal agent's, which is the Bayes classifier's (binding).

Files (in --out): geometry.csv, results.json, metrics_vs_ntask.png; networks are cached in --out/networks
(:func:`verify.networks.runner.cache_folder`).

Example:  python -m verify.geometry --arch optimal --ntask 2 6 24 --json
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.stats import t as student_t

from analysis.geometry import (RIDGE, ccgp, dci, geometric_null, parallelism_bernardi, parallelism_mean_pairs,
                               parallelism_regressor_cosine, participation_ratio, shattering_dimensionality,
                               shuffle_null, unit_shuffle_null)
from analysis.estimates import family_k
from infra.cli import show_progress
from infra.guard import check_terms
from infra.store import atomic_write_bytes, atomic_write_json, csv_bytes
from theory.designs import build_design
from theory.geometry import (ccgp_optimal, dci_linear, parallelism_linear, participation_ratio_affine,
                             participation_ratio_sample, regressor_cosine_linear, shattering_optimal)
from theory.world import as_generator, check_positive_int
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from verify.networks import pipeline
from verify.networks.budgets import REFERENCE
from verify.networks.runner import cache_folder
from verify.networks.size import check_training_time, training_terms
from verify.plotting import save_figure
from verify.verdict import Check, base_parser, hidden_alias, run_cli

#: The optimal agent, then the network architectures.
AGENTS = ("optimal",) + tuple(pipeline.ARCHS)
ROW_KEYS = ("agent", "ntask", "metric", "dichotomy", "value", "ci_low", "ci_high", "null_mean", "null_q95", "predicted")
PER_DIM = ("ccgp", "parallelism_bernardi", "parallelism_mean_pairs", "parallelism_regressor_cosine")
DCI_PARTS = ("disentanglement", "completeness", "informativeness")
#: Measures with Bernardi's geometric (random-centroid) null in the literature.
GEOMETRIC = PER_DIM + ("shattering_dimensionality",)
ALPHA = 0.01                      # family-wise false-alarm probability of one run's checks
NULL_SAMPLES = 4                  # replicates or networks each null draw is applied to


@dataclass(frozen=True)
class GeometryConfig:
    """One run of the geometry check."""

    arch: str = "optimal"         # the optimal agent or a network architecture (AGENTS)
    ntask: tuple = (2, 6, 24)
    D: int = 2                    # latent dimension; networks and the even design need D = 2
    sigma: float = 0.2            # per-step noise sd (latent units)
    t: int = 20                   # evidence samples at the decision (networks: stimulus steps)
    networks: int = 3             # per N (network agents)
    batches: int = 5000           # training batches per network; the paper used 100000
    trials: int = 4000            # trials per replicate or network (1000 per quadrant at D = 2)
    replicates: int = 20          # independent samples of the optimal agent (its error bars)
    shuffles: int = 10            # draws of each null (each on NULL_SAMPLES replicates or networks)
    ridge: float = RIDGE
    seed: int = 0

    def __post_init__(self):
        if self.arch not in AGENTS:
            raise ValueError(f"arch={self.arch!r} must be one of {AGENTS}")
        if not self.ntask or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) for n in self.ntask):
            raise ValueError(f"ntask={self.ntask!r} must be a non-empty list of integers")
        object.__setattr__(self, "ntask", tuple(sorted(set(int(n) for n in self.ntask))))
        if self.D not in (2, 3):
            raise ValueError(f"D={self.D!r} must be 2 or 3 (Bernardi's parallelism pairs (2^(D-1))! pairings)")
        if self.arch != "optimal" and self.D != 2:
            raise ValueError(f"D={self.D} must be 2 for arch={self.arch!r}: the networks learn the even 2-D design")
        if min(self.ntask) < self.D:
            raise ValueError(f"ntask={list(self.ntask)} must be >= D={self.D} (rank C = D, Theorem 3.1)")
        if not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma={self.sigma!r} must be finite and > 0")
        check_positive_int("t", self.t)
        check_positive_int("networks", self.networks)
        check_positive_int("batches", self.batches)
        check_positive_int("trials", self.trials, 400)
        check_positive_int("replicates", self.replicates, 2)
        check_positive_int("shuffles", self.shuffles, 2)
        check_positive_int("seed", self.seed, 0)
        if not (np.isfinite(self.ridge) and self.ridge >= 0):
            raise ValueError(f"ridge={self.ridge!r} must be finite and >= 0")

    def training(self):
        """The networks' training configuration (None for the optimal agent)."""
        if self.arch == "optimal":
            return None
        return pipeline.train_config(self.arch, list(self.ntask), self.networks, self.sigma, batches=self.batches,
                                     seed=self.seed, n_stim=self.t)


def network_states(training, trials: int, cache, progress: bool, rng, workers: int | None = None
                   ) -> tuple[dict, dict]:
    """Train or load the ensemble (:func:`verify.networks.pipeline.train_or_load`), run it frozen on
    U(cube) latents: {N: (hidden (K, n, H), x* (K, n, D))} and the training summary."""
    ens, summary = pipeline.train_or_load(training, cache, progress, workers)
    states = pipeline.run_states(ens, rng.uniform(-0.5, 0.5, (trials, training.D)), rng)
    ntask = pipeline.network_info(ens)["ntask"]
    return {int(N): (states.hidden[ntask == N], states.x_star[ntask == N]) for N in np.unique(ntask)}, summary


def optimal_states(config: GeometryConfig, N: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The optimal agent's probits z = sqrt(t) C mu / (sigma |c_i|): states (B, n, N), x* (B, n, D), A (N, D)."""
    design = build_design("even" if config.D == 2 else "random", N, config.D, rng)
    A = np.sqrt(config.t) * design.C / (config.sigma * design.norms[:, None])
    x = rng.uniform(-0.5, 0.5, (config.replicates, config.trials, config.D))
    mu = x + config.sigma / np.sqrt(config.t) * rng.standard_normal(x.shape)
    return mu @ A.T, x, A


def all_metrics(states, x, ridge=RIDGE) -> dict:
    """{(metric, dichotomy): values (B,)} for every measure."""
    out = {}
    for d in range(x.shape[-1]):
        out[("ccgp", f"x{d + 1}")] = ccgp(states, x, d, ridge)
        out[("parallelism_bernardi", f"x{d + 1}")] = parallelism_bernardi(states, x, d)
        out[("parallelism_mean_pairs", f"x{d + 1}")] = parallelism_mean_pairs(states, x, d)
        out[("parallelism_regressor_cosine", f"x{d + 1}")] = parallelism_regressor_cosine(states, x, d, ridge)
    out[("shattering_dimensionality", "all")] = shattering_dimensionality(states, x, ridge)
    out[("participation_ratio", "all")] = participation_ratio(states)
    out.update({("dci", k): v for k, v in dci(states, x, ridge).items()})
    return out


def predictions(config: GeometryConfig, A) -> dict:
    """The optimal agent's value of each measure at this sample size (first order in 1/n where derived)."""
    D, s, t, n = config.D, config.sigma, config.t, config.trials
    isometric = np.allclose(A.T @ A, np.trace(A.T @ A) / D * np.eye(D), rtol=1e-9)
    par = parallelism_linear(D, s, t, n / 2 ** D) if isometric else 1.0
    reg = regressor_cosine_linear(D, s, t, n / 2) if isometric else 1.0
    out = {}
    for d in range(D):
        out[("ccgp", f"x{d + 1}")] = float(ccgp_optimal(s, t, n_train=n / 2, D=D))
        out[("parallelism_bernardi", f"x{d + 1}")] = par
        out[("parallelism_mean_pairs", f"x{d + 1}")] = par
        out[("parallelism_regressor_cosine", f"x{d + 1}")] = reg
    out[("shattering_dimensionality", "all")] = shattering_optimal(D, s, t)
    out[("participation_ratio", "all")] = (participation_ratio_sample(D, s, t, n) if isometric
                                           else participation_ratio_affine(A, s, t))
    lin = dci_linear(A, s, t, config.ridge)
    out.update({("dci", k): lin[k] for k in DCI_PARTS})
    return out


def _interval(values) -> tuple[float, float, float, float]:
    """Mean, 95% Student t interval and standard error over the batch (NaN interval for one value)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan"), float("nan")
    se = float(values.std(ddof=1) / np.sqrt(values.size))
    half = float(student_t.ppf(0.975, values.size - 1)) * se
    return mean, mean - half, mean + half, se


def measure(states, x, config: GeometryConfig, rng) -> dict:
    """Every measure with its nulls; returns {key: dict(values, mean, ci, se, null, geometric, half)}.

    The nulls are those of one replicate or network: each null draw is applied to the first
    ``NULL_SAMPLES`` of them and the values pooled (draws x samples).
    """
    f = lambda s, xx: np.stack(list(all_metrics(s, xx, config.ridge).values()))  # noqa: E731
    values = all_metrics(states, x, config.ridge)
    sub, xs = states[:NULL_SAMPLES], x[:NULL_SAMPLES]
    pooled = lambda a: np.moveaxis(a, 1, -1).reshape(-1, a.shape[1]) if a.ndim == 3 else a.ravel()  # noqa: E731
    shuffled = pooled(shuffle_null(f, sub, xs, rng, config.shuffles))               # (S x B', metrics)
    geometric = pooled(geometric_null(f, sub, xs, rng, config.shuffles))
    units = pooled(unit_shuffle_null(participation_ratio, sub, rng, config.shuffles))
    half = dci(states[:, : states.shape[1] // 2], x[:, : states.shape[1] // 2], config.ridge)
    out = {}
    for i, key in enumerate(values):
        null = units if key[0] == "participation_ratio" else shuffled[:, i]
        mean, lo, hi, se = _interval(values[key])
        out[key] = dict(values=values[key], mean=mean, ci=(lo, hi), se=se, null=null, geometric=geometric[:, i],
                        half=float(np.mean(half[key[1]])) if key[0] == "dci" else None)
    return out


def _rows(agent: str, N: int, measured: dict, predicted: dict | None) -> list[dict]:
    return [dict(zip(ROW_KEYS, (agent, N, key[0], key[1], m["mean"], m["ci"][0], m["ci"][1],
                                float(np.mean(m["null"])), float(np.quantile(m["null"], 0.95)),
                                None if predicted is None else float(predicted[key]))))
            for key, m in measured.items()]


def _comparisons(agent: str, N: int, measured: dict, predicted: dict | None, config: GeometryConfig) -> list:
    """(name, claim, predicted, measured, se, allowance, one_sided) of every check, before choosing k."""
    out = []
    for key, m in measured.items():
        name = f"[{agent} N={N}] {key[0]} {key[1]}"
        if predicted is None:
            if key[0] == "ccgp":
                out.append((name, f"no agent generalises the sign of {key[1]} across conditions better than the "
                            "Bayes classifier sign(mu_d) (the optimal agent's large-sample CCGP)",
                            float(ccgp_optimal(config.sigma, config.t)), m["mean"], m["se"], 0.0, True))
            continue
        if key[0].startswith("parallelism") and predicted[key] == 1.0:
            continue   # a non-isometric code: only the large-sample value is derived
        bias = abs(m["half"] - m["mean"]) if m["half"] is not None else 0.0
        out.append((name, f"the optimal agent's {key[0]} ({key[1]}) equals its closed form", predicted[key],
                    m["mean"], m["se"], bias, False))
    return out


def _checks(comparisons: list, samples: int) -> list[Check]:
    """Checks at k SE, k chosen so that all of them pass together with probability >= 99% (Bonferroni,
    Student t with samples - 1 degrees of freedom: the SE is estimated from the replicates or networks)."""
    if not comparisons:
        return []
    checks = []
    for name, claim, pred, value, se, bias, one_sided in comparisons:
        # a one-sided bound spends the whole alpha / m on one tail
        k = family_k(len(comparisons), 2 * ALPHA if one_sided else ALPHA, dof=samples - 1) if samples > 1 else 0.0
        se = float(np.nan_to_num(se))
        tol = k * se + bias
        what = f"{k:.3g} SE ({se:.2g})" + (f" + halving bias ({bias:.2g})" if bias else "")
        passed = value <= pred + tol if one_sided else abs(value - pred) <= tol
        checks.append(Check(name, claim, pred, value, ("<= predicted + " if one_sided else "|diff| <= ") + what,
                            bool(passed)))
    return checks


def run(config: GeometryConfig, out, progress: bool = False, cache=None, workers: int | None = None) -> dict:
    """All rows, geometric nulls and checks of one agent; networks cached in ``cache`` (default
    :func:`verify.networks.runner.cache_folder` of ``out``),
    trained by ``workers`` processes (default: the CPU count; results do not depend on it)."""
    out = Path(out)
    training = config.training()
    streams = np.random.SeedSequence(config.seed).spawn(2)
    rng_states, rng_nulls = as_generator(streams[0]), as_generator(streams[1])
    rows, geo, comparisons, train_summary = [], [], [], None
    if training is None:
        groups = {N: optimal_states(config, N, rng_states) for N in config.ntask}
    else:
        nets, train_summary = network_states(training, config.trials, cache_folder(out) if cache is None else cache,
                                             progress, rng_states, workers)
        groups = {N: (*nets[N], None) for N in config.ntask}
    for N, (states, x, A) in groups.items():
        measured = measure(states, x, config, rng_nulls)
        predicted = predictions(config, A) if A is not None else None
        rows += _rows(config.arch, N, measured, predicted)
        geo += [dict(agent=config.arch, ntask=N, metric=k[0], dichotomy=k[1],
                     null_mean=float(m["geometric"].mean()), null_q95=float(np.quantile(m["geometric"], 0.95)))
                for k, m in measured.items() if k[0] in GEOMETRIC]
        comparisons += _comparisons(config.arch, N, measured, predicted, config)
        samples = states.shape[0]
    return {"config": asdict(config), "rows": rows, "geometric_nulls": geo, "checks": _checks(comparisons, samples),
            "training": train_summary}


PANELS = (("ccgp", "x1"), ("parallelism_bernardi", "x1"), ("parallelism_regressor_cosine", "x1"),
          ("shattering_dimensionality", "all"), ("participation_ratio", "all"), ("dci", "disentanglement"),
          ("dci", "completeness"), ("dci", "informativeness"))


def theory_curve(sigma: float, t: int, ntask) -> dict:
    """{(metric, dichotomy): ndarray over ``ntask``}: the optimal agent's large-sample values (even 2-D design)."""
    large = GeometryConfig(ntask=tuple(ntask), sigma=sigma, t=t, trials=10 ** 12)
    per_n = [predictions(large, np.sqrt(t) * build_design("even", N, 2).C / sigma) for N in ntask]
    return {k: np.array([p[k] for p in per_n]) for k in per_n[0]}


def plot_metrics_vs_ntask(rows: list[dict], sigma: float, t: int, path) -> Path:
    """One panel per measure vs N: the optimal agent's theory, each agent's values (95% CI), its null q95."""
    ntask = sorted({r["ntask"] for r in rows})
    theory = theory_curve(sigma, t, ntask)
    fig = Figure(figsize=(13, 6))
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.09, top=0.95, wspace=0.3, hspace=0.4)
    FigureCanvasAgg(fig)
    agents = list(dict.fromkeys(r["agent"] for r in rows))
    for ax, (metric, dich) in zip(fig.subplots(2, 4).ravel(), PANELS):
        ax.plot(ntask, theory[(metric, dich)], "-", color="gray", label="optimal, theory (large n)")
        for i, agent in enumerate(agents):
            sel = [r for r in rows if r["metric"] == metric and r["dichotomy"] == dich
                   and r["agent"] == agent]
            n = np.array([r["ntask"] for r in sel]) * (1 + 0.05 * i)
            v = np.array([r["value"] for r in sel])
            lo, hi = (np.array([np.nan if r[k] is None else r[k] for r in sel]) for k in ("ci_low", "ci_high"))
            bars = ax.errorbar(n, v, yerr=np.nan_to_num(np.vstack([v - lo, hi - v])), fmt="o", ms=4, capsize=3,
                               label=f"{agent} (95% CI)")
            ax.plot(n, [r["null_q95"] for r in sel], "v:", ms=4, color=bars[0].get_color(),
                    label=f"{agent}: shuffle null q95")
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(ntask, [str(v) for v in ntask])
        ax.set_xlabel("N (tasks)")
        ax.set_title(f"{metric} {dich}".replace("_", " "), fontsize=9)
    fig.axes[0].legend(fontsize=6, loc="center right")
    return save_figure(fig, path)


def write_outputs(result: dict, out) -> list[Path]:
    """geometry.csv, results.json and metrics_vs_ntask.png in ``out``."""
    out = Path(out)
    files = [atomic_write_bytes(out / "geometry.csv", csv_bytes(result["rows"])),
             atomic_write_json(out / "results.json", {k: v for k, v in result.items() if k != "checks"}
                               | {"checks": [c.to_dict() for c in result["checks"]]}),
             plot_metrics_vs_ntask(result["rows"], result["config"]["sigma"], result["config"]["t"],
                                   out / "metrics_vs_ntask.png")]
    return [Path(f) for f in files]


def format_rows(rows: list[dict]) -> str:
    """A plain-text table of the rows."""
    def cell(v):
        return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)
    table = [ROW_KEYS] + [tuple(cell(r[k]) for k in ROW_KEYS) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(ROW_KEYS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)


def report_section(out, seed: int, progress: bool, budget="default", cache=None, workers: int | None = None
                   ) -> tuple[str, dict, list[Check]]:
    """The report's geometry part: the optimal agent and the trained RNNs at the budget's N, with nulls.

    ``budget`` is a name of :data:`verify.networks.budgets.REFERENCE` (its ``ntask``, ``networks`` and
    ``batches``: the network section's networks) or a dict with ``ntask``, ``networks``, ``batches``
    and optionally any other :class:`GeometryConfig` field (``trials``, ...).

    Networks come from ``cache`` (default ``out / "rnn" / "networks"``, the network section's cache, so
    nothing is trained twice), trained by ``workers`` processes. Files go to ``out / "geometry"``.

    Returns
    -------
    text : Markdown (measurement text, the rows as a table, the figure)
    results : JSON-able dict (config, rows, geometric nulls, checks of both agents)
    checks : list of :class:`verify.verdict.Check`
    """
    if isinstance(budget, str) and budget not in REFERENCE:
        raise ValueError(f"budget={budget!r} must be one of {tuple(REFERENCE)} or a dict")
    b = ({k: REFERENCE[budget][k] for k in ("ntask", "networks", "batches")} if isinstance(budget, str)
         else dict(budget))
    name = budget if isinstance(budget, str) else "custom"
    out = Path(out)
    folder = out / "geometry"
    cache = out / "rnn" / "networks" if cache is None else Path(cache)
    optimal = run(GeometryConfig(arch="optimal", seed=seed, **b), folder, progress)
    rnn = run(GeometryConfig(arch="rnn", seed=seed, **b), folder, progress, cache=cache, workers=workers)
    rows = optimal["rows"] + rnn["rows"]
    checks = optimal["checks"] + rnn["checks"]
    figure = plot_metrics_vs_ntask(rows, optimal["config"]["sigma"], optimal["config"]["t"],
                                   folder / "metrics_vs_ntask.png")
    atomic_write_bytes(folder / "geometry.csv", csv_bytes(rows))
    results = {"optimal": {k: v for k, v in optimal.items() if k != "checks"},
               "rnn": {k: v for k, v in rnn.items() if k != "checks"}, "checks": [c.to_dict() for c in checks]}
    atomic_write_json(folder / "results.json", results)
    lines = ["| agent | N | metric | dichotomy | value | 95% CI | shuffle null mean / q95 | predicted |",
             "|---|---|---|---|---|---|---|---|"]
    f = lambda v: "-" if v is None or not np.isfinite(v) else f"{v:.4g}"  # noqa: E731
    for r in rows:
        lines.append(f"| {r['agent']} | {r['ntask']} | {r['metric']} | {r['dichotomy']} | {f(r['value'])} | "
                     f"[{f(r['ci_low'])}, {f(r['ci_high'])}] | {f(r['null_mean'])} / {f(r['null_q95'])} | "
                     f"{f(r['predicted'])} |")
    c = optimal["config"]
    text = (f"Budget `{name}`: N in {list(c['ntask'])}; the optimal agent's probits ({c['replicates']} samples of "
            f"{c['trials']} trials) and {c['networks']} RNNs per N ({c['batches']} batches), sigma {c['sigma']}, "
            f"t {c['t']}. CCGP, parallelism, "
            "shattering and the participation ratio depend only on mu's statistics, so the optimal agent's are "
            "the same at every N (they saturate for any linear code); only DCI sees the basis of the units.\n\n"
            + "\n".join(lines) + f"\n\n![metrics vs N]({figure.relative_to(out).as_posix()})\n"
            "*metrics vs N: optimal agent (theory line, Monte Carlo points) and trained RNNs, with shuffle nulls*")
    return text, results, checks


def build_parser():
    d = GeometryConfig()
    p = base_parser(__doc__, "python -m verify.geometry", out="runs/geometry", workers=True, allow_large=True)
    p.add_argument("--arch", choices=AGENTS, default=d.arch,
                   help=f"whose states: the optimal agent or a network architecture (default {d.arch})")
    hidden_alias(p, "--agent", "arch", choices=AGENTS)
    p.add_argument("--allow-long", action="store_true",
                   help="run even when the training is estimated to take more than a day (refused otherwise)")
    p.add_argument("--ntask", type=int, nargs="+", default=list(d.ntask), help="task counts N (default 2 6 24)")
    p.add_argument("--D", type=int, default=d.D, choices=(2, 3), help=f"latent dimension (default {d.D})")
    p.add_argument("--sigma", type=float, default=d.sigma, help=f"noise sd per step (default {d.sigma})")
    p.add_argument("--t", type=int, default=d.t, help=f"evidence samples at the decision (default {d.t})")
    p.add_argument("--networks", type=int, default=d.networks, help=f"networks per N (default {d.networks})")
    p.add_argument("--batches", type=int, default=d.batches, help=f"training batches per network (default {d.batches})")
    p.add_argument("--trials", type=int, default=d.trials, help=f"trials per replicate or network (default {d.trials})")
    p.add_argument("--replicates", type=int, default=d.replicates,
                   help=f"independent samples of the optimal agent (default {d.replicates})")
    p.add_argument("--shuffles", type=int, default=d.shuffles, help=f"draws of each null (default {d.shuffles})")
    p.add_argument("--ridge", type=float, default=d.ridge, help=f"classifier and DCI ridge penalty (default {d.ridge})")
    return p


#: float64 copies of a (samples, trials, state) array the metrics hold at once (states, centred, classifier).
STATE_COPIES = 6


def check_size(args) -> None:
    """Refuse, before any work, a request whose states cannot fit this machine (--allow-large skips).

    The optimal agent keeps --replicates x --trials x N probits; networks --networks x N-values
    networks' hidden states (64 units) for --trials trials, and train them all at once
    (:func:`verify.networks.size.training_terms`).
    """
    pos = lambda v: max(int(v), 1)                     # bad signs are reported by the validation that follows
    samples = pos(args.replicates) if args.arch == "optimal" else pos(args.networks) * len(args.ntask)
    per_state = 8.0 * STATE_COPIES * samples * pos(args.trials)
    terms = {f"--trials={args.trials} x --replicates={args.replicates}" if args.arch == "optimal" else
             f"--trials={args.trials} x --networks={args.networks}": per_state * 64,
             f"--ntask={max(args.ntask)}": per_state * pos(max(args.ntask))}
    if args.arch != "optimal":
        terms |= training_terms(args.arch, samples, f"--networks={args.networks} x {len(args.ntask)} task counts",
                                None, ntask=pos(max(args.ntask)), eval_trials=pos(args.trials),
                                batches=pos(args.batches))
    check_terms(terms, "states of the geometry measures", allow_large=args.allow_large)


def _body(args) -> dict:
    check_size(args)
    config = GeometryConfig(arch=args.arch, ntask=tuple(args.ntask), D=args.D, sigma=args.sigma, t=args.t,
                            networks=args.networks, batches=args.batches, trials=args.trials,
                            replicates=args.replicates, shuffles=args.shuffles, ridge=args.ridge, seed=args.seed)
    if config.arch != "optimal":
        check_training_time(config.networks * len(config.ntask) * config.batches,
                            f"--batches={config.batches} x --networks={config.networks} x {len(config.ntask)} task "
                            "counts", args.allow_long)
    result = run(config, args.out, progress=show_progress(args), workers=args.workers)
    files = write_outputs(result, args.out)
    return result | {"files": [str(f) for f in files],
                     "text": format_rows(result["rows"]) + f"\nfiles written to {args.out}\n"}


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, _body)


if __name__ == "__main__":
    raise SystemExit(main())
