"""Infrastructure every package may use; it imports nothing of the project (a leaf).

- :mod:`infra.store`    -- configuration hashes, strict JSON, atomic files, CSV.
- :mod:`infra.records`  -- records with a code fingerprint and checksum (stale or corrupt files are recomputed).
- :mod:`infra.engine`   -- the sweep engine: grids, executors (in-process, processes, Dask), a cache keyed by point.
- :mod:`infra.cli`      -- the command-line convention shared by every entry point; :func:`infra.cli.cpu_count`,
  the one CPU count (the affinity mask), used by every default worker count.
- :mod:`infra.guard`    -- the size and time guards: one check over the memory terms each caller reports.
- :mod:`infra.adam`     -- Adam, the one implementation (network training and the reference decoder).
- :mod:`infra.lock`, :mod:`infra.validate`, :mod:`infra.blas` -- file locks, argument checks, BLAS identity.
"""
