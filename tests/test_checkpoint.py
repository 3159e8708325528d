"""Checkpoints (nets.checkpoint) and resuming (nets.train): a killed run resumes bit-identically."""
import numpy as np
import pytest

from nets.checkpoint import checkpoint_path, load_checkpoint
from nets.pool import network_path, trained_networks
from nets.config import TrainConfig, ensemble_config
from nets.ensemble import load_ensemble
from nets.train import train

CONFIG = ensemble_config(ntask=(3, 5), sigma=(0.2, 0.3), hidden=8, batch_size=4, n_stim=5, batches=30,
                     checkpoint_every=8, rec_noise=0.1, seed=7)


def _assert_same_run(a, b):
    for name in a.ensemble.params:
        np.testing.assert_array_equal(a.ensemble.params[name], b.ensemble.params[name], err_msg=name)
        np.testing.assert_array_equal(a.adam.m[name], b.adam.m[name])
        np.testing.assert_array_equal(a.adam.v[name], b.adam.v[name])
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.adam.step == b.adam.step


def test_killed_run_resumes_from_its_last_checkpoint_bit_identically(tmp_path, killed_training):
    uninterrupted = train(CONFIG, progress=False)
    killed_training(CONFIG, tmp_path, at=21)
    assert load_checkpoint(checkpoint_path(tmp_path, CONFIG)).batches_done == 16   # last multiple of 8
    resumed = train(CONFIG, out_dir=tmp_path, resume=True, progress=False)
    _assert_same_run(resumed, uninterrupted)
    assert [p.name for p in tmp_path.iterdir()] == [checkpoint_path(tmp_path, CONFIG).name]   # no temp files


def test_a_longer_run_continues_a_shorter_one(tmp_path):
    short = TrainConfig(**{**CONFIG.to_dict(), "batches": 12})
    train(short, out_dir=tmp_path, progress=False)
    resumed = train(CONFIG, out_dir=tmp_path, resume=True, progress=False)
    _assert_same_run(resumed, train(CONFIG, progress=False))


def test_checkpoint_round_trips_the_final_state_and_loads_as_an_ensemble(tmp_path):
    result = train(CONFIG, out_dir=tmp_path, progress=False)
    ckpt = load_checkpoint(result.checkpoint, expect=CONFIG)
    assert ckpt.config == CONFIG and ckpt.batches_done == CONFIG.batches
    np.testing.assert_array_equal(ckpt.losses, result.losses)
    ens = load_ensemble(result.checkpoint)
    for name, p in result.ensemble.params.items():
        np.testing.assert_array_equal(ens.params[name], p)
    np.testing.assert_array_equal(ens.encoders[1].weights[0], result.ensemble.encoders[1].weights[0])
    np.testing.assert_array_equal(ens.designs[1].C, result.ensemble.designs[1].C)


def test_resume_refuses_a_checkpoint_written_by_another_configuration(tmp_path):
    result = train(CONFIG, out_dir=tmp_path, progress=False)
    other = TrainConfig(**{**CONFIG.to_dict(), "lr": 1e-2})
    with pytest.raises(ValueError, match="lr: checkpoint 0.001 vs requested 0.01"):
        load_checkpoint(result.checkpoint, expect=other)


def test_resume_refuses_to_shorten_a_finished_run(tmp_path):
    train(CONFIG, out_dir=tmp_path, progress=False)
    shorter = TrainConfig(**{**CONFIG.to_dict(), "batches": 10})
    with pytest.raises(ValueError, match="batches=10 is fewer than the 30"):
        train(shorter, out_dir=tmp_path, resume=True, progress=False)


def test_loading_a_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "nothing.npz")


def test_checkpoint_name_ignores_run_length_but_not_the_science():
    longer = TrainConfig(**{**CONFIG.to_dict(), "batches": 99, "checkpoint_every": 3})
    noisier = TrainConfig(**{**CONFIG.to_dict(), "sigma": (0.2, 0.4)})
    assert checkpoint_path("d", longer) == checkpoint_path("d", CONFIG)
    assert checkpoint_path("d", noisier) != checkpoint_path("d", CONFIG)


@pytest.mark.slow
def test_run_killed_by_sigkill_resumes_bit_identically(tmp_path):
    """A real kill: the command-line trainer is SIGKILLed after its first checkpoint appears."""
    import signal
    import subprocess
    import sys
    import time

    argv = ["--batches", "1500", "--hidden", "8", "--checkpoint-every", "100", "--seed", "3"]
    proc = subprocess.Popen([sys.executable, "-m", "nets.train", *argv, "--out", str(tmp_path), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    config = ensemble_config(batches=1500, hidden=8, checkpoint_every=100, seed=3)
    path = network_path(tmp_path, config, 0)            # the command line trains through nets.pool
    deadline = time.time() + 120
    while not path.exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = load_checkpoint(path, expect=config).batches_done
    assert 0 < done < 1500
    resumed, _ = trained_networks(config, tmp_path, progress=False, workers=1)
    for name, p in train(config, progress=False).ensemble.params.items():
        np.testing.assert_array_equal(resumed.params[name], p, err_msg=name)


def test_a_checkpoint_is_read_once_per_load(tmp_path, monkeypatch):
    import nets.checkpoint
    from nets.checkpoint import read_checkpoint
    path = train(CONFIG, out_dir=tmp_path, progress=False).checkpoint
    calls, real = [], nets.checkpoint.read_npz_record
    monkeypatch.setattr(nets.checkpoint, "read_npz_record", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    load_checkpoint(path)
    assert calls == [path]
    read_checkpoint(path, expect=CONFIG)
    assert calls == [path, path]
