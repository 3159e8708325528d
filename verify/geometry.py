"""Representation geometry of an agent: CCGP, parallelism, shattering dimensionality, participation ratio, DCI.

The measures the field uses to call a representation "abstract" or "disentangled" (Bernardi et al. 2020;
Eastwood & Williams 2018; :mod:`analysis.geometry`), computed on an agent's state at the decision time,
with nulls, and compared with the optimal agent's closed forms (:mod:`theory.geometry`).

Agents (--arch): ``optimal`` (its probits, an affine image of mu(t); --replicates independent samples
of --trials trials), or trained networks of an architecture, ``rnn``, ``lstm`` or ``transformer``
(trained or loaded through :mod:`verify.networks.pipeline`, into the same cache as the other network
checks). ``--agent`` is the old name of --arch.

Rows (``--json``: ``rows``): one per (agent, N, metric, dichotomy or variant) with keys agent
(``optimal`` or the architecture), ntask (N), metric, dichotomy (``x1``.. for the per-coordinate
measures, ``all`` for shattering and PR, the DCI part for ``dci``: ``disentanglement``, ``completeness``,
``informativeness`` (Eastwood & Williams' NRMSE, lower is better) and ``r2`` (1 - NRMSE^2)), value (mean over
replicates or networks), ci_low, ci_high (95% interval of that mean, :func:`analysis.bootstrap.interval`:
Student t over the replicates or networks; null with fewer than ``MIN_NETWORKS``), clipped (true when the
interval crossed the measure's range and was clipped to it, :func:`analysis.geometry.clip_interval`),
null_mean, null_q95 (mean and 95th percentile of the measure of one replicate or network with its states
shuffled across trials; for the participation ratio each unit shuffled on its own), predicted (the optimal
agent's value at this sample size, to first order in 1/n where derived; null for networks).
``geometric_nulls`` has Bernardi's random-centroid null for CCGP, parallelism and shattering.

Classifiers (CCGP, regressor cosine, shattering) choose their ridge penalty by inner cross-validation and
DCI its lasso penalty likewise (:mod:`analysis.geometry`); ``--ridge <number>`` fixes the classifiers' penalty.

Checks: the optimal agent's CCGP, parallelism, shattering, participation ratio and DCI within k standard
errors of the closed forms (DCI also allows its plug-in bias, estimated from half the trials, and the
first-order sampling shift of the lasso's importances, :func:`dci_sampling_shift`), k chosen so that all
checks of a run pass together with probability 99% (Bonferroni, Student t). Networks (and any agent without
closed forms), per coordinate x_d, with the test-trial binomial SE of the mean CCGP over the K networks,
sqrt(sum_k se_k^2) / K: CCGP above chance (1/2) by k SE (a claim: a network at chance fails it), and
CCGP not above the Bayes classifier's by more than k SE (an upper check).

Files (in --out): geometry.csv, results.json, metrics_vs_ntask.png; networks are cached in --out/networks
(:func:`verify.networks.runner.cache_folder`).

Example:  python -m verify.geometry --arch optimal --ntask 2 3 6 24 --json
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from analysis.bootstrap import interval
from analysis.geometry import (CV, ccgp_detail, clip_interval, dci, geometric_null, parallelism_bernardi,
                               parallelism_mean_pairs, parallelism_regressor_cosine, participation_ratio,
                               shattering_dimensionality, shuffle_null, unit_shuffle_null)
from analysis.estimates import family_k, mean_se
from infra.cli import show_progress
from infra.guard import check_terms
from infra.store import atomic_write_bytes, atomic_write_json, csv_bytes
from theory.designs import build_design
from theory.geometry import (ccgp_optimal, dci_linear, importance_scores, parallelism_linear,
                             participation_ratio_affine, participation_ratio_sample, regressor_cosine_linear,
                             shattering_optimal)
from theory.world import as_generator, check_positive_int
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from verify.networks import pipeline
from verify.networks.budgets import REFERENCE
from verify.networks.runner import cache_folder
from verify.networks.size import add_allow_long, check_training_time, training_terms
from verify.plotting import save_figure
from verify.verdict import Check, base_parser, hidden_alias, run_cli

#: The optimal agent, then the network architectures.
AGENTS = ("optimal",) + tuple(pipeline.ARCHS)
ROW_KEYS = ("agent", "ntask", "metric", "dichotomy", "value", "ci_low", "ci_high", "clipped", "null_mean", "null_q95",
            "predicted")
PER_DIM = ("ccgp", "parallelism_bernardi", "parallelism_mean_pairs", "parallelism_regressor_cosine")
DCI_PARTS = ("disentanglement", "completeness", "informativeness", "r2")
#: Measures with Bernardi's geometric (random-centroid) null in the literature.
GEOMETRIC = PER_DIM + ("shattering_dimensionality",)
ALPHA = 0.01                      # family-wise false-alarm probability of one run's checks
NULL_SAMPLES = 4                  # replicates or networks each null draw is applied to
#: Draws of the least-squares sampling error behind :func:`dci_sampling_shift` (its Monte-Carlo SE enters the
#: allowance, so fewer draws only widen it).
DCI_DRAWS = 64
#: CCGP of a state that carries nothing about x* (the shuffle null's expectation).
CHANCE = 0.5


@dataclass(frozen=True)
class GeometryConfig:
    """One run of the geometry check."""

    arch: str = "optimal"         # the optimal agent or a network architecture (AGENTS)
    ntask: tuple = (2, 6, 24)
    D: int = 2                    # latent dimension; networks and the even design need D = 2
    sigma: float = 0.2            # per-step noise sd (latent units)
    t: int = 20                   # evidence samples at the decision (networks: stimulus steps)
    networks: int = 3             # per N (network agents)
    batches: int = 5000           # training batches per network; the paper used 100000
    trials: int = 4000            # trials per replicate or network (1000 per quadrant at D = 2)
    replicates: int = 20          # independent samples of the optimal agent (its error bars)
    shuffles: int = 10            # draws of each null (each on NULL_SAMPLES replicates or networks)
    ridge: float | None = None    # classifiers' fixed penalty; None: chosen by inner cross-validation
    seed: int = 0

    def __post_init__(self):
        if self.arch not in AGENTS:
            raise ValueError(f"arch={self.arch!r} must be one of {AGENTS}")
        if not self.ntask or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) for n in self.ntask):
            raise ValueError(f"ntask={self.ntask!r} must be a non-empty list of integers")
        object.__setattr__(self, "ntask", tuple(sorted(set(int(n) for n in self.ntask))))
        if self.D not in (2, 3):
            raise ValueError(f"D={self.D!r} must be 2 or 3 (Bernardi's parallelism pairs (2^(D-1))! pairings)")
        if self.arch != "optimal" and self.D != 2:
            raise ValueError(f"D={self.D} must be 2 for arch={self.arch!r}: the networks learn the even 2-D design")
        if min(self.ntask) < self.D:
            raise ValueError(f"ntask={list(self.ntask)} must be >= D={self.D} (rank C = D, Theorem 3.1)")
        if not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma={self.sigma!r} must be finite and > 0")
        check_positive_int("t", self.t)
        check_positive_int("networks", self.networks)
        check_positive_int("batches", self.batches)
        check_positive_int("trials", self.trials, 400)
        check_positive_int("replicates", self.replicates, 2)
        check_positive_int("shuffles", self.shuffles, 2)
        check_positive_int("seed", self.seed, 0)
        if self.ridge is not None and (isinstance(self.ridge, bool) or not isinstance(self.ridge, (int, float))
                                       or not (np.isfinite(self.ridge) and self.ridge >= 0)):
            raise ValueError(f"ridge={self.ridge!r} must be None (cross-validated) or a finite number >= 0")

    @property
    def penalty(self):
        """The classifiers' ``ridge`` argument (:func:`analysis.geometry.fit_classifiers`)."""
        return CV if self.ridge is None else float(self.ridge)

    def training(self):
        """The networks' training configuration (None for the optimal agent)."""
        if self.arch == "optimal":
            return None
        return pipeline.train_config(self.arch, list(self.ntask), self.networks, self.sigma, batches=self.batches,
                                     seed=self.seed, n_stim=self.t)


def network_states(training, trials: int, cache, progress: bool, rng, workers: int | None = None
                   ) -> tuple[dict, dict]:
    """Train or load the ensemble (:func:`verify.networks.pipeline.train_or_load`), run it frozen on
    U(cube) latents: {N: (hidden (K, n, H), x* (K, n, D))} and the training summary."""
    ens, summary = pipeline.train_or_load(training, cache, progress, workers)
    states = pipeline.run_states(ens, rng.uniform(-0.5, 0.5, (trials, training.D)), rng)
    ntask = pipeline.network_info(ens)["ntask"]
    return {int(N): (states.hidden[ntask == N], states.x_star[ntask == N]) for N in np.unique(ntask)}, summary


def optimal_states(config: GeometryConfig, N: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The optimal agent's probits z = sqrt(t) C mu / (sigma |c_i|): states (B, n, N), x* (B, n, D), A (N, D)."""
    design = build_design("even" if config.D == 2 else "random", N, config.D, rng)
    A = np.sqrt(config.t) * design.C / (config.sigma * design.norms[:, None])
    x = rng.uniform(-0.5, 0.5, (config.replicates, config.trials, config.D))
    mu = x + config.sigma / np.sqrt(config.t) * rng.standard_normal(x.shape)
    return mu @ A.T, x, A


def metrics_and_errors(states, x, ridge=CV) -> tuple[dict, dict]:
    """{(metric, dichotomy): values (B,)} for every measure, and {("ccgp", x_d): binomial SE (B,)} of each CCGP
    (:func:`analysis.geometry.ccgp_detail`: the test-trial error of each replicate's or network's CCGP)."""
    out, errors = {}, {}
    for d in range(x.shape[-1]):
        detail = ccgp_detail(states, x, d, ridge)
        out[("ccgp", f"x{d + 1}")], errors[("ccgp", f"x{d + 1}")] = detail["value"], detail["se"]
        out[("parallelism_bernardi", f"x{d + 1}")] = parallelism_bernardi(states, x, d)
        out[("parallelism_mean_pairs", f"x{d + 1}")] = parallelism_mean_pairs(states, x, d)
        out[("parallelism_regressor_cosine", f"x{d + 1}")] = parallelism_regressor_cosine(states, x, d, ridge)
    out[("shattering_dimensionality", "all")] = shattering_dimensionality(states, x, ridge)
    out[("participation_ratio", "all")] = participation_ratio(states)
    out.update({("dci", k): v for k, v in dci(states, x, keep_r2=True).items()})
    return out, errors


def all_metrics(states, x, ridge=CV) -> dict:
    """{(metric, dichotomy): values (B,)} for every measure (see :func:`metrics_and_errors`)."""
    return metrics_and_errors(states, x, ridge)[0]


def n_train_ccgp(n: int, D: int) -> float:
    """Training trials of one CCGP classifier: all but the held-out pair, 2 of the 2^D conditions."""
    return n * (1 - 2.0 ** (1 - D))


def predictions(config: GeometryConfig, A) -> dict:
    """The optimal agent's value of each measure at this sample size (first order in 1/n where derived)."""
    D, s, t, n = config.D, config.sigma, config.t, config.trials
    isometric = np.allclose(A.T @ A, np.trace(A.T @ A) / D * np.eye(D), rtol=1e-9)
    par = parallelism_linear(D, s, t, n / 2 ** D) if isometric else 1.0
    reg = regressor_cosine_linear(D, s, t, n / 2) if isometric else 1.0
    out = {}
    for d in range(D):
        out[("ccgp", f"x{d + 1}")] = float(ccgp_optimal(s, t, n_train=n_train_ccgp(n, D), D=D))
        out[("parallelism_bernardi", f"x{d + 1}")] = par
        out[("parallelism_mean_pairs", f"x{d + 1}")] = par
        out[("parallelism_regressor_cosine", f"x{d + 1}")] = reg
    out[("shattering_dimensionality", "all")] = shattering_optimal(D, s, t)
    out[("participation_ratio", "all")] = (participation_ratio_sample(D, s, t, n) if isometric
                                           else participation_ratio_affine(A, s, t))
    lin = dci_linear(A, s, t)
    out.update({("dci", k): lin[k] for k in DCI_PARTS if k != "r2"})
    # every latent has the same NRMSE sqrt(1 - rho) at a vanishing penalty, so mean_d (1 - NRMSE_d^2) = 1 - NRMSE^2
    out[("dci", "r2")] = 1.0 - lin["informativeness"] ** 2
    return out


def dci_sampling_shift(A, sigma, t, n_train: int, rng, draws: int = DCI_DRAWS) -> dict:
    """First-order shift of the lasso DCI's disentanglement and completeness from sampling, with its MC SE.

    In a sample the least-squares weights of the z-scored x_d on the z-scored mu (unit variance, independent
    coordinates) are sqrt(rho) e_d + eps_d, eps_d ~ N(0, (1 - rho) I / n_train) (the OLS error: residual
    variance 1 - rho over n_train trials), and the lasso with a vanishing penalty represents that target with
    the least-|w|_1 unit weights (:func:`theory.geometry.dci_linear`, applied to the code A H_d, H_d the
    Householder reflection taking e_d to the target's direction, rescaled to its length). Where the target
    sits on a vertex of the l1 ball (x1 at odd N in the even design) a neighbouring unit picks up a weight
    of order |eps|, and the entropies lose ~|eps| log(1/|eps|): a shift of order n^(-1/2) log n, not the
    O(1/n) that halving the trials estimates. The penalty chosen by cross-validation only zeroes such small
    weights, moving the sample back towards the population value, so |shift| bounds it to first order.

    Returns
    -------
    {part: (mean of DCI(draw) - DCI(population), its Monte-Carlo SE)} for disentanglement and completeness
    """
    lin = dci_linear(A, sigma, t)
    p, D = lin["importance"].shape
    rho = 1.0 - lin["informativeness"] ** 2           # NRMSE = sqrt(1 - rho) at a vanishing penalty
    scale = np.sqrt((1.0 - rho) / n_train)
    eye = np.eye(D)
    shifts = np.empty((draws, 2))
    for i in range(draws):
        W = np.empty((p, D))
        for d in range(D):
            u = np.sqrt(rho) * eye[d] + scale * rng.standard_normal(D)
            v = eye[d] - u / np.linalg.norm(u)
            H = eye - 2 * np.outer(v, v) / (v @ v) if v @ v > 0 else eye
            W[:, d] = dci_linear(np.asarray(A) @ H, sigma, t)["importance"][:, d] * np.linalg.norm(u) / np.sqrt(rho)
        shifts[i] = np.array(importance_scores(W)) - (lin["disentanglement"], lin["completeness"])
    est = mean_se(shifts)
    return {k: (float(est.value[j]), float(est.se[j])) for j, k in enumerate(("disentanglement", "completeness"))}


def summary(values, metric: str, units: int) -> tuple[float, float | None, float | None, bool]:
    """Mean and 95% interval of ``values`` (B,) by :func:`analysis.bootstrap.interval` (Student t over the
    replicates or networks), clipped to the measure's range (:func:`analysis.geometry.clip_interval`; ``metric``
    the measure's name, or the DCI part); None bounds with fewer than MIN_NETWORKS values.

    Returns mean, ci_low, ci_high, clipped.
    """
    iv = interval(np.asarray(values, dtype=float), None)      # cluster_t: no resampling, rng unused
    if not (np.isfinite(iv.ci_low) and np.isfinite(iv.ci_high)):
        return iv.estimate, None, None, False
    lo, hi, clipped = clip_interval(iv.ci_low, iv.ci_high, metric, units=units)
    return iv.estimate, lo, hi, clipped


def measure(states, x, config: GeometryConfig, rng) -> dict:
    """Every measure with its nulls; returns {key: dict(values, mean, ci, clipped, se, binomial_se, null,
    geometric, half)}.

    ``se``: the SE of the mean over replicates or networks; ``binomial_se`` (CCGP only): the test-trial SE
    of that mean, sqrt(sum_k se_k^2) / K. The nulls are those of one replicate or network: each null draw is
    applied to the first ``NULL_SAMPLES`` of them and the values pooled (draws x samples).
    """
    f = lambda s, xx: np.stack(list(all_metrics(s, xx, config.penalty).values()))  # noqa: E731
    values, errors = metrics_and_errors(states, x, config.penalty)
    sub, xs = states[:NULL_SAMPLES], x[:NULL_SAMPLES]
    pooled = lambda a: np.moveaxis(a, 1, -1).reshape(-1, a.shape[1]) if a.ndim == 3 else a.ravel()  # noqa: E731
    shuffled = pooled(shuffle_null(f, sub, xs, rng, config.shuffles))               # (S x B', metrics)
    geometric = pooled(geometric_null(f, sub, xs, rng, config.shuffles))
    units = pooled(unit_shuffle_null(participation_ratio, sub, rng, config.shuffles))
    half = dci(states[:, : states.shape[1] // 2], x[:, : states.shape[1] // 2], keep_r2=True)
    out = {}
    for i, key in enumerate(values):
        null = units if key[0] == "participation_ratio" else shuffled[:, i]
        mean, lo, hi, clipped = summary(values[key], key[1] if key[0] == "dci" else key[0], states.shape[-1])
        se = float(mean_se(values[key]).se) if values[key].size > 1 else float("nan")
        binomial = (float(np.sqrt(np.sum(errors[key] ** 2)) / errors[key].size) if key in errors else None)
        out[key] = dict(values=values[key], mean=mean, ci=(lo, hi), clipped=clipped, se=se, binomial_se=binomial,
                        null=null, geometric=geometric[:, i],
                        half=float(np.mean(half[key[1]])) if key[0] == "dci" else None)
    return out


def _rows(agent: str, N: int, measured: dict, predicted: dict | None) -> list[dict]:
    return [dict(zip(ROW_KEYS, (agent, N, key[0], key[1], m["mean"], m["ci"][0], m["ci"][1], m["clipped"],
                                float(np.mean(m["null"])), float(np.quantile(m["null"], 0.95)),
                                None if predicted is None else float(predicted[key]))))
            for key, m in measured.items()]


def _comparisons(agent: str, N: int, measured: dict, predicted: dict | None, config: GeometryConfig,
                 shift: dict | None = None) -> list:
    """Every check before choosing k: dicts with name, claim, predicted, measured, se, dof (of the SE),
    allowance (added to k SE, with its reason), side (``two``: |diff| <= tol; ``upper``: measured <=
    predicted + tol; ``above``: measured - tol > predicted) and kind (of :class:`verify.verdict.Check`)."""
    out = []
    for key, m in measured.items():
        name = f"[{agent} N={N}] {key[0]} {key[1]}"
        if predicted is None:
            if key[0] == "ccgp":
                base = dict(measured=m["mean"], se=m["binomial_se"], dof=np.inf, allowance=(0.0, ""),
                            se_what="binomial SE")
                out.append(base | dict(
                    name=name + " above chance", side="above", kind="claim", predicted=CHANCE,
                    claim=f"the sign of {key[1]} generalises across conditions above chance (CCGP > 1/2: an "
                          "abstract variable, Bernardi et al. 2020); one-sided test at the run's family-wise 1%"))
                out.append(base | dict(
                    name=name, side="upper", kind="upper", predicted=float(ccgp_optimal(config.sigma, config.t)),
                    claim=f"no agent generalises the sign of {key[1]} across conditions better than the Bayes "
                          "classifier sign(mu_d) (the optimal agent's large-sample CCGP)"))
            continue
        if key[0].startswith("parallelism") and predicted[key] == 1.0:
            continue   # a non-isometric code: only the large-sample value is derived
        allowance, why = 0.0, []
        if m["half"] is not None:
            allowance += abs(m["half"] - m["mean"])
            why.append(f"halving bias ({abs(m['half'] - m['mean']):.2g})")
        if shift is not None and key[1] in shift:
            mean, se = shift[key[1]]
            k_shift = family_k(1, ALPHA)
            allowance += abs(mean) + k_shift * se
            why.append(f"sampling shift ({abs(mean):.2g} + {k_shift:.3g} x MC SE {se:.1g})")
        out.append(dict(name=name, claim=f"the optimal agent's {key[0]} ({key[1]}) equals its closed form",
                        predicted=predicted[key], measured=m["mean"], se=m["se"], dof=m["values"].size - 1,
                        allowance=(allowance, " + ".join(why)), side="two", kind="claim", se_what="SE"))
    return out


def _checks(comparisons: list) -> list[Check]:
    """Checks at k SE, k chosen so that all of them pass together with probability >= 99% (Bonferroni;
    Student t with the SE's degrees of freedom when it is estimated from the replicates, normal for the
    binomial SE of thousands of test trials). A one-sided check spends the whole alpha / m on one tail."""
    m = len(comparisons)
    checks = []
    for c in comparisons:
        one_sided = c["side"] != "two"
        k = family_k(m, 2 * ALPHA if one_sided else ALPHA, dof=c["dof"]) if c["dof"] > 0 else 0.0
        se = float(np.nan_to_num(c["se"]))
        bias, why = c["allowance"]
        tol = k * se + bias
        what = f"{k:.3g} {c['se_what']} ({se:.2g})" + (f" + {why}" if why else "")
        if c["side"] == "two":
            passed, rule, text = abs(c["measured"] - c["predicted"]) <= tol, "|diff| <= ", ""
        elif c["side"] == "upper":
            passed, rule, text = c["measured"] <= c["predicted"] + tol, "<= predicted + ", ""
        else:
            passed, rule, text = c["measured"] - tol > c["predicted"], "measured - ", f"> {c['predicted']:g}"
            what += " > predicted"
        checks.append(Check(c["name"], c["claim"], c["predicted"], c["measured"], rule + what, bool(passed),
                            predicted_text=text, kind=c["kind"]))
    return checks


def run(config: GeometryConfig, out, progress: bool = False, cache=None, workers: int | None = None) -> dict:
    """All rows, geometric nulls and checks of one agent; networks cached in ``cache`` (default
    :func:`verify.networks.runner.cache_folder` of ``out``),
    trained by ``workers`` processes (default: the CPU count; results do not depend on it)."""
    out = Path(out)
    training = config.training()
    streams = np.random.SeedSequence(config.seed).spawn(3)
    rng_states, rng_nulls, rng_shift = (as_generator(s) for s in streams)
    rows, geo, comparisons, train_summary = [], [], [], None
    if training is None:
        groups = {N: optimal_states(config, N, rng_states) for N in config.ntask}
    else:
        nets, train_summary = network_states(training, config.trials, cache_folder(out) if cache is None else cache,
                                             progress, rng_states, workers)
        groups = {N: (*nets[N], None) for N in config.ntask}
    for N, (states, x, A) in groups.items():
        measured = measure(states, x, config, rng_nulls)
        predicted = predictions(config, A) if A is not None else None
        shift = (dci_sampling_shift(A, config.sigma, config.t, (config.trials + 1) // 2, rng_shift)
                 if A is not None else None)
        rows += _rows(config.arch, N, measured, predicted)
        geo += [dict(agent=config.arch, ntask=N, metric=k[0], dichotomy=k[1],
                     null_mean=float(m["geometric"].mean()), null_q95=float(np.quantile(m["geometric"], 0.95)))
                for k, m in measured.items() if k[0] in GEOMETRIC]
        comparisons += _comparisons(config.arch, N, measured, predicted, config, shift)
    return {"config": asdict(config), "rows": rows, "geometric_nulls": geo, "checks": _checks(comparisons),
            "training": train_summary}


PANELS = (("ccgp", "x1"), ("parallelism_bernardi", "x1"), ("parallelism_regressor_cosine", "x1"),
          ("shattering_dimensionality", "all"), ("participation_ratio", "all"), ("dci", "disentanglement"),
          ("dci", "completeness"), ("dci", "informativeness"))
#: Panel titles that need more than the measure's name.
TITLES = {("dci", "informativeness"): "dci informativeness (NRMSE, lower is better)"}


def theory_curve(sigma: float, t: int, ntask) -> dict:
    """{(metric, dichotomy): ndarray over ``ntask``}: the optimal agent's large-sample values (even 2-D design)."""
    large = GeometryConfig(ntask=tuple(ntask), sigma=sigma, t=t, trials=10 ** 12)
    per_n = [predictions(large, np.sqrt(t) * build_design("even", N, 2).C / sigma) for N in ntask]
    return {k: np.array([p[k] for p in per_n]) for k in per_n[0]}


def plot_metrics_vs_ntask(rows: list[dict], sigma: float, t: int, path) -> Path:
    """One panel per measure vs N: the optimal agent's theory, each agent's values (95% CI), its null q95."""
    ntask = sorted({r["ntask"] for r in rows})
    theory = theory_curve(sigma, t, ntask)
    fig = Figure(figsize=(13, 6))
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.09, top=0.95, wspace=0.3, hspace=0.4)
    FigureCanvasAgg(fig)
    agents = list(dict.fromkeys(r["agent"] for r in rows))
    for ax, (metric, dich) in zip(fig.subplots(2, 4).ravel(), PANELS):
        ax.plot(ntask, theory[(metric, dich)], "-", color="gray", label="optimal, theory (large n)")
        for i, agent in enumerate(agents):
            sel = [r for r in rows if r["metric"] == metric and r["dichotomy"] == dich
                   and r["agent"] == agent]
            n = np.array([r["ntask"] for r in sel]) * (1 + 0.05 * i)
            v = np.array([r["value"] for r in sel])
            lo, hi = (np.array([np.nan if r[k] is None else r[k] for r in sel]) for k in ("ci_low", "ci_high"))
            # a percentile interval need not contain its estimate: no negative bar (matplotlib refuses one)
            yerr = np.maximum(np.nan_to_num(np.vstack([v - lo, hi - v])), 0)
            bars = ax.errorbar(n, v, yerr=yerr, fmt="o", ms=4, capsize=3,
                               label=f"{agent} (95% CI)")
            ax.plot(n, [r["null_q95"] for r in sel], "v:", ms=4, color=bars[0].get_color(),
                    label=f"{agent}: shuffle null q95")
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(ntask, [str(v) for v in ntask])
        ax.set_xlabel("N (tasks)")
        ax.set_title(TITLES.get((metric, dich), f"{metric} {dich}".replace("_", " ")), fontsize=9)
    fig.axes[0].legend(fontsize=6, loc="center right")
    return save_figure(fig, path)


def write_outputs(result: dict, out) -> list[Path]:
    """geometry.csv, results.json and metrics_vs_ntask.png in ``out``."""
    out = Path(out)
    files = [atomic_write_bytes(out / "geometry.csv", csv_bytes(result["rows"])),
             atomic_write_json(out / "results.json", {k: v for k, v in result.items() if k != "checks"}
                               | {"checks": [c.to_dict() for c in result["checks"]]}),
             plot_metrics_vs_ntask(result["rows"], result["config"]["sigma"], result["config"]["t"],
                                   out / "metrics_vs_ntask.png")]
    return [Path(f) for f in files]


def format_rows(rows: list[dict]) -> str:
    """A plain-text table of the rows."""
    def cell(v):
        return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)
    table = [ROW_KEYS] + [tuple(cell(r[k]) for k in ROW_KEYS) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(ROW_KEYS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)


def report_section(out, seed: int, progress: bool, budget="default", cache=None, workers: int | None = None
                   ) -> tuple[str, dict, list[Check]]:
    """The report's geometry part: the optimal agent and the trained RNNs at the budget's N, with nulls.

    ``budget`` is a name of :data:`verify.networks.budgets.REFERENCE` (its ``ntask``, ``networks`` and
    ``batches``: the network section's networks) or a dict with ``ntask``, ``networks``, ``batches``
    and optionally any other :class:`GeometryConfig` field (``trials``, ...).

    Networks come from ``cache`` (default ``out / "rnn" / "networks"``, the network section's cache, so
    nothing is trained twice), trained by ``workers`` processes. Files go to ``out / "geometry"``.

    Returns
    -------
    text : Markdown (measurement text, the rows as a table, the figure)
    results : JSON-able dict (config, rows, geometric nulls, checks of both agents)
    checks : list of :class:`verify.verdict.Check`
    """
    if isinstance(budget, str) and budget not in REFERENCE:
        raise ValueError(f"budget={budget!r} must be one of {tuple(REFERENCE)} or a dict")
    b = ({k: REFERENCE[budget][k] for k in ("ntask", "networks", "batches")} if isinstance(budget, str)
         else dict(budget))
    name = budget if isinstance(budget, str) else "custom"
    out = Path(out)
    folder = out / "geometry"
    cache = out / "rnn" / "networks" if cache is None else Path(cache)
    optimal = run(GeometryConfig(arch="optimal", seed=seed, **b), folder, progress)
    rnn = run(GeometryConfig(arch="rnn", seed=seed, **b), folder, progress, cache=cache, workers=workers)
    rows = optimal["rows"] + rnn["rows"]
    checks = optimal["checks"] + rnn["checks"]
    figure = plot_metrics_vs_ntask(rows, optimal["config"]["sigma"], optimal["config"]["t"],
                                   folder / "metrics_vs_ntask.png")
    atomic_write_bytes(folder / "geometry.csv", csv_bytes(rows))
    results = {"optimal": {k: v for k, v in optimal.items() if k != "checks"},
               "rnn": {k: v for k, v in rnn.items() if k != "checks"}, "checks": [c.to_dict() for c in checks]}
    atomic_write_json(folder / "results.json", results)
    lines = ["| agent | N | metric | dichotomy | value | 95% CI | shuffle null mean / q95 | predicted |",
             "|---|---|---|---|---|---|---|---|"]
    f = lambda v: "-" if v is None or not np.isfinite(v) else f"{v:.4g}"  # noqa: E731
    for r in rows:
        lines.append(f"| {r['agent']} | {r['ntask']} | {r['metric']} | {r['dichotomy']} | {f(r['value'])} | "
                     f"[{f(r['ci_low'])}, {f(r['ci_high'])}]{' (clipped)' if r['clipped'] else ''} | "
                     f"{f(r['null_mean'])} / {f(r['null_q95'])} | {f(r['predicted'])} |")
    c = optimal["config"]
    text = (f"Budget `{name}`: N in {list(c['ntask'])}; the optimal agent's probits ({c['replicates']} samples of "
            f"{c['trials']} trials) and {c['networks']} RNNs per N ({c['batches']} batches), sigma {c['sigma']}, "
            f"t {c['t']}. CCGP, parallelism, "
            "shattering and the participation ratio depend only on mu's statistics, so the optimal agent's are "
            "the same at every N (they saturate for any linear code); only DCI sees the basis of the units "
            "(Eastwood & Williams' lasso importances; informativeness is their NRMSE, lower is better). "
            "Intervals: Student t over replicates or networks, clipped to each measure's range where marked. "
            "Network CCGP is checked above chance and below the Bayes classifier's within k binomial SEs of "
            "its test trials.\n\n"
            + "\n".join(lines) + f"\n\n![metrics vs N]({figure.relative_to(out).as_posix()})\n"
            "*metrics vs N: optimal agent (theory line, Monte Carlo points) and trained RNNs, with shuffle nulls*")
    return text, results, checks


def build_parser():
    d = GeometryConfig()
    p = base_parser(__doc__, "python -m verify.geometry", out="runs/geometry", workers=True, allow_large=True)
    p.add_argument("--arch", choices=AGENTS, default=d.arch,
                   help=f"whose states: the optimal agent or a network architecture (default {d.arch})")
    hidden_alias(p, "--agent", "arch", choices=AGENTS)
    add_allow_long(p)
    p.add_argument("--ntask", type=int, nargs="+", default=list(d.ntask), help="task counts N (default 2 6 24)")
    p.add_argument("--D", type=int, default=d.D, choices=(2, 3), help=f"latent dimension (default {d.D})")
    p.add_argument("--sigma", type=float, default=d.sigma, help=f"noise sd per step (default {d.sigma})")
    p.add_argument("--t", type=int, default=d.t, help=f"evidence samples at the decision (default {d.t})")
    p.add_argument("--networks", type=int, default=d.networks, help=f"networks per N (default {d.networks})")
    p.add_argument("--batches", type=int, default=d.batches, help=f"training batches per network (default {d.batches})")
    p.add_argument("--trials", type=int, default=d.trials, help=f"trials per replicate or network (default {d.trials})")
    p.add_argument("--replicates", type=int, default=d.replicates,
                   help=f"independent samples of the optimal agent (default {d.replicates})")
    p.add_argument("--shuffles", type=int, default=d.shuffles, help=f"draws of each null (default {d.shuffles})")
    p.add_argument("--ridge", type=_ridge, default=d.ridge,
                   help="the classifiers' ridge penalty: 'cv' (chosen by inner cross-validation, the default) or a "
                        "number >= 0 (fixed, in units of the mean feature variance); DCI always uses the lasso")
    return p


def _ridge(text: str):
    """--ridge: 'cv' (None: cross-validated) or a number (its sign is checked by :class:`GeometryConfig`)."""
    return None if text == CV else float(text)


#: float64 copies of a (samples, trials, state) array the metrics hold at once (states, centred, classifier).
STATE_COPIES = 6


def check_size(args) -> None:
    """Refuse, before any work, a request whose states cannot fit this machine (--allow-large skips).

    The optimal agent keeps --replicates x --trials x N probits; networks --networks x N-values
    networks' hidden states (64 units) for --trials trials, and train them all at once
    (:func:`verify.networks.size.training_terms`).
    """
    pos = lambda v: max(int(v), 1)                     # bad signs are reported by the validation that follows
    samples = pos(args.replicates) if args.arch == "optimal" else pos(args.networks) * len(args.ntask)
    per_state = 8.0 * STATE_COPIES * samples * pos(args.trials)
    terms = {f"--trials={args.trials} x --replicates={args.replicates}" if args.arch == "optimal" else
             f"--trials={args.trials} x --networks={args.networks}": per_state * 64,
             f"--ntask={max(args.ntask)}": per_state * pos(max(args.ntask))}
    if args.arch != "optimal":
        terms |= training_terms(args.arch, samples, f"--networks={args.networks} x {len(args.ntask)} task counts",
                                None, ntask=pos(max(args.ntask)), eval_trials=pos(args.trials),
                                batches=pos(args.batches))
    check_terms(terms, "states of the geometry measures", allow_large=args.allow_large)


def _body(args) -> dict:
    check_size(args)
    config = GeometryConfig(arch=args.arch, ntask=tuple(args.ntask), D=args.D, sigma=args.sigma, t=args.t,
                            networks=args.networks, batches=args.batches, trials=args.trials,
                            replicates=args.replicates, shuffles=args.shuffles, ridge=args.ridge, seed=args.seed)
    if config.arch != "optimal":
        check_training_time(config.networks * len(config.ntask) * config.batches,
                            f"--batches={config.batches} x --networks={config.networks} x {len(config.ntask)} task "
                            "counts", args.allow_long)
    result = run(config, args.out, progress=show_progress(args), workers=args.workers)
    files = write_outputs(result, args.out)
    return result | {"files": [str(f) for f in files],
                     "text": format_rows(result["rows"]) + f"\nfiles written to {args.out}\n"}


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, _body)


if __name__ == "__main__":
    raise SystemExit(main())
