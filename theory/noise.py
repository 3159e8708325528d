"""Evidence-noise models of docs/theory.md §4 and the estimators of x* that go with them.

Evidence X(s) = x* + eps(s), s = 1..T, with eps from one of four models (per coordinate j,
coordinates independent):

- ``gaussian``:    eps_j(s) ~ N(0, sigma^2) i.i.d. (sigma a scalar);
- ``anisotropic``: eps_j(s) ~ N(0, sigma_j^2) i.i.d. (one sd per coordinate);
- ``ar1``:         eps_j(s) = a eps_j(s-1) + sqrt(1 - a^2) sigma_j xi(s), eps_j(1) ~ N(0, sigma_j^2),
                   a stationary AR(1) process with sd sigma_j and lag-k correlation a^k;
- ``gumbel``:      eps_j(s) ~ Gumbel(0, beta = sigma_j) i.i.d., mean gamma_E beta, variance
                   pi^2 beta^2 / 6.

Estimators, for every prefix length t = 1..T at once (shape (n_trials, T, D)):

- ``mean``: the sample mean minus the known noise mean, mu(t) = (1/t) sum_{s<=t} X(s) - E[eps];
  for Gaussian noise this is the MLE of docs/theory.md §2.
- ``gls``: the best linear unbiased (generalised least squares) estimator under AR(1) noise,
  mu(t) = 1^T R^-1 X / 1^T R^-1 1 with R_rs = a^|r-s|. R^-1 is tridiagonal, which gives
  mu(t) = [X(1) + X(t) + (1 - a) sum_{1<s<t} X(s)] / [2 + (t - 2)(1 - a)]   (t >= 2),
  Var = sigma^2 (1 + a) / (t (1 - a) + 2 a)   (confirmed symbolically in :mod:`theory.symbolic`).
- ``posterior``: the posterior mean of x* under a flat prior, the optimal agent's estimate for
  every kind: the sample mean for ``gaussian`` and ``anisotropic`` noise, GLS for ``ar1`` (Gaussian
  likelihoods: posterior mean = GLS), and for ``gumbel``, per coordinate with beta = sigma_j,
      log p(x | X(1..t)) = t x / beta - e^(x / beta) S(t) + const,   S(t) = sum_{s<=t} e^(-X(s) / beta),
  so W = S e^(x / beta) ~ Gamma(t, 1) a posteriori and x = beta (log W - log S):
      mu(t) = beta [psi(t) - log S(t)],   posterior variance beta^2 psi'(t)
  (psi the digamma function). Over repeated trials e^(-X(s) / beta) = e^(-x* / beta) E(s) with
  E(s) ~ Exp(1), so mu(t) - x* = beta [psi(t) - log Gamma(t, 1)]: unbiased, with variance
  beta^2 psi'(t) <= pi^2 beta^2 / (6 t) (equal at t = 1, where mu(1) = X(1) - gamma_E beta). S is
  a complete sufficient statistic, so mu(t) is the minimum-variance unbiased estimator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter
from scipy.special import polygamma, psi

from theory.world import as_generator, check_positive_int, check_sigma

NOISE_KINDS = ("gaussian", "anisotropic", "ar1", "gumbel")
ESTIMATORS = ("mean", "gls", "posterior")


@dataclass(frozen=True)
class NoiseModel:
    """Per-step evidence noise.

    Attributes
    ----------
    kind : one of :data:`NOISE_KINDS`
    sigma : ndarray, shape (D,), per-coordinate sd (gaussian, anisotropic, ar1: stationary sd)
        or Gumbel scale beta (gumbel); latent units
    a : AR(1) coefficient in (-1, 1); 0 for the other kinds
    """

    kind: str
    sigma: np.ndarray
    a: float = 0.0

    @property
    def D(self) -> int:
        return self.sigma.shape[0]

    @property
    def mean(self) -> np.ndarray:
        """E[eps_j], shape (D,): gamma_E beta_j for Gumbel noise, else 0."""
        if self.kind == "gumbel":
            return np.euler_gamma * self.sigma
        return np.zeros(self.D)

    @property
    def step_variance(self) -> np.ndarray:
        """Var(eps_j(s)), shape (D,): pi^2 beta^2 / 6 for Gumbel noise, else sigma_j^2."""
        if self.kind == "gumbel":
            return np.pi**2 * self.sigma**2 / 6.0
        return self.sigma**2


def make_noise(kind: str, sigma, D: int, a: float = 0.0) -> NoiseModel:
    """Validate and build a :class:`NoiseModel`.

    ``sigma`` is a scalar (broadcast to all D coordinates) or shape (D,); ``anisotropic`` needs
    the latter. ``a`` is used only by ``ar1`` and must lie in (-1, 1).

    Examples
    --------
    >>> make_noise("anisotropic", [0.2, 0.4], D=2).step_variance.round(2).tolist()
    [0.04, 0.16]
    """
    if kind not in NOISE_KINDS:
        raise ValueError(f"noise={kind!r} must be one of {NOISE_KINDS}")
    D = check_positive_int("D", D)
    s = check_sigma(sigma, D, allow_zero=False)
    if kind == "anisotropic" and s.ndim == 0:
        raise ValueError(f"noise='anisotropic' needs one sigma per coordinate (shape ({D},)); got sigma={sigma!r}")
    if kind == "gaussian" and s.ndim == 1 and not np.all(s == s[0]):
        raise ValueError(f"noise='gaussian' is isotropic; sigma={sigma!r} differs across coordinates "
                         "(use noise='anisotropic')")
    a = float(a)
    if kind == "ar1" and not -1.0 < a < 1.0:
        raise ValueError(f"ar1 coefficient a={a!r} must lie in (-1, 1) for a stationary process")
    if kind != "ar1" and a != 0.0:
        raise ValueError(f"a={a!r} is only meaningful for noise='ar1' (got noise={kind!r})")
    sig = np.broadcast_to(s, (D,)).copy()
    sig.flags.writeable = False
    return NoiseModel(kind=kind, sigma=sig, a=a)


def sample_noise(model: NoiseModel, rng, n_trials: int, T: int) -> np.ndarray:
    """Draw eps(s), s = 1..T, for each trial.

    Returns
    -------
    eps : ndarray, shape (n_trials, T, D)
    """
    n_trials = check_positive_int("n_trials", n_trials)
    T = check_positive_int("T", T)
    rng = as_generator(rng)
    shape = (n_trials, T, model.D)
    if model.kind == "gumbel":
        return rng.gumbel(0.0, 1.0, size=shape) * model.sigma
    xi = rng.standard_normal(shape)
    if model.kind != "ar1":
        return xi * model.sigma
    # Innovations: the first step has the stationary sd, later ones sqrt(1 - a^2) of it, so the
    # filter eps(s) = a eps(s-1) + w(s) starts and stays stationary.
    scale = np.full(T, np.sqrt(1.0 - model.a**2))
    scale[0] = 1.0
    w = xi * scale[:, None] * model.sigma
    return lfilter([1.0], [1.0, -model.a], w, axis=1)


def estimate(model: NoiseModel, X: np.ndarray, estimator: str = "mean") -> np.ndarray:
    """The estimate of x* from X(1..t), for every t = 1..T (see the module docstring).

    Parameters
    ----------
    X : ndarray, shape (n_trials, T, D), evidence
    estimator : ``"mean"`` (any noise), ``"gls"`` (``ar1`` only) or ``"posterior"`` (any noise:
        the flat-prior posterior mean, the optimal agent's estimate)

    Returns
    -------
    mu : ndarray, shape (n_trials, T, D)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 3 or X.shape[2] != model.D:
        raise ValueError(f"X must have shape (n_trials, T, D={model.D}); got shape {X.shape}")
    _check_estimator(model, estimator)
    if estimator == "posterior":
        estimator = {"ar1": "gls", "gumbel": "gumbel"}.get(model.kind, "mean")
    t = np.arange(1, X.shape[1] + 1, dtype=float)[:, None]
    csum = np.cumsum(X, axis=1)
    if estimator == "mean":
        return csum / t - model.mean
    if estimator == "gumbel":
        return _gumbel_posterior_mean(model.sigma, X, csum / t)
    # GLS: ends weigh 1, interior samples weigh (1 - a).
    a = model.a
    interior = csum - X[:, :1] - X  # sum_{1<s<t} X(s) (meaningless for t = 1, masked below)
    gls = (X[:, :1] + X + (1.0 - a) * interior) / (2.0 + (t - 2.0) * (1.0 - a))
    gls[:, 0] = X[:, 0]
    return gls


def _gumbel_posterior_mean(beta: np.ndarray, X: np.ndarray, sample_mean: np.ndarray) -> np.ndarray:
    """beta [psi(t) - log S(t)], log S(t) = logsumexp_{s<=t}(-X(s) / beta), for every t.

    A coordinate with beta = 0 (noiseless evidence, as :func:`nets.trials.noise_model` allows)
    sees x* itself at every step; its estimate is the sample mean.
    """
    t = np.arange(1, X.shape[1] + 1, dtype=float)[:, None]
    noisy = beta > 0
    safe = np.where(noisy, beta, 1.0)
    # running log-sum-exp: stable for any |X| / beta (no overflow of e^(-X / beta))
    log_s = np.logaddexp.accumulate(-X / safe, axis=1)
    return np.where(noisy, safe * (psi(t) - log_s), sample_mean)


def estimator_variance(model: NoiseModel, t, estimator: str = "mean") -> np.ndarray:
    """Var(mu_j(t) - x*_j) of an estimator, per coordinate, in closed form.

    - mean, i.i.d. noise: Var(eps_j) / t;
    - mean, AR(1): (sigma_j^2 / t) [1 + 2 sum_{k=1}^{t-1} (1 - k/t) a^k];
    - gls, AR(1): sigma_j^2 (1 + a) / (t (1 - a) + 2 a);
    - posterior: the mean's for gaussian and anisotropic noise, GLS's for AR(1), and
      beta_j^2 psi'(t) for Gumbel noise (also the flat-prior posterior variance).

    Parameters
    ----------
    t : int or ndarray of ints >= 1, shape (...)

    Returns
    -------
    v : ndarray, shape (..., D)

    Examples
    --------
    >>> m = make_noise("ar1", 0.2, D=1, a=0.0)
    >>> bool(np.isclose(estimator_variance(m, 4)[0], 0.2**2 / 4))   # a = 0: i.i.d. samples
    True
    """
    _check_estimator(model, estimator)
    t = _check_t(t)
    if estimator == "posterior":
        if model.kind == "gumbel":
            return model.sigma**2 * polygamma(1, t)[..., None]
        estimator = "gls" if model.kind == "ar1" else "mean"
    if model.kind != "ar1":
        return model.step_variance / t[..., None]
    a = model.a
    if estimator == "gls":
        gain = (1.0 + a) / (t * (1.0 - a) + 2.0 * a)
        return model.sigma**2 * gain[..., None]
    # sum_{k=1}^{t-1} (1 - k/t) a^k in closed form (geometric sums), valid for |a| < 1:
    # sum_{k=1}^{t-1} a^k = a (1 - a^(t-1)) / (1 - a);
    # sum_{k=1}^{t-1} k a^k = a (1 - t a^(t-1) + (t-1) a^t) / (1 - a)^2.
    s0 = a * (1.0 - a ** (t - 1)) / (1.0 - a)
    s1 = a * (1.0 - t * a ** (t - 1) + (t - 1) * a**t) / (1.0 - a) ** 2
    factor = 1.0 + 2.0 * (s0 - s1 / t)
    return model.sigma**2 * (factor / t)[..., None]


def _check_estimator(model: NoiseModel, estimator: str) -> None:
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator={estimator!r} must be one of {ESTIMATORS}")
    if estimator == "gls" and model.kind != "ar1":
        raise ValueError(f"estimator='gls' is defined for noise='ar1' only (got noise={model.kind!r})")


def _check_t(t) -> np.ndarray:
    t_arr = np.asarray(t)
    if t_arr.size == 0 or not np.issubdtype(t_arr.dtype, np.number) or np.any(~np.isfinite(t_arr)) \
            or np.any(t_arr < 1) or np.any(t_arr != np.round(t_arr)):
        raise ValueError(f"t={t!r} must be integers >= 1 (numbers of evidence samples)")
    return t_arr.astype(float)
