"""Theoretical r^2 curves of docs/theory.md §4, each checked against its Monte-Carlo twin.

For every noise sd sigma and evidence length t it predicts in closed form, and simulates:

  r2_ceiling    r^2 = 1 - MSE / (1/12) of the optimal estimate of x* (1 - 12 sigma^2 / t for
                Gaussian noise), pooled and per coordinate;
  r2_protocol   r^2 of the evaluation protocol: a least-squares decoder with intercept fit on the
                training region of each OOD fold (3 quadrants; 2^D - 1 orthants; or a half-space)
                and scored on the held-out region; normalised by 1/12 (``r2_protocol``, the paper's
                convention) and by the held-out variance (``r2_protocol_heldout``, theory only);
  accuracy      the optimal agent's accuracy, and its decision-step cross-entropy, averaged over
                x* and tasks (Gaussian-estimator noise models only);
and, for random designs, the spread of the output-space factor angles around 90 degrees versus N
(Corollary B.9; a large-N approximation, checked at the largest N).

A row passes when every simulated value lies within k standard errors of its prediction, with k
chosen so that all comparisons together have a false-alarm probability <= alpha (Bonferroni).
With --free-rt the --t values are decision timings and the agent has seen t = timing + 1 samples.

Noise models (--noise): gaussian (sd sigma); anisotropic (sd sigma * --aniso-scales per coordinate);
ar1 (stationary sd sigma, coefficient --ar1-a; --estimator mean or gls); gumbel (scale sigma).

Files (only with --out DIR): curves.csv, angles.csv, results.json, r2_vs_t.png, r2_vs_sigma.png,
angle_spread.png. Exit code 0 when every check agrees with theory, 1 when one does not, 2 on
bad input.

Example:  python -m verify.curves --sigma 0.2 --t 1:60 --out curves/
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from theory.accuracy import MAX_EXACT_D, accuracy_from_scale, cross_entropy_from_scale, decision_scale
from theory.angles import angle_spread, factor_angles, tasks_for_spread
from theory.ceilings import r2_ceiling, r2_ceiling_per_coordinate, r2_protocol
from theory.designs import DESIGN_CHOICES, build_design, even_design, resolve_design
from theory.folds import ood_folds
from theory.noise import ESTIMATORS, NOISE_KINDS, NoiseModel, estimator_variance, make_noise
from theory.world import check_positive_int
from verify.curves_files import REFERENCE_T, write_outputs  # noqa: F401 (the report calls write_outputs)
from analysis.estimates import MCEstimate, family_k
from verify.montecarlo import mc_accuracy, mc_angle_spread, mc_protocol_r2, mc_r2
from verify.ranges import is_range, parse_range
from infra.guard import FLOAT, check_terms
from verify.verdict import Check, base_parser, hidden_alias, run_cli

#: Budget of the protocol Monte Carlo per sigma, in floats simulated plus flops of the decoder fits
#: (replicates x trials x [2 T D + 3 K (D + 1)^2] for K scored evidence lengths). Above it the
#: protocol is scored at PROTOCOL_STEPS log-spaced evidence lengths (REFERENCE_T included), then
#: on fewer trials than --trials; each row says what was simulated.
PROTOCOL_BUDGET = 2_000_000_000
PROTOCOL_STEPS = 12
#: An accuracy or cross-entropy comparison is decided only when theory expects at least this many
#: wrong decisions (trials x tasks x error rate) in the sample: with fewer, the mean is set by a
#: handful of rare near-boundary trials and its sample SE says nothing (it is 0 with no error).
MIN_ERRORS = 10
#: The angle-spread formula is a large-N limit: its check binds only when the largest N >= this x D.
LARGE_N_PER_D = 4
#: Most evidence lengths one run may list (each is a row, a curve point and a comparison).
MAX_T_VALUES = 100_000
#: Differences this small relative to the prediction are rounding, not Monte-Carlo error.
ROUNDING = 64 * np.finfo(float).eps


@dataclass(frozen=True)
class CurvesConfig:
    """One run of the curves check (see the module docstring for the meaning of each field)."""

    sigma: tuple = (0.2,)            # per-step noise sd (Gumbel: scale beta), latent units
    t: tuple = tuple(range(1, 61))   # evidence lengths (decision timings with free_rt)
    D: int = 2
    ntask: int = 6
    design: str = "auto"             # even for D = 2, random otherwise
    noise: str = "gaussian"
    aniso_scales: tuple = (1.0, 2.0)  # anisotropic sd multipliers, one per coordinate
    ar1_a: float = 0.7               # AR(1) coefficient (the example of docs/theory.md §4)
    estimator: str = "mean"          # "gls" only for ar1 noise
    free_rt: bool = False
    trials: int = 20_000             # Monte-Carlo trials (per protocol replicate: train and test each)
    replicates: int = 16             # protocol replicates (rounded up to a multiple of the folds)
    angle_ntask: tuple = (2, 3, 6, 12, 24, 48, 96, 192, 384)
    designs: int = 2_000             # random designs per N for the angle spread
    target_spread: float = 5.0       # degrees: report the N needed for this spread
    alpha: float = 0.01              # family-wise false-alarm probability of all comparisons
    seed: int = 0

    def __post_init__(self):
        for s in self.sigma:
            if not (isinstance(s, (int, float)) and math.isfinite(s) and s > 0):
                raise ValueError(f"sigma={s!r} must be finite and > 0")
        if not self.sigma:
            raise ValueError("sigma must list at least one value")
        if not self.t:
            raise ValueError("t must list at least one value")
        low = 0 if self.free_rt else 1
        for t in self.t:
            check_positive_int("t (timing with --free-rt)" if self.free_rt else "t", t, low)
        check_positive_int("D", self.D)
        check_positive_int("ntask", self.ntask)
        check_positive_int("trials", self.trials, 2)
        check_positive_int("replicates", self.replicates, 2)
        check_positive_int("designs", self.designs, 2)
        for n in self.angle_ntask:
            check_positive_int("angle_ntask", n)
        resolve_design(self.design, self.D)
        if not self.aniso_scales or not all(isinstance(a, (int, float)) and math.isfinite(a) and a > 0
                                            for a in self.aniso_scales):
            raise ValueError(f"aniso_scales={self.aniso_scales!r} must list finite multipliers > 0")
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"noise={self.noise!r} must be one of {NOISE_KINDS}")
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator={self.estimator!r} must be one of {ESTIMATORS}")
        if not (math.isfinite(self.target_spread) and self.target_spread > 0):
            raise ValueError(f"target_spread={self.target_spread!r} must be > 0 degrees")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha={self.alpha!r} must lie in (0, 1)")
        self.noise_model(self.sigma[0])  # validates aniso_scales, ar1_a and estimator against the noise

    @property
    def design_kind(self) -> str:
        return resolve_design(self.design, self.D)

    @property
    def samples(self) -> np.ndarray:
        """Evidence samples behind each --t value: t, or timing + 1 with free reaction time."""
        return np.asarray(self.t, dtype=int) + (1 if self.free_rt else 0)

    def noise_model(self, sigma: float) -> NoiseModel:
        if self.noise == "anisotropic":
            if len(self.aniso_scales) != self.D:
                raise ValueError(f"aniso_scales={self.aniso_scales!r} needs D={self.D} multipliers")
            sd = sigma * np.asarray(self.aniso_scales, dtype=float)
        else:
            sd = sigma
        model = make_noise(self.noise, sd, self.D, self.ar1_a if self.noise == "ar1" else 0.0)
        estimator_variance(model, 1, self.estimator)  # rejects gls for non-AR(1) noise
        return model


def parse_t(text) -> tuple:
    """Parse evidence lengths: ``"20"``, ``"5,10,20"``, ``"1:60"`` or ``"1:100:5"`` (ranges: :mod:`verify.ranges`,
    both ends included).

    Several pieces may be given as a list or separated by commas; the result is sorted, unique.

    Examples
    --------
    >>> parse_t("1:5")
    (1, 2, 3, 4, 5)
    >>> parse_t(["10:30:10", "5"])
    (5, 10, 20, 30)
    """
    pieces = [text] if isinstance(text, str) else list(text)
    values = set()
    budget = MAX_T_VALUES
    for piece in (p.strip() for chunk in pieces for p in str(chunk).split(",") if p.strip()):
        if is_range(piece):
            span = parse_range("t", piece)
            if len(span) > budget:
                raise ValueError(f"t={piece!r} lists {len(span)} evidence lengths; at most {MAX_T_VALUES} in all")
            budget -= len(span)
            values.update(span)
            continue
        try:
            values.add(int(piece))
        except ValueError:
            raise ValueError(f"t={piece!r} must be an integer, a list 'a,b,c' or a range 'a:b[:step]'") from None
    if not values:
        raise ValueError(f"t={text!r} lists no evidence lengths")
    return tuple(sorted(values))


def _streams(config: CurvesConfig):
    design_ss, angle_ss, *sigma_ss = np.random.SeedSequence(config.seed).spawn(2 + len(config.sigma))
    return design_ss, angle_ss, sigma_ss


def _accuracy_available(config: CurvesConfig) -> bool:
    """The accuracy closed form needs a Gaussian estimator (not Gumbel) and D <= MAX_EXACT_D."""
    return config.noise != "gumbel" and config.D <= MAX_EXACT_D


def _replicates(config: CurvesConfig) -> int:
    """Protocol replicates: a multiple of the folds when there are fewer folds than --replicates
    (each fold equally often), else --replicates, on the first folds (:func:`_protocol_folds`)."""
    n_folds = len(ood_folds(config.D))
    if n_folds > config.replicates:
        return config.replicates
    return n_folds * math.ceil(config.replicates / n_folds)


def _protocol_folds(config: CurvesConfig) -> list:
    """The fold of each protocol replicate (replicate r: fold r mod the number of folds)."""
    folds = ood_folds(config.D)
    return [folds[r % len(folds)] for r in range(_replicates(config))]


def protocol_plan(config: CurvesConfig) -> tuple[np.ndarray, int]:
    """(indices into config.samples scored by the protocol Monte Carlo, trials per replicate).

    All evidence lengths on --trials trials when that fits PROTOCOL_BUDGET; else PROTOCOL_STEPS
    log-spaced ones (always the first, the last and the one nearest REFERENCE_T), on as many
    trials as fit (at least 4 (D + 2)). The decoders are extrapolated to the large-sample limit
    (:func:`verify.montecarlo.mc_protocol_r2`), so fewer trials widen the SE, not the bias.
    """
    ts = config.samples
    T, D, reps = int(ts.max()), config.D, _replicates(config)

    def cost(n, K):
        return reps * n * (2 * T * D + 3 * K * (D + 1) ** 2)

    keep = np.arange(len(ts))
    if cost(config.trials, len(ts)) > PROTOCOL_BUDGET and len(ts) > PROTOCOL_STEPS:
        ref = int(np.argmin(np.abs(ts - REFERENCE_T)))
        spaced = np.round(np.geomspace(1, len(ts), PROTOCOL_STEPS - 1)).astype(int) - 1
        keep = np.unique(np.concatenate([spaced, [ref]]))
    n = int(min(config.trials, max(4 * (D + 2), PROTOCOL_BUDGET // cost(1, len(keep)))))
    return keep, n


def _z(value: float, predicted: float, se: float) -> float:
    """|value - predicted| / se; 0 for a difference at rounding level, inf for SE = 0 otherwise."""
    gap = abs(value - predicted)
    if gap <= ROUNDING * max(1.0, abs(predicted)):
        return 0.0
    return gap / se if se > 0 else math.inf


def thresholds(config: CurvesConfig) -> tuple[float, float]:
    """(k, k_protocol): allowed |z| for per-trial SEs and for the protocol's replicate SEs.

    Both are Bonferroni bounds over every comparison of the run at family-wise rate alpha; the
    protocol's SE comes from a few replicates, so it uses a Student-t quantile.
    """
    n = _n_comparisons(config)
    return family_k(n, config.alpha), family_k(n, config.alpha, dof=_replicates(config) - 1)


def memory_terms(config: CurvesConfig) -> dict:
    """Estimated peak bytes of :func:`run`, by the parameter that drives each term (size guard).

    The r^2 twin keeps trials x T x D squared errors; the protocol holds its training and test
    streams (about six trials x T x D arrays); the accuracy twin a block of at least one trial's
    T x max(D, N) probits; the angle spread designs x N x D normals and designs x D x D angles.
    """
    T, D = int(config.samples.max()), config.D
    _, n_protocol = protocol_plan(config)
    accuracy = 6 * FLOAT * max(4_000_000, T * max(D, config.ntask)) if _accuracy_available(config) else 0
    return {f"--trials={config.trials} x --t={max(config.t)} at --D={D}": 3 * FLOAT * config.trials * T * D + 6 * FLOAT * n_protocol * T * D,
            f"--t={max(config.t)}": FLOAT * T * len(config.sigma) * 64,
            f"--ntask={config.ntask}": accuracy,
            f"--designs={config.designs} x --angle-ntask={max(config.angle_ntask)} at --D={D}":
                4 * FLOAT * config.designs * max(config.angle_ntask) * D + 2 * FLOAT * config.designs * D * D}


def curve_rows(config: CurvesConfig) -> list[dict]:
    """Predicted and simulated values per (sigma, t); a row passes when every simulated value is
    within its threshold (:func:`thresholds`) of the prediction."""
    k, k_protocol = thresholds(config)
    design_ss, _, sigma_ss = _streams(config)
    design = build_design(config.design_kind, config.ntask, config.D, np.random.default_rng(design_ss))
    folds = _protocol_folds(config)
    keep, n_protocol = protocol_plan(config)
    ts = config.samples
    T = int(ts.max())
    rows = []
    for sigma, ss in zip(config.sigma, sigma_ss):
        noise = config.noise_model(sigma)
        rng_r2, rng_protocol, rng_acc = (np.random.default_rng(s) for s in ss.spawn(3))
        v = estimator_variance(noise, ts, config.estimator)  # (K, D)
        pooled, per_coord = mc_r2(noise, T, config.trials, rng_r2, config.estimator)
        scored = mc_protocol_r2(noise, ts[keep], folds, n_protocol, n_protocol, len(folds), rng_protocol,
                                config.estimator, extrapolate=True)
        protocol = MCEstimate(np.full(len(ts), np.nan), np.full(len(ts), np.nan), scored.dof)
        protocol.value[keep], protocol.se[keep] = scored.value, scored.se
        predicted = {
            "r2_ceiling": r2_ceiling(v),
            "r2_protocol": np.mean([r2_protocol(v, f) for f in folds], axis=0),
            "r2_protocol_heldout": np.mean([r2_protocol(v, f, "heldout") for f in folds], axis=0),
        }
        sims = {"r2_ceiling": (pooled.value[ts - 1], pooled.se[ts - 1]),
                "r2_protocol": (protocol.value, protocol.se)}
        for j in range(config.D):
            predicted[f"r2_ceiling_x{j + 1}"] = r2_ceiling_per_coordinate(v)[:, j]
            sims[f"r2_ceiling_x{j + 1}"] = (per_coord.value[ts - 1, j], per_coord.se[ts - 1, j])
        if _accuracy_available(config):
            scale = decision_scale(design, v)
            predicted["accuracy"] = accuracy_from_scale(design, scale)
            predicted["cross_entropy"] = cross_entropy_from_scale(design, scale)
            acc, ce = mc_accuracy(design, noise, T, config.trials, rng_acc, config.estimator)
            sims["accuracy"] = (acc.value[ts - 1], acc.se[ts - 1])
            sims["cross_entropy"] = (ce.value[ts - 1], ce.se[ts - 1])
        for i, t in enumerate(ts):
            row = {"sigma": float(sigma), "t": int(t), "D": config.D, "ntask": config.ntask,
                   "noise": config.noise, "estimator": config.estimator}
            if config.free_rt:
                row["timing"] = int(config.t[i])
            row.update({name: float(p[i]) for name, p in predicted.items()})
            row["protocol_trials"] = n_protocol if i in keep else 0
            if "accuracy" in predicted:
                errors = config.trials * config.ntask * (1.0 - predicted["accuracy"][i])
                row["accuracy_resolved"] = bool(errors >= MIN_ERRORS)
            passed = True
            for name, (value, se) in sims.items():
                stem = "r2" if name == "r2_ceiling" else name.replace("r2_ceiling", "r2")
                mc_name = "r2_mc" if name == "r2_ceiling" else f"{stem}_mc"
                row[mc_name], row[f"{mc_name}_se"] = float(value[i]), float(se[i])
                if name in ("accuracy", "cross_entropy") and not row["accuracy_resolved"]:
                    continue  # undecided at this budget (see MIN_ERRORS)
                if name == "r2_protocol" and not row["protocol_trials"]:
                    continue  # not simulated at this t (see protocol_plan)
                z = _z(value[i], predicted[name][i], se[i])
                passed &= bool(z <= (k_protocol if name == "r2_protocol" else k))
            row["passed"] = passed
            rows.append(row)
    return rows


def angle_rows(config: CurvesConfig) -> list[dict]:
    """Output-space angle spread vs N for random designs: prediction, simulation, ratio."""
    if config.D < 2:
        return []
    _, angle_ss, _ = _streams(config)
    rngs = [np.random.default_rng(s) for s in angle_ss.spawn(len(config.angle_ntask))]
    rows = []
    for n, rng in zip(config.angle_ntask, rngs):
        mc = mc_angle_spread(n, config.D, config.designs, rng)
        pred = float(angle_spread(n, config.D))
        rows.append({"D": config.D, "ntask": int(n), "spread_theory_deg": pred,
                     "spread_mc_deg": float(mc.value), "spread_mc_se_deg": float(mc.se),
                     "ratio": float(mc.value) / pred, "z": float(mc.z_score(pred))})
    return rows


def _n_comparisons(config: CurvesConfig) -> int:
    per_row = 2 + config.D + (2 if _accuracy_available(config) else 0)
    return len(config.sigma) * len(config.t) * per_row + (1 if config.D >= 2 else 0)


def _family_check(name: str, claim: str, rows: list[dict], pred_key: str, mc_key: str, k: float,
                  alpha: float, quantile: str = "normal", note: str = "") -> Check:
    head = min(rows, key=lambda r: (abs(r["t"] - REFERENCE_T), r["sigma"]))
    z = np.array([_z(r[mc_key], r[pred_key], r[f"{mc_key}_se"]) for r in rows])
    return Check(name=name, claim=claim + f" (shown: sigma={head['sigma']:g}, t={head['t']}){note}",
                 predicted=head[pred_key], measured=head[mc_key],
                 tolerance=f"max |z| = {z.max():.2f} over {len(rows)} settings <= k = {k:.2f} SE "
                           f"(Bonferroni, family alpha = {alpha:g}, {quantile})",
                 passed=bool(z.max() <= k))


def run(config: CurvesConfig) -> dict:
    """Compute every row and check. Returns config, rows, angle_rows, k, extra facts and checks."""
    k, k_protocol = thresholds(config)
    rows = curve_rows(config)
    angles = angle_rows(config)
    keep, n_protocol = protocol_plan(config)
    scored = [r for r in rows if r["protocol_trials"]]
    checks = [
        _family_check("r2_ceiling", "simulated r^2 of the optimal estimate equals its closed-form ceiling",
                      rows, "r2_ceiling", "r2_mc", k, config.alpha),
        _family_check("r2_protocol", "simulated r^2 of the OOD protocol equals the closed-form protocol ceiling",
                      scored, "r2_protocol", "r2_protocol_mc", k_protocol, config.alpha,
                      f"Student-t, {_replicates(config) - 1} dof",
                      f"; simulated decoders fit on {n_protocol} trials and extrapolated to the large-sample "
                      f"limit, 2 r2(n) - r2(n/2)" + ("" if len(keep) == len(config.t) else
                                                     f", at {len(keep)} of the {len(config.t)} evidence lengths")),
    ]
    extra = {"undecided": []}
    if _accuracy_available(config):
        resolved = [r for r in rows if r["accuracy_resolved"]]
        if resolved:
            note = "" if len(resolved) == len(rows) else \
                f"; {len(rows) - len(resolved)} settings undecided (< {MIN_ERRORS} expected errors)"
            checks.append(_family_check("accuracy", "simulated optimal accuracy equals the closed form",
                                        resolved, "accuracy", "accuracy_mc", k, config.alpha, note=note))
            checks.append(_family_check("cross_entropy", "simulated decision-step cross-entropy equals the "
                                        "closed form", resolved, "cross_entropy", "cross_entropy_mc", k,
                                        config.alpha, note=note))
        else:
            extra["undecided"] = [f"accuracy and cross_entropy: undecided at this budget: theory expects fewer "
                                  f"than {MIN_ERRORS} wrong decisions in {config.trials} trials at every setting "
                                  "(raise --trials or sigma)"]
    if angles:
        big = max(angles, key=lambda r: r["ntask"])
        large_n = big["ntask"] >= LARGE_N_PER_D * config.D
        checks.append(Check(
            name="angle_spread", claim=f"random-design factor angles spread around 90 deg as "
                                       f"sqrt(D/(N(D+2))) rad (large N; shown N={big['ntask']})",
            predicted=big["spread_theory_deg"], measured=big["spread_mc_deg"],
            tolerance=f"|z| = {abs(big['z']):.2f} <= k = {k:.2f} SE (formula is O(1/N) approximate)"
                      + ("" if large_n else f"; N < {LARGE_N_PER_D} D is outside its large-N regime: reported only"),
            passed=bool(abs(big["z"]) <= k), binding=large_n))
        extra["tasks_for_target_spread"] = int(tasks_for_spread(np.radians(config.target_spread), config.D))
    if config.D == 2 and any(n >= 2 for n in config.angle_ntask):
        worst = max(abs(float(factor_angles(even_design(n))[0, 1]) - 90.0) for n in config.angle_ntask if n >= 2)
        checks.append(Check(name="even_design_angle", claim="the even 2-D design has output-space angle exactly 90 deg",
                            predicted=90.0, measured=90.0 + worst, tolerance="<= 1e-12 deg (rounding of arccos near 0)",
                            passed=worst <= 1e-12))
    return {"config": {**asdict(config), "design": config.design_kind}, "k_se": k, "k_se_protocol": k_protocol,
            "rows": rows,
            "angle_rows": angles, **extra, "checks": checks}


def build_parser():
    p = base_parser(__doc__, "python -m verify.curves", out=None, allow_large=True)
    d = CurvesConfig()
    p.add_argument("--sigma", type=float, nargs="+", default=list(d.sigma), help="noise sd(s) (default 0.2)")
    p.add_argument("--t", nargs="+", default=["1:60"],
                   help="evidence lengths: 20, '5,10,20' or a range 'a:b[:step]', both ends included (1:3 is "
                        "1, 2, 3; default 1:60)")
    p.add_argument("--D", type=int, default=d.D, help=f"latent dimensions (default {d.D})")
    p.add_argument("--ntask", type=int, default=d.ntask, help=f"tasks N for the accuracy curves (default {d.ntask})")
    p.add_argument("--design", choices=DESIGN_CHOICES, default=d.design,
                   help="boundary design (default auto: even for D=2, random otherwise)")
    p.add_argument("--noise", choices=NOISE_KINDS, default=d.noise, help="noise model (default gaussian)")
    p.add_argument("--aniso-scales", type=float, nargs="+", default=list(d.aniso_scales),
                   help="anisotropic sd multipliers of sigma, one per coordinate (default 1 2)")
    hidden_alias(p, "--aniso", "aniso_scales", type=float, nargs="+")
    p.add_argument("--ar1-a", type=float, default=d.ar1_a, help=f"AR(1) coefficient (default {d.ar1_a})")
    p.add_argument("--estimator", choices=ESTIMATORS, default=d.estimator,
                   help="estimator of x*: sample mean, or gls (AR(1) only)")
    p.add_argument("--free-rt", action="store_true", help="--t values are decision timings: t = timing + 1")
    p.add_argument("--trials", type=int, default=d.trials, help=f"Monte-Carlo trials (default {d.trials})")
    p.add_argument("--replicates", type=int, default=d.replicates,
                   help=f"protocol replicates (default {d.replicates})")
    p.add_argument("--angle-ntask", type=int, nargs="+", default=list(d.angle_ntask),
                   help="N values for the angle-spread curve")
    p.add_argument("--designs", type=int, default=d.designs, help=f"random designs per N (default {d.designs})")
    p.add_argument("--target-spread", type=float, default=d.target_spread,
                   help=f"report the N needed for this angle spread, degrees (default {d.target_spread})")
    p.add_argument("--alpha", type=float, default=d.alpha, help=f"family-wise false-alarm rate (default {d.alpha})")
    return p


def config_from_args(args) -> CurvesConfig:
    return CurvesConfig(sigma=tuple(args.sigma), t=parse_t(args.t), D=args.D, ntask=args.ntask, design=args.design,
                        noise=args.noise, aniso_scales=tuple(args.aniso_scales), ar1_a=args.ar1_a,
                        estimator=args.estimator,
                        free_rt=args.free_rt, trials=args.trials, replicates=args.replicates,
                        angle_ntask=tuple(args.angle_ntask), designs=args.designs,
                        target_spread=args.target_spread, alpha=args.alpha, seed=args.seed)


def _body(args) -> dict:
    config = config_from_args(args)
    check_terms(memory_terms(config), "Monte-Carlo trials, steps and designs", allow_large=args.allow_large)
    result = run(config)
    if args.out is not None:
        result["files"] = [str(p) for p in write_outputs(result, config, args.out)]
    lines = [f"{'sigma':>6} {'t':>4} {'ceiling':>8} {'MC':>8} {'SE':>7} {'protocol':>8} {'MC':>8} {'SE':>7}  pass"]
    for r in result["rows"]:
        lines.append(f"{r['sigma']:6.3g} {r['t']:4d} {r['r2_ceiling']:8.5f} {r['r2_mc']:8.5f} {r['r2_mc_se']:7.1e} "
                     f"{r['r2_protocol']:8.5f} {r['r2_protocol_mc']:8.5f} {r['r2_protocol_mc_se']:7.1e}  "
                     f"{'yes' if r['passed'] else 'NO'}")
    if "tasks_for_target_spread" in result:
        lines.append(f"random design, D={config.D}: N >= {result['tasks_for_target_spread']} tasks for a "
                     f"{config.target_spread:g} deg angle spread")
    lines += result["undecided"]
    if "files" in result:
        lines.append("wrote " + ", ".join(result["files"]))
    result["text"] = "\n".join(lines) + "\n"
    return result


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, _body)


if __name__ == "__main__":
    raise SystemExit(main())
