"""Online kernel SGD: every step adds the batch's fresh inputs as centres (docs/theory.md §8).

Kernel machine f_t = Σ_{s<t} Σ_b a_{s,b} K(x_{s,b}, ·), f_0 = 0, with fresh inputs x_{s,b} from the input
distribution each step and
    f_{t+1} = (1 − ηγ) f_t − (η/B) Σ_b (f_t(x_{t,b}) − y_{t,b}) K(x_{t,b}, ·),   y = y*(x) + ε,
i.e. minibatch SGD on ½(f − y)² with batch mean and ridge γ.  Where the kernel has a finite Mercer expansion
K(x, x') = ψ(x)·ψ(x') under the input distribution, f_t = w_t·ψ with w_t = Σ a ψ(x): the same iterates in
O(B·D) per step instead of O(t·B²) for the growing list of centres (tests check both on the same samples).
This is online SGD of a linear model on the non-Gaussian inputs ψ(x) (E ψψᵀ = diag λ), so the exact Gaussian
online theory (docs/theory.md §2) is a prediction to test, not a given.

* ``circle``: x uniform on [0, 1), the D = 2M + 1 Fourier modes ψ = √λ ⊙ e; test risk exact from the weights,
  R = Σ_k λ_k (w_k − w*_k)² + σ².
* ``digits``: x uniform on the pool (iid draws, with replacement), ψ(x_i) the pool's Mercer features over all
  M modes (ΨΨᵀ = G: the simulated kernel is the full Gram matrix, whatever ``model.kernel.cutoff`` keeps for
  the theory); test risk exact as the mean over the pool, R = (1/M) Σ_i (f(x_i) − y*(x_i))² + σ².
* ``sphere``: no finite feature map at hand; :mod:`simulate.kernel_online_sphere` runs the dual form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from twopoint.core import streams
from twopoint.simulate.device import resolve_device, resolve_dtype
from twopoint.simulate.groups import run_in_groups
from twopoint.simulate.kernel import fourier_modes
from twopoint.simulate.kernel_online_sphere import simulate_sphere_online
from twopoint.simulate.linear_online import chunk_steps
from twopoint.simulate.rng import integers, normals, replica_generators
from twopoint.simulate.sgd import Batches, Evaluate, run_sgd
from twopoint.core.curves import Curves
from twopoint.data.inputs import CircleInputs, DigitsInputs
from twopoint.core.problem import Problem

METHOD = "online kernel SGD (fresh centres each step), in the kernel's Mercer features"


class MercerStream(NamedTuple):
    """One input kind in Mercer features: the feature count D and, per replica group, (batches, evaluate)."""

    dim: int
    for_group: Callable[[range], tuple[Batches, Evaluate]]


def circle_stream(problem: Problem, inputs: CircleInputs, device, dtype) -> MercerStream:
    """θ = 2πx is the angle of a standard Gaussian pair (as in the finite-data circle sampler), the third normal
    is the label noise."""
    B, T = problem.optim.batch_size, problem.optim.steps
    lam = torch.as_tensor(inputs.eigenvalues, dtype=dtype, device=device)
    sqrt_lam = lam.sqrt()
    coeff = torch.as_tensor(inputs.coefficients, dtype=dtype, device=device)
    w_star = torch.as_tensor(inputs.teacher, dtype=dtype, device=device)
    offset = inputs.residual_power + inputs.label_noise_std**2

    def evaluate(w):
        risk = ((w - w_star) ** 2) @ lam + offset
        return risk, {"test_risk": risk}

    def batches(group: range):
        gens = replica_generators(problem.seed, len(group), device, first=group.start)
        per_chunk = chunk_steps(len(group), B * 3, problem.sim.chunk_mib, T)  # the draws; modes are formed per step
        for start in range(0, T, per_chunk):
            z = normals(gens, (min(per_chunk, T - start), B, 3), device).to(dtype)
            for zi in z.unbind(1):
                modes = fourier_modes(torch.atan2(zi[..., 1], zi[..., 0]), inputs.frequencies)  # (R, B, D)
                yield modes * sqrt_lam, modes @ coeff + inputs.label_noise_std * zi[..., 2]

    return MercerStream(lam.numel(), lambda group: (batches(group), evaluate))


def digits_stream(problem: Problem, inputs: DigitsInputs, device, dtype) -> MercerStream:
    """Pool indices uniform with replacement; the label noise from a separate stream."""
    B, T = problem.optim.batch_size, problem.optim.steps
    psi = torch.tensor(inputs.pool_features, dtype=dtype, device=device)  # (M, M): rows are points
    target = torch.tensor(inputs.target, dtype=dtype, device=device)

    def evaluate(w):
        risk = (w @ psi.T - target).pow(2).mean(-1) + inputs.label_noise_std**2
        return risk, {"test_risk": risk}

    def batches(group: range):
        idx_gens = replica_generators(problem.seed, len(group), device, stream=streams.POOL_INDICES, first=group.start)
        noise_gens = replica_generators(problem.seed, len(group), device, stream=streams.POOL_LABEL_NOISE, first=group.start)
        per_chunk = chunk_steps(len(group), B * (psi.shape[1] + 1), problem.sim.chunk_mib, T)
        for start in range(0, T, per_chunk):
            n = min(per_chunk, T - start)
            idx = integers(idx_gens, target.numel(), (n, B), device)
            noise = inputs.label_noise_std * normals(noise_gens, (n, B), device).to(dtype)
            for i in range(n):
                yield psi[idx[:, i]], target[idx[:, i]] + noise[:, i]

    return MercerStream(psi.shape[1], lambda group: (batches(group), evaluate))


def in_mercer_features(stream: Callable[..., MercerStream]) -> Callable[[Problem], Curves]:
    """The simulator that runs ``stream``'s inputs as online SGD of a linear model on ψ(x) (:func:`run_sgd`)."""

    def simulate_online(problem: Problem) -> Curves:
        device, dtype = resolve_device(problem.sim.device), resolve_dtype(problem.sim.dtype)
        features = stream(problem, problem.data.inputs, device, dtype)
        D, B = features.dim, problem.optim.batch_size

        def run_group(group: range, bar) -> Curves:
            batches, evaluate = features.for_group(group)
            theta = torch.zeros((len(group), D), dtype=dtype, device=device)
            return run_sgd(problem, theta, batches, evaluate, ("test_risk",), bar).curves(METHOD, problem.optim.lr)

        per_replica = (torch.finfo(dtype).bits // 8) * (2 * D + 2 * B * D)
        return run_in_groups(problem, device, dtype, per_replica, problem.optim.steps, run_group)

    return simulate_online


SIMULATORS: dict[str, Callable[[Problem], Curves]] = {
    "circle": in_mercer_features(circle_stream),
    "digits": in_mercer_features(digits_stream),
    "sphere": simulate_sphere_online,
}


def simulate_kernel_online(problem: Problem) -> Curves:
    return SIMULATORS[problem.data.inputs.kind](problem)
