"""Torch-free numpy networks that are trained on the multi-task world and checked against theory.

- :mod:`nets.architecture` -- the network interface (Architecture, Recurrent), the registry ARCHS.
- :mod:`nets.config`     -- :class:`~nets.config.TrainConfig`, everything that determines a run.
- :mod:`nets.trials`     -- inputs and targets: the fixed 22-step timeline and free reaction time.
- :mod:`nets.rnn`        -- the RNN for K stacked networks, forward, backprop through time, F(h; u), dF/dh.
- :mod:`nets.lstm`       -- the LSTM (PyTorch layout), BPTT, F(h, c; u) and its Jacobian.
- :mod:`nets.transformer` -- the reference GPT-2 block, forward and backward; :mod:`nets.layers` its layers.
- :mod:`nets.stacking`   -- stacking K networks' parameters and per-batch training noise.
- :mod:`nets.losses`     -- sigmoid + BCE and 5 tanh + MSE read-outs, with gradients.
- :mod:`nets.ensemble`   -- K networks' designs, encoders, parameters and random streams; probe inputs.
- :mod:`nets.checkpoint` -- atomic, resumable checkpoints.
- :mod:`nets.train`      -- the training loop of one stack in one process, and ``python -m nets.train``.
- :mod:`nets.pool`       -- the one parallel training path: stacks as tasks on processes or Dask, one
  cache file per network, each read once.
- :mod:`nets.frozen`     -- frozen runs of trained ensembles on chosen latents.
- :mod:`nets.memory`     -- malloc tuning that keeps the loop's temporaries from page-faulting.
- :mod:`nets.dataset`    -- the trial API: the task as arrays for any framework (docs/task-api.md).
- :mod:`nets.environment` -- the task as a gymnasium / neurogym-style environment, one episode per trial.
- :mod:`nets.export`     -- one trained network as an ``.npz`` with PyTorch ``state_dict`` names.

Adam is :mod:`infra.adam` (the one implementation).
"""
