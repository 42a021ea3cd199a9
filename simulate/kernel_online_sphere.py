"""Online kernel SGD on the sphere S^{d−1}, in the dual form with a growing list of centres (docs/theory.md §8).

Every step draws B fresh x uniform on S^{d−1} (x = z/‖z‖, z ~ N(0, I_d); one more normal is the label noise
ε ~ N(0, σ²)), labels y = y*(x) + ε, and appends them as centres of f = Σ_s a_s K(x_s, ·):
    f(x_new) = Σ_{old} a_s K(x_s, x_new),   a_old ← (1 − ηγ) a_old,   a_new = −(η/B)(f(x_new) − y_new),
minibatch SGD on ½(f − y)² with batch mean and ridge γ (the same iterates as :mod:`simulate.kernel_online`'s
Mercer features would give).  K, K₂(x, x') = E_u K(x, u)K(u, x') and h(x) = E_u K(x, u)y*(u) are zonal series
(Funk–Hecke, :mod:`twopoint.kernels`), so the test risk is exact,
    R = aᵀK₂a − 2aᵀh + E y*² + σ²,
and kept up to date in O(t·B) per step: with c = 1 − ηγ,
    aᵀK₂a ← c² aᵀK₂a + 2c a_newᵀK₂(new, old)a_old + a_newᵀK₂(new, new)a_new,   aᵀh ← c aᵀh + a_newᵀh_new.
Cost O(B²T²L) for T steps and kernel degree L (no finite feature map of the sphere is formed), memory
O(T·B·d) per replica: meant for T up to a few thousand steps (the progress bar counts work, ∝ t per step).
"""

from __future__ import annotations

import torch

from twopoint.simulate.device import resolve_device, resolve_dtype
from twopoint.simulate.groups import run_in_groups
from twopoint.simulate.kernel import SphereKernel
from twopoint.simulate.linear_online import chunk_steps
from twopoint.simulate.recorder import Recorder
from twopoint.simulate.rng import normals, replica_generators
from twopoint.core.curves import Curves
from twopoint.core.problem import Problem

METHOD = "online kernel SGD (fresh centres each step), dual form with exact Funk–Hecke risk"


def _run_group(problem: Problem, kernel: SphereKernel, group: range, device, dtype, bar) -> Recorder:
    inputs, opt = problem.data.inputs, problem.optim
    R, B, T, d = len(group), opt.batch_size, opt.steps, inputs.dim
    gens = replica_generators(problem.seed, R, device, first=group.start)
    centres = torch.zeros((R, T * B, d), dtype=dtype, device=device)
    coef = torch.zeros((R, T * B), dtype=dtype, device=device)
    quad = torch.zeros(R, dtype=dtype, device=device)  # aᵀK₂a
    lin = torch.zeros(R, dtype=dtype, device=device)  # aᵀh
    offset, shrink = inputs.target_power + inputs.label_noise_std**2, 1.0 - opt.lr * opt.ridge
    rec = Recorder(problem.record_steps, R, ("test_risk",), device)
    risk = quad - 2 * lin + offset
    rec.observe(0, risk)
    rec.record(0, test_risk=risk)
    per_chunk = chunk_steps(R, B * (d + 1), problem.sim.chunk_mib, T)
    step = 0
    while step < T:
        n = min(per_chunk, T - step)
        z = normals(gens, (n, B, d + 1), device).to(dtype)
        for zi in z.unbind(1):
            x = zi[..., :d] / zi[..., :d].norm(dim=-1, keepdim=True)
            target, h_new = kernel.at(x)
            old = slice(0, step * B)
            fit, smooth = kernel.apply(x, centres[:, old], coef[:, old])  # f(x_new), Σ_old a_s K₂(x_s, x_new)
            a_new = -(opt.lr / B) * (fit - target - inputs.label_noise_std * zi[..., d]) * rec.alive[:, None]
            k2_new = kernel.pair(x, x)[1]
            quad = (shrink**2 * quad + 2 * shrink * (a_new * smooth).sum(-1)
                    + (a_new[:, None, :] @ k2_new @ a_new[..., None])[:, 0, 0])
            lin = shrink * lin + (a_new * h_new).sum(-1)
            coef[:, old] *= shrink
            coef[:, step * B:(step + 1) * B] = a_new
            centres[:, step * B:(step + 1) * B] = x
            step += 1
            risk = quad - 2 * lin + offset
            new = rec.observe(step, risk)  # a diverged replica keeps f = 0 (a_new = 0) from here on
            coef.masked_fill_(new[:, None], 0.0)
            quad, lin = quad.masked_fill(new, 0.0), lin.masked_fill(new, 0.0)
            if rec.wants(step):
                rec.record(step, test_risk=risk)
        bar.update(step * (step + 1) // 2 - (step - n) * (step - n + 1) // 2)  # step t costs ∝ t
        if not rec.alive.any():  # every replica diverged: nothing left to train
            break
    return rec


def simulate_sphere_online(problem: Problem) -> Curves:
    device, dtype = resolve_device(problem.sim.device), resolve_dtype(problem.sim.dtype)
    kernel = SphereKernel(problem.data.inputs)
    opt, d = problem.optim, problem.data.inputs.dim
    itemsize = torch.finfo(dtype).bits // 8
    per_replica = itemsize * opt.steps * opt.batch_size * (d + 1)  # centres and a (the blocks of K, K₂ are small)

    def run_group(group: range, bar) -> Curves:
        return _run_group(problem, kernel, group, device, dtype, bar).curves(METHOD, opt.lr)

    return run_in_groups(problem, device, dtype, per_replica, opt.steps * (opt.steps + 1) // 2, run_group)
