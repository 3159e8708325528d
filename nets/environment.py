"""The task as an environment, in the gymnasium / neurogym ``TrialEnv`` style: one episode = one trial.

``reset(seed=...)`` draws a trial (:meth:`nets.dataset.Task.batch` with one trial) and returns the
observation of step 0 and ``info`` with the trial's ground truth (latents x*, targets, mask, labels,
evidence, and the optimal agent's probits when defined). ``step(action)`` scores the agent's output
for the current step and returns the next observation. The action at step t is the agent's N outputs
o_t, in the trainer's output space: probabilities in [0, 1] on the ``fixed`` timeline (the decision
step's are the answers to the N tasks), accumulator values in [-bound, bound] on ``free_rt``.

Reward at step t, with the trainer's targets y_t and 0/1 loss weights w_t (:mod:`nets.dataset`):

    fixed:    r_t = sum_i w_ti [y_ti log o_ti + (1 - y_ti) log(1 - o_ti)]     (minus the cross-entropy)
    free_rt:  r_t = -sum_i w_ti (o_ti - y_ti)^2                                (minus the squared error)

so an episode's return is minus the trainer's per-trial loss sum (before its normalisation by
sum(w)); an output of exactly 0 or 1 against the other label earns -inf. The cross-entropy is a
proper scoring rule: given what the agent has seen, E[r_t] = sum_i w_ti [q_i log o_i + (1 - q_i)
log(1 - o_i)] with q_i = P(y_ti = 1 | seen), maximal at o_i = q_i (Gibbs' inequality; the gap is
the Bernoulli KL divergence KL(q_i || o_i)). Before the decision step y = 1/2 is known, so o = 1/2;
at the decision step q_i = Phi(z_i), the optimal agent's output (:mod:`optimal.agent`), which
therefore has the highest expected return of all agents.

The episode ends (``terminated``) after the T-th action; the observation returned then is zeros
(there is no step T). gymnasium is optional (extra ``gym``): with it installed :class:`TaskEnv`
subclasses ``gymnasium.Env`` and has ``gymnasium.spaces.Box`` observation and action spaces; without
it, the same class (a plain object, ``observation_space = action_space = None``) runs the same loop.
"""
from __future__ import annotations

import numpy as np

from nets.dataset import Task, TaskSpec, build_task
from theory.world import as_generator

try:
    import gymnasium
    from gymnasium import spaces
except ImportError:                      # the optional extra is not installed: same class, no spaces
    gymnasium = None
    spaces = None

_Base = gymnasium.Env if gymnasium is not None else object


def step_reward(action: np.ndarray, target: np.ndarray, weight: np.ndarray, timeline: str) -> float:
    """r_t of the module docstring for one step: ``action``, ``target``, ``weight`` of shape (N,)."""
    o = np.asarray(action, dtype=float)
    if timeline == "fixed":
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = np.where(target > 0, target * np.log(o), 0.0) + np.where(target < 1, (1 - target) * np.log1p(-o), 0.0)
        return float(np.sum(weight * ll))
    return float(-np.sum(weight * (o - target) ** 2))


class TaskEnv(_Base):
    """One trial per episode of the task ``task`` (a :class:`nets.dataset.Task` or :class:`TaskSpec`; default
    the reference task ``TaskSpec()``).

    Attributes
    ----------
    task : Task; n_steps : T; n_in, n_out : observation and action sizes
    observation_space, action_space : ``gymnasium.spaces.Box`` (None without gymnasium)
    """

    metadata = {"render_modes": []}
    render_mode = None

    def __init__(self, task: Task | TaskSpec | None = None):
        task = TaskSpec() if task is None else task
        self.task = build_task(task) if isinstance(task, TaskSpec) else task
        if not isinstance(self.task, Task):
            raise ValueError(f"task must be a Task or TaskSpec; got {type(task).__name__}")
        spec = self.task.spec
        self.n_steps, self.n_in, self.n_out = spec.n_steps, self.task.n_in, self.task.n_out
        self._dtype = np.dtype(spec.dtype)
        lo, hi = (0.0, 1.0) if spec.timeline == "fixed" else (-spec.bound, spec.bound)
        self.action_low, self.action_high = lo, hi
        self.observation_space = self.action_space = None
        if spaces is not None:
            self.observation_space = spaces.Box(-np.inf, np.inf, (self.n_in,), self._dtype)
            self.action_space = spaces.Box(lo, hi, (self.n_out,), self._dtype)
        self._rng = np.random.default_rng()
        self._trial = None
        self._t = 0

    def reset(self, *, seed=None, options=None):
        """Draw a new trial; an int ``seed`` restarts the environment's generator (``default_rng(seed)``).

        ``options={"x_star": (D,)}`` fixes the trial's latent. Returns (obs (n_in,), info).
        """
        if gymnasium is not None:
            super().reset(seed=seed)            # gymnasium's np_random = default_rng(seed): one stream either way
            self._rng = self.np_random
        elif seed is not None:
            self._rng = as_generator(seed)
        x_star = None
        if options and "x_star" in options:
            x_star = np.asarray(options["x_star"], dtype=float).reshape(1, -1)
        self._trial = self.task.batch(self._rng, 1, batch_first=True, x_star=x_star)
        self._t = 0
        return self._trial.inputs[0, 0].copy(), self._info()

    def _info(self) -> dict:
        b = self._trial
        # fresh copies every call: a caller may keep and modify what it is given
        info = {"step": self._t, "latents": b.latents[0].copy(), "targets": b.targets[0].copy(),
                "mask": b.mask[0].copy()}
        info.update({k: v[0].copy() for k, v in b.params.items()})
        return info

    def step(self, action):
        """Score ``action`` (n_out,) for the current step; return (obs, reward, terminated, truncated, info)."""
        if self._trial is None:
            raise ValueError("step() before reset(): call reset() to draw a trial")
        if self._t >= self.n_steps:
            raise ValueError(f"the episode ended after T={self.n_steps} steps; call reset()")
        o = np.asarray(action, dtype=float)
        if o.shape != (self.n_out,) or not np.all((o >= self.action_low) & (o <= self.action_high)):
            raise ValueError(f"action must have shape ({self.n_out},) with entries in "
                             f"[{self.action_low}, {self.action_high}]; got shape {o.shape}")
        b, t = self._trial, self._t
        reward = step_reward(o, b.targets[0, t].astype(float), b.mask[0, t], self.task.spec.timeline)
        self._t += 1
        terminated = self._t == self.n_steps
        obs = np.zeros(self.n_in, dtype=self._dtype) if terminated else b.inputs[0, self._t].copy()
        return obs, reward, terminated, False, self._info()
