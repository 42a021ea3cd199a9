"""Benchmark: exact online-SGD theory at D = 10 000, T = 10⁶ steps, 100 recorded points.

Run: ``python benchmarks/bench_online_theory.py``.  Prints the wall time of the generating-
function method (best of 3) and, as a cross-check, its agreement with the direct recursion on
the first 2·10⁴ steps.
"""

from __future__ import annotations

import time

import numpy as np

from twopoint.theory.online_linear import OnlineSGD
from twopoint.theory.population import Population
from twopoint.core.problem import log_grid


def main(dim: int = 10_000, steps: int = 1_000_000, points: int = 100) -> None:
    k = np.arange(1, dim + 1, dtype=float)
    lam = k**-1.5
    pop = Population(lam, k**-1.2 / lam, 0.01)
    sgd = OnlineSGD(pop, 1.0, 8)
    sgd = OnlineSGD(pop, 0.5 * sgd.critical_lr(), 8)
    grid = log_grid(steps, points)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        train, test = sgd.generating_function_curves(grid)
        times.append(time.perf_counter() - start)
    print(f"online theory, D={dim}, T={steps:.0e}, {grid.size} points: best {min(times):.3f} s (runs: {', '.join(f'{t:.3f}' for t in times)})")
    short = grid[grid <= 20_000]
    start = time.perf_counter()
    _, rec, _ = sgd.recursion(short)
    rec_time = time.perf_counter() - start
    err = np.max(np.abs(test[: short.size] / rec - 1))
    print(f"direct recursion to t=2e4: {rec_time:.2f} s; max relative difference {err:.1e}")


if __name__ == "__main__":
    main()
