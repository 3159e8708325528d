"""Training an ensemble (nets.train): equivalence with separate runs, seeding, learning toward the
loss floor, the free-RT variant, the command line."""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nets.config import TrainConfig, ensemble_config
from nets.train import main, train
from optimal.agent import log_outputs, optimal_probits, running_mle
from theory.designs import even_design, labels
from theory.world import sample_evidence, sample_latents

SMALL = dict(hidden=8, batch_size=4, n_stim=5)


def _params_of(result, k):
    n = result.config.ntask[k]
    return {name: (p[k][..., :n] if name in ("W_out", "b_out") else p[k])
            for name, p in result.ensemble.params.items()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ensemble_equals_separate_runs_bit_for_bit_when_task_counts_agree(dtype):
    config = ensemble_config(ntask=(3, 3, 3), sigma=(0.2, 0.4, 0.1), batches=15, dtype=dtype, seed=11, **SMALL)
    together = train(config, progress=False)
    for k in range(3):
        alone = train(ensemble_config(ntask=(3,), sigma=(config.sigma[k],), batches=15, dtype=dtype, seed=11,
                                  first_network=k, **SMALL), progress=False)
        for name, p in _params_of(alone, 0).items():
            np.testing.assert_array_equal(p, _params_of(together, k)[name], err_msg=name)
        np.testing.assert_array_equal(alone.losses[:, 0], together.losses[:, k])


def test_ensemble_with_mixed_task_counts_equals_separate_runs_to_rounding():
    """Networks with fewer tasks carry zero-padded read-out columns; the only arithmetic difference
    is the order of a sum over outputs that includes exact zeros, a rounding-level change
    (~1e-16 per batch in float64). Tolerance 1e-10: 6 orders above that after 20 batches, and
    7 orders below one Adam step (lr = 1e-3), the size any real coupling between networks would have."""
    config = ensemble_config(ntask=(2, 6), batches=20, dtype="float64", seed=4, **SMALL)
    together = train(config, progress=False)
    for k in range(2):
        alone = train(ensemble_config(ntask=(config.ntask[k],), batches=20, dtype="float64", seed=4,
                                  first_network=k, **SMALL), progress=False)
        for name, p in _params_of(alone, 0).items():
            np.testing.assert_allclose(p, _params_of(together, k)[name], rtol=0, atol=1e-10, err_msg=name)
    np.testing.assert_array_equal(together.ensemble.params["W_out"][0][:, 2:], 0.0)  # padding stays 0


def test_same_seed_same_networks_and_different_seeds_differ():
    a, b, c = (train(ensemble_config(batches=5, seed=s, **SMALL), progress=False) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.ensemble.params["W_rec"], b.ensemble.params["W_rec"])
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.array_equal(a.ensemble.params["W_rec"], c.ensemble.params["W_rec"])


def test_float32_and_float64_runs_start_together_and_stay_close():
    """Same seed: the float32 run is the float64 run rounded. After 5 batches at lr 1e-3 the weights
    differ by float32 rounding amplified through Adam's normalised steps: bounded by 5 steps x lr."""
    r32, r64 = (train(ensemble_config(batches=5, dtype=d, seed=3, **SMALL), progress=False)
                for d in ("float32", "float64"))
    assert r32.ensemble.params["W_rec"].dtype == np.float32
    np.testing.assert_allclose(r32.ensemble.params["W_rec"], r64.ensemble.params["W_rec"], atol=5 * 1e-3)
    np.testing.assert_allclose(r32.losses, r64.losses, rtol=1e-5)   # float32 loss: ~1e-7 relative per op


def loss_floor(ntask, sigma, n_stim, n_trials, rng):
    """Lowest expected reference loss: log 2 at each of the n_stim + 1 steps targeting 1/2, and at the
    decision step the cross-entropy of the optimal (flat-prior) agent, estimated by Monte Carlo.

    Returns (floor, standard error)."""
    d = even_design(ntask)
    x = sample_latents(rng, n_trials, 2)
    X = sample_evidence(rng, x, n_stim, sigma)
    z = optimal_probits(running_mle(X)[:, -1], d, sigma, n_stim)
    log_p, log_q = log_outputs(z)
    ce = -np.where(labels(x, d), log_p, log_q).mean(axis=1)
    T = n_stim + 2
    return ((T - 1) * np.log(2) + ce.mean()) / T, ce.std(ddof=1) / np.sqrt(n_trials) / T


def test_training_reduces_the_loss_toward_the_optimal_agent_floor():
    """Reference task (N = 24, sigma = 0.2, 22 steps), 400 batches of 16: the loss moves from log 2 toward
    the floor and never below it. The flat-prior agent's floor exceeds the exact uniform-prior Bayes floor
    by ~2e-5 (measured), inside the 4-SE + 1e-4 margin."""
    floor, se_floor = loss_floor(24, 0.2, 20, 100_000, np.random.default_rng(0))
    result = train(ensemble_config(batches=400, hidden=32, seed=0), progress=False)
    first, last = result.losses[:20, 0], result.losses[-100:, 0]
    se_last = last.std(ddof=1) / np.sqrt(len(last))
    assert last.mean() > floor - 4 * np.hypot(se_last, se_floor) - 1e-4
    assert last.mean() - floor < 0.75 * (first.mean() - floor)


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_lstm_and_transformer_training_reduces_the_loss_toward_the_floor_and_never_below(arch):
    """As for the RNN above, at the reference size of each architecture (400 batches of 16)."""
    floor, se_floor = loss_floor(24, 0.2, 20, 100_000, np.random.default_rng(0))
    result = train(ensemble_config(arch=arch, batches=400, seed=0), progress=False)
    first, last = result.losses[:20, 0], result.losses[-100:, 0]
    se_last = last.std(ddof=1) / np.sqrt(len(last))
    assert last.mean() > floor - 4 * np.hypot(se_last, se_floor) - 1e-4
    assert last.mean() - floor < 0.75 * (first.mean() - floor)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_lstm_and_transformer_reach_within_a_tenth_of_the_initial_gap_to_the_floor(arch):
    floor, _ = loss_floor(24, 0.2, 20, 100_000, np.random.default_rng(0))
    result = train(ensemble_config(arch=arch, batches=4000, seed=0), progress=False)
    first, last = result.losses[:20, 0].mean(), result.losses[-500:, 0].mean()
    assert floor - 1e-3 < last < floor + 0.1 * (first - floor)


@pytest.mark.slow
def test_reference_network_reaches_within_a_tenth_of_the_initial_gap_to_the_floor():
    floor, _ = loss_floor(24, 0.2, 20, 100_000, np.random.default_rng(0))
    result = train(TrainConfig(batches=4000, seed=0), progress=False)
    first, last = result.losses[:20, 0].mean(), result.losses[-500:, 0].mean()
    assert floor - 1e-3 < last < floor + 0.1 * (first - floor)


def test_free_reaction_time_networks_learn_the_accumulators():
    """MSE of a network that outputs 0 is E[A^2]; training must cut it (here by more than a third)."""
    config = ensemble_config(timeline="free", loss="mse_tanh5", encoder="identity", batches=300, hidden=32, seed=2)
    result = train(config, progress=False)
    assert np.all(np.isfinite(result.losses))
    assert result.losses[-50:].mean() < 0.67 * result.losses[:10].mean()


def test_decision_only_loss_trains_only_on_the_last_step():
    result = train(ensemble_config(loss_steps="decision", batches=200, hidden=16, encoder="identity", seed=1),
                   progress=False)
    assert result.losses[-50:].mean() < result.losses[:10].mean()


def test_command_line_prints_the_summary_as_json(capsys):
    code = main(["--ntask", "2", "3", "--networks", "2", "--batches", "3", "--hidden", "8",
                 "--quiet", "--json", "--seed", "5", "--workers", "1"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) == {"config", "seconds", "network_batches_per_second", "final_loss", "checkpoints", "blas",
                        "exit_code"}
    assert out["config"]["ntask"] == [2, 2, 3, 3] and len(out["final_loss"]) == 4
    assert out["checkpoints"] is None and out["config"]["seed"] == 5


@pytest.mark.parametrize("argv, match", [
    (["--ntask", "0"], "ntask"),
    (["--sigma", "-1"], "sigma"),
    (["--networks", "1000000000"], "--networks=1000000000"),
    (["--hidden", "1000000"], "--hidden=1000000"),
    (["--ntask", "100000000"], "--ntask=100000000"),
    (["--batch-size", "1000000000"], "--batch-size=1000000000"),
    (["--out", "/proc/x"], "--out='/proc/x'"),
    (["--prior", "copula", "--rho", "1.5"], "rho=1.5"),
    (["--rho", "0.5"], "rho=0.5"),
    (["--noise", "anisotropic", "--aniso-scales", "1"], "aniso_scales"),
    (["--noise", "anisotropic", "--noise-scales", "1"], "aniso_scales"),       # the old spelling, hidden
    (["--noise", "ar1", "--ar1-a", "1"], "ar1_a"),
    (["--noise", "ar1", "--noise-a", "1"], "ar1_a"),
    (["--noise", "anisotropic", "--D", "3", "--design", "random"], "aniso_scales=(1.0, 2.0) must have D=3"),
    (["--boundaries", "multiplicative", "--ntask", "6"], "multiples of 4"),
    (["--design", "even", "--D", "3"], "D=3"),
    (["--workers", "0"], "workers=0"),
    (["--stack-size", "0"], "--stack-size=0"),
    (["--group-size", "0"], "--stack-size=0"),
    (["--ntask", "2", "--batches", "1000000000000"], "--batches=1000000000000"),     # the loss history
    (["--hidden", "512", "--batches", "10000000"], "--batches=10000000"),           # ~2 weeks at 5e9 FLOP/s
    (["--dask", "tcp://127.0.0.1:1", "--workers", "2"], "--workers=2 has no effect with --dask"),
    (["--arch", "lstm", "--activation", "tanh"], "--activation does not apply to --arch lstm"),
    (["--arch", "transformer", "--n-head", "5"], "d_model=64 must be a multiple of n_head=5"),
    (["--arch", "transformer", "--dropout", "1.0"], "dropout=1.0"),
    (["--hidden", "0"], "hidden=0"),
])
def test_command_line_rejects_bad_input_with_exit_code_2(argv, match, capsys):
    assert main(["--batches", "1", "--quiet"] + argv) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("option", ["--arch", "--encoder", "--design", "--activation", "--dtype", "--timeline",
                                    "--task", "--boundaries", "--prior", "--noise"])
def test_command_line_offers_choices_for_every_enumerated_option(option, capsys):
    with pytest.raises(SystemExit) as exc:
        main([option, "no-such-choice"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_command_line_reports_loaded_networks_with_a_null_rate_and_the_stored_final_loss(tmp_path, capsys):
    argv = ["--batches", "4", "--hidden", "4", "--quiet", "--json", "--out", str(tmp_path)]   # a rerun loads
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    text = capsys.readouterr().out
    again = json.loads(text)
    assert "NaN" not in text and again["network_batches_per_second"] is None
    assert again["final_loss"] == first["final_loss"] and again["checkpoints"] == first["checkpoints"]
    assert main(argv + ["--fresh"]) == 0                            # --fresh trains again
    assert json.loads(capsys.readouterr().out)["network_batches_per_second"] is not None


def test_module_runs_as_a_script():
    proc = subprocess.run([sys.executable, "-m", "nets.train", "--batches", "2", "--hidden", "4",
                           "--quiet", "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["config"]["batches"] == 2


@pytest.mark.slow      # 3 s (a subprocess per kernel family)
def test_summary_names_the_blas_kernels_that_trained_the_networks():
    from infra.blas import blas_kernels
    if blas_kernels()["library"] != "openblas":
        pytest.skip("OPENBLAS_CORETYPE selects kernels of OpenBLAS only")
    cpuinfo = Path("/proc/cpuinfo")
    if platform.machine() != "x86_64" or not cpuinfo.exists() or " avx2" not in cpuinfo.read_text():
        pytest.skip("the Haswell and Sandybridge kernels need an x86-64 CPU with AVX2")
    for family in ("Haswell", "Sandybridge"):          # AVX2 and AVX kernels, run by any x86-64 CPU with AVX2
        env = {**os.environ, "OPENBLAS_CORETYPE": family}
        proc = subprocess.run([sys.executable, "-m", "nets.train", "--batches", "2", "--hidden", "4", "--quiet",
                               "--json"], capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
        blas = json.loads(proc.stdout)["blas"]
        assert blas["library"] == "openblas" and blas["OPENBLAS_CORETYPE"] == family
        assert blas["kernels"].lower() == family.lower()


@pytest.mark.parametrize("kwargs, match", [
    (dict(ntask=()), "ntask"),
    (dict(ntask=(2, 3), sigma=(0.1, 0.2, 0.3)), "sigma"),
    (dict(sigma=(float("nan"),)), "sigma"),
    (dict(alpha=0.0), "alpha=0.0"),
    (dict(alpha=1.5), "alpha=1.5"),
    (dict(lr=-1.0), "lr=-1.0"),
    (dict(loss="mse_tanh5"), "valid pairs"),
    (dict(activation="gelu"), "activation='gelu'"),
    (dict(rec_noise=-0.1), "rec_noise"),
    (dict(batch_size=0), "batch_size=0"),
])
def test_bad_configuration_is_rejected_with_a_message_naming_it(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ensemble_config(**kwargs)


def test_unknown_configuration_keys_are_rejected():
    with pytest.raises(ValueError, match="unknown configuration keys \\['hiden'\\]"):
        TrainConfig.from_dict({"hiden": 3})
    assert TrainConfig.from_dict(ensemble_config(ntask=[2, 3]).to_dict()) == ensemble_config(ntask=[2, 3])


@pytest.mark.parametrize("argv", [["--arch", "lstm", "--hidden", "4"],
                                  ["--arch", "transformer", "--d-model", "8", "--n-head", "2", "--d-mlp", "8"]])
def test_command_line_trains_and_resumes_every_architecture(argv, tmp_path, capsys):
    common = argv + ["--ntask", "2", "--networks", "2", "--batch-size", "4", "--dtype", "float64", "--quiet", "--json"]
    resumable = common + ["--out", str(tmp_path), "--checkpoint-every", "2", "--workers", "1"]
    assert main(resumable + ["--batches", "2"]) == 0
    capsys.readouterr()
    assert main(resumable + ["--batches", "4"]) == 0              # a run length of its own (folder b4)
    resumed = json.loads(capsys.readouterr().out)
    assert main(common + ["--batches", "4", "--workers", "1"]) == 0
    straight = json.loads(capsys.readouterr().out)
    assert resumed["config"]["arch"] == argv[1] and resumed["final_loss"] == straight["final_loss"]


def test_a_long_run_is_refused_with_its_estimate_unless_allowed(capsys):
    argv = ["--hidden", "512", "--batches", "10000000", "--quiet", "--json"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--batches=10000000" in err and "days" in err and "--allow-long" in err
    from nets.train import build_parser, check_size
    check_size(build_parser().parse_args(argv + ["--allow-long"]))            # allowed: no refusal, no work


def test_old_flag_spellings_are_hidden_aliases_of_the_new_ones(capsys):
    from nets.train import build_parser, config_from_args
    parse = build_parser().parse_args
    old = parse(["--task", "free_rt", "--noise", "ar1", "--noise-a", "0.3", "--group-size", "2"])
    new = parse(["--timeline", "free_rt", "--noise", "ar1", "--ar1-a", "0.3", "--stack-size", "2"])
    assert config_from_args(old) == config_from_args(new) and old.stack_size == new.stack_size == 2
    assert config_from_args(parse(["--task", "reference"])) == config_from_args(parse([]))
    text = build_parser().format_help()
    assert all(flag not in text for flag in ("--task", "--noise-scales", "--noise-a", "--group-size"))
    assert all(flag in text for flag in ("--timeline", "--aniso-scales", "--ar1-a", "--stack-size", "--allow-long"))


def test_noise_parameters_default_to_the_reference_values():
    from nets.config import ANISO_SCALES, AR1_A
    from nets.train import build_parser, config_from_args
    parse = build_parser().parse_args
    assert config_from_args(parse(["--noise", "anisotropic"])).aniso_scales == ANISO_SCALES == (1.0, 2.0)
    assert config_from_args(parse(["--noise", "ar1"])).ar1_a == AR1_A == 0.7
    plain = config_from_args(parse([]))
    assert plain.aniso_scales == () and plain.ar1_a == 0.0 and "aniso_scales" not in plain.to_dict()


@pytest.mark.slow      # 3 s; tests/test_engine.py runs the same refusal by default
def test_an_unreachable_dask_scheduler_fails_in_seconds_with_exit_code_2(capsys):
    pytest.importorskip("distributed")
    import socket
    import time
    with socket.socket() as sock:                      # a local port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.perf_counter()
    assert main(["--batches", "2", "--hidden", "4", "--quiet", "--json", "--dask", f"tcp://127.0.0.1:{port}"]) == 2
    from infra.engine import DASK_CONNECT_SECONDS
    assert time.perf_counter() - start < DASK_CONNECT_SECONDS + 2   # dask's own default wait is 30 s
    err = capsys.readouterr().err
    assert "--dask" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("arch, width", [("rnn", "hidden"), ("lstm", "hidden"), ("transformer", "d_model")])
def test_each_architecture_reports_memory_terms_that_name_each_oversized_parameter(arch, width):
    from infra.guard import check_terms
    from nets.architecture import arch_config_class, build_architecture
    from nets.train import training_terms
    from infra.cli import UsageError

    def terms(batches=10**5, batch_size=16, ntask=24, **net):
        a = build_architecture(arch, arch_config_class(arch)(**net))
        return training_terms(a, 25, batches, batch_size, 22, 41, ntask, 4, "--networks=25")

    assert sum(terms().values()) < 2**30                     # 25 reference networks x 1e5 batches fit in 1 GiB
    heads = {"n_head": 1} if arch == "transformer" else {}
    for kwargs, named in [(dict(batch_size=10**8), "--batch-size=100000000"), (dict(ntask=10**8), "--ntask="),
                          (dict(batches=10**11), "--batches=100000000000"),
                          ({width: 10**6, **heads}, f"--{width.replace('_', '-')}=1000000")]:
        with pytest.raises(UsageError, match=named):
            check_terms(terms(**kwargs), limit_bytes=2**40)


def test_command_line_strict_cache_refuses_networks_written_by_other_code_with_exit_2(tmp_path, capsys, monkeypatch):
    import nets.checkpoint as nc
    argv = ["--batches", "2", "--hidden", "4", "--quiet", "--json", "--workers", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    monkeypatch.setattr(nc, "CODE", ("nets", "theory", "infra", "optimal"))   # as if the training code changed
    capsys.readouterr()
    assert main(argv + ["--strict-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--strict-cache" in err[0]
    assert main(argv) == 0                                    # without it: retrained, with a one-line warning
    assert json.loads(capsys.readouterr().out)["network_batches_per_second"] is not None
