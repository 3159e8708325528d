"""Training trials: inputs and targets on the two timelines (the reference task, and free reaction time
as in docs/theory.md).

``fixed`` (the reference, T = n_stim + 2 = 22 steps of 100 ms)::

    step 0            fixation 1, stimulus channels 0
    steps 1..n_stim   fixation 1, stimulus f(X(s)), s = 1..n_stim
    step n_stim + 1   fixation 0, stimulus channels 0           (decision)

inputs u_t = [fixation_t, f(X)_t] (1 + m channels; 41 with the MLP encoder), targets 0.5 at
steps 0..n_stim and the label y_i = [c_i . x* + b_i > 0] at the decision step.

``free`` (free reaction time, T = n_stim steps): inputs u_t = f(X(t)) only -- there is no
fixation period to signal, so no constant channel (m channels). Target for task i at step t is
the bounded accumulator

    A_i(t) = sum_{s<=t} (c~_i . X(s) + b~_i),  absorbed at +-bound (held there once reached),

with c~_i = c_i / c_i2 for the ``even`` design, i.e. (-tan phi_i, 1) as in docs/theory.md, and
c~_i = c_i, b~_i = b_i (the design's own, unit-length normals) for every other design.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.designs import Design, labels
from theory.encoders import Encoder, encode
from theory.world import as_generator, check_positive_int, sample_evidence, sample_latents

#: Target of every output before the decision step (fixed timeline): "don't know yet".
UNDECIDED = 0.5


@dataclass(frozen=True)
class Trials:
    """A batch of trials.

    Attributes
    ----------
    x_star : ndarray, shape (B, D), latent of each trial
    X : ndarray, shape (B, n_stim, D), noisy evidence X(s) = x* + eps(s) (before the encoder)
    u : ndarray, shape (B, T, n_in), network inputs
    y : ndarray, shape (B, T, N), targets
    """

    x_star: np.ndarray
    X: np.ndarray
    u: np.ndarray
    y: np.ndarray


def accumulator_normals(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """(C~, b~) of the free-RT accumulator: c~_i = c_i / c_i2 for ``even``, else (C, b).

    Examples
    --------
    >>> from theory.designs import even_design
    >>> C, b = accumulator_normals(even_design(2))
    >>> np.allclose(C, [[-np.tan(np.pi / 4), 1], [-np.tan(3 * np.pi / 4), 1]])
    True
    """
    if design.name == "even":
        scale = design.C[:, 1]
        return design.C / scale[:, None], design.b / scale
    return np.array(design.C), np.array(design.b)


def bounded_accumulator(X: np.ndarray, design: Design, bound: float = 5.0) -> np.ndarray:
    """A_i(t) = sum_{s<=t} (c~_i . X(s) + b~_i), held at sign * bound from its first |A| >= bound.

    Parameters
    ----------
    X : ndarray, shape (B, T, D)

    Returns
    -------
    A : ndarray, shape (B, T, N)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 3 or X.shape[2] != design.D:
        raise ValueError(f"X must have shape (B, T, D={design.D}); got shape {X.shape}")
    if not (np.isfinite(bound) and bound > 0):
        raise ValueError(f"bound={bound!r} must be finite and > 0")
    C, b = accumulator_normals(design)
    S = np.cumsum(X @ C.T + b, axis=1)                                  # (B, T, N)
    absorbed = np.logical_or.accumulate(np.abs(S) >= bound, axis=1)
    first = np.argmax(absorbed, axis=1)[:, None, :]                      # first crossing step
    side = np.sign(np.take_along_axis(S, first, axis=1))
    return np.where(absorbed, side * bound, S)


def build_inputs(X: np.ndarray, encoder: Encoder, timeline: str = "fixed", dtype=np.float32) -> np.ndarray:
    """Network inputs from the evidence: [fixation, f(X)] (fixed) or f(X) (free).

    Parameters
    ----------
    X : ndarray, shape (B, n_stim, D), evidence before the encoder; or (K, B, n_stim, D)
        with K encoders stacked by :func:`theory.encoders.stack_encoders`

    Returns
    -------
    u : ndarray, shape (..., B, n_stim + 2, 1 + m) (fixed) or (..., B, n_stim, m) (free), in ``dtype``
    """
    X = np.asarray(X)
    if X.ndim not in (3, 4):
        raise ValueError(f"X must have shape (B, n_stim, D) or (K, B, n_stim, D); got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite (no NaN or inf)")
    if timeline not in ("fixed", "free"):
        raise ValueError(f"timeline={timeline!r} must be 'fixed' or 'free'")
    F = encode(encoder, X.astype(dtype), dtype=dtype)
    if timeline == "free":
        return F
    *lead, n_stim, m = F.shape
    u = np.zeros(tuple(lead) + (n_stim + 2, 1 + m), dtype=dtype)
    u[..., :-1, 0] = 1.0
    u[..., 1:-1, 1:] = F
    return u


def build_targets(x_star: np.ndarray, X: np.ndarray, design: Design, timeline: str = "fixed",
                  bound: float = 5.0, dtype=np.float32) -> np.ndarray:
    """Targets y, shape (B, T, N): 0.5 then the labels (fixed), or A_i(t) (free)."""
    if timeline == "free":
        return bounded_accumulator(X, design, bound).astype(dtype)
    if timeline != "fixed":
        raise ValueError(f"timeline={timeline!r} must be 'fixed' or 'free'")
    B, n_stim = X.shape[:2]
    y = np.full((B, n_stim + 2, design.ntask), UNDECIDED, dtype=dtype)
    y[:, -1] = labels(x_star, design)
    return y


def make_trials(rng, n_trials: int, design: Design, sigma: float, encoder: Encoder,
                timeline: str = "fixed", n_stim: int = 20, bound: float = 5.0,
                x_star: np.ndarray | None = None, dtype=np.float32) -> Trials:
    """Draw a batch of trials: x* ~ U([-1/2, 1/2]^D) (unless given), X = x* + sigma eps.

    ``x_star`` lets a probe choose the latents (e.g. from chosen quadrants); ``sigma=0`` gives
    noiseless evidence. Draws, in order: x* (if not given), then eps (always, even if sigma = 0,
    so the stream does not depend on sigma).

    Examples
    --------
    >>> from theory.designs import even_design
    >>> from theory.encoders import draw_encoder
    >>> tr = make_trials(0, 16, even_design(24), 0.2, draw_encoder("mlp", 2, rng=1))
    >>> tr.u.shape, tr.y.shape
    ((16, 22, 41), (16, 22, 24))
    """
    rng = as_generator(rng)
    n_stim = check_positive_int("n_stim", n_stim)
    if x_star is None:
        x_star = sample_latents(rng, n_trials, design.D)
    else:
        x_star = np.asarray(x_star, dtype=float)
        if x_star.shape != (n_trials, design.D):
            raise ValueError(f"x_star must have shape (n_trials, D)=({n_trials}, {design.D}); got {x_star.shape}")
        if not np.all(np.isfinite(x_star)):
            raise ValueError("x_star must be finite (no NaN or inf)")
    if encoder.D != design.D:
        raise ValueError(f"encoder.D={encoder.D} must equal design.D={design.D}")
    X = sample_evidence(rng, x_star, n_stim, sigma)
    return Trials(x_star=x_star, X=X, u=build_inputs(X, encoder, timeline, dtype),
                  y=build_targets(x_star, X, design, timeline, bound, dtype))
