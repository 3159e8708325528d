"""The trial API (nets.dataset) gives exactly the trainer's arrays, in the documented layouts."""
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nets.config import TIMELINES as TRAINER_TIMELINES, ensemble_config
from nets.dataset import Dataset, TaskSpec, build_task
from nets.ensemble import network_task
from nets.losses import loss_and_grad
from nets.train import draw_batch, loss_weights
from nets.trials import make_trials
from optimal.agent import optimal_probits
from theory.designs import even_design
from theory.encoders import stack_encoders

SMALL = dict(ntask=4, n_stim=5)


@pytest.mark.parametrize("timeline", ["fixed", "free_rt"])
def test_batch_equals_make_trials_for_the_same_seed(timeline):
    task = build_task(TaskSpec(timeline=timeline, **SMALL))
    s = task.spec
    tr = make_trials(np.random.default_rng(3), 6, task.design, s.noise_model(), task.encoder,
                     "fixed" if timeline == "fixed" else s._config.timeline, s.n_stim, s.bound)
    bf = task.batch(np.random.default_rng(3), 6, batch_first=True)
    tm = task.batch(np.random.default_rng(3), 6)
    np.testing.assert_array_equal(bf.inputs, tr.u)
    np.testing.assert_array_equal(bf.targets, tr.y)
    np.testing.assert_array_equal(tm.inputs, tr.u.swapaxes(0, 1))
    np.testing.assert_array_equal(tm.targets, tr.y.swapaxes(0, 1))
    np.testing.assert_array_equal(bf.latents, tr.x_star)
    np.testing.assert_array_equal(bf.params["evidence"], tr.X)


@pytest.mark.parametrize("variant", [dict(), dict(loss_steps="decision"),
                                     dict(timeline=TRAINER_TIMELINES[1], loss="mse_tanh5"),
                                     dict(noise="anisotropic", aniso_scales=(1.0, 2.0)), dict(encoder="identity")])
def test_data_stream_gives_the_trainers_batches_masks_and_loss(variant):
    config = ensemble_config(ntask=[3, 5], hidden=8, batch_size=4, **variant)
    k = 1
    task = build_task(TaskSpec.from_train_config(config, k))
    design, encoder = network_task(config, k)
    np.testing.assert_array_equal(task.design.C, design.C)
    rng_api, rng_trainer = task.data_rng(), task.data_rng()
    enc = stack_encoders([encoder], np.dtype(config.dtype))
    weights = loss_weights(config, range(k, k + 1))                     # (1, T, 1, max N)
    for _ in range(2):                                                  # consecutive batches of the stream
        batch = task.batch(rng_api, config.batch_size)
        u, y, _ = draw_batch(config, range(k, k + 1), [design], [rng_trainer], enc)
        np.testing.assert_array_equal(batch.inputs, u[0])
        np.testing.assert_array_equal(batch.targets, y[0])
        np.testing.assert_array_equal(batch.mask, np.broadcast_to(weights[0], batch.mask.shape))
        z = np.random.default_rng(0).normal(size=batch.targets.shape)
        L, _ = loss_and_grad(z[None], batch.targets[None].astype(float), batch.mask[None], task.spec.loss,
                             task.spec.bound)
        # the same weighted mean, summed in another order: a few ulps of the loss
        np.testing.assert_allclose(task.loss(z, batch), L[0], rtol=1e-12)


@given(seed=st.integers(0, 2**32 - 1), B=st.integers(1, 5), timeline=st.sampled_from(["fixed", "free_rt"]),
       loss_steps=st.sampled_from(["all", "decision"]))
def test_both_layouts_hold_the_same_trials_and_the_mask_covers_the_loss_steps(seed, B, timeline, loss_steps):
    if timeline == "free_rt":
        loss_steps = "all"                                   # free_rt has no decision step
    task = TASKS[timeline, loss_steps]
    tm, bf = task.batch(seed, B), task.batch(seed, B, batch_first=True)
    for name in ("inputs", "targets", "mask"):
        np.testing.assert_array_equal(getattr(tm, name), getattr(bf, name).swapaxes(0, 1))
    counted = task.spec.n_steps if loss_steps == "all" else 1
    assert tm.mask.sum() == counted * B * task.n_out


TASKS = {(tl, ls): build_task(TaskSpec(timeline=tl, loss_steps=ls, **SMALL))
         for tl, ls in (("fixed", "all"), ("fixed", "decision"), ("free_rt", "all"))}


def test_decision_mask_weights_only_the_decision_step():
    task = build_task(TaskSpec(loss_steps="decision", **SMALL))
    m = task.mask(3, batch_first=True)
    assert m.shape == (3, task.spec.n_steps, 4)
    np.testing.assert_array_equal(m[:, task.spec.decision_step], 1)
    np.testing.assert_array_equal(m[:, :task.spec.decision_step], 0)


def test_optimal_probits_are_the_scaled_signed_distances_of_the_evidence_mean():
    task = build_task(TaskSpec(sigma=0.3, **SMALL))
    b = task.batch(1, 200)
    C, off = even_design(4).C, even_design(4).b
    mu = b.params["evidence"].mean(axis=1)
    z = np.sqrt(5) * (mu @ C.T + off) / (0.3 * np.linalg.norm(C, axis=1))
    np.testing.assert_allclose(b.params["optimal_probits"], z, rtol=1e-12, atol=1e-12)   # one formula, two orders
    np.testing.assert_allclose(b.params["optimal_probits"], optimal_probits(mu, task.design, 0.3, 5), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_array_equal(b.params["labels"], b.latents @ C.T + off > 0)   # labels from x*, not mu


def test_anisotropic_optimal_probits_use_each_coordinates_sd():
    spec = TaskSpec(sigma=0.2, noise="anisotropic", aniso_scales=[1, 3], **SMALL)     # a list, stored as a tuple
    assert spec.aniso_scales == (1.0, 3.0) and hash(spec) == hash(TaskSpec(**vars_of(spec)))
    task = build_task(spec)
    b = task.batch(2, 50)
    z = optimal_probits(b.params["evidence_mean"], task.design, np.array([0.2, 0.6]), 5)
    np.testing.assert_allclose(b.params["optimal_probits"], z, rtol=1e-12, atol=1e-12)
    iso = optimal_probits(b.params["evidence_mean"], task.design, 0.2, 5)
    assert not np.allclose(b.params["optimal_probits"], iso)              # the check can fail


def vars_of(spec):
    return {f.name: getattr(spec, f.name) for f in fields(spec) if f.init}


def test_encoder_arrays_as_pytorch_linear_layers_reproduce_the_encoder():
    task = build_task(TaskSpec(**SMALL))
    a = task.encoder_arrays()
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (7, 2))
    h = x
    for j in (0, 2, 4):                                      # nn.Linear: y = x W^T + b, ReLU between
        h = h @ a[f"encoder.{j}.weight"].T + a[f"encoder.{j}.bias"]
        h = np.maximum(h, 0) if j < 4 else h
    np.testing.assert_allclose(h, task.encode(x), rtol=1e-12, atol=1e-14)
    assert build_task(TaskSpec(encoder="identity", **SMALL)).encoder_arrays() == {}


@pytest.mark.parametrize("as_array", [False, True])
def test_user_boundaries_are_used(as_array):
    C = ((1.0, 0.0), (0.0, 1.0), (1.0, 1.0))
    spec = TaskSpec(ntask=3, C=np.array(C) if as_array else C, b=(0.1, 0.0, -0.1), n_stim=3)
    assert spec.C == C and hash(spec) == hash(TaskSpec(ntask=3, C=C, b=(0.1, 0.0, -0.1), n_stim=3))
    task = build_task(spec)
    b = task.batch(0, 50, batch_first=True)
    np.testing.assert_array_equal(b.params["labels"], (b.latents @ np.array(C).T + [0.1, 0.0, -0.1] > 0))


def test_dataset_is_reproducible_and_defaults_to_the_data_stream():
    spec = TaskSpec(**SMALL)
    a, b = Dataset(spec, 3, rng=7), Dataset(spec, 3, rng=7)
    for _ in range(2):
        np.testing.assert_array_equal(next(a).inputs, b().inputs)
    first = next(iter(Dataset(spec, 3)))
    np.testing.assert_array_equal(first.inputs, build_task(spec).batch(build_task(spec).data_rng(), 3).inputs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(timeline="free"), "timeline"),   # the toolkit's internal name; the API's is free_rt
    (dict(loss_steps="first"), "loss_steps"),
    (dict(timeline="free_rt", loss_steps="decision"), "loss_steps"),
    (dict(b=(0.0,)), "without C"),
    (dict(sigma=-1.0), "sigma"),
    (dict(network=-1), "network"),
])
def test_bad_specs_are_refused_naming_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TaskSpec(**kwargs)


def test_user_boundaries_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="C has shape"):
        build_task(TaskSpec(ntask=2, C=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))))
