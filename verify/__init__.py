"""The claims of the theory as executable checks.

Entry points (each ``python -m verify.<name>``, with ``main(argv=None) -> int``):

- ``verify``           -- the full report: everything below, one folder, one verdict.
- ``verify.theorem31`` -- Theorem 3.1 (trilateration, latent decoding) and its failure modes.
- ``verify.information_mc`` -- the information form of Theorem 3.1 (nats).
- ``verify.curves``    -- closed-form r^2 / accuracy / angle curves against Monte-Carlo twins.
- ``verify.networks``  -- trained networks (RNN, LSTM, transformer) against the paper's claims, beside the
  paper's line (a linear decoder of mu) and the Bayes bound: every published experiment (``verify.rnn`` is
  its old name).
- ``verify.geometry``  -- CCGP, parallelism, shattering, participation ratio, DCI of an agent's states.
- ``verify.sweep``     -- any registered check over a parameter grid, cached and resumable.

Shared pieces: :mod:`verify.verdict` (claims, tables, the verdict word and its exit code),
:mod:`verify.ranges` (the ``a:b`` rule), :mod:`verify.montecarlo` (MC twins), :mod:`verify.plotting`,
:mod:`verify.networks` (the one path to trained networks: pipeline, budgets, experiments);
below verify: :mod:`analysis.estimates` (estimates with SEs, k of a family of checks),
:mod:`analysis.intervals` and :mod:`analysis.bootstrap` (the verdicts' t intervals and decision rule),
:mod:`analysis.decoders`, :mod:`analysis.optimality`, :mod:`analysis.dynamics`, :mod:`analysis.tuning`,
:mod:`analysis.geometry`, :mod:`infra.store` (config hashes, atomic files), :mod:`infra.engine`
(executors, cache). Only :mod:`verify.networks.pipeline` imports :mod:`nets`.
"""
