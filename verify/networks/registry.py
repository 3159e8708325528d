"""The published experiments, by name. Adding an experiment = one module + one line here.

``ALL`` holds every experiment; ``REGISTRY`` those the installed :mod:`nets` can train (S3b, the
noise variants and the multiplicative boundaries need training fields of their own, ``NEEDS``).
"""
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

ALL = {e.name: e for e in (OOD, ANGLES, TUNING, FREE_RT, SIGMA, DYNAMICS, DIMENSIONALITY, ENCODER, REACTION_TIME,
                           SPARSENESS, HIDDEN_SIZE, LARGE_N, CORRELATED, NOISE, MULTIPLICATIVE)}

#: Training fields of nets.config.TrainConfig an experiment needs beyond the reference world.
NEEDS = {"S3b": "prior", "noise": "noise", "multiplicative": "task"}

#: The experiments the installed nets can train.
REGISTRY = dict(ALL)


def available() -> tuple:
    """Names of the experiments the installed nets can train."""
    return tuple(REGISTRY)
