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
from typing import NamedTuple

import numpy as np
import torch

from twopoint.core import streams
from twopoint.core.registry import OPTIMISER_EXTENSIONS as OPTIMISERS, SIMULATOR_ROLE, register
from twopoint.simulate.closed_form import closed_form_curves, dual_coefficients
from twopoint.simulate.device import check_device
from twopoint.simulate.engine import Chunk, train
from twopoint.simulate.fixed_design import INDEX_CHUNK
from twopoint.simulate.groups import memory_of, run_in_groups
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


def dual_gradient(coef: torch.Tensor, gram: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch gradient in dual coefficients, (1/B) Σ_b (f(x_{i_b}) − y_{i_b}) e_{i_b} (repeated indices add up),
    and the residuals, for ``coef`` (R, P), Gram matrices (R, P, P), labels (R, P) and batch indices ``idx`` (R, B)."""
    R, P = coef.shape
    flat = (torch.arange(R, device=coef.device)[:, None] * P + idx).view(-1)
    batch_rows = gram.reshape(R * P, P).index_select(0, flat).view(R, -1, P)  # K(x_{i_b}, ·), faster than gram[rows, idx]
    residual = (batch_rows * coef[:, None, :]).sum(-1) - labels.gather(1, idx)
    return torch.zeros_like(coef).scatter_add_(1, idx, residual / idx.shape[1]), residual


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


class DualSGD:
    """Engine model: SGD on the dual coefficients a (R, P) of a group's training sets, batches with replacement."""

    quantities = ("test_risk", "train_loss")
    ridge_anchor = None

    def __init__(self, problem: Problem, design: Design, group: range):
        self.problem, self.design, self.group = problem, design, group
        self.risk = ExactRisk(design, problem.data.inputs)

    def init(self) -> torch.Tensor:
        return torch.zeros_like(self.design.labels)

    def chunks(self):
        opt, device = self.problem.optim, self.design.gram.device
        gens = replica_generators(self.problem.seed, len(self.group), device, stream=streams.BATCH_INDICES, first=self.group.start)
        per_chunk = max(1, INDEX_CHUNK // opt.batch_size)
        for start in range(0, opt.steps, per_chunk):
            idx = integers(gens, self.problem.data.n_train, (min(per_chunk, opt.steps - start), opt.batch_size), device)
            yield Chunk(idx.shape[1], lambda i, idx=idx: idx[:, i])

    def gradient(self, coef: torch.Tensor, idx: torch.Tensor):
        grad, residual = dual_gradient(coef, self.design.gram, self.design.labels, idx)
        return grad, residual.pow(2).mean(-1)

    def evaluate(self, coef: torch.Tensor):
        risk, loss = self.risk(coef)
        return loss, {"test_risk": risk, "train_loss": loss}


def closed_form(problem: Problem, design: Design, method: str) -> Curves:
    """GD / gradient flow at the recorded steps: a(t) = U c(t) from the Gram eigenbasis (:mod:`.closed_form`),
    risk and loss evaluated in that basis."""
    lam, vecs, coef = dual_coefficients(design.gram, design.labels, problem)
    projected = Design(torch.diag_embed(lam), vecs.mT @ design.gram2 @ vecs, (vecs.mT @ design.cross[..., None])[..., 0],
                       (vecs.mT @ design.labels[..., None])[..., 0])
    risk, loss = ExactRisk(projected, problem.data.inputs)(coef)  # (R, T)
    return closed_form_curves(problem, risk, loss, method)


def _bytes_per_replica(problem: Problem):
    """Gram matrices (two, four for the eigendecomposition), the circle's modes E (P × D), the recorded steps."""
    inputs, P = problem.data.inputs, problem.data.n_train
    exact = problem.optim.algorithm in ("gd", "gradient_flow")
    modes = inputs.eigenvalues.size if inputs.kind == "circle" else 0
    return lambda dtype: (torch.finfo(dtype).bits // 8) * (P * P * (4 if exact else 2) + 3 * P * modes + P * problem.record_steps.size * 3)


@register(SIMULATOR_ROLE, "kernel", "finite", "torch", check=check_device, memory=memory_of(_bytes_per_replica),
          supports=OPTIMISERS)
def simulate_kernel(problem: Problem) -> Curves:
    inputs, opt, P = problem.data.inputs, problem.optim, problem.data.n_train
    exact = opt.algorithm in ("gd", "gradient_flow")

    def run_group(group: range, device: torch.device, dtype: torch.dtype, bar) -> Curves:
        gens = replica_generators(problem.seed, len(group), device, stream=streams.TRAINING_DATA, first=group.start)
        design = SAMPLERS[inputs.kind](inputs, device, dtype)(gens, P)
        if not exact:
            return train(problem, DualSGD(problem, design, group), bar).curves(METHODS[opt.algorithm], opt.lr)
        curves = closed_form(problem, design, METHODS[opt.algorithm])
        bar.update(1)
        return curves

    return run_in_groups(problem, _bytes_per_replica(problem), 1 if exact else opt.steps, run_group)
