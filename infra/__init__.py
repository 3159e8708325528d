"""Infrastructure every package may use; it imports nothing of the project (a leaf).

- :mod:`infra.store`  -- configuration hashes, strict JSON, atomic files, CSV.
- :mod:`infra.engine` -- the sweep engine: grids, executors (in-process, processes, Dask), a cache keyed by point.
- :mod:`infra.cli`    -- the command-line convention shared by every entry point.
"""
