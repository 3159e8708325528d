"""Ensembles (nets.ensemble): independent per-network streams and inputs for probing frozen networks."""
import numpy as np
import pytest

from nets.config import ensemble_config
from nets.ensemble import build_ensemble, ensemble_inputs, ensemble_with_params, network_streams
from nets.losses import loss_and_grad
from nets.rnn import forward
from theory.encoders import encode
from theory.designs import labels

CONFIG = ensemble_config(ntask=(2, 4, 4), design="random", D=3, hidden=6, n_stim=4, seed=1)


def _rnn_kw(ens) -> dict:
    """Keyword arguments of nets.rnn.forward for the ensemble's RNN configuration."""
    c = ens.config.net
    return {"activation": c.activation, "alpha": c.alpha, "leaky": c.leaky}


def test_network_streams_are_the_spawned_children_of_the_seed():
    child = np.random.SeedSequence(1).spawn(3)[2]
    s = network_streams(CONFIG, 2)
    expected = child.spawn(4)[3]
    np.testing.assert_array_equal(s["data"].generate_state(4), expected.generate_state(4))


def test_networks_differ_in_weights_encoder_and_design():
    ens, _ = build_ensemble(CONFIG)
    assert not np.array_equal(ens.params["W_rec"][1], ens.params["W_rec"][2])
    assert not np.array_equal(ens.encoders[1].weights[0], ens.encoders[2].weights[0])
    assert not np.array_equal(ens.designs[1].C, ens.designs[2].C)
    np.testing.assert_array_equal(ens.output_mask().sum(axis=1), [2, 4, 4])


def test_noiseless_probe_inputs_carry_each_networks_encoding_of_the_chosen_latents():
    ens, _ = build_ensemble(CONFIG)
    x = np.array([[0.1, -0.3, 0.2], [-0.4, 0.25, 0.0]])
    u, X = ensemble_inputs(ens, x, np.random.default_rng(0), sigma=0.0)
    assert u.shape == (3, 2, 6, 1 + 40) and X.shape == (3, 2, 4, 3)
    for k in range(3):
        f_x = encode(ens.encoders[k], x.astype(np.float32), dtype=np.float32)
        # The same float32 products, but in a batch of another shape: BLAS may pick another kernel and
        # sum in another order, so allow a few float32 roundings of the largest entry (not bit equality).
        tol = 16 * np.finfo(np.float32).eps * np.abs(f_x).max()
        np.testing.assert_allclose(u[k, :, 1:5, 1:], np.broadcast_to(f_x[:, None], (2, 4, 40)), rtol=0, atol=tol)
    u2, _ = ensemble_inputs(ens, x, np.random.default_rng(99), sigma=0.0)
    np.testing.assert_array_equal(u, u2)                # no noise: the rng does not matter


def test_probe_inputs_can_extend_the_stimulus_and_feed_forward():
    ens, _ = build_ensemble(CONFIG)
    x = np.zeros((5, 3))
    u, _ = ensemble_inputs(ens, x, 0, n_stim=7)
    h, z = forward(ens.params, u, **_rnn_kw(ens))
    assert h.shape == (3, 5, 9, 6) and z.shape == (3, 5, 9, 4)


def test_loss_of_probe_run_equals_loss_from_labels_of_the_latents():
    """Forward on probe inputs, then BCE against [0.5 ..., labels(x*)], equals the reference loss by hand."""
    ens, _ = build_ensemble(ensemble_config(ntask=(3,), hidden=5, n_stim=3, dtype="float64", seed=2))
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (4, 2))
    u, _ = ensemble_inputs(ens, x, 3)
    _, z = forward(ens.params, u, **_rnn_kw(ens))
    y = np.full(z.shape, 0.5)
    y[0, :, -1] = labels(x, ens.designs[0])
    L, _ = loss_and_grad(z, y, np.ones_like(z))
    p = 1 / (1 + np.exp(-z))
    by_hand = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    np.testing.assert_allclose(L[0], by_hand, rtol=1e-12)   # two float64 formulas of one BCE


def test_probe_and_parameter_input_is_validated():
    ens, _ = build_ensemble(CONFIG)
    with pytest.raises(ValueError, match="x_star must have shape"):
        ensemble_inputs(ens, np.zeros((5, 2)), 0)
    with pytest.raises(ValueError, match="params\\['W_rec'\\] has shape"):
        ensemble_with_params(CONFIG, {**ens.params, "W_rec": np.zeros((3, 2, 2))})
