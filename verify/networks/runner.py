"""The shared pipeline of the network checks: train-or-load -> measure -> rows -> verdicts.

Experiments that run on the same ensemble (the same :attr:`~verify.networks.experiment.Experiment.ensemble`)
share one training, one set of probe trials and one measurement per setting. Files and figures
are written by :func:`verify.networks.report.write_outputs`. Networks are cached in
:func:`cache_folder` of the output folder unless a caller shares another cache.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from analysis.decoders import HEADLINE
from theory.angles import factor_angles
from verify.networks import pipeline
from verify.networks.experiment import theory_line
from verify.networks.measure import measure_setting
from verify.networks.registry import REGISTRY
from verify.networks.verdicts import row_passed
from verify.verdict import verdict_word

#: Experiments whose extra measurement rows go into the result's ``measurements`` (JSON) by name.
MEASURED = ("S6",)
#: Ensembles in the order they are trained.
ENSEMBLES = ("reference", "free_rt", "sigma", "dimensionality", "encoder", "reaction_time", "hidden_size", "large_n",
          "correlated", "noise", "multiplicative")


def _rows(ens, config, experiment, rng) -> tuple[list, list, list, list]:
    """Rows, the (K, F) headline values of each row, tidy records and figure data of one ensemble."""
    info = pipeline.network_info(ens)
    settings = experiment.settings(config, info)
    probe_rng, shape = np.random.default_rng(rng.integers(2**63)), (ens.K, config.eval_trials, info["D"])
    x = probe_rng.uniform(-0.5, 0.5, shape) if experiment.latents is None else \
        experiment.latents(info, config, probe_rng, shape)
    states_by_stim, rows, values, records, figures = {}, [], [], [], []
    for setting in settings:
        if setting.n_stim not in states_by_stim:
            probe = ens if experiment.probe is None else experiment.probe(ens, config)
            states_by_stim[setting.n_stim] = pipeline.run_states(probe, x, rng.integers(2**63), n_stim=setting.n_stim,
                                                                 encode_fixation=config.encode_fixation)
        states = states_by_stim[setting.n_stim]
        measured, recs, fig = measure_setting(states, info, setting, config, rng.integers(2**63))
        k0 = setting.networks[0]
        row = {"experiment": experiment.ensemble, "arch": config.arch, "ntask": int(info["ntask"][k0]),
               experiment.axis: setting.value, "sigma": setting.sigma, "t": int(states.t)}
        row |= theory_line(setting.sigma, states.t, info["D"], config.normalisation)
        if experiment.row_theory is not None:
            row |= experiment.row_theory(info, setting, int(states.t), config)
        head = measured["decoders"][HEADLINE]
        values.append(measured.pop("values")["headline"])
        row |= {"ood_r2_median": head["median"], "ood_r2_q25": head["q25"], "ood_r2_q75": head["q75"],
                "ood_r2_ci_low": head["ci_low"], "ood_r2_ci_high": head["ci_high"],
                "id_r2_median": measured["decoders"]["whole_cube"]["median"]} | measured
        row["output_angle"] = float(factor_angles(info["designs"][k0].C)[0, 1])
        row["passed"] = row_passed(row)
        rows.append(row)
        base = {"experiment": experiment.ensemble, "arch": config.arch, experiment.axis: setting.value}
        records += [base | r for r in recs]
        figures.append(fig | {experiment.axis: setting.value})
    return rows, values, records, figures


def run(config, out=None, progress: bool = True, cache=None, workers: int | None = None,
        dask: str | None = None) -> dict:
    """Run the configured experiments (see :func:`_run`); BLAS is held to one thread while measuring:
    the probes multiply many small matrices, where threads only oversubscribe the cores."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(config, out, progress, cache, workers, dask)


def cache_folder(out) -> Path:
    """The network cache of a run writing into ``out``: ``out / "networks"``."""
    return Path(out) / "networks"


def _merge_training(summaries: list) -> dict:
    """One training summary of an ensemble's TrainConfigs: checkpoints and losses concatenated, seconds
    summed, the rate over the ensembles that trained (nan when every network was cached)."""
    if len(summaries) == 1:
        return summaries[0]
    seconds = sum(s["seconds"] for s in summaries)
    trained = [s for s in summaries if s["network_batches_per_second"] == s["network_batches_per_second"]]
    work = sum(s["network_batches_per_second"] * s["seconds"] for s in trained)
    return {"checkpoints": [c for s in summaries for c in s["checkpoints"]],
            "final_loss": [v for s in summaries for v in s["final_loss"]], "seconds": seconds,
            "network_batches_per_second": work / sum(s["seconds"] for s in trained) if trained else float("nan")}


def _run(config, out, progress: bool, cache, workers: int | None, dask: str | None) -> dict:
    """Run the configured experiments.

    Networks are trained into (or loaded from) ``cache`` (default :func:`cache_folder`), on
    ``workers`` local processes or on the Dask cluster ``dask`` (an address or ``"local"``).

    Returns
    -------
    dict with ``config``, ``rows`` (every setting of every experiment), ``per_network`` (tidy
    records), ``results`` (per ensemble: rows, training, extras, figure data), ``checks``,
    ``skipped``, ``passed`` and ``measurements`` ({experiment: rows} of measurements without a
    decoder axis, e.g. S6). Each ensemble's entry of ``results`` names its experiments' extra
    outputs (``outputs``: {experiment: :attr:`~verify.networks.experiment.Experiment.output`}).
    """
    out = Path("runs/networks") if out is None else Path(out)
    cache = cache_folder(out) if cache is None else Path(cache)
    streams = dict(zip(ENSEMBLES, np.random.SeedSequence(config.seed).spawn(len(ENSEMBLES))))
    chosen = [REGISTRY[name] for name in config.experiments]
    results, checks, skipped, rows, records, measurements = {}, [], [], [], [], {}
    for ensemble in ENSEMBLES:
        exps = [e for e in chosen if e.ensemble == ensemble]
        if not exps:
            continue
        rng = np.random.default_rng(streams[ensemble])
        specs = exps[0].networks(config)
        specs = specs if isinstance(specs, list) else [specs]
        measured = next((e for e in exps if e.settings is not None), None)
        g_rows, values, g_records, figures, trainings = [], [], [], [], []
        extras: dict = {e.name: [] for e in exps if e.extra is not None}
        for spec in specs:
            ens, training = pipeline.train_or_load(spec, cache, progress, workers, dask)
            trainings.append(training)
            if measured:
                r, v, rec, fig = _rows(ens, config, measured, rng)
                g_rows, values, g_records, figures = g_rows + r, values + v, g_records + rec, figures + fig
            for e in exps:
                if e.extra is not None:
                    extras[e.name].append(e.extra(ens, config))
        if len(specs) == 1:
            extras = {name: v[0] for name, v in extras.items()}
        training = _merge_training(trainings)
        for e in exps:
            c, s = e.verdicts(config, g_rows, values, rng, extras)
            checks += c
            skipped += s
        own = [e.figure for e in exps if e.figure is not None]
        results[ensemble] = {"rows": g_rows, "training": training, "extras": extras, "figures": figures,
                          "axis": measured.axis if measured else None,
                          "outputs": {e.name: e.output for e in exps if e.output is not None},
                          "figure": (lambda g, folder, budget, fs=own: [p for f in fs for p in f(g, folder, budget)])
                          if own else None}
        measurements |= {name: [r for e in (v if isinstance(v, list) else [v]) for r in e["rows"]]
                         for name, v in extras.items() if name in MEASURED}
        rows += g_rows
        records += g_records
    return {"config": config.to_dict(), "rows": rows, "per_network": records, "results": results, "checks": checks,
            "skipped": skipped, "passed": verdict_word(checks) == "PASS", "measurements": measurements}
