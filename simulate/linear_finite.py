"""Linear regression on a fixed training set of P Gaussian samples per replica.

Each replica draws its own data once: x_μ = √λ ⊙ z_μ (z ~ N(0, I)), y_μ = w*·x_μ + ε_μ,
μ = 1..P.  Model f = w·x, w_0 = 0, loss per sample ½(f − y)², ridge γ.  Recorded: the exact test
risk (w − w*)ᵀΣ'(w − w*) + σ² and the train loss (1/P) Σ_μ (f(x_μ) − y_μ)² (no ridge term).
The algorithms (SGD with or without replacement, GD and gradient flow exactly in the eigenbasis
of Σ̂ = XᵀX/P) are those of :mod:`twopoint.simulate.fixed_design` with features h = x; replicas are
processed in groups so that the stored data never exceed ``sim.data_gib``.
"""

from __future__ import annotations

from twopoint.core.registry import OPTIMISER_EXTENSIONS as OPTIMISERS, SIMULATOR_ROLE, register
from twopoint.simulate.data import GaussianTeacher, training_set
from twopoint.simulate.device import check_device
from twopoint.simulate.fixed_design import Design, bytes_per_replica, simulate_fixed_design
from twopoint.simulate.groups import memory_of
from twopoint.core.curves import Curves
from twopoint.core.problem import Problem


def linear_design(problem: Problem, group: range, device, dtype) -> Design:
    teacher = GaussianTeacher(problem.data, device, dtype)
    x, y = training_set(problem, group, device, dtype)
    return Design(x, y, lambda w: teacher.test_risk(w - teacher.w_star))


def _bytes_per_replica(problem: Problem):
    return bytes_per_replica(problem, problem.data.dim, 0)


@register(SIMULATOR_ROLE, "linear", "finite", "torch", check=check_device, memory=memory_of(_bytes_per_replica),
          supports=OPTIMISERS)
def simulate_linear_finite(problem: Problem) -> Curves:
    return simulate_fixed_design(problem, linear_design, width=problem.data.dim)
