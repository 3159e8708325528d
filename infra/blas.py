"""Which BLAS numpy's matrix products run on: library, version and kernel family.

Products computed by different BLAS kernels round differently (OpenBLAS picks its kernels from
the CPU, e.g. ``Haswell`` (AVX2) or ``SkylakeX`` (AVX-512), unless ``OPENBLAS_CORETYPE`` forces a
family), so two runs are bit-identical only on the same kernels; results record them.
"""
from __future__ import annotations

import os

from threadpoolctl import threadpool_info


def blas_kernels() -> dict:
    """``{"library", "version", "kernels", "OPENBLAS_CORETYPE"}`` of the first BLAS numpy loaded
    (None for what threadpoolctl cannot tell, e.g. the kernels of a BLAS other than OpenBLAS)."""
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    info = blas[0] if blas else {}
    return {"library": info.get("internal_api"), "version": info.get("version"),
            "kernels": info.get("architecture"), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
