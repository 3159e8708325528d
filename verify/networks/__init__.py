"""The network checks as data: one module per published experiment, one shared pipeline.

:mod:`~verify.networks.registry` lists the experiments; :mod:`~verify.networks.runner` runs them
(train-or-load -> measure -> rows -> verdicts); :mod:`~verify.networks.report` writes files and
figures; :mod:`~verify.networks.budgets` holds the one budgets table and :mod:`~verify.networks.size`
sizes a request; :mod:`~verify.networks.cli` is the command line (``python -m verify.networks``).
Only :mod:`~verify.networks.pipeline` touches :mod:`nets`; every other part of verify that needs
trained networks (:mod:`verify.geometry`, :mod:`verify.architectures`, the report) goes through it.
"""
