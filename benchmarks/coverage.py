"""Coverage study of the interval methods for verdicts on trained networks and on one agent.

Regenerate the committed table (one core: ~3.5 CPU minutes; 10 minutes wall on the shared machine):
    nice -n 19 env OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/coverage.py --out benchmarks

Ensembles of K networks x F = 4 folds, v[k, f] = mu + b_k + e_kf (analysis.coverage), with
between-network sd in {0.005, 0.01, 0.03, 0.05}, fold sd 0.005 and 0.02, K in {2, 3, 5, 10};
robustness rows with skewed and heavy-tailed network effects (sd 0.03). Per cell, R replicates:

- one sample (an ensemble's central value vs a threshold): the percentile bootstrap of the median
  (the former default; estimand: the population median of a pooled value), the cluster Student-t
  interval on the K network means (estimand: mu, the population mean over networks), and a t
  interval that treats all K x F values as independent (pseudo-replication, for contrast);
- difference (setting B minus setting A, independent ensembles, same K): the percentile bootstrap of
  median(B) - median(A), Welch's t on the network means, and the conservative t with min(K_a, K_b) - 1
  degrees of freedom; also with unequal spreads (B's between-network sd 5x A's).

Reported per cell: coverage with its Monte-Carlo standard error sqrt(p (1 - p) / R), mean width, and
the fraction of replicates that would decide a claim whose threshold lies 2 between-network sds from
the truth ("decided at gap": a method that covers by being wide decides nothing).

Single agent (K = 1): a linear code of x* (analysis.coverage.LinearCode) with its closed-form r^2;
per-trial squared errors of n trials; the delta-method interval of the ratio r^2 (reference = the
targets' sample variance), the percentile bootstrap of trials, and the t interval of the mean
squared error with the known reference variance D/12.

Exit code 0 when the verdict method (analysis.intervals.METHOD, DIFFERENCE_METHOD) reaches >= 93%
in every normal-effects cell with K >= MIN_NETWORKS, else 1.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.bootstrap import bootstrap_medians  # noqa: E402
from analysis.coverage import LinearCode, pooled_median, simulate_ensembles, wiener_readout  # noqa: E402
from analysis.intervals import (DESCRIPTIONS, DIFFERENCE_METHOD, METHOD, MIN_NETWORKS, cluster_t,  # noqa: E402
                                trial_r2_bootstrap, trial_r2_interval, welch_difference)
from infra.cli import base_parser, run_main, show_progress, strict_json  # noqa: E402
from theory.world import LATENT_VARIANCE  # noqa: E402

#: The issue's requirement: coverage of a nominal 95% interval wherever a verdict is decided.
REQUIRED = 0.93
LEVEL = 0.95
#: Threshold gap, in between-network sds, for the "decided" fraction.
GAP_SDS = 2.0


@dataclass(frozen=True)
class Study:
    """Grid of the study (defaults: the committed table)."""

    replicates: int = 2000                       # per cell; MC se of a 95% coverage: sqrt(.95 .05 / 2000) = 0.005
    n_boot: int = 1000                           # percentile-bootstrap replicates (the verdicts used 2000)
    networks: tuple = (2, 3, 5, 10)
    between_sds: tuple = (0.005, 0.01, 0.03, 0.05)
    fold_sds: tuple = (0.005, 0.02)
    folds: int = 4
    robust_between_sd: float = 0.03
    unequal_factor: float = 5.0                  # B's between sd / A's in the unequal-spread difference rows
    trials: tuple = (100, 1000)
    trial_boot: int = 1000


def _percentile(values, rng, n_boot):
    lo, hi = np.percentile(bootstrap_medians(values, rng, n_boot), [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
    return np.median(values), lo, hi


def _pooled_t(v):
    """t interval treating all K x F values as independent (ignores that folds share a network)."""
    x = v.reshape(v.shape[0], -1)
    n = x.shape[1]
    half = stats.t.ppf(0.5 + LEVEL / 2, n - 1) * x.std(axis=1, ddof=1) / np.sqrt(n)
    return x.mean(axis=1), x.mean(axis=1) - half, x.mean(axis=1) + half


def _conservative_t(a, b):
    """Difference of means over networks with t_{min(K_a, K_b) - 1} (Banerjee/Hsu): never below nominal."""
    ma, mb = a.mean(axis=-1), b.mean(axis=-1)
    Ka, Kb = ma.shape[-1], mb.shape[-1]
    d = mb.mean(axis=-1) - ma.mean(axis=-1)
    se = np.sqrt(ma.var(axis=-1, ddof=1) / Ka + mb.var(axis=-1, ddof=1) / Kb)
    half = stats.t.ppf(0.5 + LEVEL / 2, min(Ka, Kb) - 1) * se
    return d, d - half, d + half


def _summary(lo, hi, truth, gap, kind):
    """Coverage, its MC se, mean width, and the fraction deciding a claim ``gap`` away from the truth."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    hit = (lo <= truth) & (truth <= hi)
    p, R = hit.mean(), hit.size
    # every method here is shift-equivariant, so the claim "value < truth + gap" (one sample) or
    # "difference > 0" when the true difference is gap is decided exactly when hi < truth + gap
    # (resp. lo + gap > 0) on these null replicates.
    decided = hi < truth + gap if kind == "one_sample" else lo + gap > truth
    return {"coverage": float(p), "mc_se": float(np.sqrt(p * (1 - p) / R)), "mean_width": float(np.mean(hi - lo)),
            "decided_at_gap": float(np.mean(decided)), "replicates": int(R)}


def one_sample_cells(study: Study, rng, bar) -> list[dict]:
    cells = [(K, sb, sf, "normal") for sf in study.fold_sds for sb in study.between_sds for K in study.networks]
    cells += [(K, study.robust_between_sd, study.fold_sds[0], e) for e in ("skewed", "heavy") for K in study.networks]
    rows = []
    for K, sb, sf, effects in cells:
        sim, boot = rng.spawn(2)
        v = simulate_ensembles(study.replicates, K, study.folds, sb, sf, sim, effects=effects)
        base = {"kind": "one_sample", "K": K, "between_sd": sb, "fold_sd": sf, "effects": effects}
        gap = GAP_SDS * sb
        _, lo, hi = cluster_t(v, LEVEL)
        rows.append(base | {"method": "cluster_t", "estimand": "mean"} | _summary(lo, hi, 0.0, gap, "one_sample"))
        _, lo, hi = _pooled_t(v)
        rows.append(base | {"method": "pooled_t", "estimand": "mean"} | _summary(lo, hi, 0.0, gap, "one_sample"))
        pb = np.array([_percentile(x, r, study.n_boot)[1:] for x, r in zip(v, boot.spawn(len(v)))])
        rows.append(base | {"method": "percentile_bootstrap", "estimand": "median"}
                    | _summary(pb[:, 0], pb[:, 1], pooled_median(sb, sf, effects), gap, "one_sample"))
        bar.update(1)
    return rows


def difference_cells(study: Study, rng, bar) -> list[dict]:
    cells = [(K, sb, sb, sf, "normal") for sf in study.fold_sds for sb in study.between_sds for K in study.networks]
    cells += [(K, study.robust_between_sd, study.robust_between_sd, study.fold_sds[0], e)
              for e in ("skewed", "heavy") for K in study.networks]
    sa = study.between_sds[1]
    cells += [(K, sa, study.unequal_factor * sa, study.fold_sds[0], "normal") for K in study.networks]
    rows = []
    for K, sa, sb, sf, effects in cells:
        sim_a, sim_b, boot = rng.spawn(3)
        a = simulate_ensembles(study.replicates, K, study.folds, sa, sf, sim_a, effects=effects)
        b = simulate_ensembles(study.replicates, K, study.folds, sb, sf, sim_b, effects=effects)
        base = {"kind": "difference", "K": K, "between_sd": sa, "between_sd_b": sb, "fold_sd": sf, "effects": effects}
        gap = GAP_SDS * max(sa, sb)
        _, lo, hi = welch_difference(a, b, LEVEL)
        rows.append(base | {"method": "welch_t", "estimand": "mean"} | _summary(lo, hi, 0.0, gap, "difference"))
        _, lo, hi = _conservative_t(a, b)
        rows.append(base | {"method": "conservative_t", "estimand": "mean"}
                    | _summary(lo, hi, 0.0, gap, "difference"))
        pb = []
        for x, y, r in zip(a, b, boot.spawn(len(a))):
            ra, rb = r.spawn(2)
            d = bootstrap_medians(y, rb, study.n_boot) - bootstrap_medians(x, ra, study.n_boot)
            pb.append(np.percentile(d, [50 * (1 - LEVEL), 50 * (1 + LEVEL)]))
        pb = np.array(pb)
        # both groups share the law of their effects up to scale, so the medians' difference is
        # pooled_median(sb) - pooled_median(sa) (0 for symmetric laws or equal spreads)
        truth = pooled_median(sb, sf, effects) - pooled_median(sa, sf, effects)
        rows.append(base | {"method": "percentile_bootstrap", "estimand": "median"}
                    | _summary(pb[:, 0], pb[:, 1], truth, gap, "difference"))
        bar.update(1)
    return rows


def single_agent_rows(study: Study, rng, bar) -> list[dict]:
    """K = 1: trial-level intervals of r^2 for a linear code of x* (D = 2, H = 8) with known r^2."""
    D, H, noise_sd = 2, 8, 0.5
    W = np.random.default_rng(12345).standard_normal((H, D)) * 0.5   # a fixed code, the same every run
    code = LinearCode(W, wiener_readout(W, noise_sd), noise_sd)
    truth = code.r2()
    rows = []
    for n in study.trials:
        sim, boot = rng.spawn(2)
        out = {"delta_ratio": [], "bootstrap_ratio": [], "t_fullrange": []}
        for r_sim, r_boot in zip(sim.spawn(study.replicates), boot.spawn(study.replicates)):
            pred, x = code.sample(n, r_sim)
            sq = np.sum((pred - x) ** 2, axis=1)
            dev = np.sum((x - x.mean(axis=0)) ** 2, axis=1)
            out["delta_ratio"].append(trial_r2_interval(sq, target_sq_dev=dev, level=LEVEL)[1:])
            out["bootstrap_ratio"].append(trial_r2_bootstrap(sq, dev, r_boot, study.trial_boot, LEVEL)[1:])
            out["t_fullrange"].append(trial_r2_interval(sq, reference_variance=D * LATENT_VARIANCE, level=LEVEL)[1:])
        for method, iv in out.items():
            iv = np.array(iv)
            s = _summary(iv[:, 0], iv[:, 1], truth, 0.0, "one_sample")
            s.pop("decided_at_gap")
            rows.append({"kind": "single_agent", "method": method, "n_trials": n, "true_r2": truth, **s})
        bar.update(1)
    return rows


def decides_from(rows, kind: str, method: str) -> int | None:
    """Smallest K such that the method reaches REQUIRED in every normal cell with this K or more."""
    Ks = sorted({r["K"] for r in rows if r["kind"] == kind})
    ok = {K: all(r["coverage"] >= REQUIRED for r in rows if r["kind"] == kind and r["method"] == method
                 and r["K"] == K and r["effects"] == "normal") for K in Ks}
    good = [K for K in Ks if all(ok[k] for k in Ks if k >= K)]
    return min(good) if good else None


def run(study: Study, seed: int, progress: bool) -> dict:
    from tqdm import tqdm
    rng = np.random.default_rng(seed)
    r1, r2, r3 = rng.spawn(3)
    n_cells = (len(study.networks) * (len(study.between_sds) * len(study.fold_sds) + 2)) * 2 + len(study.networks) \
        + len(study.trials)
    t0 = time.time()
    with tqdm(total=n_cells, disable=not progress, desc="cells") as bar:
        rows = one_sample_cells(study, r1, bar) + difference_cells(study, r2, bar) + single_agent_rows(study, r3, bar)
    chosen = {"one_sample": METHOD, "difference": DIFFERENCE_METHOD}
    froms = {kind: decides_from(rows, kind, m) for kind, m in chosen.items()}
    ok = all(f is not None and f <= MIN_NETWORKS for f in froms.values())
    return {"seed": seed, "study": asdict(study), "level": LEVEL, "required": REQUIRED, "gap_sds": GAP_SDS,
            "chosen": chosen, "descriptions": DESCRIPTIONS, "min_networks": MIN_NETWORKS, "decides_from": froms,
            "rule_holds": bool(ok), "seconds": round(time.time() - t0, 1), "rows": rows}


def _cell(r) -> str:
    return f"{r['coverage']:.3f} ± {r['mc_se']:.3f} · w {r['mean_width']:.3g} · d {100 * r['decided_at_gap']:.0f}%"


def _key(r) -> tuple:
    """(method, between sd (A / B when they differ), fold sd, effects) of a row."""
    sd = f"{r['between_sd']:g}" if r.get("between_sd_b", r["between_sd"]) == r["between_sd"] \
        else f"{r['between_sd']:g} / {r['between_sd_b']:g}"
    return r["method"], sd, r["fold_sd"], r["effects"]


def _span(rows, kind: str, method: str, K: int, normal: bool) -> str:
    cov = [r["coverage"] for r in rows if r["kind"] == kind and r["method"] == method and r["K"] == K
           and (r["effects"] == "normal") == normal]
    return f"{min(cov):.3f}-{max(cov):.3f}" if cov else "-"


def _findings(result: dict) -> list[str]:
    """Coverage ranges over the normal cells and over the non-normal (robustness) cells, per method and K."""
    rows, out = result["rows"], []
    for kind in ("one_sample", "difference"):
        for method in sorted({r["method"] for r in rows if r["kind"] == kind}):
            normal = ", ".join(f"K = {K}: {_span(rows, kind, method, K, True)}" for K in result["study"]["networks"])
            robust = ", ".join(f"{_span(rows, kind, method, K, False)}" for K in result["study"]["networks"])
            out.append(f"- {kind} `{method}`: coverage over normal cells {normal}; skewed/heavy cells, same K: "
                       f"{robust}")
    return ["Coverage ranges (min-max over cells):", "", *out]


def markdown(result: dict) -> str:
    """The study as markdown tables: rows (method, spreads, law), columns K."""
    s = result["study"]
    Ks = s["networks"]
    lines = ["# Coverage of nominal 95% intervals", "",
             "Regenerate: `nice -n 19 env OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/coverage.py "
             f"--seed {result['seed']} --replicates {s['replicates']} --out benchmarks`", "",
             f"{s['replicates']} replicates per cell (seed {result['seed']}, {result['seconds']} s), "
             f"{s['folds']} folds, percentile bootstrap with {s['n_boot']} resamples. Cell: coverage ± Monte-Carlo se "
             f"· mean width · share of replicates deciding a claim {result['gap_sds']:g} between-network sds "
             "from the truth. Estimand: `cluster_t`, `pooled_t`, `welch_t`, `conservative_t`: the population mean "
             "over networks; `percentile_bootstrap`: the population median of a pooled value (equal to the mean "
             "for normal and heavy effects).", "",
             f"**Verdict methods**: one sample `{result['chosen']['one_sample']}` "
             f"({result['descriptions'][result['chosen']['one_sample']]}); difference "
             f"`{result['chosen']['difference']}` ({result['descriptions'][result['chosen']['difference']]}). "
             f"Reaches >= {result['required']:.0%} in every normal cell from K = "
             f"{result['decides_from']['one_sample']} (one sample) and K = {result['decides_from']['difference']} "
             f"(difference); verdicts decide from K = {result['min_networks']} (MIN_NETWORKS) and are undecided "
             f"below. Rule holds: {'yes' if result['rule_holds'] else 'NO'}.", "", *_findings(result), ""]
    for kind, title in (("one_sample", "One sample (ensemble value vs threshold)"),
                        ("difference", "Difference (setting B - setting A, independent ensembles)")):
        lines += [f"## {title}", "", "| method | between sd | fold sd | effects | " + " | ".join(f"K = {K}" for K in Ks)
                  + " |", "|" + "---|" * (4 + len(Ks))]
        rows = [r for r in result["rows"] if r["kind"] == kind]
        table: dict = {}
        for r in rows:
            table.setdefault(_key(r), {})[r["K"]] = _cell(r)
        order = lambda k: (k[0], k[3] != "normal", k[3], k[2], " / " in k[1], float(k[1].split(" / ")[0]))
        for key in sorted(table, key=order):
            cells = table[key]
            lines.append(f"| {key[0]} | {key[1]} | {key[2]:g} | {key[3]} | " + " | ".join(cells.get(K, "")
                                                                                         for K in Ks) + " |")
        lines.append("")
    lines += ["## Single agent (K = 1): trial-level intervals of r^2", "",
              "Linear code h = W x* + 0.5 eps (D = 2, H = 8, W fixed), Wiener read-out; true r^2 from "
              "`LinearCode.r2` (closed form). `delta_ratio`: r^2 = 1 - mean(sq err) / mean(target sq dev), delta "
              "method; `bootstrap_ratio`: the same, percentile bootstrap of trials; `t_fullrange`: t interval of "
              "the mean squared error over the known reference variance D/12.", "",
              "| method | trials | true r^2 | coverage ± se | mean width |", "|---|---|---|---|---|"]
    for r in result["rows"]:
        if r["kind"] == "single_agent":
            lines.append(f"| {r['method']} | {r['n_trials']} | {r['true_r2']:.4f} | {r['coverage']:.3f} ± "
                         f"{r['mc_se']:.3f} | {r['mean_width']:.3g} |")
    return "\n".join(lines) + "\n"


def build_parser():
    p = base_parser(__doc__, "benchmarks/coverage.py", out=None)
    p.add_argument("--replicates", type=int, default=Study.replicates, help="replicates per cell (default %(default)s)")
    p.add_argument("--n-boot", type=int, default=Study.n_boot, help="percentile-bootstrap resamples (default "
                   "%(default)s)")
    p.add_argument("--networks", type=int, nargs="+", default=list(Study.networks),
                   help="network counts K, each >= 2 (default %(default)s)")
    return p


def main(argv=None) -> int:
    parser = build_parser()

    def body(args):
        if args.replicates < 2:
            raise ValueError(f"--replicates={args.replicates} must be >= 2 (a coverage needs replicates)")
        if args.n_boot < 1:
            raise ValueError(f"--n-boot={args.n_boot} must be >= 1")
        if any(K < 2 for K in args.networks):
            raise ValueError(f"--networks={args.networks} must all be >= 2 (an ensemble interval needs 2 networks)")
        study = Study(replicates=args.replicates, n_boot=args.n_boot, networks=tuple(args.networks))
        result = run(study, args.seed, show_progress(args))
        if args.out is not None:
            out = Path(args.out)
            (out / "coverage.json").write_text(strict_json(result) + "\n")
            (out / "coverage.md").write_text(markdown(result))
        return result

    return run_main(parser, argv, body, markdown, exit_code=lambda r: 0 if r["rule_holds"] else 1,
                    to_json=lambda r: r)


if __name__ == "__main__":
    raise SystemExit(main())
