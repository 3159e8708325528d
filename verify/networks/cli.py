"""Check trained networks against the paper's claims and the theory (paper sections 4-5): python -m verify.networks

(also ``mtd-networks``; ``python -m verify.rnn`` and ``mtd-rnn`` are the old names of this command.)
Trains ensembles of numpy networks (RNN, LSTM or transformer: --arch), or loads them from the cache
in OUT/networks, freezes them, and runs the paper's measurements next to the theory's lines
(one module per experiment in verify/networks/):

  3a        OOD r^2 by quadrant cross-validation vs N; the optimal agent's OOD r^2 on the same trials;
            mu agreement
  3c        encoding-axis and ridge-decoder angles (hidden space) vs N; the output-space angle
  4         tuning of units on an 8 x 8 grid of noiseless x* (measured)
  5a        free-reaction-time networks: OOD r^2 vs evidence time t (t = timing + 1)
  5c        OOD r^2 vs sigma
  dynamics  PCA of noiseless trajectories; fixed points and multipliers of dF/dh
  5b        OOD r^2 and angles vs the latent dimension D (--D), per N: orthant folds for D <= 3,
            half-spaces above
  S1        ReLU vs quadratic encoder (--encoders): OOD r^2 vs N, invertibility per network
  S5c       fixed vs free reaction time side by side at the final t (largest N)
  S6        lifetime sparseness vs N and vs D on the 5b networks (measured; no theory)
  hidden_size  OOD r^2 vs hidden size (--hiddens) against the capacity line (theory.capacity)
  large_n   N up to 96 (--large-ntask) at D = 2 and 4 (--large-D)
  S3b       correlated latents (--rho): copula prior
  noise     Gaussian, anisotropic, AR(1), Gumbel evidence noise (--noises)
  multiplicative  x1 x2 > +-thr boundaries (--mult-ntask): outside Theorem 3.1, notes only

Two lines beside every row. The paper's line (r2_protocol; r2_ceiling = 1 - 12 sigma^2 / t;
r2_id_ceiling = 1 / (1 + 12 sigma^2 / t) for a decoder fit on the whole cube) is what a linear decoder
of mu(t) reaches: not a bound. The Bayes bound (r2_bayes, r2_bayes_whole_cube) is the r^2 of the
posterior mean under the world's prior: the bound no decoder of any state beats beyond noise.

Four named decoders on the same states: ridge_cv (the headline, chosen after the first audit: its
ridge penalty is picked by cross-validation inside the training quadrants, while least squares leans
on weak nonlinear hidden directions and extrapolates badly), and the sensitivity rows lstsq,
whole_cube (fit on the whole cube, tested per quadrant: the direct test of Theorem 3.1) and
reference_adam (the reference code's Adam-trained linear layer, 5 fits per fold).

Intervals (analysis/intervals.py): every estimate is the mean over networks of each network's fold
mean, with a 95% Student-t interval over the K network means (cluster_t); differences between two
settings use Welch's t interval of the difference of network means (welch_t). Below MIN_NETWORKS = 2
networks the interval is infinite and every claim is undecided. The coverage study
(benchmarks/coverage.md, docs/networks.md) finds both at 94-98% from K = 2 for normal network
effects. Medians (with quartiles) are reported beside the means as descriptive columns.

Verdicts (verify/networks/verdicts.py; every rule and tolerance in docs/networks.md):
  claims    each claim of the paper, binding, made of interval parts: PASS when every part is decided
            for it, FAIL when one is decided against it, undecided otherwise. "At the line" means
            above the paper's line for an agent given half the evidence (EVIDENCE_FRACTION = 0.5,
            the toolkit's choice). E.g. 3a rises with N toward the line and is at it at the largest
            N; 3c angles approach 90 degrees; 5b near the line for N >= D and lower for N < D; S1
            both encoders rise to the line; S5c free RT equivalent to fixed; S3b holds until rho -> 1;
            noise at the line for every Gaussian kind; hidden size rises with H and the capacity line
            binds for H < D; large N rises or stays at the line.
  upper     below_bayes_bound_<label>: a headline interval wholly above r2_bayes fails the run;
            being below it never makes a PASS.
  notes     not binding: against the paper's line (ood_below_ceiling_<label>), the row-space
            prediction for N < D, the attractor signature, Gumbel against the sample mean's line,
            multiplicative boundaries, the angle interval containing 90 degrees.
The run's verdict: PASS (exit 0) when at least one claim is decided and every decided binding check
passed; FAIL (exit 1) when one failed; NO VERDICT (exit 1) when no claim is decided.

Networks train as tasks, one file per network, on --workers local processes or on a Dask cluster
(--dask ADDRESS, or --dask local for a LocalCluster); the networks do not depend on where.

Variants: --arch, --non-leaky and --activation tanh (Fig. 3b), --encoder, --hidden;
--reference-defect runs every decoder on the reference's folds (held-out Q2 and Q4 drawn from
Q1 U Q3, 50/50); --encode-fixation feeds f(0) at fixation and decision steps of the evaluation
trials (the reference's convention; immaterial in our audit).

Files go to OUT/<configuration hash>/ (rows.csv, per_network.csv, results.json, figures; see
docs/networks.md); networks are cached in OUT/networks/b<batches>/ by a hash of their
configuration, so a rerun does not retrain and an interrupted run resumes.

A run whose training would take more than a day even at a rate above any measured
(verify.networks.size) is refused before any work, with its estimate, unless --allow-long.

Example:  python -m verify.networks --experiment 3a --networks 5 --batches 100000 --out runs/networks
"""
from __future__ import annotations

from analysis.decoders import NORMALISATIONS
from infra.cli import show_progress
from infra.guard import check_terms
from theory.encoders import ENCODERS
from theory.noise import NOISE_KINDS
from verify.networks.budgets import config_batches
from verify.networks.config import EVAL_TRIALS, NetworkCheckConfig
from verify.networks.config import DESIGNS_5B, NOISE_PROBES, S3B_PROBES, SPARSENESS_DEFINITIONS
from verify.networks.pipeline import ACTIVATIONS, ARCHS, arch_options
from verify.networks.registry import REGISTRY
from verify.networks.report import format_rows, summary, write_outputs
from verify.networks.runner import run
from verify.networks.size import add_allow_long, check_training_time, training_terms
from verify.networks.verdicts import PUBLISHED_BATCHES
from verify.verdict import base_parser, hidden_alias, run_cli

EXPERIMENTS = tuple(REGISTRY)

__all__ = ["EXPERIMENTS", "NetworkCheckConfig", "build_parser", "main", "run"]


def build_parser():
    p = base_parser(__doc__, "python -m verify.networks", out="runs/networks", workers=True, dask=True,
                    allow_large=True)
    add_allow_long(p)
    d = NetworkCheckConfig()
    p.add_argument("--experiment", nargs="+", default=list(d.experiments), choices=EXPERIMENTS + ("all",),
                   help=f"experiments to run (default: {' '.join(d.experiments)}; all: every experiment the "
                        "architecture can train)")
    p.add_argument("--arch", choices=ARCHS, default=d.arch, help=f"network architecture (default {d.arch})")
    p.add_argument("--ntask", type=int, nargs="+", default=list(d.ntask),
                   help="task counts N >= 2 (default 2 3 6 12 24)")
    p.add_argument("--networks", type=int, default=d.networks, help=f"networks per N (default {d.networks})")
    p.add_argument("--batches", type=int, default=d.batches,
                   help=f"training batches per network (default {d.batches}; the paper used {PUBLISHED_BATCHES})")
    p.add_argument("--sigma", type=float, default=d.sigma, help=f"noise sd per step (default {d.sigma})")
    p.add_argument("--sigmas", type=float, nargs="+", default=list(d.sigmas), help="noise levels of experiment 5c")
    p.add_argument("--encoder", choices=ENCODERS, default=d.encoder, help=f"input encoder f (default {d.encoder})")
    p.add_argument("--hidden", type=int, default=d.hidden, help=f"hidden units (default {d.hidden})")
    p.add_argument("--activation", choices=ACTIVATIONS, default=d.activation,
                   help=f"unit non-linearity (default {d.activation})")
    p.add_argument("--non-leaky", action="store_true",
                   help="non-leaky update r_t = r_{t-1} + alpha phi(a_t) (the paper's Fig. 3b variant)")
    p.add_argument("--eval-trials", type=int, default=d.eval_trials,
                   help=f"probe trials per network (default {EVAL_TRIALS}: ~16,000 train each quadrant fold)")
    p.add_argument("--normalisation", choices=NORMALISATIONS, default=d.normalisation,
                   help="r^2 denominator: fullrange = 1/12 (the paper's), heldout = the held-out quadrant's variance")
    p.add_argument("--reference-defect", action="store_true",
                   help="every decoder on the reference's folds (held-out Q2, Q4 drawn from Q1 U Q3, 50/50)")
    p.add_argument("--encode-fixation", action="store_true",
                   help="pass f(0) through the encoder at fixation and decision steps of the evaluation trials "
                        "(the reference's convention; default off)")
    p.add_argument("--D", type=int, nargs="+", default=list(d.Ds), dest="Ds",
                   help="latent dimensions of experiment 5b (default 2 4 6 8 10)")
    p.add_argument("--encoders", nargs="+", choices=ENCODERS, default=list(d.encoders),
                   help="encoders of experiment S1 (default mlp quadratic)")
    p.add_argument("--hiddens", type=int, nargs="+", default=list(d.hiddens),
                   help="hidden sizes of experiment hidden_size (default 1 2 4 8 16 32 64; at H = 1 < D the "
                        "capacity line binds)")
    p.add_argument("--large-ntask", type=int, nargs="+", default=list(d.large_ntask),
                   help="task counts of experiment large_n (default 24 48 96)")
    p.add_argument("--large-D", type=int, nargs="+", default=list(d.large_Ds), dest="large_Ds",
                   help="latent dimensions of experiment large_n (default 2 4)")
    p.add_argument("--rho", type=float, nargs="+", default=list(d.rhos), dest="rhos",
                   help="copula correlations of experiment S3b (default 0 0.3 0.6 0.9)")
    p.add_argument("--noises", nargs="+", choices=NOISE_KINDS, default=list(d.noises),
                   help="evidence-noise kinds of experiment noise (default all four)")
    p.add_argument("--aniso-scales", type=float, nargs=2, default=list(d.aniso_scales), dest="aniso_scales",
                   help="anisotropic noise: per-coordinate multipliers of sigma (default "
                        f"{' '.join(f'{v:g}' for v in d.aniso_scales)})")
    p.add_argument("--ar1-a", type=float, default=d.ar1_a, dest="ar1_a",
                   help=f"AR(1) noise coefficient (default {d.ar1_a})")
    hidden_alias(p, "--noise-scales", "aniso_scales", type=float, nargs=2)
    hidden_alias(p, "--noise-a", "ar1_a", type=float)
    p.add_argument("--mult-ntask", type=int, nargs="+", default=list(d.mult_ntask),
                   help="task counts of experiment multiplicative, multiples of 4 (default 4 8 12 24)")
    p.add_argument("--s3b-probe", choices=S3B_PROBES, default=d.s3b_probe,
                   help="S3b probe latents: uniform (the reference's generalize.py) or prior (the copula prior)")
    p.add_argument("--noise-probe", choices=NOISE_PROBES, default=d.noise_probe,
                   help="noise variants probed with Gaussian evidence (the reference's) or each training noise")
    p.add_argument("--sparseness", choices=SPARSENESS_DEFINITIONS, default=d.sparseness,
                   help="S6 definition: reference (sparsity.py) or active_median (median over active units)")
    p.add_argument("--design-5b", choices=DESIGNS_5B, default=d.design_5b,
                   help="5b boundaries: random unit normals at every D (the reference's) or even at D = 2")
    p.add_argument("--n-boot", type=int, default=d.n_boot,
                   help=f"replicates of the percentile-bootstrap method (default {d.n_boot}); the verdicts' t "
                        "intervals do not resample")
    p.add_argument("--adam-steps", type=int, default=None,
                   help="Adam steps of the reference_adam decoder (default: the reference's count per N, "
                        "3000 at N <= 3, 2000 at N = 6, 1000 at N >= 12)")
    return p


def check_size(args) -> None:
    """Refuse, before any configuration is built, a run whose memory cannot fit this machine.

    The largest ensemble holds ``--networks`` x (the longest axis of the requested experiments: N
    values, sigmas, D x N cells, ...) networks, all live at once in training
    (:func:`verify.networks.size.training_terms`); the probes keep every network's states for
    ``--eval-trials`` trials. ``--allow-large`` skips the refusal. Sized from the arguments, not from the
    registry's ensemble specifications (:func:`verify.networks.budgets.config_batches`), because those hold
    per-network arrays: building them for ``--networks=1000000000`` would itself exhaust the memory.
    """
    pos = lambda v: max(int(v), 1)                     # bad signs are reported by the validation that follows
    axes = {"5c": len(args.sigmas), "5b": len(args.Ds) * len(args.ntask), "S6": len(args.Ds) * len(args.ntask),
            "hidden_size": len(args.hiddens), "large_n": len(args.large_ntask) * len(args.large_Ds),
            "S3b": len(args.rhos), "noise": len(args.noises), "multiplicative": len(args.mult_ntask)}
    requested = EXPERIMENTS if "all" in args.experiment else args.experiment
    settings = max(axes.get(e, len(args.ntask)) for e in requested)
    width = pos(max([args.hidden, *args.hiddens])) if "hidden" in arch_options(args.arch) else None
    terms = training_terms(args.arch, pos(args.networks) * settings, f"--networks={args.networks} x {settings} "
                           "settings", width, ntask=pos(max([*args.ntask, *args.large_ntask, *args.mult_ntask])),
                           eval_trials=pos(args.eval_trials), batches=pos(args.batches))
    check_terms(terms, "training and probe states", allow_large=args.allow_large)


def config_from_args(args) -> NetworkCheckConfig:
    """The validated configuration (ValueError naming the parameter on bad input, before any work)."""
    experiments = tuple(dict.fromkeys(args.experiment))
    if "all" in experiments:        # every experiment the architecture can run (the transformer has no hidden size)
        experiments = tuple(e for e in REGISTRY if e != "hidden_size" or "hidden" in arch_options(args.arch))
    return NetworkCheckConfig(ntask=tuple(sorted(set(args.ntask))), networks=args.networks, batches=args.batches,
                              sigma=args.sigma, sigmas=tuple(sorted(set(args.sigmas))), arch=args.arch,
                              encoder=args.encoder, hidden=args.hidden, activation=args.activation,
                              leaky=not args.non_leaky, eval_trials=args.eval_trials,
                              normalisation=args.normalisation, reference_defect=args.reference_defect,
                              encode_fixation=args.encode_fixation, n_boot=args.n_boot, adam_steps=args.adam_steps,
                              experiments=experiments, Ds=tuple(sorted(set(args.Ds))),
                              encoders=tuple(dict.fromkeys(args.encoders)), hiddens=tuple(sorted(set(args.hiddens))),
                              large_ntask=tuple(sorted(set(args.large_ntask))),
                              large_Ds=tuple(sorted(set(args.large_Ds))), rhos=tuple(sorted(set(args.rhos))),
                              noises=tuple(dict.fromkeys(args.noises)), aniso_scales=tuple(args.aniso_scales),
                              ar1_a=args.ar1_a, mult_ntask=tuple(sorted(set(args.mult_ntask))),
                              seed=args.seed,
                              s3b_probe=args.s3b_probe, noise_probe=args.noise_probe, sparseness=args.sparseness,
                              design_5b=args.design_5b)


def _body(args) -> dict:
    check_size(args)
    config = config_from_args(args)
    check_training_time(config_batches(config), f"--batches={config.batches} x the networks of "
                        f"{', '.join(config.experiments)}", args.allow_long)
    result = run(config, args.out, progress=show_progress(args), workers=args.workers, dask=args.dask)
    files = write_outputs(result, args.out, config.key)
    result["files"] = [str(f) for f in files]
    result["text"] = format_rows(result) + f"\nfiles written to {files[0].parent}\n"
    return {k: v for k, v in result.items() if k != "results"} | {"summary": summary(result)}


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, _body)


if __name__ == "__main__":
    raise SystemExit(main())
