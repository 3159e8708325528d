"""The encoder f through which an agent sees the evidence (docs/theory.md §7.2).

The agent receives f(X(s)) instead of X(s); noise is added before f. Two encoders exist:

- ``identity``: f(x) = x (output width D).
- a random frozen MLP D -> 100 -> 100 -> 40, drawn per network with the default uniform
  initialisation U(-1/sqrt(fan_in), +1/sqrt(fan_in)) for weights and biases:
      f(x) = W3 g(W2 g(W1 x + b1) + b2) + b3,
  with g = relu (``mlp``, the reference) or g(a) = a^2 (``quadratic``, the S1 variant);
  the output layer is linear.

Theorem 3.1 needs f invertible on the cube. A random MLP need not be: a ReLU layer is flat
wherever all units of a layer are off, and a quadratic layer is flat along directions where
every pre-activation vanishes. :func:`invertibility` measures the smallest singular value of
the Jacobian df/dx over sampled points (f is locally invertible at x iff it is > 0) and the
smallest ratio |f(x) - f(y)| / |x - y| over sampled pairs (a global collision shows as ~0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.world import as_generator, check_positive_int

ENCODERS = ("identity", "mlp", "quadratic")

#: Layer widths of the reference MLP encoder after the input layer (docs/theory.md §7.2).
MLP_WIDTHS = (100, 100, 40)


@dataclass(frozen=True)
class Encoder:
    """A frozen encoder f: R^D -> R^m.

    Attributes
    ----------
    kind : ``"identity"``, ``"mlp"`` (ReLU hidden layers) or ``"quadratic"`` (a^2 hidden layers)
    weights : tuple of ndarray, shapes (D, 100), (100, 100), (100, 40); empty for identity
    biases : tuple of ndarray, shapes (100,), (100,), (40,); empty for identity
    D : int, input dimension
    """

    kind: str
    weights: tuple
    biases: tuple
    D: int

    @property
    def out_dim(self) -> int:
        """Width m of f(x)."""
        return self.weights[-1].shape[-1] if self.weights else self.D

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """f applied to the last axis: X of shape (..., D) -> (..., m)."""
        return encode(self, X)


def draw_encoder(kind: str, D: int, rng=None, widths: tuple = MLP_WIDTHS) -> Encoder:
    """Draw an encoder; MLP weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    Examples
    --------
    >>> f = draw_encoder("mlp", 2, rng=0)
    >>> f(np.zeros((5, 2))).shape
    (5, 40)
    >>> draw_encoder("identity", 3).out_dim
    3
    """
    if kind not in ENCODERS:
        raise ValueError(f"encoder={kind!r} must be one of {ENCODERS}")
    D = check_positive_int("D", D)
    if kind == "identity":
        return Encoder(kind, (), (), D)
    widths = tuple(check_positive_int("widths", w) for w in widths)
    if len(widths) < 1:
        raise ValueError(f"widths={widths!r} must name at least one layer")
    rng = as_generator(rng)
    weights, biases = [], []
    fan_in = D
    for width in widths:
        bound = 1.0 / np.sqrt(fan_in)
        W = rng.uniform(-bound, bound, size=(fan_in, width))
        b = rng.uniform(-bound, bound, size=width)
        W.flags.writeable = False
        b.flags.writeable = False
        weights.append(W)
        biases.append(b)
        fan_in = width
    return Encoder(kind, tuple(weights), tuple(biases), D)


def _hidden(kind: str, a: np.ndarray, out=None) -> np.ndarray:
    return np.maximum(a, 0, out=out) if kind == "mlp" else np.multiply(a, a, out=out)


def encode(encoder: Encoder, X: np.ndarray, dtype=None) -> np.ndarray:
    """f(X) on the last axis, computed in ``dtype`` (default: float64).

    Parameters
    ----------
    encoder : one encoder, or K encoders stacked by :func:`stack_encoders`
    X : ndarray, shape (..., D); for a stack of K encoders, shape (K, ..., D)

    Returns
    -------
    F : ndarray, shape (..., m) (or (K, ..., m))
    """
    X = np.asarray(X, dtype=dtype or np.float64)
    if X.shape[-1] != encoder.D:
        raise ValueError(f"X has last dimension {X.shape[-1]}; the encoder has D={encoder.D}")
    if encoder.kind == "identity":
        return X.copy()
    stacked = encoder.weights[0].ndim == 3
    if stacked and X.shape[0] != encoder.weights[0].shape[0]:
        raise ValueError(f"X has {X.shape[0]} leading entries for {encoder.weights[0].shape[0]} stacked encoders")
    # one (rows, D) product per encoder, whatever the leading shape, so stacked and single
    # encoders run identical matrix products
    h = X.reshape(X.shape[0], -1, X.shape[-1]) if stacked else X.reshape(-1, X.shape[-1])
    n = len(encoder.weights)
    for layer, (W, b) in enumerate(zip(encoder.weights, encoder.biases)):
        h = h @ W.astype(X.dtype, copy=False)
        h += b.astype(X.dtype, copy=False)           # in place: these arrays are large
        if layer < n - 1:
            _hidden(encoder.kind, h, out=h)
    return h.reshape(X.shape[:-1] + (h.shape[-1],))


def stack_encoders(encoders, dtype=np.float64) -> Encoder:
    """K encoders of one kind and shape as one, weights (K, fan_in, width), biases (K, 1, width).

    ``encode(stack_encoders(fs), X)[k]`` equals ``encode(fs[k], X[k])``: the stacked product
    runs the same matrix products, one per encoder.
    """
    encoders = list(encoders)
    if not encoders:
        raise ValueError("encoders must hold at least one encoder")
    first = encoders[0]
    for e in encoders[1:]:
        if e.kind != first.kind or e.D != first.D or [w.shape for w in e.weights] != [w.shape for w in first.weights]:
            raise ValueError(f"cannot stack encoders of different kinds or shapes ({first.kind!r} vs {e.kind!r})")
    weights = tuple(np.stack([e.weights[i] for e in encoders]).astype(dtype) for i in range(len(first.weights)))
    biases = tuple(np.stack([e.biases[i] for e in encoders])[:, None, :].astype(dtype)
                   for i in range(len(first.biases)))
    return Encoder(first.kind, weights, biases, first.D)


def encoder_jacobian(encoder: Encoder, x: np.ndarray) -> np.ndarray:
    """df/dx at each point, by the chain rule through the layers (float64).

    Parameters
    ----------
    x : ndarray, shape (n, D)

    Returns
    -------
    J : ndarray, shape (n, m, D), J[p, i, j] = d f_i / d x_j at x[p]
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != encoder.D:
        raise ValueError(f"x must have shape (n, D={encoder.D}); got shape {x.shape}")
    J = np.broadcast_to(np.eye(encoder.D), (x.shape[0], encoder.D, encoder.D)).copy()
    h = x
    n = len(encoder.weights)
    for layer, (W, b) in enumerate(zip(encoder.weights, encoder.biases)):
        a = h @ W + b
        J = np.einsum("io,pij->poj", W, J)
        if layer < n - 1:
            slope = (a > 0).astype(float) if encoder.kind == "mlp" else 2.0 * a
            J = slope[:, :, None] * J
            h = _hidden(encoder.kind, a)
    return J


@dataclass(frozen=True)
class Invertibility:
    """How far f is from losing information about x on the sampled cube.

    Attributes
    ----------
    min_singular : smallest singular value of df/dx over the sampled points (0: not locally invertible)
    min_ratio : smallest |f(x) - f(y)| / |x - y| over sampled pairs, random and antipodal
        (y = -x); ~0 means two points collide
    invertible : both exceed ``tol`` times the corresponding largest value
    """

    min_singular: float
    min_ratio: float
    invertible: bool


def invertibility(encoder: Encoder, rng=None, n_points: int = 2048, tol: float = 1e-6) -> Invertibility:
    """Sample the cube [-1/2, 1/2]^D (widened by the noise: [-1, 1]^D) and test f for injectivity.

    A numerical test, not a proof: f may fail between sampled points. ``tol`` is relative to
    the largest singular value / ratio seen, so it does not depend on the encoder's scale.
    """
    n_points = check_positive_int("n_points", n_points, 2)
    rng = as_generator(rng)
    x = rng.uniform(-1.0, 1.0, size=(n_points, encoder.D))
    s = np.linalg.svd(encoder_jacobian(encoder, x), compute_uv=False)
    # partners: random points, and the antipodes -x (a square layer with zero biases is even)
    y = np.concatenate([rng.uniform(-1.0, 1.0, size=(n_points, encoder.D)), -x])
    x2 = np.concatenate([x, x])
    ratio = np.linalg.norm(encode(encoder, x2) - encode(encoder, y), axis=1) / np.linalg.norm(x2 - y, axis=1)
    min_s, min_r = float(s[:, -1].min()), float(ratio.min())
    ok = min_s > tol * float(s[:, 0].max()) and min_r > tol * float(ratio.max())
    return Invertibility(min_s, min_r, ok)
