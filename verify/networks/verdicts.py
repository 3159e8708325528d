"""Verdicts on trained networks: each claim of the paper as a check decided by bootstrap intervals.

A claim is made of parts, each an interval against a threshold (:func:`analysis.bootstrap.decide`,
:func:`analysis.bootstrap.bootstrap_difference`); :func:`claim` combines them as an
intersection-union test: PASS when every part is decided in the claim's favour, FAIL when any part
is decided against it, "undecided at this budget" otherwise. So a claim passes only on evidence for
all of it, and a run of barely trained networks (whose trends are noise) is at best undecided.

Three kinds of check (``Check.binding`` carries the kind until :class:`verify.verdict.Check` has a
field for it; see :func:`upper_check`):

- **claims** (binding): what the paper says, decided from below or as a difference;
- **the upper check** (:func:`above_bayes_bound`, the only one): a network decidedly above the
  Bayes bound ``r2_bayes`` fails the run; being below it never makes a PASS;
- **notes** (non-binding): the comparison with the paper's line ``r2_protocol`` (the r^2 a linear
  decoder of mu(t) reaches, which a better decoder may exceed, so not a bound) and measurements the
  paper gives no rule for.

The one tolerance that is the toolkit's choice (not the paper's): :data:`EVIDENCE_FRACTION`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.bootstrap import LEVEL, bootstrap_difference, decide, interval
from analysis.decoders import HEADLINE
from theory.angles import angle_spread
from theory.ceilings import r2_protocol
from theory.folds import ood_folds
from verify.verdict import Check

#: Published budget (batches), for the CLI's help text.
PUBLISHED_BATCHES = 100_000
#: The toolkit's choice, not the paper's: a state is "at the line" when it decodes at least as well as
#: the optimal agent given this fraction of the evidence (noise variance sigma^2 / t divided by it).
#: Reason: an r^2 tolerance must scale with sigma, t and the protocol; an evidence fraction does (it is
#: the statistical efficiency of ideal-observer analysis), and 1/2 is the smallest fraction we still call
#: "uses its evidence as the optimal agent does". The same choice sets the equivalence and no-drop
#: margins (:func:`margin`): a difference worth less than halving the evidence.
EVIDENCE_FRACTION = 0.5
_CI = f"{100 * LEVEL:g}% t interval of the mean over networks (folds averaged per network)"


@dataclass(frozen=True)
class Part:
    """One interval decision of a claim: what was compared (with its numbers), and its outcome."""

    text: str
    passed: bool
    decided: bool


def claim(name: str, text: str, parts, predicted: str, tolerance: str) -> Check:
    """A binding check that passes when every part is decided for it and fails when any is decided against."""
    parts = list(parts)
    failed = any(p.decided and not p.passed for p in parts)
    passed = bool(parts) and all(p.decided and p.passed for p in parts)
    return Check(name, text, None, None, tolerance, bool(passed), decided=bool(passed or failed),
                 predicted_text=predicted, measured_text="; ".join(p.text for p in parts))


def headline(row) -> dict:
    """The headline decoder's interval of a row."""
    return row["decoders"][HEADLINE]


def _estimate(ci) -> float:
    """The point estimate the interval is for (the mean over networks; older records: the median)."""
    return ci.get("estimate", ci["median"])


def _fmt(ci) -> str:
    return f"{_estimate(ci):.4g} [{ci['ci_low']:.4g}, {ci['ci_high']:.4g}]"


def half_evidence_line(sigma: float, t: float, D: int, normalisation: str) -> float:
    """The paper's line (fold-mean protocol r^2 of a linear decoder of mu) for an agent that has
    :data:`EVIDENCE_FRACTION` of the evidence: noise variance sigma^2 / (t * fraction) per coordinate."""
    v = np.full(D, sigma**2 / (t * EVIDENCE_FRACTION))
    return float(np.mean([r2_protocol(v, f, normalisation) for f in ood_folds(D)]))


def line_keys(sigma: float, t: float, D: int, normalisation: str) -> dict:
    """Row keys of the verdicts for an experiment on the paper's uniform-prior line."""
    return {"r2_line_half_evidence": half_evidence_line(sigma, t, D, normalisation)}


def margin(row) -> float:
    """Equivalence / no-drop margin of a row: its line minus its line at reduced evidence (> 0)."""
    return float(row["r2_protocol"] - row["r2_line_half_evidence"])


# ---------------------------------------------------------------- parts
def at_line(row, label: str) -> Part:
    """The headline interval lies above the line at reduced evidence (:data:`EVIDENCE_FRACTION`), and,
    where the row measures how well the networks solve their tasks (``task_accuracy``: affine
    boundaries with read-outs), their accuracy interval lies above the optimal agent's expected accuracy
    on the same latents at that evidence (``task_accuracy_half_evidence``).

    Theorem 3.1 is about agents that solve the tasks; a state can decode x* linearly without solving
    anything (the causal attention of an untrained transformer already averages its inputs: OOD r^2 0.96
    after 20 batches, at chance on the tasks). Passes when both parts pass, fails when one fails.
    """
    ci, thr = headline(row), row["r2_line_half_evidence"]
    passed, decided = decide(ci["ci_low"], ci["ci_high"], thr, "above")
    text = f"{label}: {_fmt(ci)} vs line at {EVIDENCE_FRACTION:g} of the evidence {thr:.4g}"
    acc = row.get("task_accuracy")
    if acc is None:
        return Part(text, passed, decided)
    acc_thr = row["task_accuracy_half_evidence"]
    acc_passed, acc_decided = decide(acc["ci_low"], acc["ci_high"], acc_thr, "above")
    both = passed and decided and acc_passed and acc_decided
    failed = (decided and not passed) or (acc_decided and not acc_passed)
    return Part(f"{text}; task accuracy {_fmt(acc)} vs the optimal agent's at {EVIDENCE_FRACTION:g} of the "
                f"evidence {acc_thr:.4g}", both, both or failed)


def difference(a, b, label: str, claim_: str, rng, n_boot: int) -> Part:
    """mean(b) - mean(a) above 0 (``claim_="above"``) or below 0 (``"below"``), by its interval."""
    diff, lo, hi = bootstrap_difference(a, b, rng, n_boot)
    passed, decided = decide(lo, hi, 0.0, claim_)
    return Part(f"{label}: {diff:.4g} [{lo:.4g}, {hi:.4g}] {'>' if claim_ == 'above' else '<'} 0", passed, decided)


def gap_shrinks(a, line_a: float, b, line_b: float, label: str, rng, n_boot: int) -> Part:
    """The gap to the line (line - r^2) is smaller at b than at a: the interval of gap_b - gap_a is below 0."""
    return difference(line_a - np.asarray(a), line_b - np.asarray(b), f"{label} (gap_b - gap_a)", "below", rng, n_boot)


def equivalent(a, b, m: float, label: str, rng, n_boot: int) -> Part:
    """Equivalence within +-m: the interval of mean(b) - mean(a) inside (-m, m) passes; wholly
    outside [-m, m] fails (decidedly different); otherwise undecided (two one-sided tests on one interval)."""
    diff, lo, hi = bootstrap_difference(a, b, rng, n_boot)
    passed = -m < lo and hi < m
    failed = hi < -m or lo > m
    return Part(f"{label}: {diff:.4g} [{lo:.4g}, {hi:.4g}] within +-{m:.3g}", bool(passed), bool(passed or failed))


def no_drop(a, b, m: float, label: str, rng, n_boot: int) -> Part:
    """Non-inferiority: mean(b) - mean(a) > -m (interval above -m passes, below -m fails)."""
    diff, lo, hi = bootstrap_difference(a, b, rng, n_boot)
    passed, decided = decide(lo, hi, -m, "above")
    return Part(f"{label}: {diff:.4g} [{lo:.4g}, {hi:.4g}] > -{m:.3g}", passed, decided)


# ---------------------------------------------------------------- claims used by several experiments
def rises_to_line(rows, values, key: str, label: str, rng, n_boot: int, text: str = "") -> Check:
    """Claim: OOD r^2 rises from the first to the last row and the last row is at the line."""
    parts = [difference(values[0], values[-1], f"rise {key} {rows[0][key]} -> {rows[-1][key]}", "above", rng,
                        n_boot), at_line(rows[-1], f"{key} = {rows[-1][key]}")]
    return claim(f"rises_to_line_{label}", text or f"OOD r^2 ({HEADLINE}) rises from {key} = {rows[0][key]} to "
                 f"{rows[-1][key]} and is at the line there", parts, "rise > 0; at the line",
                 f"{_CI}; 'at the line' = above the line at {EVIDENCE_FRACTION:g} of the evidence (toolkit's choice)")


def below_ceiling(rows, key: str, label: str) -> Check:
    """Note (non-binding): the headline interval against the paper's line ``r2_protocol`` at every
    setting. The line is what a linear decoder of mu(t) reaches, not an upper bound; the Bayes bound
    (:func:`above_bayes_bound`) is."""
    worst = max(rows, key=lambda r: headline(r)["ci_low"] - r["r2_protocol"])
    outcomes = [decide(headline(r)["ci_low"], headline(r)["ci_high"], r["r2_protocol"], "below") for r in rows]
    failed = any(d and not p for p, d in outcomes)
    passed = all(p for p, _ in outcomes)
    return Check(f"ood_below_ceiling_{label}", f"note: mean OOD r^2 ({HEADLINE}) against the paper's line (a "
                 f"linear decoder of mu; not a bound) at every {key} (worst {key} = {worst[key]})",
                 worst["r2_protocol"], _estimate(headline(worst)), f"whole {_CI} below the line",
                 bool(passed), binding=False, decided=bool(passed or failed),
                 predicted_text=f"< {worst['r2_protocol']:.4g}", measured_text=_fmt(headline(worst)))


def upper_check(name: str, text: str, predicted: float, measured: float, tolerance: str, above: bool,
                decided: bool, predicted_text: str = "", measured_text: str = "") -> Check:
    """An upper check (``kind="upper"``): it can fail a run and never pass one on its own
    (:func:`verify.verdict.verdict_word`)."""
    return Check(name, text, predicted, measured, tolerance, not above, decided=bool(decided), kind="upper",
                 predicted_text=predicted_text, measured_text=measured_text)


def above_bayes_bound(rows, label: str) -> tuple[list, list]:
    """The only upper check: no headline interval decidedly above the Bayes bound ``r2_bayes`` of its row.

    ``r2_bayes`` is the r^2 of the posterior mean of x* under the world's prior on the same protocol (no
    decoder of any state beats it beyond noise). Rows without it are listed in ``skipped``.

    Returns
    -------
    checks, skipped : lists (one check when any row has the key)
    """
    have = [r for r in rows if "r2_bayes" in r]
    skipped = [f"below_bayes_bound_{label}: {len(rows) - len(have)} of {len(rows)} rows carry no r2_bayes"] \
        if len(have) < len(rows) else []
    if not have:
        return [], skipped
    outcomes = [decide(headline(r)["ci_low"], headline(r)["ci_high"], r["r2_bayes"], "above") for r in have]
    above = any(p for p, _ in outcomes)
    worst = max(have, key=lambda r: headline(r)["ci_low"] - r["r2_bayes"])
    decided = above or all(d for _, d in outcomes)
    return [upper_check(f"below_bayes_bound_{label}", "no network's mean OOD r^2 is decidedly above the Bayes "
                        "bound (posterior mean under the prior)", worst["r2_bayes"], _estimate(headline(worst)),
                        f"whole {_CI} above the bound fails", above, decided,
                        predicted_text=f"<= {worst['r2_bayes']:.4g}", measured_text=_fmt(headline(worst)))], skipped


def row_passed(row) -> bool | None:
    """Per-row flag: the headline interval is not decidedly above the Bayes bound (None without one)."""
    if "r2_bayes" not in row:
        return None
    ci = headline(row)
    above, _ = decide(ci["ci_low"], ci["ci_high"], row["r2_bayes"], "above")
    return not above


def finish(checks: list, skipped: list, rows, key: str, label: str) -> tuple[list, list]:
    """An experiment's claims plus the note against the paper's line and the Bayes upper check (the one
    call that adds the upper check to every experiment)."""
    if not rows:
        return checks, skipped
    upper, why = above_bayes_bound(rows, label)
    return checks + [below_ceiling(rows, key, label)] + upper, skipped + why


# ---------------------------------------------------------------- notes of the reference networks
def angles_approach_90(rows, rng, n_boot: int) -> Check:
    """Claim (Fig. 3c): the ridge-decoder angle approaches 90 degrees with N.

    Two parts, over networks (x pairs): the mean |angle - 90| is smaller at the largest N than at the
    smallest (interval of the difference below 0); and at the largest N it lies within the theory's
    spread of output-space angles for N random tasks, (180/pi) sqrt(D / (N (D + 2)))
    (:func:`theory.angles.angle_spread`, Corollary B.9): the theory's own scale of "near 90" at that N.
    """
    first, last = rows[0], rows[-1]
    dev = [np.abs(np.asarray(r["angles_per_network"]["ridge_cv_degrees"], dtype=float) - 90.0) for r in (first, last)]
    D = int(round((1 + np.sqrt(1 + 8 * dev[-1].shape[-1])) / 2))          # pairs = D (D - 1) / 2
    spread = float(angle_spread(last["ntask"], D))
    closer = difference(dev[0], dev[-1], f"|angle - 90| N = {last['ntask']} minus N = {first['ntask']}",
                        "below", rng, n_boot)
    ci = interval(dev[-1], rng, n_boot)
    passed, decided = decide(ci.ci_low, ci.ci_high, spread, "below")
    near = Part(f"|angle - 90| at N = {last['ntask']}: {ci.estimate:.3g} [{ci.ci_low:.3g}, {ci.ci_high:.3g}] < "
                f"{spread:.3g} deg", passed, decided)
    return claim("angles_approach_90", f"the ridge-decoder angle (hidden space) is closer to 90 degrees at N = "
                 f"{last['ntask']} than at N = {first['ntask']}, and within the random-design spread there",
                 [closer, near], "difference < 0; |angle - 90| < spread",
                 "95% t intervals over networks (x pairs); spread = (180/pi) sqrt(D / (N (D + 2)))")


def angle_note(row) -> Check:
    """Note: does the largest-N angle interval contain 90 degrees?"""
    ci = row["angles"]["ridge_cv"]
    inside = ci["ci_low"] <= 90.0 <= ci["ci_high"]
    return Check("angle_interval_contains_90", f"note: the ridge-decoder angle interval at N = {row['ntask']} "
                 "contains 90 degrees", 90.0, _estimate(ci), "95% interval contains 90", bool(inside), binding=False,
                 measured_text=_fmt(ci))


def attractor_signature(dyn: dict, D: int) -> Check:
    """Note: a D-D continuous attractor (D multipliers near 1 at most fixed points); the paper gives no
    rule for "near" (``unit_tol`` is the toolkit's choice), so it is measured, not binding."""
    best = max((d["fraction_with_D_unit"] for d in dyn["networks"]), default=0.0)
    return Check("attractor_signature", f"note: at least one network (N = {dyn['ntask']}) has {D} multipliers "
                 f"within {dyn['unit_tol']} of 1 at most (> half) of its fixed points", 0.5, best,
                 "fraction of fixed points > 0.5", bool(best > 0.5), binding=False, predicted_text="> 0.5")


def table_by_ntask(records, decoder: str, readout: str, protocol: str, experiment: str = "reference") -> dict:
    """{N: (K, F) r^2} of one decoder from the tidy records."""
    cells: dict = {}
    for r in records:
        if r["experiment"] == experiment and r["decoder"] == decoder and r["readout"] == readout \
                and r["protocol"] == protocol:
            cells.setdefault(r["ntask"], {}).setdefault(r["network"], []).append(r["r2"])
    return {n: np.array(list(nets.values())) for n, nets in sorted(cells.items())}


def claims_by_decoder(rows, records, rng, n_boot: int, reference_defect: bool = False) -> list[dict]:
    """Which claims each decoder reproduces on the reference networks (sensitivity table).

    Per decoder (and the reference emulation, reference_adam on the defective folds): the median at the
    largest N, its gap to the paper's line, whether it is at the line (above the line at
    :data:`EVIDENCE_FRACTION` of the evidence, by the median: a sensitivity reading, not a verdict), and
    whether OOD r^2 rises from the smallest to the largest N (bootstrap interval of the difference).
    """
    if not rows or rows[0]["experiment"] != "reference":
        return []
    protocol = "reference_defect" if reference_defect else "honest"
    variants = [(name, name, protocol) for name in rows[-1]["decoders"]]
    variants.append(("reference_adam + reference defect", "reference_adam", "reference_defect"))
    top_row = rows[-1]
    out = []
    for label, decoder, prot in variants:
        table = table_by_ntask(records, decoder, "decision", prot)
        if not table:
            continue
        ns = list(table)
        top = float(np.median(table[ns[-1]]))
        entry = {"decoder": label, "ntask": ns[-1], "median_at_top": top,
                 "gap_to_protocol": float(top_row["r2_protocol"] - top)}
        if "r2_line_half_evidence" in top_row:
            entry["at_line"] = bool(top >= top_row["r2_line_half_evidence"])
        if len(ns) > 1:
            diff, lo, hi = bootstrap_difference(table[ns[0]], table[ns[-1]], rng, n_boot)
            passed, decided = decide(lo, hi, 0.0, "above")
            entry |= {"rise": diff, "rise_ci_low": lo, "rise_ci_high": hi,
                      "rises_with_ntask": "yes" if passed else "no" if decided else "undecided"}
        out.append(entry)
    return out
