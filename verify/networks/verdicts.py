"""Verdicts on trained networks, decided by bootstrap intervals over networks x folds.

Every check compares an interval with its threshold (:func:`analysis.bootstrap.decide`): PASS
when the whole interval agrees with the claim, FAIL when the whole interval contradicts it, and
"undecided at this budget" when the interval contains the threshold (too few networks to tell).
"""
from __future__ import annotations

import numpy as np

from analysis.bootstrap import LEVEL, bootstrap_difference, decide
from analysis.decoders import HEADLINE
from verify.verdict import Check

#: Published budget (batches) from which the "within 0.03 of the protocol ceiling" claim applies.
PUBLISHED_BATCHES = 100_000
#: Largest allowed gap below the protocol ceiling at N = 24 with the published budget (Fig. 3a).
PUBLISHED_GAP = 0.03
_CI = f"{100 * LEVEL:g}% bootstrap interval over networks x folds"


def below_ceiling(rows, key: str, label: str) -> Check:
    """The headline median OOD r^2 is below the protocol ceiling at every setting."""
    worst = max(rows, key=lambda r: r["decoders"][HEADLINE]["ci_low"] - r["r2_protocol"])
    ci = worst["decoders"][HEADLINE]
    outcomes = [decide(r["decoders"][HEADLINE]["ci_low"], r["decoders"][HEADLINE]["ci_high"], r["r2_protocol"],
                       "below") for r in rows]
    failed = any(d and not p for p, d in outcomes)          # one setting decidedly above decides the check
    passed = all(p for p, _ in outcomes)
    decided = failed or passed
    return Check(f"ood_below_ceiling_{label}", f"median OOD r^2 ({HEADLINE}) is below the protocol ceiling at every "
                 f"{key} (worst {key} = {worst[key]})", worst["r2_protocol"], ci["median"],
                 f"whole {_CI} below the ceiling", bool(passed), decided=bool(decided),
                 predicted_text=f"< {worst['r2_protocol']:.4g}",
                 measured_text=f"{ci['median']:.4g} [{ci['ci_low']:.4g}, {ci['ci_high']:.4g}]")


def monotone(rows, values, key: str, label: str, increasing: bool, rng, n_boot: int) -> Check:
    """The headline median OOD r^2 rises (falls) from the first to the last setting.

    ``values`` : the (K, F) headline r^2 of each row, in the rows' order.
    """
    diff, lo, hi = bootstrap_difference(values[0], values[-1], rng, n_boot)
    direction = "rises" if increasing else "falls"
    passed, decided = decide(lo, hi, 0.0, "above" if increasing else "below")
    return Check(f"ood_{direction}_with_{label}", f"median OOD r^2 ({HEADLINE}) {direction} from {key} = "
                 f"{rows[0][key]} to {rows[-1][key]}", 0.0, diff,
                 f"whole {_CI} of the difference {'> 0' if increasing else '< 0'}", bool(passed), decided=bool(decided),
                 predicted_text="> 0" if increasing else "< 0", measured_text=f"{diff:.4g} [{lo:.4g}, {hi:.4g}]")


def published_gap(row, batches: int) -> tuple[list, list]:
    """Paper claim, like for like: the reference decoder on the reference's folds at N = 24 with
    the published budget is within 0.03 of the protocol ceiling (non-binding)."""
    if row["ntask"] < 24 or batches < PUBLISHED_BATCHES or "reference_emulation" not in row:
        return [], [f"published_gap_at_24: needs N = 24 and >= {PUBLISHED_BATCHES} batches (this run: max N = "
                    f"{row['ntask']}, {batches} batches)"]
    emu = row["reference_emulation"]
    gap = row["r2_protocol"] - emu["median"]
    return [Check("published_gap_at_24", f"with the published budget, the reference's decoder (Adam, defective "
                  f"folds) at N = {row['ntask']} is within {PUBLISHED_GAP} of the protocol ceiling",
                  PUBLISHED_GAP, gap, f"<= {PUBLISHED_GAP} (Fig. 3a)", bool(gap <= PUBLISHED_GAP),
                  binding=False, predicted_text=f"<= {PUBLISHED_GAP}")], []


def angles_approach_90(rows) -> Check:
    """Paper claim (Fig. 3c): ridge-decoder angles closer to 90 degrees at the largest N."""
    first, last = (abs(r["angles"]["ridge_cv"]["median"] - 90) for r in (rows[0], rows[-1]))
    return Check("angles_approach_90", f"the ridge-decoder angle is closer to 90 degrees at N = {rows[-1]['ntask']} "
                 f"than at N = {rows[0]['ntask']} (hidden space)", first, last, "strictly closer",
                 bool(last < first), binding=False, predicted_text=f"< {first:.3g}")


def attractor_signature(dyn: dict, D: int) -> Check:
    """Paper claim: a D-D continuous attractor (D multipliers near 1 at most fixed points)."""
    best = max((d["fraction_with_D_unit"] for d in dyn["networks"]), default=0.0)
    return Check("attractor_signature", f"at least one network (N = {dyn['ntask']}) has {D} multipliers within "
                 f"{dyn['unit_tol']} of 1 at most of its fixed points (a {D}-D continuous attractor)", 0.5,
                 best, "fraction of fixed points >= 0.5", bool(best >= 0.5), binding=False, predicted_text=">= 0.5")


def row_passed(row) -> bool | None:
    """Per-row flag: the headline interval is not decidedly above the protocol ceiling."""
    ci = row["decoders"][HEADLINE]
    p, d = decide(ci["ci_low"], ci["ci_high"], row["r2_protocol"], "below")
    return bool(p or not d)


def _table(records, decoder: str, readout: str, protocol: str) -> dict:
    """{N: (K, F) r^2} of one decoder from the tidy records of the reference networks."""
    cells: dict = {}
    for r in records:
        if r["experiment"] == "reference" and r["decoder"] == decoder and r["readout"] == readout \
                and r["protocol"] == protocol:
            cells.setdefault(r["ntask"], {}).setdefault(r["network"], []).append(r["r2"])
    return {n: np.array(list(nets.values())) for n, nets in sorted(cells.items())}


def claims_by_decoder(rows, records, rng, n_boot: int, reference_defect: bool = False) -> list[dict]:
    """Which paper claims each decoder reproduces on the reference networks (sensitivity table).

    Per decoder (and the reference emulation, reference_adam on the defective folds): the median
    at the largest N with its gap to the protocol ceiling (the published claim: <= 0.03), and
    whether OOD r^2 rises from the smallest to the largest N (bootstrap interval of the difference).
    """
    if not rows or rows[0]["experiment"] != "reference":
        return []
    protocol = "reference_defect" if reference_defect else "honest"
    variants = [(name, name, protocol) for name in rows[-1]["decoders"]]
    variants.append(("reference_adam + reference defect", "reference_adam", "reference_defect"))
    out = []
    for label, decoder, prot in variants:
        table = _table(records, decoder, "decision", prot)
        if len(table) < 1:
            continue
        ns = list(table)
        top = np.median(table[ns[-1]])
        entry = {"decoder": label, "ntask": ns[-1], "median_at_top": float(top),
                 "gap_to_protocol": float(rows[-1]["r2_protocol"] - top),
                 "within_published_gap": bool(rows[-1]["r2_protocol"] - top <= PUBLISHED_GAP)}
        if len(ns) > 1:
            diff, lo, hi = bootstrap_difference(table[ns[0]], table[ns[-1]], rng, n_boot)
            passed, decided = decide(lo, hi, 0.0, "above")
            entry |= {"rise": diff, "rise_ci_low": lo, "rise_ci_high": hi,
                      "rises_with_ntask": "yes" if passed else "no" if decided else "undecided"}
        out.append(entry)
    return out
