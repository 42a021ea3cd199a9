"""Does the exact finite-size variance factor close the ridgeless deterministic equivalent's late-time error?

Linear model, ridgeless GD, D = ``--dim``; for each P the simulation (``--replicas`` replicas, exact GD in each
replica's sample eigenbasis) against the deterministic equivalent (DE) and against the DE with the variance
factor (P − D)/(P − D − 1) of ``theory/finite_size.py``: the relative error at the last recorded step (for the
default 10⁸ steps within 1e-6 of the static value for P ≥ D + 5) and the worst one over the grid with its step.
At P ≤ D + 1 no such factor exists; the line reports the DE alone (the P = D train-loss drift).

Run: ``python benchmarks/finite_size.py`` (D = 100, P = 105, 110, 130, 200, 100; a few minutes) or the small-D
late-time case of docs/theory.md §11:

    python benchmarks/finite_size.py --dim 142 --n-train 212 --steps 91606 --lr 0.914 --noise 0.01 \\
        --set data.spectrum.alpha=1.215 data.teacher.beta=1.7
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import twopoint as tp
from twopoint.core.curves import Curves
from twopoint.theory.finite_size import corrected_test_risk


def errors(sim: Curves, quantity: str, prediction: np.ndarray) -> str:
    """Relative error of the replica mean at the last step (± its stderr) and the worst one with its step."""
    keep = sim.steps > 0
    mean, se = sim.mean(quantity)[keep], sim.stderr(quantity)[keep]
    rel = (mean - prediction[keep]) / np.abs(prediction[keep])
    worst = int(np.argmax(np.abs(rel)))
    return (f"{rel[-1]:+.2%} ± {se[-1] / abs(prediction[-1]):.2%} at the end, worst {rel[worst]:+.2%} "
            f"± {se[worst] / abs(prediction[keep][worst]):.2%} at step {sim.steps[keep][worst]}")


def compare(args: argparse.Namespace, n_train: int) -> str:
    """One line per quantity: simulation against the DE, and the test risk against the corrected DE."""
    base = (f"data.dim={args.dim}", f"data.n_train={n_train}", "optim.algorithm=gd", "optim.ridge=0.0",
            f"optim.lr={args.lr}", f"optim.steps={args.steps}", f"sim.replicas={args.replicas}", "record.points=40",
            "sim.device=cpu", *args.set)
    problem = tp.build_problem(tp.compose(*base, f"data.noise_std={args.noise}"))
    sim, theory = tp.simulate(problem), tp.predict(problem)
    lines = [f"D = {args.dim}, P = {n_train}:"]
    lines += [f"  {q}: DE {errors(sim, q, theory.values[q])}" for q in ("test_risk", "train_loss")]
    if n_train > args.dim + 1:
        noiseless = tp.predict(tp.build_problem(tp.compose(*base, "data.noise_std=0.0"))).values["test_risk"]
        fixed = corrected_test_risk(theory.values["test_risk"], noiseless, args.noise**2, n_train, args.dim)
        lines.append(f"  test_risk: corrected DE {errors(sim, 'test_risk', fixed)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--n-train", type=int, nargs="+", default=[105, 110, 130, 200, 100])
    parser.add_argument("--steps", type=int, default=10**8)
    parser.add_argument("--lr", type=float, default=0.9)
    parser.add_argument("--replicas", type=int, default=2000)
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--set", nargs="*", default=[], help="further config overrides, e.g. data.spectrum.alpha=1.2")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for n_train in args.n_train:
        print(compare(args, n_train), flush=True)


if __name__ == "__main__":
    main()
