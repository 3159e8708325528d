"""The mathematics of the multi-task world, with no training.

- :mod:`theory.world`     -- latent prior x* ~ U([-1/2, 1/2]^D) and Gaussian evidence X(s) = x* + eps(s).
- :mod:`theory.noise`     -- noise variants (anisotropic, AR(1), Gumbel) and their estimators.
- :mod:`theory.designs`   -- task boundaries c_i . x + b_i = 0 (the ``even`` and ``random`` designs).
- :mod:`theory.folds`     -- out-of-distribution folds of the cube (quadrants, orthants, half-spaces).
- :mod:`theory.encoders`  -- the input map f (identity, random frozen MLPs) and its invertibility.
- :mod:`theory.ceilings`  -- r^2 ceilings: 1 - 12 sigma^2 / t, the quadrant-protocol ceiling, noise variants.
- :mod:`theory.bayes_bound` -- the Bayes bound r^2 of E[x* | evidence] (+ bayes_noise, bayes_copula, bayes_montecarlo).
- :mod:`theory.accuracy`  -- optimal accuracy and cross-entropy; the imperfect-outputs error covariance.
- :mod:`theory.angles`    -- output-space factor angles and their spread with N (Corollary B.9).
- :mod:`theory.symbolic`  -- sympy derivations that the tests use to confirm the numeric formulas.

Everything here is deterministic given its inputs; sampling takes a ``numpy.random.Generator``.
"""
