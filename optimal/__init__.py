"""The optimal agent and its inverse.

- :mod:`optimal.agent`           -- running MLE mu(t) and the optimal outputs, as probits and log-probabilities.
- :mod:`optimal.estimates`       -- the running estimate matched to the noise (GLS, Gumbel posterior) and its outputs.
- :mod:`optimal.gumbel`          -- exact outputs under Gumbel noise (log-gamma posterior), D <= 2.
- :mod:`optimal.bayes`           -- exact Bayes outputs under the true uniform prior (truncated normals).
- :mod:`optimal.trilateration`   -- recover mu(t) from outputs, or from a latent state Z and its read-out.

What the outputs can and cannot identify (rank, null space, conditioning) is :mod:`theory.identifiability`.
"""
