"""The world's description: where an agent's latents live, so that no analysis assumes the toolkit's cube.

The analysis functions (:mod:`analysis.decoders`, :mod:`analysis.geometry`) work in the toolkit's own
coordinates: x* uniform on [-1/2, 1/2]^D, r^2 divided by the per-coordinate variance 1/12
(``normalisation="fullrange"``), conditions, dichotomies and out-of-distribution folds defined by the
signs of x* around 0. Latents from anywhere else enter through a :class:`Prior`, which maps them to
those canonical coordinates by one affine map per coordinate,

    x_canonical_j = (x_j - centre_j) / width_j,

and every measure is computed there. What that means for each measure:

- r^2 (``fullrange``) is 1 - MSE_canonical / (1/12) = 1 - mean_j MSE_j / (width_j^2 / 12) pooled as
  mean_j (MSE_j / width_j^2) * 12: the error of each coordinate divided by the prior's variance of that
  coordinate (width_j^2 / 12 for a box), so the score does not change when the latents are shifted or
  rescaled together with their described prior;
- conditions, dichotomies and folds are the sign regions around the prior's centre (or masks the user
  gives, :func:`splits`);
- the evidence noise sd sigma (latent units) becomes sigma_j / width_j, and a task boundary
  c . x + b = 0 becomes (c * width) . x_c + (b + c . centre) = 0 (:meth:`Prior.canonical_design`), so
  the optimal agent's probits, and every theory line, are unchanged by the map.

Three descriptions (:data:`KINDS`):

- ``box``: x* uniform on prod_j [low_j, high_j] (the toolkit's world is :func:`toolkit_prior`,
  [-1/2, 1/2]^D): centre (low + high) / 2, width high - low;
- ``copula``: :class:`theory.priors.CopulaPrior` (D = 2, uniform marginals on the box, Gaussian-copula
  correlation rho), on the box [low, high];
- ``empirical``: data without a known prior. Centre = the median of the latents, width =
  sqrt(12 Var(x_j)) from their empirical variance, so that r^2 is normalised by the *empirical* variance
  and conditions are sign regions around the *empirical median*. No theory line holds for it (they need
  the prior's shape), and :meth:`Prior.describe` says so.

Shapes, one convention everywhere: one agent (n, H), an ensemble of K agents or sessions (K, n, H),
time-resolved (K, n, T, H) (pick the time step before analysing: :func:`as_ensemble` refuses 4-D).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.decoders import DECODERS, DecoderFit, Splits, fold_splits
from infra.validate import float_array
from theory.designs import Design, make_design
from theory.folds import SCHEMES, ood_folds
from theory.priors import CopulaPrior, UniformPrior
from theory.world import LATENT_VARIANCE, check_sigma

KINDS = ("box", "copula", "empirical")
#: The toolkit's cube.
CUBE = (-0.5, 0.5)


@dataclass(frozen=True)
class Prior:
    """A description of the latents' world: the affine map to canonical coordinates and the prior's shape.

    Attributes
    ----------
    kind : one of :data:`KINDS`
    centre, width : tuples of D floats; x_canonical = (x - centre) / width
    low, high : tuples of D floats, the box (``box``, ``copula``); None for ``empirical``
    rho : the copula's latent correlation (``copula`` only)
    """

    kind: str
    centre: tuple
    width: tuple
    low: tuple | None = None
    high: tuple | None = None
    rho: float = 0.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} must be one of {KINDS}")
        c = float_array("centre", self.centre, ndim=1)
        w = float_array("width", self.width, ndim=1)
        if c.shape != w.shape or c.size < 1:
            raise ValueError(f"centre and width must both have shape (D,); got {c.shape} and {w.shape}")
        if np.any(w <= 0):
            raise ValueError(f"width={tuple(w.tolist())} must be > 0 in every coordinate")
        object.__setattr__(self, "centre", tuple(c.tolist()))
        object.__setattr__(self, "width", tuple(w.tolist()))

    @property
    def D(self) -> int:
        return len(self.centre)

    @property
    def variance(self) -> np.ndarray:
        """The per-coordinate variance r^2 is normalised by, width^2 / 12, shape (D,)."""
        return np.asarray(self.width) ** 2 * LATENT_VARIANCE

    def to_canonical(self, x) -> np.ndarray:
        """(x - centre) / width on the last axis. x : (..., D) -> (..., D)."""
        x = float_array("latents", x, min_ndim=1, last_dim=self.D, last_name="D")
        return (x - np.asarray(self.centre)) / np.asarray(self.width)

    def canonical_sigma(self, sigma) -> np.ndarray:
        """Per-step noise sd in canonical units, sigma_j / width_j, shape (D,)."""
        s = check_sigma(sigma, self.D)
        return np.broadcast_to(s, (self.D,)) / np.asarray(self.width)

    def canonical_design(self, C, b=None) -> Design:
        """The boundaries c . x + b = 0 in canonical coordinates: C diag(width), b + C centre."""
        design = make_design(C, b)
        if design.D != self.D:
            raise ValueError(f"C must have shape (N, D={self.D}); got shape {design.C.shape}")
        return make_design(design.C * np.asarray(self.width), design.b + design.C @ np.asarray(self.centre))

    def outside(self, x) -> np.ndarray:
        """Mask of latents outside the box, shape x.shape[:-1] (all False for ``empirical``)."""
        x = np.asarray(x, dtype=float)
        if self.low is None:
            return np.zeros(x.shape[:-1], dtype=bool)
        return np.any((x < np.asarray(self.low)) | (x > np.asarray(self.high)), axis=-1)

    def theory_prior(self):
        """The prior of the theory lines in canonical coordinates: UniformPrior, CopulaPrior, or None (empirical)."""
        if self.kind == "box":
            return UniformPrior(self.D)
        if self.kind == "copula":
            return CopulaPrior(self.rho)
        return None

    def describe(self) -> str:
        """One line for reports: what the latents were taken to be and how r^2 is normalised."""
        fmt = lambda v: "(" + ", ".join(f"{a:.4g}" for a in v) + ")"  # noqa: E731
        if self.kind == "empirical":
            return (f"empirical: no prior described; centred on the latents' median {fmt(self.centre)}, r^2 "
                    f"normalised by their empirical variance {fmt(self.variance)}; no theory line applies")
        shape = "uniform" if self.kind == "box" else f"Gaussian copula rho={self.rho:g}, uniform marginals"
        return (f"{self.kind}: {shape} on [{fmt(self.low)}, {fmt(self.high)}]; r^2 normalised by the prior's "
                f"variance {fmt(self.variance)}; conditions and folds around its centre {fmt(self.centre)}")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "centre": list(self.centre), "width": list(self.width),
                "low": None if self.low is None else list(self.low),
                "high": None if self.high is None else list(self.high), "rho": float(self.rho),
                "description": self.describe()}


def box_prior(low, high) -> Prior:
    """x* uniform on the box prod_j [low_j, high_j]; low, high : (D,) with low < high."""
    lo = float_array("prior_low", low, ndim=1)
    hi = float_array("prior_high", high, ndim=1)
    if lo.shape != hi.shape or lo.size < 1:
        raise ValueError(f"prior_low and prior_high must both have shape (D,); got {lo.shape} and {hi.shape}")
    if np.any(hi <= lo):
        raise ValueError(f"prior_high={tuple(hi.tolist())} must exceed prior_low={tuple(lo.tolist())} in every "
                         "coordinate")
    return Prior("box", tuple(((lo + hi) / 2).tolist()), tuple((hi - lo).tolist()), tuple(lo.tolist()),
                 tuple(hi.tolist()))


def toolkit_prior(D: int) -> Prior:
    """The toolkit's world, x* ~ U([-1/2, 1/2]^D): the identity map."""
    UniformPrior(D)   # validates D
    return box_prior(np.full(D, CUBE[0]), np.full(D, CUBE[1]))


def copula_prior(rho: float, low=CUBE[:1] * 2, high=CUBE[1:] * 2) -> Prior:
    """:class:`theory.priors.CopulaPrior` (D = 2) with its uniform marginals on the box [low, high]."""
    CopulaPrior(rho)  # validates rho
    box = box_prior(low, high)
    if box.D != 2:
        raise ValueError(f"the copula prior needs D=2; got prior_low of shape ({box.D},)")
    return Prior("copula", box.centre, box.width, box.low, box.high, float(rho))


def empirical_prior(latents) -> Prior:
    """Centre = the latents' median, width = sqrt(12 Var) (pooled over every leading axis): for data without a prior.

    latents : (..., n, D), at least 2 distinct values per coordinate.
    """
    x = float_array("latents", latents, min_ndim=2)
    flat = x.reshape(-1, x.shape[-1])
    var = flat.var(axis=0)
    if np.any(var <= 0):
        raise ValueError(f"latents must vary in every coordinate for an empirical description; variance {var}")
    return Prior("empirical", tuple(np.median(flat, axis=0).tolist()), tuple(np.sqrt(var / LATENT_VARIANCE).tolist()))


def as_ensemble(states, name: str = "states") -> tuple[np.ndarray, str]:
    """States as an ensemble (K, n, H), and which convention they came in.

    Parameters
    ----------
    states : ndarray, shape (n, H) (one agent) or (K, n, H) (K agents, networks or sessions)

    Returns
    -------
    states : ndarray, shape (K, n, H) (K = 1 for one agent)
    layout : ``"one agent"`` or ``"ensemble"``

    Examples
    --------
    >>> s, layout = as_ensemble(np.zeros((5, 3)))
    >>> s.shape, layout
    ((1, 5, 3), 'one agent')
    """
    s = np.asarray(states)
    if s.ndim == 2:
        return s[None].astype(float), "one agent"
    if s.ndim == 3:
        return s.astype(float), "ensemble"
    hint = "; time-resolved states (K, n, T, H): select the decision step first" if s.ndim == 4 else ""
    raise ValueError(f"{name} must have shape (n, H) or (K, n, H); got shape {s.shape}{hint}")


def as_latents(latents, K: int, n: int, D: int | None = None, name: str = "latents") -> np.ndarray:
    """Latents (n, D) shared by K agents, or (K, n, D) one set per agent, as (K, n, D)."""
    given = np.asarray(latents, dtype=float)
    x = np.broadcast_to(given, (K,) + given.shape) if given.ndim == 2 else given
    if x.ndim != 3 or x.shape[:2] != (K, n) or (D is not None and x.shape[2] != D):
        d = "D" if D is None else D
        raise ValueError(f"{name} must have shape (n={n}, {d}) or (K={K}, n={n}, {d}); got shape {given.shape}")
    return x


def splits(x_canonical, folds=None) -> Splits:
    """Out-of-distribution folds in canonical coordinates, as :class:`analysis.decoders.Splits`.

    Parameters
    ----------
    x_canonical : ndarray (K, n, D)
    folds : None or a scheme name (``"auto"``, ``"orthant"``, ``"halfspace"``: sign regions around the prior's centre,
        :func:`theory.folds.ood_folds`), a list of :class:`theory.folds.Fold`, or the user's own held-out masks,
        bool (F, n) or (F, K, n): fold f trains on the trials outside its mask and tests on those inside
    """
    x = np.asarray(x_canonical, dtype=float)
    if folds is None or isinstance(folds, str):
        if isinstance(folds, str) and folds not in ("auto",) + SCHEMES:
            raise ValueError(f"folds={folds!r} must be 'auto', one of {SCHEMES}, a list of Fold, or boolean masks")
        return fold_splits(x, ood_folds(x.shape[-1], folds or "auto"))
    if isinstance(folds, (list, tuple)) and folds and not isinstance(folds[0], (np.ndarray, list, tuple)):
        return fold_splits(x, folds)
    m = np.asarray(folds)
    if m.dtype != bool or m.ndim not in (2, 3) or m.shape[-1] != x.shape[1] or (m.ndim == 3 and m.shape[1] !=
                                                                                   x.shape[0]):
        raise ValueError(f"folds must be boolean held-out masks of shape (F, n={x.shape[1]}) or (F, K={x.shape[0]}, "
                         f"n={x.shape[1]}); got dtype {m.dtype}, shape {m.shape}")
    test = np.broadcast_to(m if m.ndim == 3 else m[:, None], (m.shape[0],) + x.shape[:2])
    odd = np.arange(x.shape[1]) % 2 == 1
    for f in range(test.shape[0]):
        if np.any((test[f] & odd).sum(-1) == 0) or np.any((~test[f]).sum(-1) < 2):
            raise ValueError(f"folds[{f}] must hold out at least one odd-indexed trial and train on at least 2")
    return Splits(~test, test.copy(), test.copy(), tuple(f"mask{f}" for f in range(test.shape[0])))


def ood_r2(states, latents, prior: Prior, decoder: str = "ridge_cv", folds=None, rng=None,
           **options) -> tuple[DecoderFit, Splits]:
    """OOD r^2 of a named decoder (:data:`analysis.decoders.DECODERS`) with the world described by ``prior``.

    Parameters
    ----------
    states : (n, H) or (K, n, H); latents : (n, D) or (K, n, D), in the prior's units
    prior : :class:`Prior`; r^2 is normalised per coordinate by its variance (see the module docstring)
    folds : see :func:`splits`; rng : seed or Generator (``reference_adam`` only)
    options : passed to the decoder (e.g. ``steps`` of ``reference_adam``)

    Returns
    -------
    fit : DecoderFit with r2 (K, F); splits : the Splits it used
    """
    if decoder not in DECODERS:
        raise ValueError(f"decoder={decoder!r} must be one of {tuple(DECODERS)}")
    h, _ = as_ensemble(states)
    x = prior.to_canonical(as_latents(latents, h.shape[0], h.shape[1], prior.D))
    sp = splits(x, folds)
    return DECODERS[decoder](h, x, sp, "fullrange", rng=rng, **options), sp
