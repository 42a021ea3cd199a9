"""Kernel machines f = Σ_i a_i K(x_i, ·) trained on their dual coefficients, all replicas at once (docs/theory.md §8).

Each replica draws its own P training inputs from the problem's input distribution (``data.inputs``) and
labels y_i = y*(x_i) + ε_i, ε ~ N(0, σ²), precomputes its Gram matrix K_ij = K(x_i, x_j) and trains a from 0:
  * ``sgd``: B indices i_1..i_B drawn uniformly with replacement each step,
        a ← (1 − ηγ) a − (η/B) Σ_b (f(x_{i_b}) − y_{i_b}) e_{i_b}      (repeated indices add up);
  * ``gd`` / ``gradient_flow``: a ← (1 − ηγ) a − (η/P)(K a − y), evaluated exactly in the eigenbasis of each
    replica's K (gradient flow at time t = lr × step).
With w = Σ_i a_i ψ(x_i) (ψ the feature map of K, ψ·ψ' = K) these are exactly minibatch SGD / GD on the
per-sample loss ½(f − y)² with batch mean and ridge γ on w, as for the linear model.
Recorded: the test risk, exact under the input distribution (no held-out sample),
    R = E_x (f(x) − y*(x))² + σ² = aᵀK₂a − 2aᵀh + E y*² + σ²,  K₂_ij = E_x K(x_i, x)K(x, x_j),  h_i = E_x K(x_i, x) y*(x),
from the Mercer expansion (circle, sphere) or as the mean over the whole pool (digits), and the train loss
(1/P) Σ_i (f(x_i) − y_i)².  Divergence is checked every step on the batch loss and at the recorded steps on
the train loss (as the linear simulators do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import torch

from twopoint.core import streams
from twopoint.simulate.device import resolve_device, resolve_dtype
from twopoint.simulate.groups import run_in_groups
from twopoint.simulate.recorder import Recorder
from twopoint.simulate.rng import integers, normals, permutations, replica_generators
from twopoint.core.curves import Curves
from twopoint.data.inputs import CircleInputs, DigitsInputs, InputSpec, SphereInputs
from twopoint.data.kernels import harmonic_multiplicity, zonal_sums
from twopoint.core.problem import Problem

METHODS = {
    "sgd": "torch dual-coefficient SGD, batches with replacement from P samples",
    "gd": "full-batch dual GD, exact in the eigenbasis of the Gram matrix",
    "gradient_flow": "dual gradient flow, exact in the eigenbasis of the Gram matrix",
}


class Design(NamedTuple):
    """One group of replicas' training sets, as the dual dynamics and the exact test risk need them."""

    gram: torch.Tensor  # (R, P, P) K(x_i, x_j)
    gram2: torch.Tensor  # (R, P, P) E_x K(x_i, x) K(x, x_j)
    cross: torch.Tensor  # (R, P) E_x K(x_i, x) y*(x)
    labels: torch.Tensor  # (R, P) y*(x_i) + ε_i


Sampler = Callable[[list, int], Design]  # (generators of the group's replicas, P) -> Design


def fourier_modes(theta: torch.Tensor, frequencies: int) -> torch.Tensor:
    """Orthonormal circle modes (1, √2 cos θ, √2 sin θ, √2 cos 2θ, ...) at angles θ = 2πx: shape (..., 2M + 1)."""
    m = torch.arange(1, frequencies + 1, dtype=theta.dtype, device=theta.device)
    angles = theta[..., None] * m
    pairs = torch.stack([angles.cos(), angles.sin()], dim=-1).flatten(-2) * np.sqrt(2.0)
    return torch.cat([torch.ones_like(theta)[..., None], pairs], dim=-1)


def _mercer_design(modes: torch.Tensor, inputs: InputSpec, noise: torch.Tensor) -> Design:
    """Design from eigenfunction values e_k(x_i) (R, P, D): K = E diag(λ) Eᵀ, K₂ = E diag(λ²) Eᵀ, h = E(λ c*)."""
    lam = torch.as_tensor(inputs.eigenvalues, dtype=modes.dtype, device=modes.device)
    coeff = torch.as_tensor(inputs.coefficients, dtype=modes.dtype, device=modes.device)
    scaled = modes * lam
    return Design(scaled @ modes.transpose(1, 2), (scaled * lam) @ modes.transpose(1, 2), scaled @ coeff,
                  modes @ coeff + noise)


def circle_sampler(inputs: CircleInputs, device, dtype) -> Sampler:
    """x = θ/2π uniform on [0, 1): θ is the angle of a standard Gaussian vector in R²."""

    def draw(gens, P):
        z = normals(gens, (P, 3), device).to(dtype)
        theta = torch.atan2(z[..., 1], z[..., 0])
        return _mercer_design(fourier_modes(theta, inputs.frequencies), inputs, inputs.label_noise_std * z[..., 2])

    return draw


class SphereKernel:
    """Zonal series of one kernel problem on S^{d−1}: K, K₂ as functions of t = x·x', h and y* of x₁."""

    def __init__(self, inputs: SphereInputs):
        d, mu, g = inputs.dim, inputs.degree_eigenvalues, inputs.target_series
        n = np.array([harmonic_multiplicity(d, ell) for ell in range(mu.size)], dtype=np.float64)
        self.dim, self.gram, self.gram2 = d, mu * n, mu**2 * n
        self.cross, self.target = mu[: g.size] * g[: mu.size], g

    def pair(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(K, K₂) between the rows of x (R, m, d) and y (R, n, d): shape (R, m, n) each."""
        t = (x @ y.transpose(1, 2)).clamp(-1.0, 1.0)
        return tuple(zonal_sums(t, [self.gram, self.gram2], self.dim))

    BLOCK = 256  # centres per block: small temporaries, 4× faster on CPU than one pass over 2400 centres

    def apply(self, x: torch.Tensor, centres: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(K(x, C)w, K₂(x, C)w) for points x (R, m, d), centres C (R, n, d) and weights w (R, n): shape (R, m)
        each, in blocks of ``BLOCK`` centres so that the temporaries stay small whatever n (a fixed block, not
        one sized by R: a replica's sums do not depend on how many replicas run with it)."""
        f, g = x.new_zeros(x.shape[:2]), x.new_zeros(x.shape[:2])
        for s in range(0, centres.shape[1], self.BLOCK):
            k, k2 = self.pair(x, centres[:, s:s + self.BLOCK])
            w = weights[:, s:s + self.BLOCK, None]
            f += (k @ w)[..., 0]
            g += (k2 @ w)[..., 0]
        return f, g

    def at(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(y*(x), h(x)) of the points x (R, m, d)."""
        return tuple(zonal_sums(x[..., 0], [self.target, self.cross], self.dim))


def sphere_sampler(inputs: SphereInputs, device, dtype) -> Sampler:
    """x = z/‖z‖ for z ~ N(0, I_d); Gram matrices and target as zonal series (Funk–Hecke, :mod:`twopoint.kernels`)."""
    kernel, d = SphereKernel(inputs), inputs.dim

    def draw(gens, P):
        z = normals(gens, (P, d + 1), device).to(dtype)
        x = z[..., :d] / z[..., :d].norm(dim=-1, keepdim=True)
        gram, gram2 = kernel.pair(x, x)
        target, cross = kernel.at(x)
        return Design(gram, gram2, cross, target + inputs.label_noise_std * z[..., d])

    return draw


def digits_sampler(inputs: DigitsInputs, device, dtype) -> Sampler:
    """Training points drawn from the pool (a random subset, or iid with replacement); pool averages are exact."""
    gram = torch.tensor(inputs.gram, dtype=dtype, device=device)
    target = torch.tensor(inputs.target, dtype=dtype, device=device)
    size = target.numel()
    gram2, cross = gram @ gram / size, gram @ target / size

    def draw(gens, P):
        idx = integers(gens, size, (P,), device) if inputs.replace else permutations(gens, size, device)[:, :P]
        noise = inputs.label_noise_std * normals(gens, (P,), device).to(dtype)
        rows, cols = idx[:, :, None], idx[:, None, :]
        return Design(gram[rows, cols], gram2[rows, cols], cross[idx], target[idx] + noise)

    return draw


SAMPLERS = {"circle": circle_sampler, "sphere": sphere_sampler, "digits": digits_sampler}


def dual_sgd_step(coef: torch.Tensor, gram: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor, lr: float,
                  ridge: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step on the dual coefficients ``coef`` (R, P) with batch indices ``idx`` (R, B); returns (a, residuals)."""
    R, P = coef.shape
    flat = (torch.arange(R, device=coef.device)[:, None] * P + idx).view(-1)
    batch_rows = gram.reshape(R * P, P).index_select(0, flat).view(R, -1, P)  # K(x_{i_b}, ·), faster than gram[rows, idx]
    residual = (batch_rows * coef[:, None, :]).sum(-1) - labels.gather(1, idx)
    if ridge:
        coef = coef * (1.0 - lr * ridge)
    return coef.scatter_add(1, idx, residual * (-lr / idx.shape[1])), residual


class ExactRisk:
    """Exact test risk aᵀK₂a − 2aᵀh + E y*² + σ² and train loss of dual coefficients (any trailing time axis)."""

    def __init__(self, design: Design, inputs: InputSpec):
        self.design, self.offset = design, inputs.target_power + inputs.label_noise_std**2

    def __call__(self, coef: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``coef`` (R, P) or (R, T, P) -> (test risk, train loss) of shape (R,) or (R, T)."""
        d = self.design
        quad = torch.einsum("r...p,rpq,r...q->r...", coef, d.gram2, coef)
        risk = quad - 2 * torch.einsum("r...p,rp->r...", coef, d.cross) + self.offset
        fit = torch.einsum("rpq,r...q->r...p", d.gram, coef)
        loss = (fit - d.labels.view(d.labels.shape[0], *([1] * (coef.dim() - 2)), -1)).pow(2).mean(-1)
        return risk, loss


def _sgd_group(problem: Problem, design: Design, group: range, device, bar) -> Recorder:
    opt, P = problem.optim, problem.data.n_train
    R = len(group)
    evaluate = ExactRisk(design, problem.data.inputs)
    coef = torch.zeros(R, P, dtype=design.gram.dtype, device=device)
    gens = replica_generators(problem.seed, R, device, stream=streams.BATCH_INDICES, first=group.start)
    rec = Recorder(problem.record_steps, R, ("test_risk", "train_loss"), device)

    def record(step):
        nonlocal coef
        risk, loss = evaluate(coef)
        coef = coef.masked_fill(rec.observe(step, loss)[:, None], 0.0)
        rec.record(step, test_risk=risk, train_loss=loss)

    record(0)
    step = 0
    while step < opt.steps:
        n = min(max(1, 4096 // opt.batch_size), opt.steps - step)
        idx = integers(gens, P, (n, opt.batch_size), device)
        for i in range(n):
            coef, residual = dual_sgd_step(coef, design.gram, design.labels, idx[:, i], opt.lr, opt.ridge)
            step += 1
            coef = coef.masked_fill(rec.observe(step, residual.pow(2).mean(-1))[:, None], 0.0)
            if rec.wants(step):
                record(step)
        bar.update(n)
    return rec


def accumulated(rate: torch.Tensor, lr: float, steps: torch.Tensor, flow: bool) -> torch.Tensor:
    """(1 − decay)/rate per mode and time (shape rate.shape + steps.shape): η Σ_{s<t} (1 − η rate)^s for GD,
    ∫_0^{ηt} e^{−rate τ} dτ for gradient flow; accurate as rate → 0 (limit ηt)."""
    r = rate[..., None]
    if flow:
        log_decay = -r * (lr * steps)
    else:
        log_decay = steps * torch.log1p(-lr * r)
    small = -torch.expm1(log_decay) / r
    if flow:
        out = small
    else:  # η rate ≥ 1: oscillating or diverging modes, no logarithm
        out = torch.where(lr * r < 1.0, small, (1.0 - (1.0 - lr * r) ** steps) / r)
    return torch.where(r == 0, lr * steps, out)


def _spectral_group(problem: Problem, design: Design, group: range, device) -> Recorder:
    """GD / gradient flow in closed form: with K = U diag(Λ) Uᵀ, Uᵀa(t) = (Uᵀy/P) ⊙ accumulated(Λ/P + γ, t)."""
    opt, P = problem.optim, problem.data.n_train
    lam, vecs = torch.linalg.eigh(design.gram)
    projected = Design(torch.diag_embed(lam), vecs.transpose(1, 2) @ design.gram2 @ vecs,
                       (vecs.transpose(1, 2) @ design.cross[..., None])[..., 0],
                       (vecs.transpose(1, 2) @ design.labels[..., None])[..., 0])
    steps = torch.as_tensor(problem.record_steps, dtype=lam.dtype, device=device)
    coef = (projected.labels / P)[..., None] * accumulated(lam / P + opt.ridge, opt.lr, steps, opt.algorithm == "gradient_flow")
    risk, loss = ExactRisk(projected, problem.data.inputs)(coef.transpose(1, 2))  # (R, T)
    rec = Recorder(problem.record_steps, len(group), ("test_risk", "train_loss"), device)
    for i, step in enumerate(problem.record_steps):
        rec.observe(int(step), loss[:, i])
        rec.record(int(step), test_risk=risk[:, i], train_loss=loss[:, i])
    return rec


def simulate_kernel(problem: Problem) -> Curves:
    inputs, opt, P = problem.data.inputs, problem.optim, problem.data.n_train
    device, dtype = resolve_device(problem.sim.device), resolve_dtype(problem.sim.dtype)
    sampler = SAMPLERS[inputs.kind](inputs, device, dtype)
    spectral = opt.algorithm in ("gd", "gradient_flow")
    itemsize = torch.finfo(dtype).bits // 8
    modes = inputs.eigenvalues.size if inputs.kind == "circle" else 0  # the circle forms E (P × D) per replica
    per_replica = itemsize * (P * P * (4 if spectral else 2) + 3 * P * modes + P * problem.record_steps.size * 3)

    def run_group(group: range, bar) -> Curves:
        gens = replica_generators(problem.seed, len(group), device, stream=streams.TRAINING_DATA, first=group.start)
        design = sampler(gens, P)
        if spectral:
            rec = _spectral_group(problem, design, group, device)
            bar.update(1)
        else:
            rec = _sgd_group(problem, design, group, device, bar)
        return rec.curves(METHODS[opt.algorithm], opt.lr)

    curves = run_in_groups(problem, device, dtype, per_replica, 1 if spectral else opt.steps, run_group)
    return replace(curves, info={**curves.info, "inputs": inputs.kind, "kernel": inputs.kernel})
