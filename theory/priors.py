"""Latent priors: the uniform cube and the Gaussian-copula prior of the correlated-latents variant.

- :class:`UniformPrior`: x* ~ U([-1/2, 1/2]^D), the prior of Theorem 3.1 (paper section 3).
- :class:`CopulaPrior` (paper Fig. S3b): x* = Phi(z) - 1/2, z ~ N(0, [[1, rho], [rho, 1]]).
  Each marginal stays U(-1/2, 1/2) (Phi(z_j) is uniform), but the factors are correlated:

      corr(x1, x2) = 12 E[Phi(z1) Phi(z2)] - 3 = (6/pi) arcsin(rho/2)

  (Pearson's 1907 identity for the Spearman correlation of a bivariate normal). Phi - 1/2 is
  increasing and maps 0 to 0, so x* lies in the quadrant of z: sign(x*_j) = sign(z_j), and the
  quadrant probabilities are Sheppard's P(z1 > 0, z2 > 0) = 1/4 + arcsin(rho) / (2 pi).

Every sampler takes a numpy Generator (or a seed) and is vectorised over trials; restricted draws
(:func:`sample_region`, e.g. the three training quadrants of a fold) are exact: fold sampling
for the uniform prior, batched rejection for the copula prior (the loop runs over batches of
draws, never over trials).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from theory.folds import Fold
from theory.world import LATENT_VARIANCE, as_generator, check_positive_int, sample_latents

PRIORS = ("uniform", "copula")

#: Rejection batches draw this many times the expected number needed (plus a margin), so one
#: batch almost always suffices; a shortfall only triggers another batch.
_OVERSAMPLE = 1.25


@dataclass(frozen=True)
class UniformPrior:
    """x* ~ U([-1/2, 1/2]^D): independent factors, corr(x_i, x_j) = 0."""

    D: int = 2

    def __post_init__(self):
        check_positive_int("D", self.D)

    @property
    def factor_correlation(self) -> float:
        return 0.0

    def covariance(self) -> np.ndarray:
        """Cov(x*) = I / 12, shape (D, D)."""
        return LATENT_VARIANCE * np.eye(self.D)

    def sample(self, rng, n: int) -> np.ndarray:
        """n draws, shape (n, D)."""
        return sample_latents(rng, n, self.D)


@dataclass(frozen=True)
class CopulaPrior:
    """x* = Phi(z) - 1/2, z ~ N(0, [[1, rho], [rho, 1]]) (D = 2), |rho| < 1."""

    rho: float = 0.0

    def __post_init__(self):
        if not (isinstance(self.rho, (int, float)) and np.isfinite(self.rho) and -1.0 < self.rho < 1.0):
            raise ValueError(f"rho={self.rho!r} must be a finite number with -1 < rho < 1")

    D = 2

    @property
    def factor_correlation(self) -> float:
        """corr(x1, x2) = (6/pi) arcsin(rho/2)."""
        return factor_correlation(self.rho)

    def covariance(self) -> np.ndarray:
        """Cov(x*) = (1/12) [[1, r], [r, 1]], r = (6/pi) arcsin(rho/2), shape (2, 2)."""
        r = self.factor_correlation
        return LATENT_VARIANCE * np.array([[1.0, r], [r, 1.0]])

    def sample(self, rng, n: int) -> np.ndarray:
        """n draws, shape (n, 2): z1 = g1, z2 = rho g1 + sqrt(1 - rho^2) g2, x* = Phi(z) - 1/2."""
        n = check_positive_int("n", n)
        g = as_generator(rng).standard_normal((n, 2))
        z = np.stack([g[:, 0], self.rho * g[:, 0] + np.sqrt(1.0 - self.rho**2) * g[:, 1]], axis=1)
        return ndtr(z) - 0.5


def factor_correlation(rho) -> np.ndarray:
    """Pearson correlation of x* = Phi(z) - 1/2 when corr(z1, z2) = rho: (6/pi) arcsin(rho/2).

    Examples
    --------
    >>> float(factor_correlation(1.0))   # z1 = z2: identical factors
    1.0
    """
    rho = np.asarray(rho, dtype=float)
    if np.any(~np.isfinite(rho)) or np.any(np.abs(rho) > 1):
        raise ValueError(f"rho={rho!r} must be finite with |rho| <= 1")
    return (6.0 / np.pi) * np.arcsin(rho / 2.0)


def quadrant_probability(rho, same_sign: bool) -> np.ndarray:
    """P(x* in a quadrant) under the copula prior: 1/4 +- arcsin(rho) / (2 pi).

    ``same_sign`` quadrants (x1 x2 > 0, orthants 0 and 3) take the plus sign (Sheppard).
    """
    rho = np.asarray(rho, dtype=float)
    return 0.25 + (1.0 if same_sign else -1.0) * np.arcsin(rho) / (2.0 * np.pi)


def make_prior(kind: str, D: int = 2, rho: float = 0.0):
    """Build a named prior: ``"uniform"`` (any D) or ``"copula"`` (D = 2, correlation rho)."""
    if kind not in PRIORS:
        raise ValueError(f"prior={kind!r} must be one of {PRIORS}")
    if kind == "uniform":
        return UniformPrior(D)
    if D != 2:
        raise ValueError(f"prior='copula' needs D=2; got D={D}")
    return CopulaPrior(float(rho))


def sample_region(prior, rng, n: int, fold: Fold, part: str) -> np.ndarray:
    """n draws of x* from ``prior`` restricted to a fold's ``"train"`` or ``"test"`` region.

    Returns
    -------
    x_star : ndarray, shape (n, D)
    """
    if part not in ("train", "test"):
        raise ValueError(f"part={part!r} must be 'train' or 'test'")
    if fold.D != prior.D:
        raise ValueError(f"fold has D={fold.D}; the prior has D={prior.D}")
    rng = as_generator(rng)
    n = check_positive_int("n", n)
    if isinstance(prior, UniformPrior):
        return fold.sample(rng, n, part)
    accept = region_probability(prior, fold, part)
    kept, have = [], 0
    while have < n:
        need = n - have
        batch = prior.sample(rng, int(np.ceil(_OVERSAMPLE * need / accept)) + 64)
        inside = fold.in_test(batch) == (part == "test")
        kept.append(batch[inside])
        have += int(inside.sum())
    return np.concatenate(kept)[:n]


def region_probability(prior, fold: Fold, part: str) -> float:
    """P(x* in the fold's region) under ``prior``."""
    if isinstance(prior, UniformPrior):
        p_test = 0.5 if fold.scheme == "halfspace" else 2.0**-fold.D
    elif fold.scheme == "halfspace":
        p_test = 0.5  # each marginal is symmetric about 0
    else:
        e = 2 * ((fold.index >> np.arange(2)) & 1) - 1
        p_test = float(quadrant_probability(prior.rho, bool(e[0] == e[1])))
    return p_test if part == "test" else 1.0 - p_test
