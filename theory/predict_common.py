"""What the predictors share: the problem's population, spectrum compression and the returned curves.

The theory sees a :class:`~twopoint.core.problem.Problem` as a diagonal :class:`~theory.population.Population`
(docs/theory.md §1); the deterministic equivalents compress large spectra first (docs/theory.md §9.4).
"""

from __future__ import annotations

import numpy as np

from twopoint.core.curves import THEORY, Curves
from twopoint.core.problem import Problem
from twopoint.theory.compression import compress_population
from twopoint.theory.population import Population

COMPRESS_ABOVE_DIM = 2000  # spectrum compression (docs/theory.md §9.4) changes R(t) by < 1e-5 and is ~60× faster


def population(problem: Problem) -> Population:
    """The problem's population: eigenvalues, teacher weights squared, noise variance, test eigenvalues."""
    d = problem.data
    return Population(d.eigenvalues, d.teacher**2, d.noise_std**2, d.test_eigenvalues)


def compressed_population(problem: Problem) -> Population:
    """:func:`population`, compressed when D > ``COMPRESS_ABOVE_DIM`` (for the deterministic equivalents only: the
    exact and sampled methods need unit multiplicities)."""
    pop = population(problem)
    return compress_population(pop) if problem.data.dim > COMPRESS_ABOVE_DIM else pop


def theory_curves(problem: Problem, method: str, values: dict[str, np.ndarray], diverged_at: int = -1,
                  info: dict | None = None) -> Curves:
    """Theory curves of ``problem`` on its record grid; ``diverged_at`` −1 when the prediction stays finite."""
    steps = problem.record_steps
    return Curves(THEORY, method, steps, problem.record_times, values, np.array([diverged_at]), info or {})


def with_divergence(problem: Problem, method: str, values: dict, info: dict) -> Curves:
    """:func:`theory_curves` with the divergence step set to the first recorded step whose test risk is not finite."""
    bad = ~np.isfinite(values["test_risk"])
    diverged = int(problem.record_steps[np.argmax(bad)]) if bad.any() else -1
    return theory_curves(problem, method, values, diverged, info)
