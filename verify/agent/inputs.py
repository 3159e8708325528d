"""The agent file (.npz) and its validation: every key, its shape, and a one-line error naming it.

Keys (n trials, H units, D latents, N tasks, K agents / networks / sessions; float arrays unless said):

=============  ==================  ========  ============================================================
key            shape               required  meaning
=============  ==================  ========  ============================================================
states         (n, H) or (K, n, H) yes       the agent's state at the decision step, one row per trial
latents        (n, D) or (K, n, D) yes       x* of each trial, in the user's units
sigma          () or (D,)          yes       per-step evidence noise sd the agent saw (latents' units), > 0
t              ()                  yes       evidence samples behind the decision, > 0
prior_low      (D,)                no        the prior's box, low corner (default: -1/2 each)
prior_high     (D,)                no        the prior's box, high corner (default: +1/2 each)
prior          () str              no        ``box`` (default), ``copula`` or ``empirical`` (no prior known)
rho            ()                  no        the copula's latent correlation (``prior = copula``)
outputs        (n, N) or (K, n, N) no        the agent's N task outputs: probabilities in (0, 1) or logits
outputs_kind   () str              no        ``probability`` or ``logit`` (default: probabilities when every
                                             value lies in [0, 1], else logits)
C              (N, D)              w/ out.   task boundaries c_i . x + b_i = 0 the outputs answer
b              (N,)                no        their offsets (default 0)
mu             (n, D) or (K, n, D) no        the optimal agent's mu(t), the mean evidence each trial showed
                                             (enables the calibration against the optimal agent)
folds          (F, n) bool         no        the user's held-out masks (default: sign regions around the
                                             prior's centre)
=============  ==================  ========  ============================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.prior import Prior, as_ensemble, as_latents, box_prior, copula_prior, empirical_prior, splits
from theory.designs import make_design
from verify.verdict import UsageError

KEYS = ("states", "latents", "sigma", "t", "prior_low", "prior_high", "prior", "rho", "outputs", "outputs_kind",
        "C", "b", "mu", "folds")
REQUIRED = ("states", "latents", "sigma", "t")
OUTPUT_KINDS = ("probability", "logit")


@dataclass(frozen=True)
class AgentInputs:
    """Validated arrays, agents first.

    Attributes
    ----------
    states : (K, n, H); layout : ``"one agent"`` or ``"ensemble"``; latents : (K, n, D), user units
    prior : :class:`analysis.prior.Prior`; sigma : (D,) user units; t : float
    logits : (K, n, N) or None; C, b : (N, D), (N,) or None; mu : (K, n, D) or None
    folds : bool (F, n) or None
    """

    states: np.ndarray
    layout: str
    latents: np.ndarray
    prior: Prior
    sigma: np.ndarray
    t: float
    logits: np.ndarray | None = None
    outputs_kind: str | None = None
    C: np.ndarray | None = None
    b: np.ndarray | None = None
    mu: np.ndarray | None = None
    folds: np.ndarray | None = None

    @property
    def K(self) -> int:
        return self.states.shape[0]

    @property
    def n(self) -> int:
        return self.states.shape[1]

    @property
    def D(self) -> int:
        return self.latents.shape[-1]


def _finite(key: str, a: np.ndarray) -> np.ndarray:
    try:
        a = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be an array of numbers; got dtype {np.asarray(a).dtype}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{key} must be finite; got {int((~np.isfinite(a)).sum())} NaN or inf of {a.size} values")
    return a


def _scalar(key: str, value) -> float:
    a = _finite(key, value)
    if a.ndim != 0 or not a > 0:
        raise ValueError(f"{key} must be a scalar > 0 (shape ()); got shape {a.shape}, value {a.tolist()}")
    return float(a)


def _text(key: str, value, allowed) -> str:
    v = value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value
    if v not in allowed:
        raise ValueError(f"{key} must be one of {tuple(allowed)} (a string, shape ()); got {v!r}")
    return str(v)


def logits_from_outputs(outputs: np.ndarray, kind: str) -> np.ndarray:
    """Logits log p - log(1 - p) from probabilities (strictly inside (0, 1)), or the logits unchanged."""
    if kind == "logit":
        return outputs
    if np.any(outputs <= 0) or np.any(outputs >= 1):
        raise ValueError("outputs (probabilities) must lie strictly inside (0, 1): a rounded 0 or 1 has no probit; "
                         "save logits with outputs_kind='logit'")
    return np.log(outputs) - np.log1p(-outputs)


def validate(states, latents, sigma, t, prior: Prior | None = None, outputs=None, outputs_kind=None, C=None,
             b=None, mu=None, folds=None) -> AgentInputs:
    """Check every array against the others (shapes, finiteness, the prior's box); ValueError naming the key."""
    s = _finite("states", states)
    s, layout = as_ensemble(s)
    K, n, _ = s.shape
    if n < 8:
        raise ValueError(f"states must hold at least 8 trials (n >= 8); got shape {np.shape(states)}")
    x = _finite("latents", latents)
    if x.ndim not in (2, 3):
        raise ValueError(f"latents must have shape (n={n}, D) or (K={K}, n={n}, D); got shape {x.shape}")
    x = as_latents(x, K, n)
    D = x.shape[-1]
    if D < 2:
        raise ValueError(f"latents must have D >= 2 (shape (n, D)): the headline decoder's inner folds and the "
                         f"geometry hold out regions along another coordinate; got shape {np.shape(latents)}")
    prior = box_prior(np.full(D, -0.5), np.full(D, 0.5)) if prior is None else prior
    if prior.D != D:
        raise ValueError(f"prior_low and prior_high must have shape (D={D},) (latents' D); got ({prior.D},)")
    out = prior.outside(x)
    if np.any(out):
        first = np.argwhere(out)[0]
        raise ValueError(f"latents must lie inside the prior's box [prior_low, prior_high]; {int(out.sum())} trials "
                         f"do not (first: {x[tuple(first)].tolist()}); describe the prior or use prior='empirical'")
    sig = _finite("sigma", sigma)
    if sig.ndim > 1 or (sig.ndim == 1 and sig.shape != (D,)) or np.any(sig <= 0):
        raise ValueError(f"sigma must be a scalar or shape (D={D},), every value > 0; got shape {sig.shape}, "
                         f"value {sig.tolist()}")
    t = _scalar("t", t)
    logits = kind = design_C = design_b = None
    if outputs is not None:
        o = _finite("outputs", outputs)
        if o.ndim not in (2, 3):
            raise ValueError(f"outputs must have shape (n={n}, N) or (K={K}, n={n}, N); got shape {o.shape}")
        o = as_latents(o, K, n, name="outputs")
        if C is None:
            raise ValueError(f"outputs need C, shape (N={o.shape[-1]}, D={D}): the boundaries the outputs answer")
        design_C = _finite("C", C)
        if design_C.shape != (o.shape[-1], D):
            raise ValueError(f"C must have shape (N={o.shape[-1]}, D={D}) (N = outputs' last axis); got shape "
                             f"{design_C.shape}")
        design_b = np.zeros(o.shape[-1]) if b is None else _finite("b", b)
        if design_b.shape != (o.shape[-1],):
            raise ValueError(f"b must have shape (N={o.shape[-1]},); got shape {design_b.shape}")
        make_design(design_C, design_b)
        if np.linalg.matrix_rank(design_C) < D:
            raise ValueError(f"C must have rank D={D} (Theorem 3.1: N >= D independent boundaries identify mu); got "
                             f"rank {np.linalg.matrix_rank(design_C)}")
        kind = (_text("outputs_kind", outputs_kind, OUTPUT_KINDS) if outputs_kind is not None
                else "probability" if np.all((o >= 0) & (o <= 1)) else "logit")
        logits = logits_from_outputs(o, kind)
    elif C is not None or b is not None or outputs_kind is not None:
        raise ValueError("C, b and outputs_kind describe the outputs; give outputs, shape (n, N) or (K, n, N), too")
    m = None
    if mu is not None:
        m = _finite("mu", mu)
        if m.ndim not in (2, 3):
            raise ValueError(f"mu must have shape (n={n}, D={D}) or (K={K}, n={n}, D={D}); got shape {m.shape}")
        m = as_latents(m, K, n, D, name="mu")
    f = None
    if folds is not None:
        f = np.asarray(folds)
        if f.dtype != bool or f.ndim != 2 or f.shape[1] != n:
            raise ValueError(f"folds must be a boolean array of shape (F, n={n}); got dtype {f.dtype}, shape {f.shape}")
    inputs = AgentInputs(s, layout, x, prior, np.broadcast_to(sig, (D,)).copy(), t, logits, kind, design_C, design_b,
                         m, f)
    splits(prior.to_canonical(x), f)    # folds with too few trials are refused here, before any work
    return inputs


def describe_prior(arrays: dict, latents) -> Prior:
    """The Prior a file describes: prior_low / prior_high (default the cube), ``prior`` kind, ``rho``."""
    kind = _text("prior", arrays["prior"], ("box", "copula", "empirical")) if "prior" in arrays else "box"
    D = np.shape(latents)[-1]
    has_box = ("prior_low" in arrays, "prior_high" in arrays)
    if any(has_box) and not all(has_box):
        raise ValueError("prior_low and prior_high come together, each of shape (D,); got only one of them")
    if kind == "empirical":
        if any(has_box):
            raise ValueError("prior='empirical' takes no prior_low / prior_high (the box would be a described prior)")
        return empirical_prior(_finite("latents", latents))
    low = _finite("prior_low", arrays["prior_low"]) if all(has_box) else np.full(D, -0.5)
    high = _finite("prior_high", arrays["prior_high"]) if all(has_box) else np.full(D, 0.5)
    for key, v in (("prior_low", low), ("prior_high", high)):
        if v.shape != (D,):
            raise ValueError(f"{key} must have shape (D={D},) (the latents' last axis); got shape {v.shape}")
    if kind == "copula":
        if "rho" not in arrays:
            raise ValueError("prior='copula' needs rho, a scalar in (-1, 1)")
        return copula_prior(float(_finite("rho", arrays["rho"])), low, high)
    if "rho" in arrays:
        raise ValueError("rho is the copula's correlation; give prior='copula' with it")
    return box_prior(low, high)


def load_agent_file(path) -> AgentInputs:
    """Read and validate an agent .npz (see the module docstring); UsageError with one line on any problem."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read as an .npz file ({exc})") from None
    unknown = sorted(set(arrays) - set(KEYS))
    if unknown:
        raise UsageError(f"{path}: unknown keys {unknown}; the keys are {list(KEYS)}")
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        shapes = {"states": "(n, H) or (K, n, H)", "latents": "(n, D) or (K, n, D)", "sigma": "() or (D,)", "t": "()"}
        raise UsageError(f"{path}: missing key {missing[0]!r}, shape {shapes[missing[0]]}")
    try:
        if np.ndim(arrays["latents"]) not in (2, 3):
            raise ValueError(f"latents must have shape (n, D) or (K, n, D); got shape {np.shape(arrays['latents'])}")
        prior = describe_prior(arrays, arrays["latents"])
        return validate(arrays["states"], arrays["latents"], arrays["sigma"], arrays["t"], prior,
                        arrays.get("outputs"), arrays.get("outputs_kind"), arrays.get("C"), arrays.get("b"),
                        arrays.get("mu"), arrays.get("folds"))
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
