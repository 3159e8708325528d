"""Verify Theorem 3.1: an optimal multi-task classifier's outputs (and latent state) encode mu(t).

Simulates the optimal agent on many trials of the world of docs/theory.md §1 and checks:

  recovery   trilateration mu_hat = C^+ [(s/sqrt(t)) Phi^-1(Yhat) - b] from the log-probability
             outputs equals the running MLE mu(t), for every trial and every t, to float64
             precision (the tolerance is a stated rounding-error bound). Beyond t = 64 steps:
             every step of 64 trials and 64 log-spaced steps of every trial.
  latent     the same from the latent state Z(t) of a random filter agent (an invertible random
             affine image of [sqrt(t) mu(t), sqrt(t), junk]) through its read-out (W, w0):
             mu(t) = (1/sqrt(t)) C^+ (s * (W Z + w0)) - C^+ b.
  r2         r^2 of mu(t) against x* equals 1 - 12 sigma^2 / t within 4 standard errors.
  information  I(x*; Yhat(t)), estimated through the outputs, equals I(x*; mu(t)) (nats): the
             outputs keep all the information the evidence carries (data processing + trilateration).

When the theorem's conditions fail it checks the predicted failure instead:
  rank(C) < D (e.g. ntask < D): only the row-space projection of mu is recovered; null-space
             directions change no output; a linear decoder gets r^2 ~ 0 for them; the outputs
             carry exactly the row-space information, the predicted number of nats less.
  sigma = 0: outputs are 0/1 steps; trials with identical outputs have different x*, so
             outputs pin down a cell of the hyperplane arrangement, not a point (they carry the
             finite cell entropy; mu carries unbounded information).

Exit code 0 when every check agrees with theory (including predicted failures), 1 when one
disagrees, 2 on bad input.

Example:  python -m verify.theorem31 --D 3 --ntask 5
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from math import comb

import numpy as np
from tqdm import tqdm

from analysis.decoders import fit_linear_decoder
from optimal.agent import hard_outputs, log_outputs, optimal_probits, outputs, random_filter_agent, running_mle
from theory.identifiability import diagnose
from optimal.trilateration import (EPS, ROUNDING_FACTOR, recover_mu_from_latent, recover_mu_from_log_outputs,
                                   recovery_error_bound)
from theory.designs import DESIGN_CHOICES, Design, build_design, make_design, resolve_design
from theory.world import LATENT_VARIANCE, as_generator, check_positive_int, check_sigma, sample_evidence, sample_latents
from verify.information_mc import check_resolvable, information_checks
from analysis.estimates import K_SINGLE, r2_estimate
from infra.cli import show_progress
from infra.guard import FLOAT, check_terms
from verify.verdict import Check, base_parser, run_cli

#: Junk dimensions of the simulated filter agent's latent state (ignored by its read-out).
JUNK_DIMS = 3
#: Noise sd at which the sigma -> 0 limit of the optimal outputs is evaluated (latent units).
SIGMA_LIMIT = 1e-9
#: Upper bound on trials x steps x max(N, D) floats held at once; larger runs go in chunks.
CHUNK_FLOATS = 2_000_000
#: Up to this many evidence steps every check covers every step of every trial. Longer runs
#: check every step on SUBSET_TRIALS trials and LOG_STEPS log-spaced steps (1 and t included)
#: on all trials, so the cost grows like trials x LOG_STEPS + SUBSET_TRIALS x t, not trials x t.
FULL_STEPS = 64
LOG_STEPS = 64
SUBSET_TRIALS = 64


def check_steps(t: int) -> np.ndarray:
    """The evidence lengths checked on every trial: all of 1..t, or LOG_STEPS log-spaced ones.

    Examples
    --------
    >>> check_steps(3).tolist()
    [1, 2, 3]
    >>> s = check_steps(5000); int(s[0]), int(s[-1]), len(s) <= LOG_STEPS
    (1, 5000, True)
    """
    t = check_positive_int("t", t)
    if t <= FULL_STEPS:
        return np.arange(1, t + 1)
    return np.unique(np.round(np.geomspace(1, t, LOG_STEPS)).astype(int))


@dataclass(frozen=True)
class Theorem31Config:
    """One run of the Theorem 3.1 check.

    ``design="auto"`` is ``even`` for D = 2, else ``random``. ``rank`` (optional) forces a random C
    of that rank < min(ntask, D), to show the rank-deficient failure.
    """

    D: int = 3
    ntask: int = 5
    sigma: float = 0.2          # per-step noise sd, latent units (the reference value)
    t: int = 20                 # evidence steps (the reference value)
    trials: int = 10_000
    design: str = "auto"
    offsets: bool = False       # random offsets b_i ~ U(-1/4, 1/4)
    rank: int | None = None
    seed: int = 0

    def __post_init__(self):
        check_positive_int("D", self.D)
        check_positive_int("ntask", self.ntask)
        check_positive_int("t", self.t)
        check_positive_int("trials", self.trials, 2)
        check_sigma(self.sigma)
        check_resolvable(self.sigma, self.t)
        resolve_design(self.design, self.D)
        if self.rank is not None:
            check_positive_int("rank", self.rank)
        if self.rank is not None and not 1 <= self.rank < min(self.ntask, self.D):
            raise ValueError(f"rank={self.rank} must be in 1..min(ntask, D) - 1 = {min(self.ntask, self.D) - 1} "
                             "(it forces a rank-deficient C)")
        if self.rank is not None and self.design == "even":
            raise ValueError("rank applies to the random design; the even design has full rank")

    @property
    def design_kind(self) -> str:
        return resolve_design(self.design, self.D)


def make_config_design(config: Theorem31Config, rng) -> Design:
    """The boundary design of a run; with ``rank`` set, unit normals of a random rank-k C."""
    rng = as_generator(rng)
    if config.rank is None:
        return build_design(config.design_kind, config.ntask, config.D, rng, config.offsets)
    G = rng.standard_normal((config.ntask, config.rank)) @ rng.standard_normal((config.rank, config.D))
    b = rng.uniform(-0.25, 0.25, config.ntask) if config.offsets else np.zeros(config.ntask)
    return make_design(G / np.linalg.norm(G, axis=1, keepdims=True), b, name=f"random rank {config.rank}")


def _trial_chunks(n: int, steps: int, width: int, D: int) -> list[tuple[int, int]]:
    size = max(1, min(n, CHUNK_FLOATS // (steps * max(width, D))))
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def _simulate(config, design, rng_data, rng_agent, progress=False):
    """Yield per-chunk (x* (n, D), mu (n, K, D), t (K,), junk (n, K, JUNK_DIMS), population).

    ``population`` is True for the chunks of the ``config.trials`` trials (each at the steps of
    :func:`check_steps`; their last step is t), False for the SUBSET_TRIALS further trials checked
    at every step when t > FULL_STEPS. Steps between checked ones are summed exactly: the partial
    sums of the noise at steps t_1 < t_2 < ... have independent N(0, (t_k - t_{k-1}) sigma^2)
    increments. A progress bar on stderr when ``progress`` and the run needs more than one chunk.
    """
    width = design.ntask + 1 + JUNK_DIMS
    steps = check_steps(config.t)
    every = np.arange(1, config.t + 1, dtype=float)
    jobs = [(lo, hi, True) for lo, hi in _trial_chunks(config.trials, len(steps), width, config.D)]
    if len(steps) < config.t:
        jobs += [(lo, hi, False) for lo, hi in
                 _trial_chunks(min(SUBSET_TRIALS, config.trials), config.t, width, config.D)]
    sigma = check_sigma(config.sigma, config.D)
    for lo, hi, population in tqdm(jobs, desc="trials", unit="chunk", disable=not progress or len(jobs) == 1,
                                   file=sys.stderr):
        x = sample_latents(rng_data, hi - lo, config.D)
        if population and len(steps) < config.t:
            t = steps.astype(float)
            dt = np.diff(t, prepend=0.0)
            noise = np.cumsum(rng_data.standard_normal((hi - lo, len(t), config.D)) * np.sqrt(dt)[:, None], axis=1)
            mu = x[:, None, :] + sigma * noise / t[:, None]
        else:
            t = every
            mu = running_mle(sample_evidence(rng_data, x, config.t, config.sigma))
        junk = rng_agent.standard_normal(mu.shape[:-1] + (JUNK_DIMS,))
        yield x, mu, t, junk, population


def _coverage(config) -> str:
    """Which (trial, step) pairs the per-step checks cover (see :func:`check_steps`)."""
    steps = check_steps(config.t)
    if len(steps) == config.t:
        return "every trial at every t"
    return (f"all {config.trials} trials at {len(steps)} log-spaced t in 1..{config.t}, "
            f"{min(SUBSET_TRIALS, config.trials)} trials at every t")


def _r2_check(sq_err: np.ndarray, sigma, t: int) -> Check:
    """r^2 = 1 - MSE / (1/12) pooled over coordinates vs 1 - 12 sigma^2 / t, SE from the sample.

    ``sq_err`` (n_trials, D): squared errors of mu(t) per trial and coordinate.
    """
    predicted = 1.0 - float(np.mean(np.broadcast_to(np.asarray(sigma) ** 2, (sq_err.shape[1],)))) / (t * LATENT_VARIANCE)
    est = r2_estimate(sq_err.mean(axis=1))
    measured, se = float(est.value), float(est.se)
    tol = max(K_SINGLE * se, ROUNDING_FACTOR * EPS)
    return Check("r2", f"r^2 of mu(t={t}) vs x* equals 1 - 12 sigma^2 / t (reference normalisation Var = 1/12)",
                 predicted, measured, f"<= {tol:.3g} ({K_SINGLE:g} SE, SE = {se:.2g} from the sample)",
                 bool(abs(measured - predicted) <= tol))


def _identifiable_checks(config, design, diag, streams, progress) -> tuple[list[Check], dict]:
    rng_data, rng_agent = streams
    encode, readout, K = random_filter_agent(config.D, JUNK_DIMS, rng_agent)
    W, w0 = readout(design, config.sigma)
    err_out = err_lat = 0.0
    tol_out = tol_lat = 0.0
    max_z, saturated, n_out = 0.0, 0, 0
    sq_err = []
    for x, mu, t, junk, population in _simulate(config, design, rng_data, rng_agent, progress):
        z = optimal_probits(mu, design, config.sigma, t)
        log_p, log_q = log_outputs(z)
        mu_out = recover_mu_from_log_outputs(log_p, log_q, design, config.sigma, t)
        Z = encode(mu, t, junk)
        mu_lat = recover_mu_from_latent(Z, W, w0, design, config.sigma, t)
        err_out = max(err_out, float(np.abs(mu_out - mu).max()))
        err_lat = max(err_lat, float(np.abs(mu_lat - mu).max()))
        # probit error of log-space outputs: 2 eps (1 + |z|) (Newton-polished inverse, see trilateration)
        dz_out = 2 * EPS * (1 + np.abs(z).max(axis=(0, 1)))
        # read-out error: inner products of length K (Higham's gamma_K) plus the rounding of W itself
        dz_lat = (K + 2) * EPS * (np.abs(Z) @ np.abs(W).T + np.abs(w0)).max(axis=(0, 1)) * 2
        tol_out = max(tol_out, recovery_error_bound(design, config.sigma, t, dz_out, mu))
        tol_lat = max(tol_lat, recovery_error_bound(design, config.sigma, t, dz_lat, mu))
        max_z = max(max_z, float(np.abs(z).max()))
        saturated += int(np.sum(np.abs(z) > 8.3))
        n_out += z.size
        if population:
            sq_err.append((mu[:, -1, :] - x) ** 2)
    checks = [
        Check("recovery", f"trilateration from the log-probability outputs returns mu(t) ({_coverage(config)})",
              0.0, err_out, f"<= {tol_out:.3g} (float64 rounding bound)", err_out <= tol_out),
        Check("latent", "mu(t) is an affine function of the latent state Z(t): (1/sqrt t) C^+ (s*(W Z + w0)) - C^+ b"
              f" ({_coverage(config)})",
              0.0, err_lat, f"<= {tol_lat:.3g} (float64 rounding bound)", err_lat <= tol_lat),
        _r2_check(np.concatenate(sq_err), config.sigma, config.t),
    ]
    info = {"max_abs_probit": max_z, "saturated_fraction": saturated / n_out}
    return checks, info


def _rank_deficient_checks(config, design, diag, streams, progress) -> tuple[list[Check], dict]:
    rng_data, _ = streams
    P, V = diag.row_projector, diag.null_space
    err_row, tol_row, invis = 0.0, 0.0, 0.0
    probits, null_coord, sq_err = [], [], []
    for x, mu, t, _junk, population in _simulate(config, design, rng_data, rng_data, progress):
        z = optimal_probits(mu, design, config.sigma, t)
        mu_hat = recover_mu_from_log_outputs(*log_outputs(z), design, config.sigma, t, allow_projection=True)
        err_row = max(err_row, float(np.abs(mu_hat - mu @ P).max()))
        tol_row = max(tol_row, recovery_error_bound(design, config.sigma, t,
                                                    2 * EPS * (1 + np.abs(z).max(axis=(0, 1))), mu))
        shift = 0.3 * V.sum(axis=1)  # a step along the null space
        invis = max(invis, float(np.abs(optimal_probits(mu + shift, design, config.sigma, t) - z).max()
                                 / (1 + np.abs(z).max())))
        if population:
            probits.append(z[:, -1, :])
            null_coord.append(x @ V)
            sq_err.append((mu[:, -1, :] - x) ** 2)
    Zs, Y = np.concatenate(probits), np.concatenate(null_coord)
    r2_null = _linear_r2(Zs, Y)
    n, p = Zs.shape
    # Under no linear relation, the in-sample R^2 of p regressors is ~ Beta(p/2, (n-p-1)/2):
    # mean p/(n-1), sd ~ sqrt(2p)/n. Allow mean + 6 sd.
    r2_bound = p / (n - 1) + 6 * np.sqrt(2 * p) / n
    checks = [
        Check("row_space_recovery", "trilateration recovers the projection P mu of mu onto the row space of C "
              f"({_coverage(config)})",
              0.0, err_row, f"<= {tol_row:.3g} (float64 rounding bound)", err_row <= tol_row),
        Check("null_space_invisible", "moving mu along the null space of C changes no output (relative probit change)",
              0.0, invis, f"<= {ROUNDING_FACTOR * EPS * 8:.3g} (rounding)", invis <= ROUNDING_FACTOR * EPS * 8),
        Check("null_space_not_decodable", "a linear decoder from the outputs explains none of x*'s null-space "
              "coordinates (population r^2 = 0, since Cov(x*) is isotropic)",
              0.0, r2_null, f"<= {r2_bound:.3g} (null R^2 mean + 6 sd, n={n}, p={p})", r2_null <= r2_bound),
        _r2_check(np.concatenate(sq_err), config.sigma, config.t),
    ]
    return checks, {"null_space_basis": V.T.tolist()}


def _linear_r2(Xreg: np.ndarray, Y: np.ndarray) -> float:
    """Pooled in-sample r^2 of a least-squares fit (with intercept) of Y (n, q) on Xreg (n, p)."""
    resid = Y - fit_linear_decoder(Xreg, Y).predict(Xreg)      # the toolkit's one least-squares decoder
    return float(1.0 - np.sum(resid**2) / np.sum((Y - Y.mean(axis=0)) ** 2))


def _noiseless_checks(config, design, diag, streams, progress) -> tuple[list[Check], dict]:
    rng_data, _ = streams
    x = sample_latents(rng_data, config.trials, config.D)
    mu = x.copy()  # noiseless evidence: mu(t) = x* for every t
    y = hard_outputs(mu, design)
    # The sigma -> 0 limit of the optimal outputs: at sigma = SIGMA_LIMIT every point farther than
    # 10 sds (10 SIGMA_LIMIT / sqrt(t)) from all boundaries has Phi(z) within Phi(-10) ~ 8e-24 of 0/1.
    z = optimal_probits(mu, design, SIGMA_LIMIT, config.t)
    far = np.abs(z) > 10
    limit_gap = float(np.abs(outputs(z) - y)[far].max())
    patterns, cell = np.unique(y, axis=0, return_inverse=True)
    cell = cell.ravel()
    # Regions of an arrangement of N hyperplanes in R^D: at most sum_{k<=D} C(N, k).
    max_cells = sum(comb(design.ntask, k) for k in range(min(design.ntask, config.D) + 1))
    counts = np.bincount(cell)
    sums = np.zeros((len(patterns), config.D))
    np.add.at(sums, cell, x)
    resid = x - (sums / counts[:, None])[cell]
    sq = resid**2
    mse, se = float(sq.mean()), float(sq.std(ddof=1) / np.sqrt(sq.size))
    checks = [
        Check("outputs_binary", f"as sigma -> 0 the optimal outputs Phi(z) become the 0/1 labels (sigma = "
              f"{SIGMA_LIMIT:g}, {far.mean():.1%} of outputs farther than 10 sds from their boundary)",
              0.0, limit_gap, "<= 1e-20 (Phi(-10) = 7.6e-24)", limit_gap <= 1e-20),
        Check("cells_not_points", "outputs take at most sum_{k<=D} C(N,k) values (cells of the arrangement)",
              max_cells, len(patterns), "<= predicted", len(patterns) <= max_cells),
        Check("point_not_identified", "x* varies within cells: the best decoder from outputs (cell mean) has MSE > 0",
              0.0, mse, f"MSE > {K_SINGLE:g} SE (SE = {se:.2g})", mse > K_SINGLE * se, predicted_text="> 0"),
        _r2_check((mu - x) ** 2, 0.0, config.t),
    ]
    return checks, {"cells_seen": len(patterns)}


def memory_terms(config: Theorem31Config) -> dict:
    """Estimated peak bytes of :func:`run`, by the parameter that drives each term (for the size guard).

    Per chunk about a dozen arrays of trials x steps x (N + D + 1 + JUNK_DIMS) floats (at least
    one trial's worth, t x width, however small CHUNK_FLOATS is); per trial a few (N + D)-vectors
    kept to the end; the information check's n pairs.
    """
    width = config.ntask + config.D + 1 + JUNK_DIMS
    one_trial = (config.t if config.t > FULL_STEPS else len(check_steps(config.t))) * width
    return {f"--t={config.t}": 12 * FLOAT * max(CHUNK_FLOATS, one_trial),
            f"--trials={config.trials}": 4 * FLOAT * config.trials * (config.ntask + 3 * config.D),
            f"--ntask={config.ntask}": 8 * FLOAT * 4000 * (config.ntask + config.D) + FLOAT * config.ntask ** 2}


def run(config: Theorem31Config, progress: bool = False) -> dict:
    """Run the checks of one configuration (``progress``: a progress bar on stderr for long runs).

    Returns
    -------
    dict with ``config`` (dict), ``identifiable`` (bool), ``explanation`` (str), ``checks``
    (list of :class:`~verify.verdict.Check`), ``info`` (dict) and ``passed`` (bool).
    """
    ss_design, ss_data, ss_agent, ss_info = np.random.SeedSequence(config.seed).spawn(4)
    design = make_config_design(config, np.random.default_rng(ss_design))
    diag = diagnose(design)
    streams = (np.random.default_rng(ss_data), np.random.default_rng(ss_agent))
    noiseless = float(np.max(check_sigma(config.sigma))) == 0.0
    if noiseless:
        checks, info = _noiseless_checks(config, design, diag, streams, progress)
        explanation = ("sigma = 0: the optimal outputs are the labels themselves (0/1), which identify only "
                       "the cell of the hyperplane arrangement that holds x*, not a point; no continuous code is implied")
    elif diag.identifiable:
        checks, info = _identifiable_checks(config, design, diag, streams, progress)
        explanation = diag.explain()
    else:
        checks, info = _rank_deficient_checks(config, design, diag, streams, progress)
        explanation = diag.explain()
    # The information form: I(x*; Yhat) = I(x*; mu) when identified, the row-space part otherwise.
    checks = checks + information_checks(design, config.sigma, config.t, np.random.default_rng(ss_info))
    info.update({"rank": diag.rank, "condition": diag.condition, "design": design.name})
    return {"config": {**asdict(config), "design": config.design_kind}, "identifiable": bool(diag.identifiable and not noiseless),
            "explanation": explanation, "checks": checks, "info": info,
            "passed": all(c.passed for c in checks)}


def build_parser():
    p = base_parser(__doc__, "python -m verify.theorem31", allow_large=True)
    d = Theorem31Config()
    p.add_argument("--D", type=int, default=d.D, help=f"latent dimensions (default {d.D})")
    p.add_argument("--ntask", type=int, default=d.ntask, help=f"number of tasks N (default {d.ntask})")
    p.add_argument("--sigma", type=float, default=d.sigma, help=f"per-step noise sd, >= 0 (default {d.sigma})")
    p.add_argument("--t", type=int, default=d.t, help=f"evidence steps (default {d.t})")
    p.add_argument("--trials", type=int, default=d.trials, help=f"simulated trials (default {d.trials})")
    p.add_argument("--design", choices=DESIGN_CHOICES, default=d.design,
                   help="boundary design (default auto: even for D=2, random otherwise)")
    p.add_argument("--offsets", action="store_true", help="random offsets b_i ~ U(-1/4, 1/4)")
    p.add_argument("--rank", type=int, default=None, help="force a random C of this rank < min(ntask, D)")
    return p


def _body(args) -> dict:
    config = Theorem31Config(D=args.D, ntask=args.ntask, sigma=args.sigma, t=args.t, trials=args.trials,
                             design=args.design, offsets=args.offsets, rank=args.rank, seed=args.seed)
    check_terms(memory_terms(config), "simulated trials, steps and outputs", allow_large=args.allow_large)
    result = run(config, progress=show_progress(args))
    info = result["info"]
    lines = [result["explanation"]]
    if "max_abs_probit" in info:
        lines.append(f"largest |probit| {info['max_abs_probit']:.3g}; {100 * info['saturated_fraction']:.2f}% of outputs "
                     "round to 0 or 1 as float64 probabilities (|z| > 8.3), so they are carried in log space")
    if "null_space_basis" in info:
        lines.append("invisible (null-space) directions of x*: "
                     + "; ".join("(" + ", ".join(f"{v:+.3f}" for v in row) + ")" for row in info["null_space_basis"]))
    result["text"] = "\n".join(lines) + "\n"
    return result


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, _body)


if __name__ == "__main__":
    raise SystemExit(main())
