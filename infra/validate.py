"""Validators for the public functions' arguments: a ValueError naming the parameter, its value
(or type) and the rule, instead of an AttributeError or a silent NaN from inside numpy.

Examples
--------
>>> float_array("mu", [[0.1, 0.2]], last_dim=2).shape
(1, 2)
>>> float_array("mu", [float("nan")])
Traceback (most recent call last):
...
ValueError: mu must be finite (no NaN or inf); got 1 non-finite of 1 values
"""
from __future__ import annotations

import numpy as np


def float_array(name: str, value, *, min_ndim: int = 0, ndim: int | None = None, last_dim: int | None = None,
                last_name: str = "", finite: bool = True, allow_inf: bool = False) -> np.ndarray:
    """``value`` as a float64 array, checked.

    Parameters
    ----------
    name : the parameter's name, for the message
    min_ndim, ndim : at least / exactly this many dimensions
    last_dim : required size of the last axis (e.g. D or N); ``last_name`` names it ("D")
    finite : refuse NaN (and inf unless ``allow_inf``)
    """
    if isinstance(value, (str, bytes, dict, set)) or value is None:
        raise ValueError(f"{name} must be an array of numbers; got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers; got {type(value).__name__}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {arr.shape}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions; got shape {arr.shape}")
    if last_dim is not None and (arr.ndim == 0 or arr.shape[-1] != last_dim):
        size = f"{last_name}={last_dim}" if last_name else str(last_dim)
        raise ValueError(f"{name} must have last dimension {size}; got shape {arr.shape}")
    if finite:
        bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
        if bad.any():
            rule = "must not be NaN" if allow_inf else "must be finite (no NaN or inf)"
            raise ValueError(f"{name} {rule}; got {int(bad.sum())} non-finite of {arr.size} values")
    return arr


def instance_of(name: str, value, kind: type):
    """``value`` if it is a ``kind``, else a ValueError naming ``name`` and both types."""
    if not isinstance(value, kind):
        raise ValueError(f"{name} must be a {kind.__name__}; got {type(value).__name__}")
    return value
