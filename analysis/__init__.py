"""Analysis tools that work on any agent's states (the optimal agent's or a trained network's).

They take arrays, never networks, and produce measurements, not verdicts.

- :mod:`analysis.decoders`   -- linear decoders of x* from states, quadrant cross-validation, r^2.
- :mod:`analysis.lasso`      -- lasso along its exact path, penalty by inner cross-validation (DCI importances).
- :mod:`analysis.intervals`  -- the verdicts' intervals: Student-t over network means, Welch differences,
  trial-level r^2 intervals for a single agent.
- :mod:`analysis.bootstrap`  -- the interval API verdicts call (t intervals by default; the percentile bootstrap
  for descriptive bands) and the decision rule ``decide``.
- :mod:`analysis.coverage`   -- simulated ensembles and a linear code of known r^2 for the coverage study.
- :mod:`analysis.calibration` -- a network's outputs against the optimal agent's, trial by trial.
- :mod:`analysis.optimality` -- trial-by-trial agreement of a network's outputs with the optimal agent.
- :mod:`analysis.dynamics`   -- PCA and fixed points of a one-step map, with their multipliers.
- :mod:`analysis.tuning`     -- tuning of units to x*: correlations and lifetime sparseness.
- :mod:`analysis.geometry`   -- CCGP, parallelism, shattering dimensionality, participation ratio, DCI.
- :mod:`analysis.estimates`  -- estimates with standard errors, r^2 over trials, k SE of a family of checks.
"""
