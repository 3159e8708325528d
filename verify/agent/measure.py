"""Everything the toolkit measures on an outside agent's states, and its verdicts against the optimal agent.

All measures run in the prior's canonical coordinates (:mod:`analysis.prior`): latents, the noise sd and
the task boundaries are mapped there, so every number below is invariant to a shift and scale of the
latents when the prior is described.

Uncertainty (95%): over agents when the file holds K >= MIN_NETWORKS of them (Student-t on the K agents'
values, :func:`analysis.intervals.cluster_t`: how another network or session would do); for one agent, over
its trials (how well *this* agent was measured): r^2 by :func:`analysis.intervals.trial_r2_interval` on the
per-trial squared errors (each held-out trial weighted so that their mean is the fold-mean error; the fitted
decoders are held fixed; simulated coverage in tests/test_check_agent.py), accuracies (CCGP, shattering) by
a bootstrap over the agent's trials with the classifiers refit (:func:`bootstrap_se`), normal 95% intervals
clipped to the measure's range (:func:`analysis.geometry.clip_interval`).
Measures with neither (parallelism, participation ratio, DCI of one agent) get no interval and decide
nothing.

Checks (rule: :func:`analysis.bootstrap.decide` on the interval; "at the line" is the claims' rule of
:mod:`verify.networks.verdicts`, above the optimal agent's value at EVIDENCE_FRACTION of the evidence):

- binding, can pass or fail: OOD r^2 of the headline decoder at the paper's line (box or copula prior);
  CCGP of every latent at the optimal agent's (box); r^2 of mu trilaterated from the outputs at the
  optimal agent's ceiling 1 - 12 mean(v) (outputs given);
- upper checks (``kind="upper"``), can fail a run and never pass one alone: OOD r^2 and the outputs' r^2
  not decidedly above the Bayes bound :func:`theory.bayes_bound.r2_bayes` (box), CCGP not decidedly above
  the Bayes classifier's;
- measurements only: every other decoder, parallelism, shattering, participation ratio, DCI (with shuffle
  nulls), calibration of the outputs against the optimal agent (when mu is given).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

from analysis.bootstrap import decide
from analysis.calibration import calibrate
from analysis.decoders import DECODERS, HEADLINE, REFERENCE_ADAM_STEPS, fit_linear_decoder, r2_score
from analysis.geometry import (MAX_BERNARDI_D, ccgp, clip_interval, dci,
                               parallelism_bernardi, parallelism_mean_pairs, parallelism_regressor_cosine,
                               participation_ratio, shattering_dimensionality, shuffle_null, unit_shuffle_null)
from analysis.intervals import MIN_NETWORKS, cluster_t, trial_r2_interval
from analysis.optimality import decode_mu
from analysis.prior import ood_r2
from theory.bayes_bound import r2_bayes, r2_bayes_fold_mean
from theory.ceilings import r2_ceiling, r2_protocol
from theory.correlated import r2_protocol_copula
from theory.folds import ood_folds
from theory.geometry import MAX_QUAD_D, ccgp_optimal
from theory.world import LATENT_VARIANCE, as_generator
from verify.agent.inputs import AgentInputs
from verify.networks.verdicts import EVIDENCE_FRACTION, upper_check
from verify.verdict import Check

LEVEL = 0.95
ROW_KEYS = ("section", "measure", "detail", "value", "ci_low", "ci_high", "interval", "null_mean", "null_q95",
            "optimal", "threshold", "bound", "n_agents", "n_trials")
#: Agents each null draw is applied to (their values pooled), as verify.geometry does.
NULL_SAMPLES = 4
#: Trial resamples of one agent's accuracy measures (their SE to ~5%), and how many are measured at once.
N_BOOT, BOOT_CHUNK = 200, 20


def _row(section, measure, detail, value, ci=(None, None), interval="none", null=None, optimal=None,
         threshold=None, bound=None, K=1, n=0) -> dict:
    f = lambda v: None if v is None or not np.isfinite(v) else float(v)  # noqa: E731
    null_mean, null_q95 = (None, None) if null is None else (float(np.mean(null)), float(np.quantile(null, 0.95)))
    return dict(zip(ROW_KEYS, (section, measure, detail, f(value), f(ci[0]), f(ci[1]), interval, null_mean, null_q95,
                               f(optimal), f(threshold), f(bound), int(K), int(n))))


def between_agents(values) -> tuple[float, float, float]:
    """Mean over agents of each agent's mean (values (K,) or (K, F)) and its Student-t interval."""
    est, lo, hi = cluster_t(values, LEVEL)
    return float(est), float(lo), float(hi)


def fold_trial_errors(h, x, sp, decoder: str, fit) -> np.ndarray:
    """Per-trial squared errors (mean over coordinates) weighted so that their mean over trials is the fold-mean
    error of ``fit``: e'_i = sum_f [i held out in f] e_if n / (F n_f). Linear decoders only; shape (K, n)."""
    K, n, _ = h.shape
    F = len(sp.names)
    total = np.zeros((K, n))
    for f in range(F):
        train = ~sp.odd if decoder == "whole_cube" else sp.train[f]
        test = sp.test[f] & sp.odd if decoder == "whole_cube" else sp.test[f]
        pred = fit_linear_decoder(h, x, fit.ridge[:, f], weights=train).predict(h)
        err = np.mean((pred - x) ** 2, axis=-1)
        total += np.where(test, err, 0.0) * n / (F * test.sum(-1, keepdims=True))
    return total


def r2_interval(values, errors=None) -> tuple[float, tuple, str]:
    """Estimate, interval and method of an r^2 measured on K agents ((K,) or (K, F) values)."""
    values = np.asarray(values, dtype=float)
    if values.shape[0] >= MIN_NETWORKS:
        est, lo, hi = between_agents(values)
        return est, (lo, hi), "cluster_t"
    if errors is not None:
        est, lo, hi = trial_r2_interval(errors[0], reference_variance=LATENT_VARIANCE, level=LEVEL)
        return est, (lo, hi), "trials_t"
    return float(values.mean()), (np.nan, np.nan), "none"


def lines(inp: AgentInputs, v, scheme: str) -> dict:
    """The theory values at the file's evidence (canonical error variance v, shape (D,)): the paper's line,
    the line at EVIDENCE_FRACTION of the evidence, the Bayes bound (box), per :mod:`theory`."""
    kind, D = inp.prior.kind, inp.D
    out = {"line": None, "half": None, "bayes": None}
    if kind == "empirical" or inp.folds is not None:
        return out
    folds = ood_folds(D, scheme)
    if kind == "box":
        line = lambda w: float(np.mean([r2_protocol(w, f) for f in folds]))  # noqa: E731
        out["bayes"] = float(r2_bayes_fold_mean(v, "fullrange", scheme))
    else:
        line = lambda w: float(np.mean([r2_protocol_copula(w, f, inp.prior.rho) for f in folds]))  # noqa: E731
    out["line"], out["half"] = line(v), line(v / EVIDENCE_FRACTION)
    return out


def _interval_text(method: str) -> str:
    return {"cluster_t": "95% Student-t interval over agents", "trials_t": "95% interval over this agent's trials",
            "trials_bootstrap": "95% interval, SE by bootstrap over this agent's trials"}.get(method, "no interval")


def reaches(name: str, claim: str, threshold: float, est: float, ci, method: str) -> Check:
    """Binding: the interval lies above ``threshold`` (PASS), below it (FAIL), or straddles it (undecided)."""
    finite = np.all(np.isfinite(ci))
    passed, decided = decide(ci[0], ci[1], threshold, "above") if finite else (False, False)
    return Check(name, claim, float(threshold), float(est), f"{_interval_text(method)} [{ci[0]:.4g}, {ci[1]:.4g}] "
                 f"above {threshold:.4g}", bool(passed), decided=bool(decided))


def below_bound(name: str, claim: str, bound: float, est: float, ci, method: str) -> Check:
    """Upper check: fails when the interval lies wholly above ``bound``; never passes a run on its own."""
    finite = np.all(np.isfinite(ci))
    above, decided = decide(ci[0], ci[1], bound, "above") if finite else (False, False)
    return upper_check(name, claim, float(bound), float(est), f"{_interval_text(method)} [{ci[0]:.4g}, "
                       f"{ci[1]:.4g}] wholly above {bound:.4g} fails", bool(above), bool(decided))


def r2_section(inp: AgentInputs, x, sigma_c, decoders, rng, scheme: str) -> tuple[list, list]:
    """OOD r^2 rows of every decoder (:func:`analysis.prior.ood_r2`) and the r^2 checks."""
    h = inp.states
    v = sigma_c ** 2 / inp.t
    th = lines(inp, v, scheme)
    steps = REFERENCE_ADAM_STEPS[max(k for k in REFERENCE_ADAM_STEPS if k <= max(2, min(24, inp.C.shape[0])))] \
        if inp.C is not None else REFERENCE_ADAM_STEPS[24]
    rows, checks = [], []
    for name in decoders:
        fit, sp = ood_r2(h, inp.latents, inp.prior, name, inp.folds if inp.folds is not None else scheme, rng,
                         steps=steps)
        errors = fold_trial_errors(h, x, sp, name, fit) if name != "reference_adam" else None
        est, ci, method = r2_interval(fit.r2, errors)
        head = name == HEADLINE
        rows.append(_row("r2", "ood_r2", name, est, ci, method, optimal=th["line"], threshold=th["half"] if head
                         else None, bound=th["bayes"], K=inp.K, n=inp.n))
        if head and th["line"] is not None:
            checks.append(reaches("ood_r2_reaches_line", f"OOD r^2 ({name}) reaches the paper's line (a linear decoder "
                                  f"of mu at sigma, t: {th['line']:.4g}) at {EVIDENCE_FRACTION:g} of the evidence",
                                  th["half"], est, ci, method))
        if head and th["bayes"] is not None:
            checks.append(below_bound("ood_r2_below_bayes_bound", f"OOD r^2 ({name}) is not above the Bayes bound "
                                      "(posterior mean under the prior, fold mean)", th["bayes"], est, ci, method))
    return rows, checks


def geometry_metrics(states, x) -> dict:
    """{(measure, detail): values (K,)} for every geometry measure of :mod:`analysis.geometry`, with its defaults
    (classifier penalties and the DCI lasso chosen by inner cross-validation; Bernardi's parallelism for D <= 3,
    shattering for D <= theory.geometry.MAX_QUAD_D)."""
    out, D = {}, x.shape[-1]
    for d in range(D):
        out[("ccgp", f"x{d + 1}")] = ccgp(states, x, d)
        if D <= MAX_BERNARDI_D:
            out[("parallelism_bernardi", f"x{d + 1}")] = parallelism_bernardi(states, x, d)
        out[("parallelism_mean_pairs", f"x{d + 1}")] = parallelism_mean_pairs(states, x, d)
        out[("parallelism_regressor_cosine", f"x{d + 1}")] = parallelism_regressor_cosine(states, x, d)
    if D <= MAX_QUAD_D:         # the balanced dichotomies grow as C(2^D, 2^(D-1)) / 2
        out[("shattering_dimensionality", "all")] = shattering_dimensionality(states, x)
    out[("participation_ratio", "all")] = participation_ratio(states)
    out.update({("dci", k): v for k, v in dci(states, x).items()})
    return out


def bootstrap_se(metric, h, x, rng, n_boot: int = N_BOOT, chunk: int = BOOT_CHUNK) -> float:
    """SD of ``metric`` (states (B, n, p), x (B, n, D) -> (B,)) over trials of one agent resampled with replacement.

    The classifiers are refit on every resample, so the SE carries the fit's variability as well as the test
    trials' (the binomial SE given the fitted classifiers leaves the first out and covers the optimal agent's
    finite-sample CCGP less often than nominal; tests/test_check_agent.py simulates both). Resamples run in
    chunks of ``chunk`` to bound memory.
    """
    n = h.shape[1]
    idx = rng.integers(0, n, (n_boot, n))
    values = np.concatenate([metric(h[0][idx[i:i + chunk]], x[0][idx[i:i + chunk]])
                             for i in range(0, n_boot, chunk)])
    return float(values.std(ddof=1))


def one_agent_se(measure: str, detail: str, h, x, rng, n_boot: int = N_BOOT) -> float:
    """Trial-bootstrap SE of one agent's accuracy measures (CCGP, shattering); NaN for the other measures."""
    if measure == "ccgp":
        d = int(detail[1:]) - 1
        return bootstrap_se(lambda s, xx: ccgp(s, xx, d), h, x, rng, n_boot)
    if measure == "shattering_dimensionality":
        return bootstrap_se(shattering_dimensionality, h, x, rng, n_boot)
    return float("nan")


def geometry_section(inp: AgentInputs, x, sigma_c, rng, shuffles: int, n_boot: int = N_BOOT) -> tuple[list, list]:
    """Geometry rows with shuffle nulls, and the CCGP checks (box prior)."""
    h = inp.states
    values = geometry_metrics(h, x)
    stack = lambda s, xx: np.stack(list(geometry_metrics(s, xx).values()))  # noqa: E731
    null = shuffle_null(stack, h[:NULL_SAMPLES], x[:NULL_SAMPLES], rng, shuffles)     # (S, M, B')
    units = unit_shuffle_null(participation_ratio, h[:NULL_SAMPLES], rng, shuffles)
    box = inp.prior.kind == "box"
    t, z = inp.t, norm.ppf(0.5 + LEVEL / 2)
    # training trials of a CCGP fit: all but one held-out condition on each side (2 of the 2^D orthants)
    n_train = inp.n * (1 - 2 / 2 ** inp.D)
    rows, checks = [], []
    for i, ((measure, detail), vals) in enumerate(values.items()):
        if inp.K >= MIN_NETWORKS:
            est, lo, hi = between_agents(vals)
            method = "cluster_t"
        else:
            est = float(vals[0])
            se = one_agent_se(measure, detail, h, x, rng, n_boot)
            lo, hi, method = est - z * se, est + z * se, "trials_bootstrap" if np.isfinite(se) else "none"
        ci = clip_interval(lo, hi, detail if measure == "dci" else measure, units=h.shape[-1])[:2]
        optimal = threshold = bound = None
        if measure == "ccgp" and box:
            d = int(detail[1:]) - 1
            bound = float(ccgp_optimal(sigma_c, t)[d])
            threshold = float(ccgp_optimal(sigma_c, t * EVIDENCE_FRACTION, n_train=n_train, D=inp.D)[d])
            optimal = float(ccgp_optimal(sigma_c, t, n_train=n_train, D=inp.D)[d])
            checks.append(reaches(f"ccgp_{detail}_reaches_optimal", f"CCGP of sign({detail}) reaches the optimal "
                                  f"agent's ({optimal:.4g} at n = {inp.n}) at {EVIDENCE_FRACTION:g} of the evidence",
                                  threshold, est, ci, method))
            checks.append(below_bound(f"ccgp_{detail}_below_bayes", f"CCGP of sign({detail}) is not above the Bayes "
                                      f"classifier sign(mu_{d + 1})'s (large sample)", bound, est, ci, method))
        pooled = units.ravel() if measure == "participation_ratio" else null[:, i].ravel()
        rows.append(_row("geometry", measure, detail, est, ci, method, null=pooled, optimal=optimal,
                         threshold=threshold, bound=bound, K=inp.K, n=inp.n))
    return rows, checks


def outputs_section(inp: AgentInputs, x, sigma_c, design) -> tuple[list, list]:
    """Trilateration of the outputs (r^2 of mu_hat against x*), its checks, and calibration when mu is given."""
    mu_hat = decode_mu(inp.logits, design, sigma_c, inp.t)                         # (K, n, D), canonical
    v = sigma_c ** 2 / inp.t
    errors = np.mean((mu_hat - x) ** 2, axis=-1)
    est, ci, method = r2_interval(1 - errors.mean(-1) / LATENT_VARIANCE, errors)
    line, half = float(r2_ceiling(v)), float(r2_ceiling(v / EVIDENCE_FRACTION))
    bound = float(r2_bayes(v)) if inp.prior.kind == "box" else None
    rows = [_row("outputs", "trilateration_r2", "mu_hat vs x*", est, ci, method, optimal=line, threshold=half,
                 bound=bound, K=inp.K, n=inp.n)]
    checks = [reaches("outputs_reach_ceiling", "mu trilaterated from the outputs reaches the optimal agent's r^2 "
                      f"1 - 12 mean(sigma^2 / t) = {line:.4g} at {EVIDENCE_FRACTION:g} of the evidence", half, est, ci,
                      method)]
    if bound is not None:
        checks.append(below_bound("outputs_below_bayes_bound", "r^2 of mu trilaterated from the outputs is not above "
                                  "the Bayes bound on the whole box", bound, est, ci, method))
    if inp.mu is not None:
        mu = inp.prior.to_canonical(inp.mu)
        cal = calibrate(inp.logits, mu, design, sigma_c, inp.t)
        agreement = r2_score(mu, mu_hat)
        for detail, vals, opt in (("logit slope on the optimal probit", cal.slope, None),
                                  ("r2(mu_hat, mu), exact inversion", cal.exact, cal.optimal),
                                  ("r2(mu_hat, mu), calibrated inversion", cal.calibrated, cal.optimal),
                                  ("r2(mu_hat, mu) as trilaterated", agreement, 1.0)):
            finite = np.isfinite(vals)
            est_v, lo, hi = between_agents(vals[finite]) if finite.sum() >= MIN_NETWORKS else \
                (float(np.nanmean(vals)) if finite.any() else np.nan, np.nan, np.nan)
            rows.append(_row("outputs", "calibration", detail, est_v, (lo, hi), "cluster_t" if np.isfinite(lo)
                             else "none", optimal=opt, K=inp.K, n=inp.n))
    return rows, checks


def measure_agent(inp: AgentInputs, decoders=tuple(DECODERS), scheme: str = "auto", shuffles: int = 10,
                  rng=0, n_boot: int = N_BOOT) -> tuple[list, list]:
    """Rows and checks of every section (see the module docstring)."""
    unknown = [d for d in decoders if d not in DECODERS]
    if unknown or not decoders:
        raise ValueError(f"decoders={list(decoders)} must be a non-empty subset of {tuple(DECODERS)}")
    streams = as_generator(rng).spawn(2)
    x = inp.prior.to_canonical(inp.latents)
    sigma_c = inp.prior.canonical_sigma(inp.sigma)
    rows, checks = r2_section(inp, x, sigma_c, decoders, streams[0], scheme)
    if inp.D >= 2:
        more_rows, more_checks = geometry_section(inp, x, sigma_c, streams[1], shuffles, n_boot)
        rows, checks = rows + more_rows, checks + more_checks
    if inp.logits is not None:
        more_rows, more_checks = outputs_section(inp, x, sigma_c, inp.prior.canonical_design(inp.C, inp.b))
        rows, checks = rows + more_rows, checks + more_checks
    return rows, checks
