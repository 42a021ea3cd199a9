"""Linear regression on a fixed training set of P Gaussian samples per replica.

Each replica draws its own data once: x_μ = √λ ⊙ z_μ (z ~ N(0, I)), y_μ = w*·x_μ + ε_μ,
μ = 1..P.  Model f = w·x, w_0 = 0, loss per sample ½(f − y)², ridge γ.  Recorded: the exact test
risk (w − w*)ᵀΣ'(w − w*) + σ² and the train loss (1/P) Σ_μ (f(x_μ) − y_μ)² (no ridge term).
The algorithms (SGD with or without replacement, GD and gradient flow exactly in the eigenbasis
of Σ̂ = XᵀX/P) are those of :mod:`simulate.fixed_design` with features h = x; replicas are
processed in groups so that the stored data never exceed ``sim.data_gib``.
"""

from __future__ import annotations

from twopoint.core import streams
from twopoint.simulate.data import GaussianTeacher, training_set
from twopoint.simulate.fixed_design import Design, simulate_fixed_design
from twopoint.simulate.rng import normals, replica_generators
from twopoint.core.curves import Curves
from twopoint.core.problem import Problem


def draw_data(problem: Problem, group: range, device, dtype):
    """Whitened inputs z (R, P, D) and label noise ε (R, P) of the replicas in ``group``: the raw
    numbers behind :func:`simulate.data.training_set`, for independent checks."""
    P, D = problem.data.n_train, problem.data.dim
    gens = replica_generators(problem.seed, len(group), device, stream=streams.TRAINING_DATA, first=group.start)
    z = normals(gens, (P, D + 1), device)
    return z[..., :D].to(dtype).contiguous(), problem.data.noise_std * z[..., D].to(dtype)


def linear_design(problem: Problem, group: range, device, dtype) -> Design:
    teacher = GaussianTeacher(problem.data, device, dtype)
    x, y = training_set(problem, group, device, dtype)
    return Design(x, y, lambda w: teacher.test_risk(w - teacher.w_star))


def simulate_linear_finite(problem: Problem) -> Curves:
    return simulate_fixed_design(problem, linear_design, width=problem.data.dim)
