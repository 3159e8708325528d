"""The published experiments, by name (:data:`REGISTRY`). Adding an experiment = one module + one line here."""
from __future__ import annotations

from verify.networks.correlated import CORRELATED
from verify.networks.dimensionality import DIMENSIONALITY
from verify.networks.dynamics import DYNAMICS
from verify.networks.encoder import ENCODER
from verify.networks.free_rt import FREE_RT
from verify.networks.hidden_size import HIDDEN_SIZE
from verify.networks.large_n import LARGE_N
from verify.networks.multiplicative import MULTIPLICATIVE
from verify.networks.noise import NOISE
from verify.networks.ntask import ANGLES, OOD
from verify.networks.reaction_time import REACTION_TIME
from verify.networks.sigma import SIGMA
from verify.networks.sparseness import SPARSENESS
from verify.networks.tuning import TUNING

REGISTRY = {e.name: e for e in (OOD, ANGLES, TUNING, FREE_RT, SIGMA, DYNAMICS, DIMENSIONALITY, ENCODER,
                                REACTION_TIME, SPARSENESS, HIDDEN_SIZE, LARGE_N, CORRELATED, NOISE, MULTIPLICATIVE)}
