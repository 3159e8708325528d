"""The networks' task accuracy beside the optimal agent's, and the gate it puts on "at the line".

Theorem 3.1 is about agents that solve the tasks; an untrained transformer's causal attention already
averages its inputs (OOD r^2 ~0.96 after 20 batches) while its answers are at chance, so "at the line"
also asks for task accuracy above the optimal agent's at half the evidence (verify.networks.verdicts.at_line).
"""
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings, strategies as st
from scipy.special import ndtr

from analysis.bootstrap import interval
from analysis.decoders import HEADLINE
from theory.designs import even_design, random_design
from verify.networks import measure, verdicts

SIGMA, T, TRIALS = 0.2, 20, 20_000


def _optimal_states(rng, design, K: int = 3, sigma=SIGMA, t: int = T, v=None):
    """The optimal agent's probits on uniform latents: logits sqrt(t)(C mu + b)/(sigma |c|); mu = x* + noise."""
    x = rng.uniform(-0.5, 0.5, (K, TRIALS, design.D))
    var = np.full(design.D, sigma**2 / t) if v is None else np.asarray(v)
    mu = x + np.sqrt(var) * rng.standard_normal(x.shape)
    logits = (mu @ design.C.T + design.b) / np.sqrt(var @ (design.C**2).T)
    info = {"designs": [design] * K, "ntask": np.full(K, design.ntask), "sigma": np.full(K, sigma)}
    mu_var = None if v is None else np.tile(var, (K, 1))
    return SimpleNamespace(x_star=x, logits=logits, mu=mu, t=t, mu_var=mu_var), info


def test_the_optimal_agent_scores_its_expected_accuracy_within_four_standard_errors():
    # expected: mean over trials and tasks of Phi(|c.x* + b| / tau) on the same latents; the standard error is the
    # sd of the per-trial correctness means over trials (tasks of a trial share x* and noise), over sqrt(K n)
    rng = np.random.default_rng(0)
    design = even_design(6)
    states, info = _optimal_states(rng, design)
    acc, optimal, half = measure._task_accuracy(states, info, [0, 1, 2], 0.5, 1, 100)
    side = states.x_star @ design.C.T + design.b
    correct = ((states.logits > 0) == (side > 0)).mean(axis=-1)            # (K, n)
    se = correct.std() / np.sqrt(correct.size)
    assert abs(acc["estimate"] - optimal) < 4 * se
    assert 0.5 < half < optimal < 1


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 4), st.integers(2, 12), st.floats(0.05, 0.6), st.integers(2, 40), st.integers(0, 2**31))
def test_the_half_evidence_accuracy_is_the_optimal_accuracy_at_half_the_samples(D, N, sigma, t, seed):
    # identity: the optimal agent after t/2 samples has tau multiplied by sqrt(2); the expected accuracy on the same
    # latents with fraction 1/2 equals the fraction-1 expectation at t/2 (machine precision)
    rng = np.random.default_rng(seed)
    design = random_design(max(N, D), D, rng)
    states, info = _optimal_states(rng, design, K=1, sigma=sigma, t=t)
    _, _, half = measure._task_accuracy(states, info, [0], 0.5, 0, 10)
    halved = SimpleNamespace(**{**vars(states), "t": t / 2})
    _, optimal_at_half, _ = measure._task_accuracy(halved, info, [0], 1.0, 0, 10)
    assert np.isclose(half, optimal_at_half, rtol=0, atol=1e-12)


def test_per_axis_noise_enters_the_expected_accuracy_through_each_axis_variance():
    rng = np.random.default_rng(3)
    design = even_design(4)
    v = np.array([1.0, 4.0]) * SIGMA**2 / T                    # anisotropic scales (1, 2)
    states, info = _optimal_states(rng, design, K=1, v=v)
    acc, optimal, _ = measure._task_accuracy(states, info, [0], 0.5, 0, 10)
    side = states.x_star[0] @ design.C.T + design.b
    assert np.isclose(optimal, np.mean(ndtr(np.abs(side) / np.sqrt(v @ (design.C**2).T))), rtol=0, atol=1e-12)
    correct = ((states.logits[0] > 0) == (side > 0)).mean(axis=-1)
    assert abs(acc["estimate"] - optimal) < 4 * correct.std() / np.sqrt(correct.size)


def _row(r2: float, accuracy: float | None, rng, spread: float = 0.003) -> dict:
    line = verdicts.half_evidence_line(SIGMA, T, 2, "fullrange")
    row = {"r2_line_half_evidence": line,
           "decoders": {HEADLINE: interval(r2 + spread * rng.standard_normal((5, 4)), 0, 100).to_dict()}}
    if accuracy is not None:
        row |= {"task_accuracy": interval(accuracy + spread * rng.standard_normal((5, 1)), 0, 100).to_dict(),
                "task_accuracy_half_evidence": 0.9436}
    return row


def test_a_state_at_the_line_whose_answers_are_at_chance_is_not_at_the_line():
    rng = np.random.default_rng(4)
    part = verdicts.at_line(_row(0.962, 0.53, rng), "transformer")
    assert part.decided and not part.passed
    assert "task accuracy" in part.text


def test_at_the_line_passes_only_when_both_the_code_and_the_answers_are():
    rng = np.random.default_rng(5)
    assert verdicts.at_line(_row(0.962, 0.955, rng), "x").passed
    low_code = verdicts.at_line(_row(0.90, 0.955, rng), "x")
    assert low_code.decided and not low_code.passed
    # without read-outs (a hand-made state) the code alone decides, as before
    alone = verdicts.at_line(_row(0.962, None, rng), "x")
    assert alone.decided and alone.passed and "task accuracy" not in alone.text
    # an answer interval across its threshold leaves a passing code undecided
    across = verdicts.at_line(_row(0.962, 0.9436, rng, spread=0.01), "x")
    assert not across.passed
