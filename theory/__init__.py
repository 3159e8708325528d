"""The mathematics of the multi-task world, with no training.

- :mod:`theory.world`   -- latent prior x* ~ U([-1/2, 1/2]^D) and noisy evidence X(s) = x* + eps(s).
- :mod:`theory.designs` -- task boundaries c_i . x + b_i = 0 (the ``even`` and ``random`` designs).

Everything here is deterministic given its inputs; sampling takes a ``numpy.random.Generator``.
"""
