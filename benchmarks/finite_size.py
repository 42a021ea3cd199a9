"""Does the exact finite-size variance factor close the ridgeless deterministic equivalent's late-time error?

Linear model, ridgeless GD, D = ``--dim``; for each P the simulation (``--replicas`` replicas, exact GD in each
replica's sample eigenbasis) against the deterministic equivalent and against it with the variance factor
(P − D)/(P − D − 1) of ``theory/finite_size.py``, at the last recorded step (t → ∞ within 1e-6 of the static
value for P ≥ D + 5).  At P = D no such factor exists; the line reports the train-loss drift there.

Run: ``python benchmarks/finite_size.py`` (D = 100, P = 105, 110, 130, 200, 100; about two minutes) or
``python benchmarks/finite_size.py --dim 300 --n-train 300 --steps 90000`` for the P = D = 300 train-loss drift.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import twopoint as tp
from twopoint.theory.finite_size import corrected_test_risk


def compare(dim: int, n_train: int, steps: int, replicas: int, noise: float, extra: tuple[str, ...] = ()) -> str:
    """One line: simulation vs DE (and corrected DE) at the last step, relative errors with their stderr."""
    base = (f"data.dim={dim}", f"data.n_train={n_train}", "optim.algorithm=gd", "optim.ridge=0.0", "optim.lr=0.9",
            f"optim.steps={steps}", f"sim.replicas={replicas}", "record.points=30", "sim.device=cpu", *extra)
    problem = tp.build_problem(tp.compose(*base, f"data.noise_std={noise}"))
    sim, theory = tp.simulate(problem), tp.predict(problem)
    parts = []
    for q in ("test_risk", "train_loss"):
        mean, se, th = sim.mean(q)[-1], sim.stderr(q)[-1], theory.values[q][-1]
        parts.append(f"{q} sim {mean:.5g} ± {se:.2g}, DE {(mean - th) / th:+.2%}")
    if n_train > dim + 1:
        noiseless = tp.predict(tp.build_problem(tp.compose(*base, "data.noise_std=0.0"))).values["test_risk"]
        fixed = corrected_test_risk(theory.values["test_risk"], noiseless, noise**2, n_train, dim)[-1]
        mean, se = sim.mean("test_risk")[-1], sim.stderr("test_risk")[-1]
        parts[0] += f", corrected {(mean - fixed) / fixed:+.2%} (stderr {se / fixed:.2%})"
    return f"D = {dim}, P = {n_train}: " + "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--n-train", type=int, nargs="+", default=[105, 110, 130, 200, 100])
    parser.add_argument("--steps", type=int, default=10**8)
    parser.add_argument("--replicas", type=int, default=2000)
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--set", nargs="*", default=[], help="further config overrides, e.g. data.spectrum.alpha=1.2")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for n_train in args.n_train:
        print(compare(args.dim, n_train, args.steps, args.replicas, args.noise, tuple(args.set)), flush=True)


if __name__ == "__main__":
    main()
