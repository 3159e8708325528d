"""Hypothesis strategies for the theorems' domains, shared by the property tests.

Bounds are chosen on purpose: D in 1..8 and N in D..3D (the issue's domain); sigma in
[1e-3, 10] and t up to 1e4 span probits from ~0 to ~1e5; C is drawn as Gaussian rows and kept
only when well enough conditioned (cond <= 1e4) that float64 recovery is meaningful.
"""
import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from theory.designs import make_design


@st.composite
def designs(draw, min_D=1, max_D=8, full_rank=True, offsets=True):
    """A Design with D in [min_D, max_D], N in [D, 3D] (full_rank) or [1, D - 1] (not)."""
    D = draw(st.integers(min_D if full_rank else max(min_D, 2), max_D))
    N = draw(st.integers(D, 3 * D)) if full_rank else draw(st.integers(1, D - 1))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((N, D)) * rng.uniform(0.2, 5.0, (N, 1))  # non-unit normals too
    b = rng.uniform(-0.5, 0.5, N) if offsets and draw(st.booleans()) else np.zeros(N)
    design = make_design(C, b)
    if full_rank:
        sv = np.linalg.svd(C, compute_uv=False)
        assume(sv[-1] > 0 and sv[0] / sv[-1] < 1e4)
    return design


sigmas = st.floats(1e-3, 10.0)
times = st.integers(1, 10_000)
seeds = st.integers(0, 2**32 - 1)
