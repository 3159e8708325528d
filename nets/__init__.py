"""Torch-free numpy networks that are trained on the multi-task world and checked against theory.

- :mod:`nets.config`     -- :class:`~nets.config.TrainConfig`, everything that determines a run.
- :mod:`nets.trials`     -- inputs and targets: the fixed 22-step timeline and free reaction time.
- :mod:`nets.rnn`        -- the RNN for K stacked networks, forward, backprop through time, F(h; u), dF/dh.
- :mod:`nets.losses`     -- sigmoid + BCE and 5 tanh + MSE read-outs, with gradients.
- :mod:`nets.adam`       -- Adam.
- :mod:`nets.ensemble`   -- K networks' designs, encoders, parameters and random streams; probe inputs.
- :mod:`nets.checkpoint` -- atomic, resumable checkpoints.
- :mod:`nets.train`      -- the training loop and ``python -m nets.train``.
- :mod:`nets.memory`     -- malloc tuning that keeps the loop's temporaries from page-faulting.
"""
