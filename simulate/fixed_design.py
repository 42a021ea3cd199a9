"""Training on a fixed design: P samples per replica with features h_μ ∈ R^K and targets y_μ.

Shared by the finite-data simulators (linear: h = x; random features: h = F x).  Weights θ_0 = 0,
per-sample loss ½(h·θ − y)², ridge γ; recorded: the exact test risk of θ (a model-specific map,
``Design.test_risk``) and the train loss (1/P) Σ_μ (h_μ·θ − y_μ)² (no ridge term).

Algorithms (``optim.algorithm``):
* ``sgd`` — minibatch SGD, B indices drawn uniformly *with* replacement every step;
* ``sgd_epochs`` — shuffled epochs *without* replacement (P // B batches per epoch, the
  remainder of each permutation is skipped);
* ``gd`` — full-batch GD  θ ← θ − η[(K̂ + γ)θ − b],  K̂ = HᵀH/P, b = Hᵀy/P;
* ``gradient_flow`` — dθ/dt = −(K̂ + γ)θ + b, reported at time t = lr × step.
GD and gradient flow are linear in θ, so they are evaluated exactly in the eigenbasis of each
replica's K̂ (every recorded step at once, no discretisation error): with K̂ = V diag(κ) Vᵀ,
    θ(t) = V diag(ψ(t)) Vᵀ b,  ψ_j(t) = (1 − φ_j(t)) / (κ_j + γ),
    φ_j = (1 − η(κ_j + γ))^t (GD) or e^{−(κ_j + γ)ηt} (GF),  ψ_j → ηt as κ_j + γ → 0,
computed with expm1/log1p so that null and nearly-null modes stay exact.  When P < K the same
is done in the dual: θ(t) = Hᵀ U diag(ψ(t)) Uᵀ y / P with HHᵀ/P = U diag(κ) Uᵀ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from twopoint.core import streams
from twopoint.simulate.device import resolve_device, resolve_dtype
from twopoint.simulate.groups import run_in_groups
from twopoint.simulate.recorder import DIVERGENCE_FACTOR
from twopoint.simulate.rng import integers, permutations, replica_generators
from twopoint.simulate.sgd import run_sgd
from twopoint.core.curves import SIMULATION, Curves
from twopoint.core.problem import OptimSpec, Problem

SPECTRAL = ("gd", "gradient_flow")
METHODS = {
    "sgd": "torch minibatch SGD, batches with replacement from P samples",
    "sgd_epochs": "torch minibatch SGD, shuffled epochs without replacement",
    "gd": "full-batch GD, exact in the eigenbasis of the sampled covariance",
    "gradient_flow": "gradient flow, exact in the eigenbasis of the sampled covariance",
}


@dataclass(frozen=True)
class Design:
    """One group's training sets: ``features`` (R, P, K), ``targets`` (R, P), and ``test_risk``
    mapping weights (R, T, K) (any float dtype) to the exact test risk (R, T)."""

    features: torch.Tensor
    targets: torch.Tensor
    test_risk: Callable[[torch.Tensor], torch.Tensor]


BuildDesign = Callable[[Problem, range, torch.device, torch.dtype], Design]


def train_loss(features: torch.Tensor, targets: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """(1/P) Σ_μ (h_μ·θ − y_μ)² for weights θ (R, T, K); shape (R, T)."""
    return (theta @ features.mT - targets[:, None, :]).pow(2).mean(-1)


def bytes_per_replica(problem: Problem, width: int, model_floats: int) -> int:
    """Peak bytes one replica adds: its design (P × (K + 1)) and model (``model_floats``, e.g. F),
    plus for GD/GF the float64 eigen-decomposition (3 m², m = min(P, K)) and the weights, test
    errors and residuals at the T recorded steps."""
    P, D, T = problem.data.n_train, problem.data.dim, problem.record_steps.size
    itemsize = torch.finfo(resolve_dtype(problem.sim.dtype)).bits // 8
    stored = P * (width + 1) + model_floats
    if problem.optim.algorithm not in SPECTRAL:
        return itemsize * stored
    m = min(P, width)
    return itemsize * stored + 8 * (stored * (itemsize < 8) + 3 * m * m + T * (2 * m + width + 3 * P + 3 * D))


def simulate_fixed_design(problem: Problem, build: BuildDesign, width: int, model_floats: int = 0, label: str = "") -> Curves:
    """Run ``optim.algorithm`` on the designs made by ``build``, in replica groups within ``sim.data_gib``."""
    device, dtype = resolve_device(problem.sim.device), resolve_dtype(problem.sim.dtype)
    spectral = problem.optim.algorithm in SPECTRAL
    method = label + METHODS[problem.optim.algorithm]

    def run_group(group: range, bar) -> Curves:
        design = build(problem, group, device, dtype)
        if not spectral:
            return _sgd(problem, design, group, method, bar)
        curves = _spectral(problem, design, method)
        bar.update(1)
        return curves

    return run_in_groups(problem, device, dtype, bytes_per_replica(problem, width, model_floats),
                         1 if spectral else problem.optim.steps, run_group)


def _batch_indices(problem: Problem, group: range, device: torch.device):
    """The (R, B) sample indices of every step, drawn from each replica's batch stream."""
    P, B, T = problem.data.n_train, problem.optim.batch_size, problem.optim.steps
    gens = replica_generators(problem.seed, len(group), device, stream=streams.BATCH_INDICES, first=group.start)
    if problem.optim.algorithm == "sgd":
        chunk = max(1, 4096 // B)  # steps of indices drawn at once
        for start in range(0, T, chunk):
            yield from integers(gens, P, (min(chunk, T - start), B), device).unbind(1)
        return
    per_epoch = P // B
    for step in range(T):  # a fresh permutation per epoch; batch k of an epoch is its k-th slice
        k = step % per_epoch
        if k == 0:
            perm = permutations(gens, P, device)
        yield perm[:, k * B : (k + 1) * B]


def _sgd(problem: Problem, design: Design, group: range, method: str, bar) -> Curves:
    H, y = design.features, design.targets
    rows = torch.arange(H.shape[0], device=H.device)[:, None]

    def evaluate(theta):
        loss = train_loss(H, y, theta[:, None])[:, 0]
        return loss, {"test_risk": design.test_risk(theta[:, None])[:, 0], "train_loss": loss}

    batches = ((H[rows, idx], y[rows, idx]) for idx in _batch_indices(problem, group, H.device))
    rec = run_sgd(problem, H.new_zeros(H.shape[0], H.shape[2]), batches, evaluate, ("test_risk", "train_loss"), bar)
    return rec.curves(method, problem.optim.lr)


def _response(kappa: torch.Tensor, t: torch.Tensor, opt: OptimSpec) -> torch.Tensor:
    """ψ_j(t) = (1 − φ_j(t)) / (κ_j + γ) of shape (R, r, T); exact as κ_j + γ → 0 (ψ → ηt)."""
    rate = (kappa + opt.ridge)[..., None]
    if opt.algorithm == "gradient_flow":
        gain = -torch.expm1(-rate * (opt.lr * t))
    else:
        step = opt.lr * rate
        small = step.abs() < 0.5
        gain = torch.where(small, -torch.expm1(t * torch.log1p(-step.clamp(max=0.5))), 1.0 - (1.0 - step) ** t)
    return torch.where(rate == 0, opt.lr * t, gain / rate)


def _spectral(problem: Problem, design: Design, method: str) -> Curves:
    """GD / gradient flow at the recorded steps in closed form (see the module docstring)."""
    f64 = torch.float64
    H, y = design.features.to(f64), design.targets.to(f64)
    P, K = H.shape[1:]
    t = torch.as_tensor(problem.record_steps, dtype=f64, device=H.device)
    if P >= K:
        kappa, vecs = torch.linalg.eigh(H.mT @ H / P)
        theta = vecs @ (_response(kappa, t, problem.optim) * (vecs.mT @ (H.mT @ y[..., None])) / P)
    else:
        kappa, vecs = torch.linalg.eigh(H @ H.mT / P)
        theta = H.mT @ (vecs @ (_response(kappa, t, problem.optim) * (vecs.mT @ y[..., None])) / P)
    theta = theta.mT  # (R, T, K)
    return closed_form_curves(problem, design.test_risk(theta), train_loss(H, y, theta), method)


def closed_form_curves(problem: Problem, risk: torch.Tensor, loss: torch.Tensor, method: str) -> Curves:
    """Curves with divergence flagged at the first recorded step where the risk or the train loss
    is non-finite or beyond ``DIVERGENCE_FACTOR`` × its initial value."""
    risk, loss = risk.cpu().numpy(), loss.cpu().numpy()
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(risk) | ~np.isfinite(loss) | (risk > DIVERGENCE_FACTOR * risk[:, :1]) | (loss > DIVERGENCE_FACTOR * loss[:, :1])
    steps = problem.record_steps
    first = np.where(bad.any(1), steps[np.argmax(bad, axis=1)], -1)
    after = steps[None, :] >= np.where(first >= 0, first, np.iinfo(np.int64).max)[:, None]
    values = {"test_risk": np.where(after, np.nan, risk), "train_loss": np.where(after, np.nan, loss)}
    return Curves(SIMULATION, method, steps, problem.record_times, values, first)
