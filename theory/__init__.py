"""The mathematics of the multi-task world, with no training.

- :mod:`theory.world`     -- latent prior x* ~ U([-1/2, 1/2]^D) and Gaussian evidence X(s) = x* + eps(s).
- :mod:`theory.noise`     -- noise variants (anisotropic, AR(1), Gumbel) and their estimators.
- :mod:`theory.designs`   -- task boundaries c_i . x + b_i = 0 (the ``even`` and ``random`` designs).
- :mod:`theory.folds`     -- out-of-distribution folds of the cube (quadrants, orthants, half-spaces).
- :mod:`theory.encoders`  -- the input map f (identity, random frozen MLPs) and its invertibility.
- :mod:`theory.priors`   -- latent priors: the uniform cube and the Gaussian-copula prior.
- :mod:`theory.ceilings`  -- the paper's lines, what a linear decoder of mu(t) reaches: 1 - 12 sigma^2 / t, the
  held-out protocol, noise variants (named "ceilings" historically; not upper bounds).
- :mod:`theory.bayes_bound` -- the Bayes bound r^2 of E[x* | evidence] under the uniform prior, the bound no decoder
  of any state beats; :mod:`theory.bayes_noise` under each noise model, :mod:`theory.bayes_copula` under the
  copula prior, :mod:`theory.bayes_montecarlo` their Monte-Carlo twins.
- :mod:`theory.correlated`, :mod:`theory.dimensionality`, :mod:`theory.capacity`, :mod:`theory.multiplicative`
  -- the lines of the variants: copula prior (Fig. S3b), latent dimension (Fig. 5b), hidden size, multiplicative
  boundaries.
- :mod:`theory.identifiability` -- rank, null space and row-space projector: the conditions of Theorem 3.1.
- :mod:`theory.accuracy`  -- optimal accuracy and cross-entropy; the imperfect-outputs error covariance.
- :mod:`theory.angles`    -- output-space factor angles and their spread with N (Corollary B.9).
- :mod:`theory.information` -- the information form of Theorem 3.1.
- :mod:`theory.geometry`  -- the optimal agent's geometry measures in closed form.
- :mod:`theory.symbolic`  -- sympy derivations that the tests use to confirm the numeric formulas.

Everything here is deterministic given its inputs; sampling takes a ``numpy.random.Generator``.
"""
