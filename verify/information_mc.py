"""Monte-Carlo twin of :mod:`theory.information` and the information-form checks of Theorem 3.1.

The twin simulates the world and the optimal agent (x*, evidence X(1..t), mu(t), log-probability
outputs) and estimates mutual informations from the samples, with standard errors:

- I(x*; mu(t)) = E[log p(mu | x*) - log p(mu)], averaged over simulated pairs, with the Gaussian
  likelihood and the exact marginal density p(mu) = prod_j p_j(mu_j) of U + N(0, s_j^2); this is
  unbiased, with SE = sd / sqrt(n). It samples where the closed form integrates.
- I(x*; Yhat(t)) from the outputs: trilateration of the simulated outputs gives a bijective image
  of Yhat. For rank(C) = D it is mu itself (estimated as above); for rank k < D it is the row-space
  projection, whose whitened coordinates y = A x* + N(0, I_k) go to the mixture-density estimator
  of :func:`theory.information.mixture_mi_estimate` (a bracket [lower, upper] on the bias).
- sigma = 0: the outputs are the label patterns; their plug-in entropy is the cell entropy.

:func:`information_checks` turns these into :class:`~verify.verdict.Check` verdicts; run from the
command line, it prints them for one design (exit code 0 when all agree with theory, 1 when one
disagrees, 2 on bad input).

Example:  python -m verify.information_mc --D 3 --ntask 2 --sigma 0.2 --t 20
"""
from __future__ import annotations

from math import comb

import numpy as np

from optimal.agent import log_outputs, optimal_probits
from theory.identifiability import diagnose
from optimal.trilateration import recover_mu_from_log_outputs
from theory.designs import DESIGN_CHOICES, Design, build_design, resolve_design
from theory.information import (_ROW_BLOCK, MAX_MC_RANK, MIEstimate, axis_aligned_axes, cell_entropy_central_2d,
                                cell_entropy_mc, log_density_uniform_plus_normal, mi_latent_mle, mi_outputs,
                                mixture_mi_estimate, whitened_row_map)
from theory.world import as_generator, check_positive_int, check_sigma, sample_evidence, sample_latents
from infra.cli import UsageError
from infra.guard import FLOAT, check_terms
from analysis.estimates import K_SINGLE
from verify.verdict import Check, base_parser, run_cli

#: Up to this many evidence steps mu(t) is the mean of a simulated stream, drawn in chunks of at
#: most STREAM_FLOATS floats; beyond, it is drawn from its exact law mu(t) | x* ~ N(x*, sigma^2 / t)
#: (the same distribution, at a cost independent of t).
STREAM_MAX_T = 64
STREAM_FLOATS = 2_000_000


#: Range of the per-coordinate sd sigma / sqrt(t) of mu(t) where the float64 Monte Carlo resolves
#: the information: below, mu(t) - x* is a few ulps of x* (~1e-17); above, the marginal density of
#: mu, a difference of two Phi values about 1/s apart, is lost to cancellation.
RESOLVABLE_SCALE = (1e-10, 1e6)


#: Fewest Monte-Carlo pairs the CLI accepts: a sample SD from fewer says little about the SE.
MIN_PAIRS = 100


def check_resolvable(sigma, t: int) -> None:
    """ValueError naming sigma and t when some sigma_j / sqrt(t) > 0 lies outside RESOLVABLE_SCALE."""
    s = np.atleast_1d(check_sigma(sigma)) / np.sqrt(check_positive_int("t", t))
    lo, hi = RESOLVABLE_SCALE
    if np.any((s > 0) & ((s < lo) | (s > hi))):
        raise ValueError(f"sigma={sigma!r} with t={t}: sigma / sqrt(t) must lie in [{lo:g}, {hi:g}], where "
                         "float64 Monte Carlo resolves the information (or sigma = 0)")


def _simulate_mu(rng, n: int, D: int, sigma, t: int) -> tuple[np.ndarray, np.ndarray]:
    """x* (n, D) and mu(t) (n, D), the mean of t simulated evidence samples."""
    x = sample_latents(rng, n, D)
    if t > STREAM_MAX_T:
        return x, x + np.asarray(sigma, dtype=float) / np.sqrt(t) * rng.standard_normal(x.shape)
    size = max(1, STREAM_FLOATS // (t * D))
    return x, np.concatenate([sample_evidence(rng, x[i:i + size], t, sigma).mean(axis=1)
                              for i in range(0, n, size)])


def _log_ratio_estimate(x: np.ndarray, mu: np.ndarray, s: np.ndarray, method: str) -> MIEstimate:
    """mean_i [log N(mu_i; x_i, diag(s^2)) - sum_j log p_{s_j}(mu_ij)] and its SE (unbiased)."""
    log_lik = np.sum(-0.5 * ((mu - x) / s) ** 2 - np.log(s * np.sqrt(2 * np.pi)), axis=1)
    f = log_lik - np.sum(log_density_uniform_plus_normal(mu, s), axis=1)
    value, se = float(f.mean()), float(f.std(ddof=1) / np.sqrt(len(f)))
    return MIEstimate(value, se, value, value, method)


def mc_mi_latent_mle(sigma, t: int, D: int, rng, n: int = 20000) -> MIEstimate:
    """Monte-Carlo I(x*; mu(t)) in nats from n simulated trials (sigma > 0).

    Parameters
    ----------
    sigma : float or ndarray (D,), > 0; t : int, evidence samples; D : int; rng : Generator or seed
    """
    D, t, n = check_positive_int("D", D), check_positive_int("t", t), check_positive_int("n", n, 2)
    s = np.broadcast_to(check_sigma(sigma, D, allow_zero=False), (D,)) / np.sqrt(t)
    x, mu = _simulate_mu(as_generator(rng), n, D, sigma, t)
    return _log_ratio_estimate(x, mu, s, f"Monte Carlo log-likelihood ratio (n={n})")


def mc_mi_outputs(design: Design, sigma, t: int, rng, n: int = 4000, m: int = 4000) -> MIEstimate:
    """Monte-Carlo I(x*; Yhat(t)) in nats, estimated from the simulated optimal agent's outputs.

    The outputs are simulated as log-probabilities and mapped back by trilateration (a bijection of
    Yhat onto the identified part of mu); see the module docstring for the estimators.
    For rank(C) < D with a row space that is not axis-aligned, rank(C) must be <= 2.
    """
    t, n = check_positive_int("t", t), check_positive_int("n", n, 2)
    sig = np.broadcast_to(check_sigma(sigma, design.D), (design.D,))
    rng = as_generator(rng)
    if np.all(sig == 0):
        return cell_entropy_mc(design, rng, n)
    if np.any(sig == 0):
        raise ValueError(f"sigma={sigma!r} must be all zero or all positive")
    x, mu = _simulate_mu(rng, n, design.D, sig, t)
    z = optimal_probits(mu, design, sig, t)
    mu_hat = recover_mu_from_log_outputs(*log_outputs(z), design, sig, t, allow_projection=True)
    rank = diagnose(design).rank
    if rank == design.D:
        return _log_ratio_estimate(x, mu_hat, sig / np.sqrt(t),
                                   f"Monte Carlo from trilaterated outputs, log-likelihood ratio (n={n})")
    if rank > MAX_MC_RANK and axis_aligned_axes(design) is None:
        raise ValueError(f"rank(C)={rank}: a general (not axis-aligned) row space is supported only for "
                         f"rank <= {MAX_MC_RANK}")
    A = whitened_row_map(design, sig, t)
    # A = L^-1 V^T and V^T mu_hat = V^T P mu = V^T mu, so y = A mu_hat ~ N(A x*, I_k) given x*
    return mixture_mi_estimate(x, mu_hat @ A.T, A, sample_latents(rng, m, design.D))


def _within(measured: MIEstimate, predicted: MIEstimate) -> tuple[bool, float]:
    """Whether the two agree: their brackets [lower, upper] overlap within K_SINGLE combined SEs."""
    se = float(np.hypot(measured.se, predicted.se))
    gap = max(measured.lower - predicted.upper, predicted.lower - measured.upper, 0.0)
    return gap <= K_SINGLE * se, se


def agreement_check(name: str, claim: str, measured: MIEstimate, predicted: MIEstimate) -> Check:
    """A Check that ``measured`` agrees with ``predicted``: their bias brackets [lower, upper]
    overlap to within K_SINGLE combined standard errors."""
    ok, se = _within(measured, predicted)
    bias = max(measured.upper - measured.lower, predicted.upper - predicted.lower)
    return Check(name, f"{claim} [prediction: {predicted.method}]", predicted.value, measured.value,
                 f"{K_SINGLE:g} SE (SE = {se:.2g}) beyond the bias bracket (width {bias:.2g})", ok)


def information_checks(design: Design, sigma, t: int, rng, n: int = 4000, m: int = 2000) -> list[Check]:
    """The information form of Theorem 3.1 as verdicts (nats; see the module docstring).

    - sigma > 0, rank(C) = D: ``information_mle`` (simulated I(x*; mu) equals the quadrature) and
      ``information_preserved`` (I(x*; Yhat) estimated from the outputs equals I(x*; mu)).
    - sigma > 0, rank(C) = k < D: ``information_projected`` (I(x*; Yhat) from the outputs equals the
      row-space value: exact for an axis-aligned row space, else an independent Monte Carlo of the
      projected channel) and ``information_lost`` (I(x*; mu) - I(x*; Yhat) equals the predicted loss
      and is > 0 by more than K_SINGLE SE). Not available (returns []) when the row space is not
      axis-aligned and k > 2.
    - sigma = 0: ``outputs_cell_entropy`` (the outputs carry H(cell): exact for D = 2 central
      lines, else <= log of the largest number of cells, sum_{j<=D} C(N, j)) and
      ``latent_information_unbounded`` (I(x*; mu) is infinite, above any cell entropy).

    Parameters
    ----------
    design : Design; sigma : float or ndarray (D,), >= 0; t : int, evidence samples
    rng : Generator or seed; n, m : Monte-Carlo pairs and mixture samples

    Returns
    -------
    checks : list of Check (two, or none as stated above)
    """
    t = check_positive_int("t", t)
    sig = np.broadcast_to(check_sigma(sigma, design.D), (design.D,))
    rng_pred, rng_twin, rng_out = (np.random.default_rng(s) for s in
                                   np.random.SeedSequence(as_generator(rng).integers(2**63)).spawn(3))
    if np.all(sig == 0):
        return _noiseless_checks(design, t, rng_out, n)
    latent = float(mi_latent_mle(sig, t, design.D))
    exact_latent = MIEstimate(latent, 0.0, latent, latent, "quadrature, sum of per-coordinate i(sigma/sqrt t)",
                              exact=True)
    diag = diagnose(design)
    if diag.identifiable:
        return [
            agreement_check("information_mle", f"simulated I(x*; mu(t={t})) equals the closed form (nats)",
                             mc_mi_latent_mle(sig, t, design.D, rng_twin, n), exact_latent),
            agreement_check("information_preserved", "I(x*; Yhat(t)) estimated from the optimal outputs "
                             "equals I(x*; mu(t)): the outputs keep all the information (nats)",
                             mc_mi_outputs(design, sig, t, rng_out, n, m), exact_latent),
        ]
    if diag.rank > MAX_MC_RANK and axis_aligned_axes(design) is None:
        return []
    predicted = mi_outputs(design, sig, t, rng_pred, n, m)
    measured = mc_mi_outputs(design, sig, t, rng_out, n, m)
    loss_measured, loss_predicted = latent - measured.value, latent - predicted.value
    ok_equal, se = _within(measured, predicted)
    return [
        agreement_check("information_projected", f"rank(C) = {diag.rank} < D = {design.D}: I(x*; Yhat) from the "
                         "outputs equals I(x*; V^T mu), the row-space projection (nats)", measured, predicted),
        Check("information_lost", "the outputs lose information: I(x*; mu) - I(x*; Yhat) equals the "
              "predicted loss and is > 0 (nats)", loss_predicted, loss_measured,
              f"agreement as above, and loss > {K_SINGLE:g} SE (SE = {se:.2g})",
              bool(ok_equal and loss_measured > K_SINGLE * se)),
    ]


def _noiseless_checks(design: Design, t: int, rng, n: int) -> list[Check]:
    measured = mc_mi_outputs(design, 0.0, t, rng, n)
    n_cells_max = sum(comb(design.ntask, j) for j in range(min(design.ntask, design.D) + 1))
    if design.D == 2 and not np.any(design.b):
        exact = cell_entropy_central_2d(design)
        first = agreement_check("outputs_cell_entropy", "sigma = 0: the outputs carry exactly the entropy of "
                                 "the cell of x* (finite, nats)", measured,
                                 MIEstimate(exact, 0.0, exact, exact, "sector areas of the square", exact=True))
    else:
        bound = float(np.log(n_cells_max))
        first = Check("outputs_cell_entropy", "sigma = 0: the outputs carry the cell entropy, at most the log "
                      "of the largest number of cells (finite, nats)", bound, measured.value,
                      f"<= predicted + {K_SINGLE:g} SE (SE = {measured.se:.2g})",
                      bool(measured.lower <= bound + K_SINGLE * measured.se))
    latent = float(mi_latent_mle(0.0, t, design.D))
    second = Check("latent_information_unbounded", "sigma = 0: mu = x* carries unbounded information "
                   "(I(x*; mu) = inf, above the outputs' cell entropy)", float("inf"), latent,
                   "exact", bool(np.isinf(latent) and latent > measured.upper))
    return [first, second]


def build_parser():
    p = base_parser(__doc__, "python -m verify.information_mc", allow_large=True)
    p.add_argument("--D", type=int, default=2, help="latent dimensions (default 2)")
    p.add_argument("--ntask", type=int, default=6, help="number of tasks N (default 6)")
    p.add_argument("--sigma", type=float, default=0.2, help="per-step noise sd, >= 0 (default 0.2)")
    p.add_argument("--t", type=int, default=20, help="evidence steps (default 20)")
    p.add_argument("--design", choices=DESIGN_CHOICES, default="auto",
                   help="boundary design (default auto: even for D=2, random otherwise)")
    p.add_argument("--offsets", action="store_true", help="random offsets b_i ~ U(-1/4, 1/4)")
    p.add_argument("--n", type=int, default=4000, help=f"Monte-Carlo pairs, >= {MIN_PAIRS} (default 4000)")
    p.add_argument("--m", type=int, default=2000, help="mixture-density reference samples (default 2000)")
    return p


def memory_terms(D: int, ntask: int, n: int, m: int) -> dict:
    """Estimated peak bytes of :func:`information_checks`, by the parameter driving each term."""
    return {f"--n={n}": 10 * FLOAT * n * (D + ntask),
            f"--m={m}": 3 * FLOAT * _ROW_BLOCK * m + FLOAT * m * D,
            f"--ntask={ntask} at --D={D}": 4 * FLOAT * (ntask + D) ** 2}


def _body(args) -> dict:
    D, ntask = check_positive_int("D", args.D), check_positive_int("ntask", args.ntask)
    check_positive_int("n", args.n, MIN_PAIRS)
    check_positive_int("m", args.m, 2)
    check_resolvable(args.sigma, args.t)
    kind = resolve_design(args.design, D)
    check_terms(memory_terms(D, ntask, args.n, args.m), "Monte-Carlo pairs and mixture samples",
                allow_large=args.allow_large)
    ss_design, ss_checks = np.random.SeedSequence(args.seed).spawn(2)
    design = build_design(kind, ntask, D, np.random.default_rng(ss_design), args.offsets)
    diag = diagnose(design)
    if args.sigma > 0 and diag.rank > MAX_MC_RANK and axis_aligned_axes(design) is None:
        raise UsageError(f"--ntask={ntask} with --D={D}: rank(C)={diag.rank} < D with a row space that is not "
                         f"axis-aligned, where no information estimator is available beyond rank {MAX_MC_RANK}; "
                         f"use --ntask >= {D} or --ntask <= {MAX_MC_RANK}")
    checks = information_checks(design, args.sigma, args.t, np.random.default_rng(ss_checks), args.n, args.m)
    config = {"D": args.D, "ntask": args.ntask, "sigma": args.sigma, "t": args.t, "design": kind,
              "offsets": args.offsets, "n": args.n, "m": args.m, "seed": args.seed}
    text = (f"rank(C) = {diagnose(design).rank}; I(x*; mu(t)) = {float(mi_latent_mle(args.sigma, args.t, args.D)):.6g} "
            "nats (closed form)\n")
    return {"config": config, "checks": checks, "text": text}


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, _body)


if __name__ == "__main__":
    raise SystemExit(main())
