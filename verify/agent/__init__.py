"""Check any agent: your network's or recording's states against the optimal agent of the theory.

Reads an .npz with the agent's states at the decision step and the latents of each trial (keys below;
docs/check-any-agent.md has the walk-through) and runs everything the toolkit measures on arrays: OOD
r^2 under every decoder, the representation's geometry (CCGP, parallelism, shattering dimensionality,
participation ratio, DCI) with shuffle nulls, and, when the outputs are given, the position trilaterated
from them and their calibration against the optimal agent. Verdicts compare the agent with the optimal
agent at the file's sigma and t: the paper's line (what a linear decoder of mu reaches) and the Bayes
bound (the posterior mean under the prior).

Keys: states (n, H) or (K, n, H); latents (n, D) or (K, n, D); sigma () or (D,); t (); optional
prior_low, prior_high (D,) (default: the toolkit's cube [-1/2, 1/2]^D), prior ('box', 'copula',
'empirical'), rho, outputs (n, N) or (K, n, N), outputs_kind ('probability' or 'logit'), C (N, D),
b (N,), mu (n, D) or (K, n, D), folds (F, n) bool.

Uncertainty: over agents (Student-t) when the file holds K >= 2; over the trials of the one agent
otherwise. Checks: binding ones pass or fail (OOD r^2 at the line, CCGP at the optimal agent's, outputs
at the ceiling, each at half the evidence); upper checks (Bayes bounds) can fail a run and never pass one alone.

Files (--out DIR): results.json (config, prior, rows, checks), agent.csv (the rows; columns: section,
measure, detail, value, ci_low, ci_high, interval, null_mean, null_q95, optimal, threshold, bound,
n_agents, n_trials), agent.png.

Exit: 0 PASS, 1 FAIL or NO VERDICT (no claim decided), 2 bad file.

Example:  python -m verify.agent my_agent.npz --out runs/agent --json
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.decoders import DECODERS
from analysis.prior import Prior, empirical_prior
from infra.store import atomic_write_bytes, atomic_write_json, csv_bytes
from theory.folds import SCHEMES
from verify.agent.inputs import KEYS, AgentInputs, load_agent_file, validate
from verify.agent.measure import N_BOOT, ROW_KEYS, measure_agent
from verify.plotting import new_figure, save_figure
from verify.verdict import base_parser, run_cli

__all__ = ["KEYS", "ROW_KEYS", "check_agent", "check_inputs", "load_agent_file", "main"]


def check_inputs(inp: AgentInputs, decoders=tuple(DECODERS), scheme: str = "auto", shuffles: int = 10,
                 rng=0, n_boot: int = N_BOOT) -> dict:
    """Rows and checks of validated inputs: {"config", "prior", "layout", "rows", "checks"}."""
    if scheme not in ("auto",) + SCHEMES:
        raise ValueError(f"scheme={scheme!r} must be 'auto' or one of {SCHEMES}")
    if isinstance(shuffles, bool) or not isinstance(shuffles, (int, np.integer)) or shuffles < 2:
        raise ValueError(f"shuffles={shuffles!r} must be an integer >= 2")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 10:
        raise ValueError(f"n_boot={n_boot!r} must be an integer >= 10")
    rows, checks = measure_agent(inp, tuple(decoders), scheme, int(shuffles), rng, int(n_boot))
    config = {"K": inp.K, "n": inp.n, "H": int(inp.states.shape[-1]), "D": inp.D, "sigma": inp.sigma.tolist(),
              "t": inp.t, "outputs": inp.logits is not None, "outputs_kind": inp.outputs_kind,
              "mu": inp.mu is not None, "folds": "user masks" if inp.folds is not None else scheme,
              "decoders": list(decoders), "shuffles": int(shuffles), "n_boot": int(n_boot)}
    return {"config": config, "prior": inp.prior.to_dict(), "layout": inp.layout, "rows": rows, "checks": checks}


def check_agent(states, latents, prior: Prior | str | None = None, sigma=None, t=None, outputs=None, C=None, b=None,
                mu=None, outputs_kind=None, folds=None, decoders=tuple(DECODERS), scheme: str = "auto",
                shuffles: int = 10, rng=0, n_boot: int = N_BOOT) -> dict:
    """Everything ``python -m verify.agent`` reports, on arrays.

    Parameters
    ----------
    states : (n, H) one agent, or (K, n, H) K agents (networks, sessions) on their own or shared trials
    latents : (n, D) or (K, n, D), x* in the user's units
    prior : :class:`analysis.prior.Prior` (e.g. ``box_prior(low, high)``), ``"empirical"`` (no prior known:
        median-centred, normalised by the empirical variance; no theory line), or None (the toolkit's cube)
    sigma : scalar or (D,), the per-step evidence noise sd (latents' units); t : evidence samples
    outputs : (n, N) or (K, n, N), probabilities in (0, 1) or logits (``outputs_kind`` says which; default:
        probabilities when every value lies in [0, 1]); C (N, D), b (N,): the tasks' boundaries c . x + b = 0
    mu : (n, D) or (K, n, D), the mean evidence of each trial (enables calibration)
    folds : bool (F, n), held-out masks; default: sign regions around the prior's centre (``scheme``)
    decoders : names in :data:`analysis.decoders.DECODERS`; shuffles : draws of each null; rng : seed or Generator
    n_boot : trial resamples behind one agent's CCGP and shattering intervals

    Returns
    -------
    dict with ``config``, ``prior`` (its description), ``layout`` (one agent or ensemble), ``rows`` (dicts with
    the keys of :data:`ROW_KEYS`) and ``checks`` (:class:`verify.verdict.Check`)
    """
    if sigma is None or t is None:
        raise ValueError("sigma and t (the evidence the agent saw) are required for the theory lines")
    if isinstance(prior, str):
        if prior != "empirical":
            raise ValueError(f"prior={prior!r} must be a Prior, 'empirical' or None")
        prior = empirical_prior(latents)
    inp = validate(states, latents, sigma, t, prior, outputs, outputs_kind, C, b, mu, folds)
    return check_inputs(inp, decoders, scheme, shuffles, rng, n_boot)


def plot_agent(rows: list[dict], path) -> Path:
    """r^2 of every decoder (with the line, the half-evidence threshold and the Bayes bound) and the geometry
    measures against their shuffle nulls' 95th percentile."""
    fig, (ax_r2, ax_geo) = new_figure(2, width=5.5)
    r2 = [r for r in rows if r["section"] in ("r2", "outputs") and r["measure"] != "calibration"]
    labels = [r["detail"] for r in r2]
    for i, r in enumerate(r2):
        lo, hi = r["ci_low"], r["ci_high"]
        err = None if lo is None else [[r["value"] - lo], [hi - r["value"]]]
        ax_r2.errorbar(i, r["value"], yerr=err, fmt="o", color="k", capsize=3)
        for key, style in (("optimal", "-"), ("threshold", "--"), ("bound", ":")):
            if r[key] is not None:
                ax_r2.plot([i - 0.3, i + 0.3], [r[key]] * 2, style, color="C0" if key != "bound" else "C3")
    ax_r2.set_xticks(range(len(r2)), labels, rotation=30, fontsize=7)
    ax_r2.set_ylabel("r^2 (95% CI); line -, half evidence --, Bayes :")
    geo = [r for r in rows if r["section"] == "geometry" and r["measure"] != "participation_ratio"]
    for i, r in enumerate(geo):
        ax_geo.plot(i, r["value"], "o", color="k")
        if r["null_q95"] is not None:
            ax_geo.plot(i, r["null_q95"], "v", color="gray")
        if r["threshold"] is not None:
            ax_geo.plot([i - 0.3, i + 0.3], [r["threshold"]] * 2, "--", color="C0")
    ax_geo.set_xticks(range(len(geo)), [f"{r['measure'][:12]} {r['detail'][:6]}" for r in geo], rotation=60,
                      fontsize=6)
    ax_geo.set_ylabel("value (o), shuffle null q95 (v)")
    return save_figure(fig, path)


def write_outputs(result: dict, out) -> list[Path]:
    """results.json, agent.csv and agent.png in ``out``."""
    out = Path(out)
    record = {k: v for k, v in result.items() if k != "checks"} | {"checks": [c.to_dict() for c in result["checks"]]}
    return [Path(atomic_write_json(out / "results.json", record)),
            Path(atomic_write_bytes(out / "agent.csv", csv_bytes(result["rows"]))), plot_agent(result["rows"],
                                                                                               out / "agent.png")]


def format_rows(rows: list[dict]) -> str:
    """The rows as a plain-text table (the columns that vary)."""
    keys = ("section", "measure", "detail", "value", "ci_low", "ci_high", "null_q95", "optimal", "threshold", "bound")
    cell = lambda v: "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    table = [keys] + [tuple(cell(r[k]) for k in keys) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(keys))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)


def build_parser():
    p = base_parser(__doc__, "python -m verify.agent", out=None)
    p.add_argument("file", help="the agent's .npz (keys above)")
    p.add_argument("--decoders", nargs="+", default=list(DECODERS), choices=list(DECODERS),
                   help="decoders of the OOD r^2 (default: all; the headline ridge_cv decides)")
    p.add_argument("--folds", default="auto", choices=("auto",) + SCHEMES,
                   help="fold scheme around the prior's centre (default auto: orthants up to D = 3); a 'folds' key "
                        "in the file overrides it")
    p.add_argument("--shuffles", type=int, default=10, help="draws of each shuffle null (default 10)")
    p.add_argument("--boot", type=int, default=N_BOOT,
                   help=f"trial resamples behind one agent's CCGP and shattering intervals (default {N_BOOT})")
    return p


def _body(args) -> dict:
    inp = load_agent_file(args.file)          # every problem with the file is reported here, before any work
    result = check_inputs(inp, args.decoders, args.folds, args.shuffles, args.seed, args.boot)
    result["config"] = {"file": str(args.file), "seed": args.seed} | result["config"]
    text = f"prior: {result['prior']['description']}\nlayout: {result['layout']}\n" + format_rows(result["rows"])
    if args.out is not None:
        files = write_outputs(result, args.out)
        result["files"] = [str(f) for f in files]
        text += f"\nfiles written to {args.out}"
    return result | {"text": text}


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, _body)
