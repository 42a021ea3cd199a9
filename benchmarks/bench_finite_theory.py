"""Benchmark: finite-data theory (test + train curves, 100 recorded steps) at D = 1000 and 10 000.

Run: ``python benchmarks/bench_finite_theory.py``.  Prints the wall time (best of 2) of the
two-point deterministic equivalent for discrete GD and for multi-pass SGD (with the spectrum
compression that the predictors (``theory.predict_common``) apply above D = 2000).
"""

from __future__ import annotations

import time

import numpy as np

from twopoint.theory.compression import compress_population
from twopoint.theory.full_batch import gd_stability_edge, gradient_descent
from twopoint.theory.multipass_sgd import multipass_sgd, sgd_critical_lr
from twopoint.theory.population import Population
from twopoint.theory.predict_common import COMPRESS_ABOVE_DIM
from twopoint.core.problem import log_grid


def best_of(fn, repeats: int = 2) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    steps = log_grid(100_000, 108)[:100]
    for dim in (1000, 10_000):
        k = np.arange(1, dim + 1, dtype=float)
        lam = k**-1.5
        pop = Population(lam, k**-1.2 / lam, 0.09)
        pop = compress_population(pop) if dim > COMPRESS_ABOVE_DIM else pop
        P = dim // 2
        lr_gd = 0.5 * gd_stability_edge(pop, P, 0.0)
        lr_sgd = 0.5 * sgd_critical_lr(pop, P, 4)
        gd = best_of(lambda: gradient_descent(pop, P, 0.0, lr_gd, steps))
        sgd = best_of(lambda: multipass_sgd(pop, P, lr_sgd, 4, steps))
        print(f"D={dim} ({pop.eigenvalues.size} modes), P={P}, {steps.size} steps: GD {gd:.2f} s, SGD (B=4) {sgd:.2f} s")


if __name__ == "__main__":
    main()
