"""Fig. 3b and 3c of the paper: OOD r^2 and hidden-space angles vs N, architecture by architecture.

The same measurement pipeline as ``python -m verify.rnn`` (the four named decoders, ridge_cv the
headline, bootstrap intervals over networks x folds) runs experiments 3a/3c for the RNN, the
non-leaky RNN, the LSTM and the transformer, each at its own training budget (the paper trains
the transformer for 2e4 batches, the recurrent networks for 1e5).

The paper's architectural claim, "transformers are particularly suited for disentangling", is read
as: the transformer reaches the line at a smaller N than the RNN, i.e. at some N it is at the line
while its gap to the line is smaller than the RNN's. Both share the line at every N (same sigma, t,
D), so the difference of gaps is the difference of OOD r^2, decided per N by the bootstrap interval
of the difference over networks x folds (no tolerance); "at the line" is the toolkit's one tolerance
(:data:`verify.networks.verdicts.EVIDENCE_FRACTION`; an untrained transformer's random features
already decode better than an untrained RNN's, so closeness alone would pass untrained networks).
The claim (binding) passes when at some N the transformer is at the line and decidedly closer than
the RNN, and decidedly further at no N; fails when it is decidedly further at some N or decidedly
below the line at every N; undecided otherwise.

Command line: python -m verify.architectures --ntask 2 6 24 --networks 5 --batches 100000 --out runs/architectures
(``--archs`` picks some of the architectures; the transformer claim needs rnn and transformer). Files:
OUT/<arch>/<configuration hash>/ as ``python -m verify.networks`` writes them, and OUT/architectures.png,
OUT/results.json (``rows``: the reference rows, each with its ``variant``; ``checks``; ``variants``: each
variant's configuration); networks cached in --cache
(default OUT/networks). Exit code 0 for PASS, 1 for FAIL or NO VERDICT, 2 for bad input.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from analysis.decoders import HEADLINE
from infra.cli import show_progress
from infra.store import atomic_write_json
from verify.networks import verdicts
from verify.networks.budgets import config_batches
from verify.networks.config import NetworkCheckConfig
from verify.networks.report import write_outputs
from verify.networks.runner import cache_folder, run as run_networks
from verify.networks.size import add_allow_long, check_training_time
from verify.plotting import new_figure, save_figure
from verify.verdict import Check, base_parser, run_cli

#: (label, NetworkCheckConfig fields) of the compared architectures (Fig. 3b).
VARIANTS = (("rnn", dict(arch="rnn")), ("rnn non-leaky", dict(arch="rnn", leaky=False)),
            ("lstm", dict(arch="lstm")), ("transformer", dict(arch="transformer")))
#: The reference's transformer budget (batches), used when the recurrent budget is the published 1e5.
TRANSFORMER_BATCHES = 20_000


def variant_name(label: str) -> str:
    """A variant's name on the command line and as its output folder: "rnn non-leaky" -> "rnn_non_leaky"."""
    return label.replace(" ", "_").replace("-", "_")


#: The command line's names of the variants.
ARCH_NAMES = tuple(variant_name(label) for label, _ in VARIANTS)


def variant_config(label_fields: dict, budget: dict, seed: int) -> NetworkCheckConfig:
    """The checks' configuration of one architecture at the budget (3a/3c only)."""
    b = dict(budget)
    if label_fields.get("arch") == "transformer" and b.get("batches") == 100_000:
        b["batches"] = TRANSFORMER_BATCHES
    b["experiments"] = ("3a", "3c")
    return NetworkCheckConfig(**b, **label_fields, seed=seed)


def transformer_claim(values: dict, rows: dict, rng, n_boot: int) -> Check:
    """The claim that the transformer reaches the line at smaller N than the RNN (see module doc).

    ``values`` : {"rnn": {N: (K, F) headline r^2}, "transformer": {N: (K, F)}}
    ``rows`` : {"rnn": rows, "transformer": rows} with the headline intervals and ``r2_line_half_evidence``
    """
    rnn, tr = values["rnn"], values["transformer"]
    tr_rows = {r["ntask"]: r for r in rows["transformer"]}
    common = sorted(set(rnn) & set(tr) & set(tr_rows))
    rng = np.random.default_rng(rng)
    closer = {n: verdicts.difference(rnn[n], tr[n], f"N={n}: transformer - rnn", "above", rng, n_boot)
              for n in common}
    at = {n: verdicts.at_line(tr_rows[n], f"N={n}: transformer") for n in common}
    wins = [n for n in common if closer[n].decided and closer[n].passed and at[n].decided and at[n].passed]
    further = [n for n in common if closer[n].decided and not closer[n].passed]
    never = bool(common) and all(at[n].decided and not at[n].passed for n in common)
    return Check("transformer_disentangles_at_smaller_ntask",
                 "at some N the transformer is at the line and decidedly closer to it than the RNN, and it is "
                 "decidedly further at no N (Fig. 3b)", None, wins[0] if wins else None,
                 f"95% t intervals; 'at the line': {verdicts.EVIDENCE_FRACTION:g} of the evidence (toolkit's choice)",
                 bool(wins and not further), decided=bool(further or never or wins), predicted_text="some N",
                 measured_text=(f"N = {wins[0]}: " if wins else "none: ")
                 + "; ".join(f"{closer[n].text}, {at[n].text}" for n in common))


def run(out, budget: dict, seed: int, progress: bool, cache=None, workers: int | None = None,
        archs: tuple = ARCH_NAMES, write: bool = False) -> dict:
    """Run 3a/3c for the architectures ``archs`` (default all); returns {label: rows}, the checks, the
    per-variant configs and the figure (and, with ``write``, each variant's files under OUT/<arch>/, as
    ``python -m verify.networks`` writes them). The transformer claim needs both rnn and transformer."""
    out = Path(out)
    cache = cache_folder(out) if cache is None else Path(cache)
    rows, checks, configs, values, files = {}, [], {}, {}, []
    for label, fields in VARIANTS:
        name = variant_name(label)
        if name not in archs:
            continue
        config = variant_config(fields, budget, seed)
        result = run_networks(config, out / name, progress=progress, cache=cache, workers=workers)
        if write:
            files += write_outputs(result, out / name, config.key)
        rows[label] = [r for r in result["rows"] if r["experiment"] == "reference"]
        values[label] = verdicts.table_by_ntask(result["per_network"], HEADLINE, "decision",
                                                "reference_defect" if config.reference_defect else "honest")
        checks += [replace(c, name=f"[{label}] {c.name}") for c in result["checks"]]
        configs[label] = config.to_dict()
    if "rnn" in values and "transformer" in values:
        checks.append(transformer_claim(values, rows, seed, configs["rnn"]["n_boot"]))
    figure = plot(rows, out / "architectures.png", budget)
    return {"rows": rows, "checks": checks, "configs": configs, "figure": figure, "files": files + [figure]}


def plot(rows: dict, path, budget: dict) -> Path:
    """OOD r^2 (headline decoder, 95% bands) and ridge-decoder angles vs N, one line per architecture."""
    fig, (ax, ax2) = new_figure(ncols=2, width=5.2, height=3.8)
    for label, rs in rows.items():
        n = np.array([r["ntask"] for r in rs], dtype=float)
        line, = ax.plot(n, [r["ood_r2_mean"] for r in rs], "o-", label=label)
        ax.fill_between(n, [r["ood_r2_ci_low"] for r in rs], [r["ood_r2_ci_high"] for r in rs],
                        color=line.get_color(), alpha=0.2)
        med, lo, hi = (np.array([r["angles"]["ridge_cv"][q] for r in rs], dtype=float)
                       for q in ("median", "ci_low", "ci_high"))
        ax2.errorbar(n, med, yerr=np.maximum([med - lo, hi - med], 0),   # the t interval is of the mean
                     fmt="o-", capsize=3, color=line.get_color(), label=label)
    first = next(iter(rows.values()))
    ns = [r["ntask"] for r in first]
    ax.plot(ns, [r["r2_protocol"] for r in first], "k:", label="paper's line (linear decoder of mu)")
    ax2.axhline(90, color="gray", lw=0.8)
    for a in (ax, ax2):
        a.set_xscale("log")
        a.minorticks_off()
        a.set_xticks(ns, [str(v) for v in ns])
        a.set_xlabel("number of tasks N")
    ax.set_ylabel("OOD r$^2$ (ridge_cv, mean over networks, 95% CI)")
    ax2.set_ylabel("ridge-decoder angle between x1, x2 axes (deg)")
    ax.legend(fontsize=7)
    ax.set_title(f"Fig. 3b: architectures ({budget.get('networks')} networks per N; sigma 0.2, t 20)", fontsize=9)
    ax2.set_title("Fig. 3c: hidden-space decoder angles", fontsize=9)
    return save_figure(fig, path)


def markdown(result: dict) -> str:
    """A table: headline OOD r^2 [95% CI] per architecture and N, then the budgets."""
    labels = list(result["rows"])
    ns = [r["ntask"] for r in result["rows"][labels[0]]]
    lines = ["| N | " + " | ".join(labels) + " | paper's line |", "|---" * (len(labels) + 2) + "|"]
    for i, n in enumerate(ns):
        cells = [f"{r[i]['ood_r2_mean']:.3f} [{r[i]['ood_r2_ci_low']:.3f}, {r[i]['ood_r2_ci_high']:.3f}]"
                 for r in (result["rows"][label] for label in labels)]
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {result['rows'][labels[0]][i]['r2_protocol']:.4f} |")
    budgets = "; ".join(f"{label}: {c['batches']} batches" for label, c in result["configs"].items())
    return "\n".join(lines) + f"\n\nTraining budgets: {budgets}.\n"


def build_parser():
    p = base_parser(__doc__, "python -m verify.architectures", out="runs/architectures", workers=True)
    p.add_argument("--archs", nargs="+", choices=ARCH_NAMES, default=list(ARCH_NAMES),
                   help=f"architectures to compare (default: {' '.join(ARCH_NAMES)})")
    p.add_argument("--ntask", type=int, nargs="+", default=[2, 6, 24], help="task counts N >= 2 (default 2 6 24)")
    p.add_argument("--networks", type=int, default=5, help="networks per N and architecture (default 5)")
    p.add_argument("--batches", type=int, default=100_000,
                   help="training batches of the recurrent networks (default 100000, the paper's; the transformer "
                        f"then trains the paper's {TRANSFORMER_BATCHES}, otherwise the same)")
    p.add_argument("--cache", default=None, help="network cache folder (default OUT/networks)")
    add_allow_long(p)
    return p


def _body(args) -> dict:
    budget = dict(ntask=tuple(sorted(set(args.ntask))), networks=args.networks, batches=args.batches)
    archs = tuple(dict.fromkeys(args.archs))
    configs = [variant_config(fields, budget, args.seed) for label, fields in VARIANTS
               if variant_name(label) in archs]          # validated here, before any training
    check_training_time(sum(config_batches(c) for c in configs),
                        f"--batches={args.batches} x --networks={args.networks} x {len(budget['ntask'])} N x "
                        f"{len(configs)} architectures", args.allow_long)
    result = run(args.out, budget, args.seed, show_progress(args), cache=args.cache, workers=args.workers,
                 archs=archs, write=True)
    # one row list and one configuration list, each entry naming its variant (as verify.networks' rows)
    rows = [r | {"variant": label} for label, rs in result["rows"].items() for r in rs]
    configs = [{"variant": label, "config": c} for label, c in result["configs"].items()]
    config = budget | {"archs": list(archs), "seed": args.seed}
    path = atomic_write_json(Path(args.out) / "results.json", {
        "config": config, "rows": rows, "checks": [c.to_dict() for c in result["checks"]], "variants": configs})
    return {"config": config, "rows": rows, "variants": configs, "checks": result["checks"],
            "files": [str(path), *map(str, result["files"])], "text": markdown(result)}


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, _body)


if __name__ == "__main__":
    raise SystemExit(main())
