"""Exact (sympy) derivations behind the numeric closed forms; the tests compare the two.

- :func:`uniform_moments`: mean and variance of U(lo, hi) by integration (1/12 for the cube's
  coordinates, 1/48 for an orthant's).
- :func:`region_moments_exact`: mean and covariance of x* uniform over a fold's region, by
  integrating over its orthant boxes (checks :func:`theory.ceilings.region_moments`).
- :func:`protocol_r2_exact`: the protocol ceiling r^2 as an expression in s^2 = sigma^2 / t.
- :func:`ar1_mean_variance_exact`: Var of the sample mean of AR(1) noise from the double sum
  (1/t^2) sum_{r,s} a^|r-s|; :func:`ar1_gls_precision_exact`: 1^T R^-1 1 from the inverse of R.
- :func:`gumbel_moments`: mean and variance of Gumbel(0, beta).
- :func:`sphere_fourth_moment`: E[u_j^2 u_k^2] for u uniform on the unit sphere in R^D.
"""
from __future__ import annotations

import functools
import itertools

import sympy as sp
from sympy.stats import ChiSquared, E, Gumbel, variance

from theory.folds import Fold

HALF = sp.Rational(1, 2)


def uniform_moments(lo, hi) -> tuple[sp.Expr, sp.Expr]:
    """(mean, variance) of U(lo, hi) by direct integration of the density 1/(hi - lo)."""
    x = sp.Symbol("x", real=True)
    lo, hi = sp.nsimplify(lo), sp.nsimplify(hi)
    mean = sp.integrate(x, (x, lo, hi)) / (hi - lo)
    second = sp.integrate(x**2, (x, lo, hi)) / (hi - lo)
    return sp.simplify(mean), sp.simplify(second - mean**2)


def _region_boxes(fold: Fold, part: str) -> list[list[tuple]]:
    """The region as a list of boxes, each a list of D intervals (lo, hi)."""
    neg, pos = (-HALF, 0), (0, HALF)
    boxes = []
    for signs in itertools.product((0, 1), repeat=fold.D):
        if fold.scheme == "halfspace":
            keep = signs[fold.index] == (1 if part == "test" else 0)
        else:
            index = sum(bit << j for j, bit in enumerate(signs))
            keep = (index == fold.index) == (part == "test")
        if keep:
            boxes.append([pos if bit else neg for bit in signs])
    return boxes


@functools.cache
def _power_integral(p: int, lo, hi) -> sp.Expr:
    """integral_lo^hi x^p dx, exactly."""
    x = sp.Symbol("x", real=True)
    return sp.integrate(x**p, (x, lo, hi))


def region_moments_exact(fold: Fold, part: str) -> tuple[sp.Matrix, sp.Matrix]:
    """Mean (D x 1) and covariance (D x D) of x* uniform over a fold's region, exactly.

    Each moment is integrated over every orthant box of the region; over a box the integral of
    a monomial prod_j x_j^p_j factorises into 1-D integrals.
    """
    boxes = _region_boxes(fold, part)

    def integral(powers):
        return sum(sp.prod([_power_integral(p, lo, hi) for p, (lo, hi) in zip(powers, box)]) for box in boxes)

    def unit(*axes):
        return [sum(1 for a in axes if a == j) for j in range(fold.D)]

    volume = integral(unit())
    m = sp.Matrix([integral(unit(j)) / volume for j in range(fold.D)])
    second = sp.Matrix(fold.D, fold.D, lambda j, k: integral(unit(j, k)) / volume)
    return m, second - m * m.T


def protocol_r2_exact(fold: Fold, normalisation: str = "fullrange") -> tuple[sp.Symbol, sp.Expr]:
    """r^2 of the protocol's least-squares decoder as an exact function of s2 = sigma^2 / t.

    A = S (S + s2 I)^-1; test MSE = tr[(I - A)(S_q + d d^T)(I - A)^T] + s2 tr(A A^T),
    pooled over coordinates and divided by 1/12 (``fullrange``) or the held-out variance.

    Returns
    -------
    (s2, r2) : the symbol and the expression
    """
    s2 = sp.Symbol("s2", positive=True)
    m, S = region_moments_exact(fold, "train")
    mq, Sq = region_moments_exact(fold, "test")
    eye = sp.eye(fold.D)
    A = S * (S + s2 * eye).inv()
    d = mq - m
    mse = ((eye - A) * (Sq + d * d.T) * (eye - A).T).trace() + s2 * (A * A.T).trace()
    ref = uniform_moments(-HALF, HALF)[1] if normalisation == "fullrange" else Sq.trace() / fold.D
    return s2, sp.cancel(sp.together(1 - mse / fold.D / ref))


def ar1_mean_variance_exact(t: int) -> tuple[sp.Symbol, sp.Expr]:
    """Var of the sample mean of t stationary AR(1) samples (sd 1): (1/t^2) sum_{r,s} a^|r-s|."""
    a = sp.Symbol("a", real=True)
    return a, sp.expand(sum(a ** abs(r - s) for r in range(t) for s in range(t)) / sp.Integer(t) ** 2)


def ar1_gls_precision_exact(t: int) -> tuple[sp.Symbol, sp.Expr]:
    """1^T R^-1 1 for the AR(1) correlation matrix R_rs = a^|r-s| of size t (GLS precision, sd 1)."""
    a = sp.Symbol("a", real=True)
    R = sp.Matrix(t, t, lambda r, s: a ** abs(r - s))
    ones = sp.ones(t, 1)
    return a, sp.simplify((ones.T * R.inv() * ones)[0, 0])


def gumbel_moments() -> tuple[sp.Symbol, sp.Expr, sp.Expr]:
    """(beta, mean, variance) of Gumbel(location 0, scale beta): gamma_E beta and pi^2 beta^2 / 6."""
    beta = sp.Symbol("beta", positive=True)
    g = Gumbel("g", beta, 0)
    return beta, sp.simplify(E(g)), sp.simplify(variance(g))


def sphere_fourth_moment(D: int) -> sp.Expr:
    """E[u_1^2 u_2^2] for u uniform on the unit sphere in R^D.

    With g ~ N(0, I_D), g = |g| u and |g| independent of u, so
    E[g_1^2 g_2^2] = 1 = E[|g|^4] E[u_1^2 u_2^2], and |g|^2 ~ chi^2_D.
    """
    return sp.simplify(1 / E(ChiSquared("c", D) ** 2))
