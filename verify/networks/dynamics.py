"""Dynamics of the reference networks with the most tasks: PCA of noiseless trajectories, fixed
points under fixation input, the multipliers (eigenvalues of dF/dh; rates = multipliers - 1 is
the reference's convention) and the number of multipliers near 1 (a D-D continuous attractor
shows D at every fixed point; paper claim, non-binding).
"""
from __future__ import annotations

import numpy as np

from analysis.dynamics import find_fixed_points, pca
from analysis.tuning import grid_latents
from verify.networks import ntask, pipeline, verdicts
from verify.networks.experiment import Experiment

#: Starting states per network for the fixed-point search.
FIXED_POINT_STARTS = 64
#: Distance of a multiplier from 1 that counts as "near 1".
UNIT_TOL = 0.05


def dynamics(ens, config) -> dict:
    top = max(config.ntask)
    if not pipeline.recurrent(ens):
        return {"ntask": top, "unit_tol": UNIT_TOL, "networks": [], "grid": grid_latents(8, ens.config.D),
                "skipped": f"arch={config.arch} has no one-step map: no fixed points"}
    idx = np.flatnonzero(np.array(ens.config.ntask) == top)
    x = grid_latents(8, ens.config.D)
    states = pipeline.run_states(ens, x, 0, sigma=0.0, encode_fixation=config.encode_fixation,
                                 keep_trajectories=True)
    out = {"ntask": top, "unit_tol": UNIT_TOL, "networks": [], "grid": x}
    for k in idx:
        traj = states.trajectories[k]                            # (64, T, H)
        p = pca(traj.reshape(-1, traj.shape[-1]))
        F, J = pipeline.step_functions(ens, int(k))
        visited = traj.reshape(-1, traj.shape[-1])
        starts = visited[np.random.default_rng(int(k)).choice(len(visited), FIXED_POINT_STARTS, replace=False)]
        fp = find_fixed_points(F, starts, jac=J)
        near = fp.n_near_unit(UNIT_TOL)
        out["networks"].append({
            "network": int(k), "pca_explained": p.explained[:5].tolist(), "trajectory_pca": p.project(traj, 3),
            "fixed_points": int(len(fp.points)), "rejected_starts": int(fp.n_rejected),
            "near_unit_counts": near.tolist(), "multipliers": fp.multipliers,
            "fraction_with_D_unit": float(np.mean(near == ens.config.D)) if len(near) else 0.0})
    return out


def verdicts_dynamics(config, rows, values, rng, extras):
    dyn = extras["dynamics"]
    if "skipped" in dyn:
        return [], [f"attractor_signature: {dyn['skipped']}"]
    return [verdicts.attractor_signature(dyn, 2)], []


DYNAMICS = Experiment("dynamics", "PCA trajectories and fixed points", None, ntask.networks,
                      verdicts=verdicts_dynamics, extra=dynamics, output="dynamics")
