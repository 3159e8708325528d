"""Training trials: inputs and targets on the two timelines (the reference task, and free reaction time
as in docs/theory.md).

``fixed`` (the reference, T = n_stim + 2 = 22 steps of 100 ms)::

    step 0            fixation 1, stimulus channels 0
    steps 1..n_stim   fixation 1, stimulus f(X(s)), s = 1..n_stim
    step n_stim + 1   fixation 0, stimulus channels 0           (decision)

inputs u_t = [fixation_t, f(X)_t] (1 + m channels; 41 with the MLP encoder), targets 0.5 at
steps 0..n_stim and the label y_i = [c_i . x* + b_i > 0] at the decision step (``boundaries="linear"``),
or the reference's multiplicative label of :func:`theory.multiplicative.multiplicative_labels`
(``boundaries="multiplicative"``, per-quadrant x1 x2 > +-thr_k with the reference thresholds; outside
Theorem 3.1).

``free`` (free reaction time, T = n_stim steps): inputs u_t = f(X(t)) only -- there is no
fixation period to signal, so no constant channel (m channels). Target for task i at step t is
the bounded accumulator

    A_i(t) = sum_{s<=t} (c~_i . X(s) + b~_i),  absorbed at +-bound (held there once reached),

with c~_i = c_i / c_i2 for the ``even`` design, i.e. (-tan phi_i, 1) as in docs/theory.md, and
c~_i = c_i, b~_i = b_i (the design's own, unit-length normals) for every other design.

The world of a trial: x* from a latent prior of :mod:`theory.priors` (default the uniform cube),
then the evidence X(s) = x* + eps(s), s = 1..n_stim, with eps from a noise model of
:mod:`theory.noise` (default i.i.d. Gaussian, sd sigma). :func:`draw_world` draws both, in that
order, from one generator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.designs import Design, labels
from theory.encoders import Encoder, encode
from theory.multiplicative import multiplicative_labels, reference_thresholds
from theory.noise import NoiseModel, make_noise, sample_noise
from theory.priors import UniformPrior
from theory.world import as_generator, check_positive_int, check_sigma

#: Label rules at the decision step: the design's affine boundaries, or the reference's products.
BOUNDARIES = ("linear", "multiplicative")

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


def build_inputs(X: np.ndarray, encoder: Encoder, timeline: str = "fixed", dtype=np.float32,
                 steps_first: bool = False) -> np.ndarray:
    """Network inputs from the evidence: [fixation, f(X)] (fixed) or f(X) (free).

    Parameters
    ----------
    X : ndarray, shape (B, n_stim, D), evidence before the encoder; or (K, B, n_stim, D)
        with K encoders stacked by :func:`theory.encoders.stack_encoders`
    steps_first : return u time-major, (..., T, B, .), the trainer's layout (the same values,
        written there directly rather than transposed afterwards)

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
        return F.swapaxes(-2, -3).copy() if steps_first else F
    *lead, B, n_stim, m = F.shape
    u = np.zeros(tuple(lead) + ((n_stim + 2, B) if steps_first else (B, n_stim + 2)) + (1 + m,), dtype=dtype)
    u_bt = u.swapaxes(-2, -3) if steps_first else u                     # (..., B, T, .) view
    u_bt[..., :-1, 0] = 1.0
    u_bt[..., 1:-1, 1:] = F
    return u


def task_labels(x_star: np.ndarray, design: Design, boundaries: str = "linear") -> np.ndarray:
    """Decision labels, shape (B, N): [c_i . x* + b_i > 0] (``linear``), or the multiplicative
    labels with the reference thresholds of N = design.ntask tasks (``multiplicative``, D = 2)."""
    if boundaries == "linear":
        return labels(x_star, design)
    if boundaries != "multiplicative":
        raise ValueError(f"boundaries={boundaries!r} must be one of {BOUNDARIES}")
    return multiplicative_labels(x_star, reference_thresholds(design.ntask))


def build_targets(x_star: np.ndarray, X: np.ndarray, design: Design, timeline: str = "fixed",
                  bound: float = 5.0, dtype=np.float32, boundaries: str = "linear") -> np.ndarray:
    """Targets y, shape (B, T, N): 0.5 then the labels of ``boundaries`` (fixed), or A_i(t) (free, linear only)."""
    if boundaries not in BOUNDARIES:
        raise ValueError(f"boundaries={boundaries!r} must be one of {BOUNDARIES}")
    if timeline == "free":
        if boundaries != "linear":
            raise ValueError(f"boundaries={boundaries!r} needs timeline='fixed' (the free timeline's targets "
                             "are accumulators)")
        return bounded_accumulator(X, design, bound).astype(dtype)
    if timeline != "fixed":
        raise ValueError(f"timeline={timeline!r} must be 'fixed' or 'free'")
    B, n_stim = X.shape[:2]
    y = np.full((B, n_stim + 2, design.ntask), UNDECIDED, dtype=dtype)
    y[:, -1] = task_labels(x_star, design, boundaries)
    return y


def noise_model(kind: str, sigma, D: int, a: float = 0.0) -> NoiseModel:
    """:func:`theory.noise.make_noise`, extended to sd 0: a coordinate of sd 0 gets zero noise
    from the same draws (the random stream does not depend on sigma).

    Parameters
    ----------
    sigma : scalar or shape (D,), >= 0: the sd (the stationary sd for ``ar1``, the scale beta
        for ``gumbel``)
    """
    s = np.broadcast_to(check_sigma(sigma, D), (D,))
    if np.all(s > 0):
        return make_noise(kind, sigma, D, a)
    checked = make_noise(kind, np.ones(D), D, a)   # validates kind, D and a
    if kind == "gaussian" and not np.all(s == s[0]):
        raise ValueError(f"noise='gaussian' is isotropic; sigma={sigma!r} differs across coordinates "
                         "(use noise='anisotropic')")
    sig = np.array(s, dtype=float)
    sig.flags.writeable = False
    return NoiseModel(checked.kind, sig, checked.a)


def as_noise_model(noise, D: int) -> NoiseModel:
    """``noise`` if it is a :class:`theory.noise.NoiseModel` (of dimension D), else the Gaussian
    model of sd ``noise`` (a scalar, or shape (D,): anisotropic if the sds differ; >= 0)."""
    if isinstance(noise, NoiseModel):
        if noise.D != D:
            raise ValueError(f"noise model has D={noise.D}; the trials have D={D}")
        return noise
    s = np.broadcast_to(check_sigma(noise, D), (D,))
    return noise_model("gaussian" if np.all(s == s[0]) else "anisotropic", s, D)


def draw_world(rng, n_trials: int, n_stim: int, noise, prior=None, x_star: np.ndarray | None = None):
    """Latents and evidence of ``n_trials`` trials, drawn from ``rng`` in this order:

    1. x* from ``prior`` (default :class:`theory.priors.UniformPrior`: n_trials x D uniforms;
       the copula prior: n_trials x 2 standard normals), unless ``x_star`` is given (no draws);
    2. eps(s), s = 1..n_stim, from the noise model (:func:`theory.noise.sample_noise`:
       n_trials x n_stim x D standard normals, or standard Gumbels, in C order).

    Parameters
    ----------
    noise : a :class:`theory.noise.NoiseModel`, or a Gaussian sd (see :func:`as_noise_model`)
    prior : a prior of :mod:`theory.priors` (its D sets the trials' D), or None: the uniform
        prior of the noise model's D (``noise`` must then be a NoiseModel, or ``x_star`` given)

    Returns
    -------
    x_star : ndarray, shape (n_trials, D)
    X : ndarray, shape (n_trials, n_stim, D), X(s) = x* + eps(s)
    """
    rng = as_generator(rng)
    n_trials = check_positive_int("n_trials", n_trials)
    n_stim = check_positive_int("n_stim", n_stim)
    if x_star is None:
        if prior is None and not isinstance(noise, NoiseModel):
            raise ValueError("draw_world needs a prior, a NoiseModel or x_star to know the latent dimension D")
        prior = UniformPrior(noise.D) if prior is None else prior
        x_star = prior.sample(rng, n_trials)
    else:
        x_star = np.asarray(x_star, dtype=float)
        if x_star.ndim != 2 or x_star.shape[0] != n_trials:
            raise ValueError(f"x_star must have shape (n_trials={n_trials}, D); got {x_star.shape}")
        if not np.all(np.isfinite(x_star)):
            raise ValueError("x_star must be finite (no NaN or inf)")
    model = as_noise_model(noise, x_star.shape[1])
    return x_star, x_star[:, None, :] + sample_noise(model, rng, n_trials, n_stim)


def make_trials(rng, n_trials: int, design: Design, sigma, encoder: Encoder,
                timeline: str = "fixed", n_stim: int = 20, bound: float = 5.0,
                x_star: np.ndarray | None = None, dtype=np.float32, prior=None, boundaries: str = "linear") -> Trials:
    """Draw a batch of trials: x* from ``prior`` (default U([-1/2, 1/2]^D); unless given), X = x* + eps.

    ``sigma`` is the Gaussian sd, or a :class:`theory.noise.NoiseModel` (e.g.
    :meth:`nets.config.TrainConfig.noise_model`). ``x_star`` lets a probe choose the latents
    (e.g. from chosen quadrants); ``sigma=0`` gives noiseless evidence. Draws, in order
    (:func:`draw_world`): x* (if not given), then eps (always, even if sigma = 0, so the stream
    does not depend on sigma). ``boundaries`` picks the decision labels (:func:`task_labels`).

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
    if x_star is not None and np.shape(x_star) != (n_trials, design.D):
        raise ValueError(f"x_star must have shape (n_trials, D)=({n_trials}, {design.D}); got {np.shape(x_star)}")
    if encoder.D != design.D:
        raise ValueError(f"encoder.D={encoder.D} must equal design.D={design.D}")
    prior = UniformPrior(design.D) if prior is None else prior
    if prior.D != design.D:
        raise ValueError(f"prior has D={prior.D}; the design has D={design.D}")
    x_star, X = draw_world(rng, n_trials, n_stim, as_noise_model(sigma, design.D), prior, x_star)
    return Trials(x_star=x_star, X=X, u=build_inputs(X, encoder, timeline, dtype),
                  y=build_targets(x_star, X, design, timeline, bound, dtype, boundaries))
