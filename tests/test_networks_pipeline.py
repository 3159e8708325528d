"""verify.networks.pipeline: the one contact with nets (states, read-out steps, fixation encoding)."""
import numpy as np

from nets.config import ensemble_config
from nets.ensemble import build_ensemble, ensemble_inputs
from nets.frozen import fixation_input
from theory.encoders import encode
from theory.world import as_generator
from verify.networks import pipeline


def _ens(encoder="mlp"):
    ens, _ = build_ensemble(ensemble_config(ntask=[2, 6], networks=1, hidden=8, encoder=encoder, batches=1))
    return ens


def _rolled_states(ens, u):
    """The oracle: the states of every step by iterating the one-step map from h = 0 in float64,
    one step at a time, on the inputs u (K, n, T, n_in); shape (K, n, T, H)."""
    params = {name: v.astype(np.float64) for name, v in ens.params.items()}
    h = np.zeros(u.shape[:2] + (params["W_rec"].shape[-1],))
    states = []
    for t in range(u.shape[2]):
        h = ens.arch.step_map(params, h, u[:, :, t])
        states.append(h)
    return np.stack(states, axis=2)


def test_states_at_both_readout_steps_equal_the_step_by_step_run_at_the_decision_and_last_stimulus_steps():
    ens = _ens()
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (50, 2))
    s = pipeline.run_states(ens, x, 1, keep_trajectories=True)
    u, _ = ensemble_inputs(ens, x, as_generator(1))         # the generator run_states draws the evidence from
    rolled = _rolled_states(ens, u.astype(np.float64))
    # float32 forward vs float64 steps: 22 steps of 8-term sums of O(1) values, relative rounding
    # <= 22 x 8 x 6e-8 ~ 1e-5; 10x margin
    np.testing.assert_allclose(s.hidden, rolled[:, :, -1], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(s.hidden_stim, rolled[:, :, -2], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(s.trajectories, rolled, rtol=1e-4, atol=1e-4)
    assert s.t == ens.config.n_stim and s.mu.shape == (2, 50, 2)


def test_states_are_reproducible_for_a_seed_and_differ_between_seeds():
    ens = _ens()
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (70, 2))
    np.testing.assert_array_equal(pipeline.run_states(ens, x, 3).hidden, pipeline.run_states(ens, x, 3).hidden)
    assert not np.array_equal(pipeline.run_states(ens, x, 3).hidden, pipeline.run_states(ens, x, 4).hidden)


def test_encode_fixation_puts_f_of_zero_at_fixation_and_decision_steps_only():
    ens = _ens()
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (5, 2))
    u, _ = ensemble_inputs(ens, x, 2)
    v, _ = ensemble_inputs(ens, x, 2, encode_fixation=True)
    np.testing.assert_array_equal(v[:, :, 1:-1], u[:, :, 1:-1])               # stimulus steps untouched
    np.testing.assert_array_equal(v[..., 0], u[..., 0])                        # the fixation channel too
    for k, enc in enumerate(ens.encoders):
        f0 = encode(enc, np.zeros((1, 2), dtype=u.dtype), dtype=u.dtype)[0]   # as the stimulus steps are encoded
        np.testing.assert_array_equal(v[k, :, 0, 1:], np.broadcast_to(f0, v[k, :, 0, 1:].shape))
        np.testing.assert_array_equal(v[k, :, -1, 1:], np.broadcast_to(f0, v[k, :, -1, 1:].shape))
        assert np.any(f0 != 0)                                                 # an MLP encoder: f(0) != 0
    assert np.all(u[:, :, 0, 1:] == 0)                                         # the default convention


def test_step_map_under_fixation_input_is_the_networks_own_step():
    """F(h) from step_functions, iterated from h = 0, equals the forward pass of a trial whose input is
    fixation only; its Jacobian J equals finite differences of F."""
    ens = _ens("identity")
    F, J = pipeline.step_functions(ens, 0)
    T = 6
    u = np.broadcast_to(fixation_input(ens), (1, 1, T, ens.n_in))
    hidden, _ = ens.arch.forward({k: v[:1] for k, v in ens.params.items()},
                                 np.ascontiguousarray(u.swapaxes(1, 2), dtype=np.float32))[:2]
    h = np.zeros((1, 8))
    for t in range(T):
        h = F(h)
        # float32 forward pass vs float64 map: <= T x 8 x 6e-8 relative rounding; 10x margin
        np.testing.assert_allclose(h[0], hidden[0, t, 0], rtol=1e-4, atol=1e-5)
    h = np.random.default_rng(4).uniform(0, 1, (3, 8))
    # finite differences of F against J (float64, central, step 1e-6: error ~1e-9 away from ReLU kinks)
    e = 1e-6 * np.eye(8)
    num = np.stack([(F(h + e[j]) - F(h - e[j])) / 2e-6 for j in range(8)], axis=-1)
    np.testing.assert_allclose(J(h), num, atol=1e-6)


def test_train_or_load_reads_each_network_file_once_per_process_until_a_file_changes(tmp_path, network_reads):
    from nets.pool import network_path
    config = ensemble_config(ntask=[2], networks=2, hidden=4, batches=3, batch_size=2, dtype="float64")
    reads = network_reads
    trained, _ = pipeline.train_or_load(config, tmp_path, False, 1)
    files = [network_path(tmp_path, config, k) for k in range(2)]
    assert reads == []                                     # trained in this call: nothing read back
    for _ in range(3):                                     # e.g. several experiments on the same networks
        again, summary = pipeline.train_or_load(config, tmp_path, False, 1)
        assert again is trained and np.isnan(summary["network_batches_per_second"])
    assert reads == []
    pipeline._LOADED.clear()                               # a new process: each file read once
    loaded, _ = pipeline.train_or_load(config, tmp_path, False, 1)
    assert sorted(reads) == sorted(files)
    for name, p in trained.params.items():
        np.testing.assert_array_equal(loaded.params[name], p)
    files[0].unlink()                                      # a changed cache is not served from memory
    pipeline.train_or_load(config, tmp_path, False, 1)
    assert files[0].exists()
