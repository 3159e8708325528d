"""Worked example: train a small PyTorch GRU on the toolkit's task, save its states, check it with mtd-check.

The task comes from the trial API (:mod:`nets.dataset`): inputs, targets and loss mask for training; on
fresh test trials the GRU's hidden state and output logits at the decision step are saved in the agent
file format of :mod:`verify.agent` together with the latents, the evidence the trials showed (sigma, t,
and each trial's mean evidence mu) and the task boundaries (C, b). ``mtd-check`` then reports OOD r^2,
geometry and calibration with their verdicts against the optimal agent (docs/check-any-agent.md).

    python examples/pytorch_gru.py --steps 4000 --out runs/gru          # needs torch
    python examples/pytorch_gru.py --agent optimal --out runs/optimal   # numpy stand-in, no torch

``--agent optimal`` replaces the GRU by the optimal agent itself (states = its probits, outputs = its
log-odds), the same path end to end without torch; it passes every binding check.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.special import log_ndtr

from nets.dataset import Dataset, TaskSpec, build_task
from verify.agent import main as check_main


def make_task(ntask: int = 6, sigma: float = 0.2, n_stim: int = 20, seed: int = 0):
    """The reference world (D = 2, even design, the MLP encoder) with ``ntask`` tasks."""
    return build_task(TaskSpec(ntask=ntask, sigma=sigma, n_stim=n_stim, seed=seed))


def save_agent_file(path, task, batch, states, logits) -> Path:
    """The agent file: states and logits (n, .) at the decision step, with what the theory needs to judge them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, states=np.asarray(states, dtype=float), latents=batch.latents, sigma=task.spec.sigma,
             t=task.spec.n_stim, outputs=np.asarray(logits, dtype=float), outputs_kind="logit", C=task.design.C,
             b=task.design.b, mu=batch.params["evidence_mean"])
    return path


def optimal_agent(batch):
    """The numpy stand-in: the optimal agent's probits z as states, its log-odds log Phi(z) - log Phi(-z) as logits."""
    z = batch.params["optimal_probits"]
    return z, log_ndtr(z) - log_ndtr(-z)


def train_gru(task, steps: int, hidden: int = 64, batch_size: int = 64, lr: float = 3e-3, seed: int = 0):
    """A GRU (time-major, as the batches) with a linear read-out, trained on the toolkit's masked BCE loss."""
    import torch
    from torch import nn

    class GRUAgent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(task.n_in, hidden)
            self.readout = nn.Linear(hidden, task.n_out)

        def forward(self, u):                              # u (T, B, n_in) -> logits (T, B, N), states (T, B, H)
            h, _ = self.gru(u)
            return self.readout(h), h

    torch.manual_seed(seed)
    model = GRUAgent()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    bce = nn.BCEWithLogitsLoss(reduction="none")
    data = Dataset(task, batch_size=batch_size, rng=seed)
    for step in range(steps):
        batch = next(data)
        u, y, w = (torch.from_numpy(np.asarray(a, dtype=np.float32)) for a in (batch.inputs, batch.targets,
                                                                              batch.mask))
        z, _ = model(u)
        loss = (w * bce(z, y)).sum() / w.sum()            # the toolkit's loss, L = sum(w l) / sum(w)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 1000 == 0:
            print(f"step {step}: loss {loss.item():.4f}")
    return model


def gru_agent(model, task, batch):
    """The GRU's hidden state and logits at the decision step, float64 arrays (n, H) and (n, N)."""
    import torch
    with torch.no_grad():
        z, h = model(torch.from_numpy(np.asarray(batch.inputs, dtype=np.float32)))
    d = task.spec.decision_step
    return h[d].double().numpy(), z[d].double().numpy()


def run(agent: str = "gru", out="runs/gru", steps: int = 4000, trials: int = 4000, ntask: int = 6, seed: int = 0,
        check_args=()) -> int:
    """Train (or stand in), save the agent file in ``out``, run mtd-check on it; returns mtd-check's exit code."""
    task = make_task(ntask=ntask, seed=seed)
    test = task.batch(np.random.default_rng(seed + 1), trials)       # fresh trials, never trained on
    states, logits = (optimal_agent(test) if agent == "optimal"
                      else gru_agent(train_gru(task, steps, seed=seed), task, test))
    path = save_agent_file(Path(out) / f"{agent}.npz", task, test, states, logits)
    print(f"saved {path}: states {states.shape}, outputs {logits.shape}")
    return check_main([str(path), "--out", str(out), "--seed", str(seed), *check_args])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agent", choices=("gru", "optimal"), default="gru", help="the GRU (torch) or the numpy stand-in")
    p.add_argument("--out", default="runs/gru", help="folder of the agent file and the check's files")
    p.add_argument("--steps", type=int, default=4000, help="training batches of the GRU (default 4000)")
    p.add_argument("--trials", type=int, default=4000, help="test trials saved and checked (default 4000)")
    p.add_argument("--ntask", type=int, default=6, help="number of tasks N (default 6)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    return run(args.agent, args.out, args.steps, args.trials, args.ntask, args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
