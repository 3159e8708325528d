"""The network interface (nets.architecture) across architectures: the protocol, configurations, and the
trainer's guarantees for every architecture -- same seed bit-identical, K stacked networks equal K
separate runs, workers do not matter, resume is bit-identical, float32 and float64 -- and frozen runs."""
import numpy as np
import pytest

from nets.architecture import ARCHS, Architecture, Recurrent, arch_config_class, build_architecture
from nets.checkpoint import checkpoint_path, load_checkpoint
from nets.config import TrainConfig, ensemble_config
from nets.ensemble import build_ensemble, load_ensemble
from nets.frozen import decision_states, fixation_input
from nets.lstm import LSTMConfig
from nets.rnn import RNNConfig
from nets.train import train
from nets.transformer import TransformerConfig

COMMON = dict(batch_size=4, n_stim=5)
TINY = {"rnn": dict(hidden=6, rec_noise=0.1), "lstm": dict(hidden=4),
        "transformer": dict(d_model=8, n_head=2, d_mlp=8)}


def _config(arch, **kwargs):
    return ensemble_config(arch=arch, **{**COMMON, **TINY[arch], **kwargs})


def _assert_same_params(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.parametrize("arch", ARCHS)
def test_every_architecture_implements_the_interface_and_recurrent_ones_the_extension(arch):
    a = build_architecture(arch, arch_config_class(arch)())
    assert isinstance(a, Architecture) and a.name == arch
    assert isinstance(a, Recurrent) == a.recurrent == (arch != "transformer")
    assert set(a.readout_names) <= set(a.param_names)
    p = a.init_params(np.random.default_rng(0), 3, 2, np.float32)
    assert tuple(p) == a.param_names and all(v.dtype == np.float32 for v in p.values())
    assert all(p[name].shape[-1] == 2 for name in a.readout_names)


@pytest.mark.parametrize("arch", ARCHS)
def test_configuration_round_trips_through_a_dict_and_rejects_unknown_keys(arch):
    config = _config(arch, ntask=[2, 3])
    d = config.to_dict()
    assert d["arch"] == arch and isinstance(d["net"], dict)
    assert TrainConfig.from_dict(d) == config
    with pytest.raises(ValueError, match="unknown net keys \\['widht'\\]"):
        TrainConfig.from_dict({**d, "net": {**d["net"], "widht": 3}})


def test_ensemble_config_routes_architecture_keywords_into_the_architecture_configuration():
    c = ensemble_config(hidden=16, activation="tanh", leaky=False, alpha=0.5, rec_noise=0.1, batches=7)
    assert c.net == RNNConfig(hidden=16, activation="tanh", alpha=0.5, leaky=False, rec_noise=0.1)
    assert c.batches == 7 and c.hidden == 16 and c.activation == "tanh"        # read-only views of net
    assert ensemble_config(arch="lstm", hidden=8).net == LSTMConfig(hidden=8)
    assert ensemble_config(arch="transformer", dropout=0.0).net == TransformerConfig(dropout=0.0)
    with pytest.raises(ValueError, match="\\['activation'\\] is a setting of arch='rnn', not of arch='lstm'"):
        ensemble_config(arch="lstm", activation="tanh")
    with pytest.raises(ValueError, match="unknown keyword arguments \\['hiden'\\]"):
        ensemble_config(hiden=3)
    with pytest.raises(ValueError, match="arch='gru' must be one of"):
        ensemble_config(arch="gru")
    with pytest.raises(ValueError, match="must be a LSTMConfig"):
        TrainConfig(arch="lstm", net=RNNConfig())


def test_checkpoint_names_differ_between_architectures():
    names = {checkpoint_path("d", ensemble_config(arch=a)).name for a in ARCHS}
    assert len(names) == len(ARCHS)


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_same_seed_gives_bit_identical_networks_and_another_seed_does_not(arch):
    a, b, c = (train(_config(arch, batches=4, seed=s), progress=False) for s in (1, 1, 2))
    _assert_same_params(a.ensemble.params, b.ensemble.params)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.array_equal(a.ensemble.params["W_out"], c.ensemble.params["W_out"])


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_k_stacked_networks_equal_k_separate_runs_bit_for_bit(arch, dtype):
    config = _config(arch, ntask=(3, 3, 3), sigma=(0.2, 0.4, 0.1), batches=6, dtype=dtype, seed=5)
    together = train(config, progress=False)
    for k in range(config.K):
        alone = train(_config(arch, ntask=(3,), sigma=(config.sigma[k],), batches=6, dtype=dtype, seed=5,
                              first_network=k), progress=False)
        _assert_same_params({n: p[0] for n, p in alone.ensemble.params.items()},
                            {n: p[k] for n, p in together.ensemble.params.items()})
        np.testing.assert_array_equal(alone.losses[:, 0], together.losses[:, k])


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_stack_sizes_of_the_pool_do_not_change_the_networks(arch, tmp_path):
    from nets.pool import train_networks
    config = _config(arch, ntask=(3, 3, 3), batches=4, seed=8)
    one = train(config, progress=False)
    pooled, _ = train_networks(config, tmp_path, progress=False, stack_size=2)
    _assert_same_params(one.ensemble.params, pooled.params)


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_killed_run_resumes_bit_identically(arch, tmp_path, killed_training):
    config = _config(arch, ntask=(2, 3), batches=9, checkpoint_every=4, seed=7)
    uninterrupted = train(config, progress=False)
    killed_training(config, tmp_path, at=7)
    assert load_checkpoint(checkpoint_path(tmp_path, config)).batches_done == 4
    resumed = train(config, out_dir=tmp_path, resume=True, progress=False)
    _assert_same_params(resumed.ensemble.params, uninterrupted.ensemble.params)
    _assert_same_params(resumed.adam.m, uninterrupted.adam.m)
    np.testing.assert_array_equal(resumed.losses, uninterrupted.losses)
    _assert_same_params(load_ensemble(resumed.checkpoint).params, uninterrupted.ensemble.params)


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_float32_and_float64_training_start_from_the_same_rounded_point(arch):
    r32, r64 = (train(_config(arch, batches=3, dtype=d, seed=3), progress=False) for d in ("float32", "float64"))
    e32, _ = build_ensemble(r32.config)
    e64, _ = build_ensemble(r64.config)
    for name, p in e64.params.items():
        np.testing.assert_array_equal(e32.params[name], p.astype(np.float32), err_msg=name)
    assert r32.ensemble.params["W_out"].dtype == np.float32 and r64.ensemble.params["W_out"].dtype == np.float64
    # same seed, same data: one-ulp-per-step float32 differences stay far below the loss itself
    np.testing.assert_allclose(r32.losses, r64.losses, rtol=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
def test_decision_states_reads_the_read_out_input_at_the_last_step_in_evaluation_mode(arch):
    ens, _ = build_ensemble(_config(arch, ntask=(2, 3), dtype="float64", seed=1))
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (5, 2))
    s = decision_states(ens, x, 3, keep_trajectories=True)
    again = decision_states(ens, x, 3, keep_trajectories=True)
    np.testing.assert_array_equal(s.hidden, again.hidden)        # no dropout or recurrent noise
    # the logits are the read-out of ``hidden``: z = hidden W_out + b_out
    np.testing.assert_allclose(s.logits, s.hidden @ ens.params["W_out"] + ens.params["b_out"][:, None],
                               rtol=1e-12, atol=1e-14)
    T = ens.config.n_steps
    width = ens.arch.state_size(ens.params) if ens.arch.recurrent else ens.config.net.d_model
    assert s.trajectories.shape == (2, 5, T, width)
    H = s.hidden.shape[-1]
    np.testing.assert_array_equal(s.trajectories[:, :, -1, :H], s.hidden)
    if ens.arch.recurrent:                                        # the last state is F(previous state; u_T)
        u_T = np.zeros(ens.n_in)                                  # the decision step's input: no fixation, no stimulus
        F = ens.arch.step_map(ens.params, s.trajectories[:, :, -2], u_T)
        np.testing.assert_allclose(F, s.trajectories[:, :, -1], rtol=1e-12, atol=1e-14)
        assert fixation_input(ens)[0] == 1


def test_frozen_runs_are_chunked_by_activation_size_independently_of_k():
    from nets.frozen import CHUNK, chunk_trials

    sizes = {a: {K: chunk_trials(build_ensemble(ensemble_config(ntask=[24], networks=K, arch=a))[0], 22)
                 for K in (1, 3)} for a in ARCHS}
    assert sizes["rnn"] == {1: CHUNK, 3: CHUNK}             # the RNN's noise draws keep their order
    assert all(s[1] == s[3] for s in sizes.values())
    assert sizes["transformer"][1] < sizes["lstm"][1] < CHUNK


@pytest.mark.parametrize("arch", ARCHS)
def test_noiseless_frozen_states_do_not_depend_on_the_chunk_size(arch, monkeypatch):
    import nets.frozen as nf

    ens, _ = build_ensemble(_config(arch, ntask=(2, 3), dtype="float64", seed=2))
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (7, 2))
    whole = decision_states(ens, x, 0, sigma=0.0)
    monkeypatch.setattr(nf, "CHUNK", 3)                     # 3 chunks: 3 + 3 + 1 trials
    parts = decision_states(ens, x, 0, sigma=0.0)
    # per-trial arithmetic is the same; only BLAS blocking over a different row count may differ
    np.testing.assert_allclose(parts.hidden, whole.hidden, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(parts.logits, whole.logits, rtol=1e-12, atol=1e-14)
