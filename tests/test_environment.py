"""The task as a gymnasium-style environment (nets.environment): the loop, the rewards, the optimal agent."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit, ndtr

from nets.dataset import TaskSpec, build_task
from nets.environment import TaskEnv, step_reward
from optimal.agent import optimal_probits
from optimal.bayes import exact_outputs

# identity encoder: the observation carries the evidence X(s) itself, so an agent can compute mu(t)
# sigma = 0.35 keeps |z| <= ~4.5, so no agent's output rounds to exactly 0 or 1 (an infinite expected loss)
SPEC = TaskSpec(ntask=4, n_stim=5, sigma=0.35, encoder="identity", dtype="float64")
ROOT = Path(__file__).resolve().parents[1]


def run_episode(env, agent, seed):
    """A gymnasium loop; ``agent(obs_history, step)`` -> action. Returns (return, info at reset)."""
    obs, info = env.reset(seed=seed)
    seen, total, done, t = [obs], 0.0, False, 0
    while not done:
        obs, r, done, truncated, _ = env.step(agent(np.array(seen), t))
        assert not truncated
        seen.append(obs)
        total += r
        t += 1
    return total, info


TASK = build_task(SPEC)


def probit_agent(scale, task=TASK):
    """o = 1/2 before the decision step, Phi(scale z) at it; scale = 1 is the optimal agent of optimal.agent."""
    s = task.spec

    def agent(seen, t):
        if t < s.decision_step:
            return np.full(s.ntask, 0.5)
        mu = seen[1:s.n_stim + 1, 1:].mean(axis=0)            # stimulus steps 1..n_stim, channels after fixation
        p = ndtr(scale * optimal_probits(mu, task.design, s.sigma, s.n_stim))
        # an output rounded to exactly 0 or 1 has an infinite expected loss; keep the alternatives finite
        return p if scale == 1 else np.clip(p, 1e-9, 1 - 1e-9)
    return agent


# outputs and posteriors inside (1e-6, 1 - 1e-6): log(o) and log(1 - o) are then finite and well conditioned
probabilities = st.floats(1e-6, 1 - 1e-6)


@given(q=probabilities, o=probabilities)
def test_the_expected_reward_is_largest_at_the_posterior_and_falls_by_the_kl_divergence(q, o):
    """E_{y ~ Bernoulli(q)}[r(o)] = E[r(q)] - KL(q || o): the cross-entropy is a proper scoring rule."""
    w = np.ones(1)
    expected = lambda out: q * step_reward([out], np.ones(1), w, "fixed") + (1 - q) * step_reward([out], np.zeros(1),
                                                                                                  w, "fixed")
    # a difference of O(1) logs: a few ulps of |log(1e-6)| ~ 14, i.e. 1e-13 absolute
    np.testing.assert_allclose(expected(q) - expected(o), kl(np.array(q), np.array(o)), rtol=1e-9, atol=1e-13)
    assert expected(o) <= expected(q) + 1e-13


@given(o=probabilities)
def test_an_undecided_target_rewards_one_half_most(o):
    w, y = np.ones(1), np.full(1, 0.5)
    assert step_reward([o], y, w, "fixed") <= step_reward([0.5], y, w, "fixed") + 1e-15
    np.testing.assert_allclose(step_reward([0.5], y, w, "fixed"), -np.log(2), rtol=1e-15)


def test_a_gymnasium_loop_runs_one_trial_per_episode():
    env = TaskEnv(SPEC)
    steps = 0
    obs, info = env.reset(seed=0)
    assert obs.shape == (env.n_in,) and info["latents"].shape == (2,) and info["targets"].shape == (7, 4)
    done = False
    while not done:
        obs, r, done, truncated, info = env.step(np.full(4, 0.5))
        steps += 1
    assert steps == SPEC.n_steps and np.all(obs == 0)
    with pytest.raises(ValueError, match="episode ended"):
        env.step(np.full(4, 0.5))


def test_reset_with_a_seed_repeats_the_trial():
    env = TaskEnv(SPEC)
    a, ia = env.reset(seed=5)
    b, ib = env.reset(seed=5)
    np.testing.assert_array_equal(ia["evidence"], ib["evidence"])
    np.testing.assert_array_equal(a, b)


def test_return_is_minus_the_trainers_unnormalised_loss():
    task = build_task(TaskSpec(ntask=3, n_stim=4, dtype="float64"))
    env = TaskEnv(task)
    obs, info = env.reset(seed=2)
    z = np.random.default_rng(0).normal(size=(task.spec.n_steps, 3))
    total = sum(env.step(expit(z[t]))[1] for t in range(task.spec.n_steps))
    batch = task.batch(np.random.default_rng(2), 1)                  # the same trial: default_rng(2)'s first draw
    np.testing.assert_array_equal(batch.params["evidence"][0], info["evidence"])
    # two formulas of one cross-entropy (log sigmoid vs softplus): a few ulps of the sum
    np.testing.assert_allclose(-total, task.loss(z[:, None], batch) * batch.mask.sum(), rtol=1e-12)


def test_free_rt_reward_is_minus_the_squared_error():
    env = TaskEnv(TaskSpec(ntask=2, n_stim=3, timeline="free_rt", dtype="float64"))
    _, info = env.reset(seed=1)
    o = np.full(2, 0.25)
    _, r, *_ = env.step(o)
    np.testing.assert_allclose(r, -np.sum((o - info["targets"][0]) ** 2), rtol=1e-15)


def test_optimal_agent_earns_the_highest_expected_return():
    """The cross-entropy is a proper scoring rule (module docstring): E[r_opt - r_alt] = E[sum_i KL(q_i || p_alt,i)
    - KL(q_i || p_opt,i)] >= 0 at the decision step, q the exact posterior (optimal.bayes), and 0 before it."""
    env, n = TaskEnv(SPEC), 150
    task = env.task
    alternatives = {"overconfident": probit_agent(2.0), "underconfident": probit_agent(0.3),
                    "undecided": lambda seen, t: np.full(4, 0.5),
                    "hard": lambda seen, t: np.clip(probit_agent(1e6)(seen, t), 0.05, 0.95)}
    optimal = probit_agent(1.0)
    gaps = {k: np.empty(n) for k in alternatives}
    mus = np.empty((n, 2))
    p_alt = {k: np.empty((n, 4)) for k in alternatives}
    p_opt = np.empty((n, 4))
    for e in range(n):
        r_opt, info = run_episode(env, optimal, seed=e)
        mus[e] = info["evidence_mean"]
        hist = np.zeros((SPEC.n_steps, env.n_in))
        hist[1:SPEC.n_stim + 1, 1:] = info["evidence"]
        p_opt[e] = optimal(hist, SPEC.decision_step)
        for k, agent in alternatives.items():
            r_alt, _ = run_episode(env, agent, seed=e)             # the same trial (common random numbers)
            gaps[k][e] = r_opt - r_alt
            p_alt[k][e] = agent(hist, SPEC.decision_step)
    q = exact_outputs(mus, task.design, SPEC.sigma, SPEC.n_stim)
    for k in alternatives:
        se = gaps[k].std(ddof=1) / np.sqrt(n)
        assert gaps[k].mean() > 3 * se, (k, gaps[k].mean(), se)    # higher return, by > 3 standard errors
        # the derivation: the realised gap has the conditional mean predicted by the KL divergences (4 SE)
        d = gaps[k] - (kl(q, p_alt[k]).sum(axis=1) - kl(q, p_opt).sum(axis=1))
        assert abs(d.mean()) < 4 * d.std(ddof=1) / np.sqrt(n), k


def kl(q, p):
    """KL(Bernoulli(q) || Bernoulli(p)), elementwise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(q > 0, q * np.log(q / p), 0.0)
        b = np.where(q < 1, (1 - q) * np.log((1 - q) / (1 - p)), 0.0)
    return a + b


def test_the_return_comparison_fails_for_swapped_agents_and_a_wrong_prediction():
    """The checks above can fail: with the roles swapped the gap is negative, and predicting no gap is refuted."""
    env, n = TaskEnv(SPEC), 100
    undecided = lambda seen, t: np.full(4, 0.5)
    gaps = np.array([run_episode(env, undecided, e)[0] - run_episode(env, probit_agent(1.0), e)[0]
                     for e in range(n)])
    se = gaps.std(ddof=1) / np.sqrt(n)
    assert not gaps.mean() > 3 * se
    assert abs(gaps.mean() - 0.0) > 4 * se


@pytest.mark.parametrize("action, message", [(np.full(3, 0.5), "shape"), (np.full(4, 1.5), "entries in")])
def test_bad_actions_are_refused(action, message):
    env = TaskEnv(SPEC)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)


def test_step_before_reset_is_refused():
    with pytest.raises(ValueError, match="before reset"):
        TaskEnv(SPEC).step(np.full(4, 0.5))


# the observation f(X(s)) is unbounded (Gaussian evidence through a linear output layer): infinite bounds are right
@pytest.mark.filterwarnings("ignore:.*Box observation space (minimum|maximum) value is:UserWarning")
def test_gymnasium_env_checker_passes():
    gymnasium = pytest.importorskip("gymnasium")
    from gymnasium.utils.env_checker import check_env
    env = TaskEnv(TaskSpec(ntask=3, n_stim=4))
    assert isinstance(env, gymnasium.Env)
    check_env(env, skip_render_check=True)


def test_the_module_runs_without_gymnasium(monkeypatch):
    # a fresh copy of the module, imported while gymnasium cannot be imported (the real module is untouched)
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    spec = importlib.util.spec_from_file_location("environment_without_gymnasium", ROOT / "nets" / "environment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.gymnasium is None and module.TaskEnv.__mro__[1] is object
    env = module.TaskEnv(TaskSpec(ntask=2, n_stim=2))
    assert env.action_space is None and env.observation_space is None
    total, _ = run_episode(env, lambda seen, t: np.full(2, 0.5), seed=0)
    assert np.isfinite(total)
