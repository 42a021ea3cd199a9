"""Online kernel SGD on the circle: every step adds the batch's fresh inputs as centres (THEORY §8).

Kernel machine f_t = Σ_{s<t} Σ_b a_{s,b} K(x_{s,b}, ·), f_0 = 0, with fresh x_{s,b} uniform on [0, 1) each step and
    f_{t+1} = (1 − ηγ) f_t − (η/B) Σ_b (f_t(x_{t,b}) − y_{t,b}) K(x_{t,b}, ·),   y = y*(x) + ε,
i.e. minibatch SGD on ½(f − y)² with batch mean and ridge γ.  The periodic kernel has a finite Mercer expansion
K(x, x') = Σ_k λ_k e_k(x) e_k(x') over D = 2M + 1 orthonormal Fourier modes, so f_t = w_t·ψ with ψ = √λ ⊙ e and
w_t = Σ a ψ(x): the same iterates in O(B·D) per step instead of O(t·B²) for the growing list of centres (a test
checks both on the same samples).  This is online SGD of a linear model on the non-Gaussian inputs ψ(x)
(E ψψᵀ = diag λ), so the exact Gaussian online theory (THEORY §2) is a prediction to test, not a given.
Test risk exact from the weights: R = E_x (f − y*)² + σ² = Σ_k λ_k (w_k − w*_k)² + σ²  (λ_k w*_k² = c*_k²).
"""

from __future__ import annotations

import torch

from simulate.device import resolve_device, resolve_dtype
from simulate.groups import run_in_groups
from simulate.kernel import fourier_modes
from simulate.linear_online import chunk_steps
from simulate.rng import normals, replica_generators
from simulate.sgd import run_sgd
from twopoint.curves import Curves
from twopoint.problem import Problem

METHOD = "online kernel SGD (fresh centres each step), in the kernel's Mercer features"


def circle_batches(problem: Problem, gens: list, device, dtype):
    """Per step (ψ(x_b) (R, B, D), y_b (R, B)) for x uniform on the circle: θ = 2πx is the angle of a standard
    Gaussian pair (as in the finite-data circle sampler), the third normal is the label noise."""
    inputs, opt = problem.data.inputs, problem.optim
    R, B, T = len(gens), opt.batch_size, opt.steps
    sqrt_lam = torch.as_tensor(inputs.eigenvalues, dtype=dtype, device=device).sqrt()
    coeff = torch.as_tensor(inputs.coefficients, dtype=dtype, device=device)
    per_chunk = chunk_steps(R, B * 3, problem.sim.chunk_mib, T)  # the draws; the modes are formed per step
    for start in range(0, T, per_chunk):
        z = normals(gens, (min(per_chunk, T - start), B, 3), device).to(dtype)
        for zi in z.unbind(1):
            modes = fourier_modes(torch.atan2(zi[..., 1], zi[..., 0]), inputs.frequencies)  # (R, B, D)
            yield modes * sqrt_lam, modes @ coeff + inputs.label_noise_std * zi[..., 2]


def simulate_kernel_online(problem: Problem) -> Curves:
    inputs, opt = problem.data.inputs, problem.optim
    device, dtype = resolve_device(problem.sim.device), resolve_dtype(problem.sim.dtype)
    lam = torch.as_tensor(inputs.eigenvalues, dtype=dtype, device=device)
    w_star = torch.as_tensor(inputs.teacher, dtype=dtype, device=device)
    offset = inputs.residual_power + inputs.label_noise_std**2
    D, B = lam.numel(), opt.batch_size

    def evaluate(w):
        risk = ((w - w_star) ** 2) @ lam + offset
        return risk, {"test_risk": risk}

    def run_group(group: range, bar) -> Curves:
        gens = replica_generators(problem.seed, len(group), device, first=group.start)
        theta = torch.zeros((len(group), D), dtype=dtype, device=device)
        rec = run_sgd(problem, theta, circle_batches(problem, gens, device, dtype), evaluate, ("test_risk",), bar)
        return rec.curves(METHOD, opt.lr)

    per_replica = (torch.finfo(dtype).bits // 8) * (2 * D + 2 * B * D)
    return run_in_groups(problem, device, dtype, per_replica, opt.steps, run_group)
