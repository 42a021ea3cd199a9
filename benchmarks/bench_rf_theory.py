"""Benchmark: random-feature theory (docs/theory.md §7) at the sizes of the random-feature acceptance cases.

Run: ``python benchmarks/bench_rf_theory.py``.  Prints the wall time (best of 2) of
* one online SGD curve (100 recorded steps up to 1e5) at D = 2000, N = 400, α = β = 1.5, B = 4: the
  deterministic equivalent over F (generating function with x = ω(1 − d(ω)/N)) and the given-F method
  (exact theory for each of 16 sampled F, averaged);
* finite data, D = 1000, N = 256, P = 128: GD (test + train) and multi-pass SGD (B = 2) deterministic
  equivalents over data and F.
"""

from __future__ import annotations

import time

import numpy as np

from bench_finite_theory import best_of
from twopoint.theory.full_batch import gd_stability_edge, gradient_descent
from twopoint.theory.given_features import feature_population
from twopoint.theory.multipass_sgd import multipass_sgd, sgd_critical_lr
from twopoint.theory.online_linear import OnlineSGD
from twopoint.theory.online_random_features import online_sgd_equivalent
from twopoint.theory.population import Population
from twopoint.data.features import feature_matrix
from twopoint.core.problem import log_grid


def powerlaw(dim: int, alpha: float, beta: float, noise_var: float) -> tuple[Population, np.ndarray]:
    k = np.arange(1, dim + 1, dtype=float)
    teacher = k ** (-(beta - alpha) / 2)
    return Population(k**-alpha, teacher**2, noise_var), teacher


def main() -> None:
    steps = log_grid(100_000, 108)[:100]
    pop, teacher = powerlaw(2000, 1.5, 1.5, 0.05)
    n, batch = 400, 4
    lr = 0.5 * sgd_critical_lr(pop, None, batch, 0.0, n)
    de = best_of(lambda: online_sgd_equivalent(pop, lr, batch, steps, n_features=n))

    def given_f():
        for r in range(16):
            p = feature_population(pop.eigenvalues, teacher, pop.noise_var, feature_matrix(0, r, n, pop.eigenvalues.size))
            OnlineSGD(p, lr, batch).generating_function_curves(steps)

    given = best_of(given_f, repeats=1)
    print(f"online RF, D=2000, N={n}, B={batch}, {steps.size} steps: DE over F {de:.2f} s, given F (16 draws) {given:.2f} s")
    pop, _ = powerlaw(1000, 1.5, 1.5, 0.05)
    n, p = 256, 128
    lr_gd = 0.5 * gd_stability_edge(pop, p, 0.0, n)
    lr_sgd = 0.5 * sgd_critical_lr(pop, p, 2, 0.0, n)
    gd = best_of(lambda: gradient_descent(pop, p, 0.0, lr_gd, steps, n_features=n))
    sgd = best_of(lambda: multipass_sgd(pop, p, lr_sgd, 2, steps, n_features=n))
    print(f"finite RF, D=1000, N={n}, P={p}, {steps.size} steps: GD {gd:.2f} s, multi-pass SGD (B=2) {sgd:.2f} s")


if __name__ == "__main__":
    main()
