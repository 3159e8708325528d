"""The optimal agent's running estimate of x*, matched to the evidence noise (docs/theory.md §2).

Under i.i.d. isotropic Gaussian noise the sufficient statistic is the sample mean (:func:`optimal.agent.running_mle`).
Under the other noise models of :mod:`theory.noise` the optimal agent keeps the flat-prior posterior
mean of x* instead (``estimator="posterior"`` of :func:`theory.noise.estimate`):

- ``anisotropic`` (sd sigma_d = sigma s_d, s = ``aniso_scales``): the sample mean, with variance
  sigma_d^2 / t per axis;
- ``ar1`` (stationary sd sigma, coefficient ``ar1_a``): the GLS estimate, variance
  sigma^2 (1 + a) / (t (1 - a) + 2 a), below the sample mean's;
- ``gumbel`` (scale beta = sigma): beta [psi(t) - log sum_{s<=t} e^(-X(s) / beta)], unbiased, variance
  beta^2 psi'(t); the sample mean is biased by gamma_E beta and its bias-corrected version
  (``estimator="mean"``) has the larger variance pi^2 beta^2 / (6 t). The agent uses the posterior mean:
  it is a function of the complete sufficient statistic sum_s e^(-X(s) / beta), hence the minimum-variance
  unbiased estimator, and the mean of the posterior its outputs integrate over.

Each estimate mu(t) is x* plus an error of known per-axis variance v(t) that does not depend on x*, so the
optimal output is
    Yhat_i(t) = Phi(z_i),   z_i = (c_i . mu(t) + b_i) / sqrt(sum_d c_id^2 v_d(t))
(exact for the Gaussian kinds; for Gumbel noise the posterior is a log-gamma, not a normal, and this is
its normal approximation: exact outputs in :mod:`optimal.gumbel`). With the per-axis *matched sd*
sigma_d = sqrt(t v_d(t)), z is the usual
sqrt(t) (c_i . mu + b_i) / s_i of :func:`optimal.agent.optimal_probits`, so every function that takes
``(sigma, t)`` -- :func:`optimal.trilateration.recover_mu_from_probits`, :func:`analysis.calibration.calibrate`
-- serves every noise model when given ``matched_sigma(v, t)``.
"""
from __future__ import annotations

import numpy as np

from infra.validate import float_array
from theory.designs import Design, check_design
from theory.noise import NoiseModel, estimate, estimator_variance, make_noise

#: The optimal agent's estimator for every noise kind: the flat-prior posterior mean.
MATCHED_ESTIMATOR = "posterior"


def noise_model(noise: str, sigma, D: int, aniso_scales=None, ar1_a=None) -> NoiseModel:
    """The :class:`theory.noise.NoiseModel` named by a kind and its parameters.

    Parameters
    ----------
    noise : ``"gaussian"``, ``"anisotropic"``, ``"ar1"`` or ``"gumbel"``
    sigma : float > 0, the per-step sd (stationary sd for ``ar1``, Gumbel scale beta for ``gumbel``);
        or shape (D,) for ``anisotropic`` without ``aniso_scales``
    aniso_scales : sequence of D numbers > 0, per-axis sd multipliers (``anisotropic`` only):
        sd sigma * aniso_scales[d]
    ar1_a : AR(1) coefficient in (-1, 1), required for ``ar1`` and only there

    Examples
    --------
    >>> noise_model("anisotropic", 0.2, 2, aniso_scales=(1, 2)).sigma.tolist()
    [0.2, 0.4]
    """
    if aniso_scales is not None:
        if noise != "anisotropic":
            raise ValueError(f"aniso_scales={aniso_scales!r} is only meaningful for noise='anisotropic' "
                             f"(got noise={noise!r})")
        scales = float_array("aniso_scales", aniso_scales)
        if scales.shape != (D,) or np.any(scales <= 0):
            raise ValueError(f"aniso_scales={aniso_scales!r} must be D={D} numbers > 0")
        if np.ndim(sigma) != 0:
            raise ValueError(f"sigma={sigma!r} must be a scalar when aniso_scales is given")
        sigma = float(sigma) * scales
    if ar1_a is None and noise == "ar1":
        raise ValueError("noise='ar1' needs its coefficient ar1_a in (-1, 1)")
    if ar1_a is not None and noise != "ar1":
        raise ValueError(f"ar1_a={ar1_a!r} is only meaningful for noise='ar1' (got noise={noise!r})")
    return make_noise(noise, sigma, D, 0.0 if ar1_a is None else ar1_a)


def running_estimate(evidence, noise, sigma=None, *, aniso_scales=None, ar1_a=None,
                     estimator: str = MATCHED_ESTIMATOR) -> tuple[np.ndarray, np.ndarray]:
    """The optimal agent's estimate of x* after every step, and its per-axis error variance.

    Parameters
    ----------
    evidence : ndarray, shape (..., T, D), X(s) = x* + eps(s), s = 1..T
    noise : a noise kind (then ``sigma``, ``aniso_scales``, ``ar1_a`` as in :func:`noise_model`) or a
        :class:`theory.noise.NoiseModel` (then none of them; e.g. ``TrainConfig.noise_model(k)``,
        whose sd may be 0 for noiseless trials)
    estimator : ``"posterior"`` (default: the matched estimate), ``"mean"`` (the sample mean minus
        the noise mean: bias-corrected for Gumbel noise) or ``"gls"`` (``ar1`` only)

    Returns
    -------
    mu : ndarray, shape (..., T, D), mu[..., t - 1, :] the estimate from X(1..t)
    var : ndarray, shape (T, D), Var(mu_d(t) - x*_d), the same for every trial
    """
    X = float_array("evidence", evidence)
    if X.ndim < 2:
        raise ValueError(f"evidence must have shape (..., T, D); got shape {X.shape}")
    D, T = X.shape[-1], X.shape[-2]
    if isinstance(noise, NoiseModel):
        if sigma is not None or aniso_scales is not None or ar1_a is not None:
            raise ValueError("noise is a NoiseModel: sigma, aniso_scales and ar1_a come from it and must be None")
        model = noise
    else:
        if sigma is None:
            raise ValueError(f"noise={noise!r} needs sigma")
        model = noise_model(noise, sigma, D, aniso_scales, ar1_a)
    if model.D != D:
        raise ValueError(f"evidence has D={D}; the noise model has D={model.D}")
    if T < 1:
        raise ValueError(f"evidence must hold at least one step; got shape {X.shape}")
    mu = estimate(model, X.reshape(-1, T, D), estimator).reshape(X.shape)
    return mu, estimator_variance(model, np.arange(1, T + 1), estimator)


def matched_sigma(var, t) -> np.ndarray:
    """The per-axis sd sigma_d = sqrt(t v_d) that makes sigma_d^2 / t the estimate's variance.

    Pass it as ``sigma`` (with the same ``t``) to :func:`optimal.agent.optimal_probits`,
    :func:`optimal.trilateration.recover_mu_from_probits` or :func:`analysis.calibration.calibrate`.

    Parameters
    ----------
    var : ndarray, shape (..., D), >= 0
    t : number of samples, > 0, broadcastable to ``var.shape[:-1]``

    Returns
    -------
    sigma : ndarray, shape (..., D)
    """
    var = float_array("var", var, min_ndim=1)
    t = float_array("t", t)
    if np.any(var < 0):
        raise ValueError(f"var={var!r} must be >= 0")
    if np.any(t <= 0):
        raise ValueError(f"t={t!r} must be > 0")
    return np.sqrt(t[..., None] * var)


def matched_probits(mu, var, design: Design) -> np.ndarray:
    """z_i = (c_i . mu + b_i) / sqrt(sum_d c_id^2 v_d), the probits of the optimal outputs.

    Parameters
    ----------
    mu : ndarray, shape (..., D), the matched estimate (:func:`running_estimate`)
    var : ndarray, shape broadcastable to ``mu``'s, > 0, its per-axis error variance

    Returns
    -------
    z : ndarray, shape (..., N); outputs Phi(z), see :func:`optimal.agent.log_outputs`
    """
    check_design(design)
    mu = float_array("mu", mu, min_ndim=1, last_dim=design.D, last_name="D")
    var = float_array("var", var, min_ndim=1, last_dim=design.D, last_name="D")
    if np.any(var <= 0):
        raise ValueError(f"var={var!r} must be > 0 (zero variance leaves the outputs 0/1, with no probit)")
    return (mu @ design.C.T + design.b) / np.sqrt(var @ (design.C**2).T)
