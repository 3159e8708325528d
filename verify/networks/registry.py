"""The published experiments, by name. Adding an experiment = one module + one line here."""
from __future__ import annotations

from verify.networks.dimensionality import DIMENSIONALITY
from verify.networks.dynamics import DYNAMICS
from verify.networks.free_rt import FREE_RT
from verify.networks.ntask import ANGLES, OOD
from verify.networks.sigma import SIGMA
from verify.networks.tuning import TUNING

REGISTRY = {e.name: e for e in (OOD, ANGLES, TUNING, FREE_RT, SIGMA, DYNAMICS, DIMENSIONALITY)}
