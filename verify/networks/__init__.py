"""The network checks as data: one module per published experiment, one shared pipeline.

:mod:`~verify.networks.registry` lists the experiments; :mod:`~verify.networks.runner` runs them
(train-or-load -> measure -> rows -> verdicts); :mod:`verify.rnn_report` writes files and figures;
:mod:`verify.rnn` is the command line. Only :mod:`~verify.networks.pipeline` touches :mod:`nets`.
"""
