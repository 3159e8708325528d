"""Analysis tools that work on any agent's states (the optimal agent's or a trained network's).

They take arrays, never networks, and produce measurements, not verdicts.

- :mod:`analysis.decoders`   -- linear decoders of x* from states, quadrant cross-validation, r^2.
- :mod:`analysis.optimality` -- trial-by-trial agreement of a network's outputs with the optimal agent.
- :mod:`analysis.dynamics`   -- PCA and fixed points of a one-step map, with their multipliers.
- :mod:`analysis.tuning`     -- tuning of units to x*: correlations and lifetime sparseness.
- :mod:`analysis.estimates`  -- estimates with standard errors, r^2 over trials, k SE of a family of checks.
"""
