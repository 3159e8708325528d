"""The claims of the theory as executable checks.

Entry points (each ``python -m verify.<name>``, with ``main(argv=None) -> int``):

- ``verify``           -- the full report: everything below, one folder, one verdict.
- ``verify.theorem31`` -- Theorem 3.1 (trilateration, latent decoding) and its failure modes.
- ``verify.curves``    -- closed-form r^2 / accuracy / angle curves against Monte-Carlo twins.
- ``verify.rnn``       -- trained numpy RNNs against the theory (OOD r^2, angles, dynamics).
- ``verify.sweep``     -- any registered check over a parameter grid, cached and resumable.

Shared pieces: :mod:`verify.verdict` (claims, tables, exit codes), :mod:`infra.store` (config
hashes, atomic files), :mod:`verify.montecarlo` (MC twins), :mod:`analysis.decoders` (decoders,
folds), :mod:`analysis.optimality` (trilateration of network outputs), :mod:`analysis.dynamics`
(PCA, fixed points), :mod:`analysis.tuning`, :mod:`nets.frozen` (trained networks, frozen
runs), :mod:`infra.engine` (executors, cache), :mod:`verify.plotting`.
"""
