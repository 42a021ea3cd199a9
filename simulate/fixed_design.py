"""Training on a fixed design: P samples per replica with features h_μ ∈ R^K and targets y_μ.

Shared by the finite-data simulators (linear: h = x; random features: h = F x).  Weights θ_0 = 0,
per-sample loss ½(h·θ − y)², ridge γ; recorded: the exact test risk of θ (a model-specific map,
``Design.test_risk``) and the train loss (1/P) Σ_μ (h_μ·θ − y_μ)² (no ridge term).

Algorithms (``optim.algorithm``):
* ``sgd`` — minibatch SGD on the engine, B indices drawn uniformly *with* replacement every step;
* ``sgd_epochs`` — shuffled epochs *without* replacement (P // B batches per epoch, the
  remainder of each permutation is skipped);
* ``gd`` — full-batch GD  θ ← θ − η[(K̂ + γ)θ − b],  K̂ = HᵀH/P, b = Hᵀy/P;
* ``gradient_flow`` — dθ/dt = −(K̂ + γ)θ + b, reported at time t = lr × step.
GD and gradient flow are evaluated exactly at every recorded step (:mod:`twopoint.simulate.closed_form`), in
the primal when P ≥ K and in the dual (the Gram matrix HHᵀ) when P < K.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from twopoint.core import streams
from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.simulate.closed_form import closed_form_curves, dual_coefficients, primal_weights
from twopoint.simulate.engine import Chunk, train
from twopoint.simulate.groups import run_in_groups
from twopoint.simulate.least_squares import batch_gradient, train_loss
from twopoint.simulate.rng import integers, permutations, replica_generators

CLOSED_FORM = ("gd", "gradient_flow")
INDEX_CHUNK = 4096  # batch indices drawn per chunk of SGD steps (with replacement): B·steps ≈ 4096
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


def batch_index_chunks(problem: Problem, group: range, device: torch.device):
    """Chunks of per-step (R, B) sample indices, drawn from each replica's batch-index stream: ``INDEX_CHUNK``
    indices at a time with replacement, or one permutation per epoch (batch k of an epoch is its k-th slice)."""
    P, B, T = problem.data.n_train, problem.optim.batch_size, problem.optim.steps
    gens = replica_generators(problem.seed, len(group), device, stream=streams.BATCH_INDICES, first=group.start)
    if problem.optim.algorithm == "sgd":
        per_chunk = max(1, INDEX_CHUNK // B)
        for start in range(0, T, per_chunk):
            idx = integers(gens, P, (min(per_chunk, T - start), B), device)
            yield Chunk(idx.shape[1], lambda i, idx=idx: idx[:, i])
        return
    per_epoch = P // B
    for start in range(0, T, per_epoch):
        perm = permutations(gens, P, device)
        yield Chunk(min(per_epoch, T - start), lambda k, perm=perm: perm[:, k * B : (k + 1) * B])


class FixedDesignSGD:
    """Engine model: minibatches of a replica group's fixed design."""

    quantities = ("test_risk", "train_loss")
    ridge_anchor = None

    def __init__(self, problem: Problem, design: Design, group: range):
        self.problem, self.design, self.group = problem, design, group
        self.rows = torch.arange(len(group), device=design.features.device)[:, None]

    def init(self) -> torch.Tensor:
        H = self.design.features
        return H.new_zeros(H.shape[0], H.shape[2])

    def chunks(self):
        H, y, rows = self.design.features, self.design.targets, self.rows
        for idx_chunk in batch_index_chunks(self.problem, self.group, H.device):
            yield Chunk(len(idx_chunk), lambda i, c=idx_chunk: (H[rows, c[i]], y[rows, c[i]]))

    def gradient(self, theta: torch.Tensor, batch):
        features, targets = batch
        grad, residual = batch_gradient(features, theta, targets)
        return grad, residual.pow(2).mean(-1)

    def evaluate(self, theta: torch.Tensor):
        loss = train_loss(self.design.features, self.design.targets, theta[:, None])[:, 0]
        return loss, {"test_risk": self.design.test_risk(theta[:, None])[:, 0], "train_loss": loss}


def closed_form(problem: Problem, design: Design, method: str) -> Curves:
    """GD / gradient flow at the recorded steps, in the primal (P ≥ K) or the dual (P < K), float64."""
    H, y = design.features.to(torch.float64), design.targets.to(torch.float64)
    P, K = H.shape[1:]
    if P >= K:
        theta = primal_weights(H, y, problem)
    else:
        _, vecs, coef = dual_coefficients(H @ H.mT, y, problem)
        theta = (coef @ vecs.mT) @ H  # θ(t) = Hᵀ a(t), a = U c
    return closed_form_curves(problem, design.test_risk(theta), train_loss(H, y, theta), method)


def bytes_per_replica(problem: Problem, width: int, model_floats: int) -> Callable[[torch.dtype], int]:
    """Peak bytes one replica adds: its design (P × (K + 1)) and model (``model_floats``, e.g. F),
    plus for GD/GF the float64 eigen-decomposition (3 m², m = min(P, K)) and the weights, test
    errors and residuals at the T recorded steps."""

    def count(dtype: torch.dtype) -> int:
        P, D, T = problem.data.n_train, problem.data.dim, problem.record_steps.size
        itemsize = torch.finfo(dtype).bits // 8
        stored = P * (width + 1) + model_floats
        if problem.optim.algorithm not in CLOSED_FORM:
            return itemsize * stored
        m = min(P, width)
        return itemsize * stored + 8 * (stored * (itemsize < 8) + 3 * m * m + T * (2 * m + width + 3 * P + 3 * D))

    return count


def simulate_fixed_design(problem: Problem, build: BuildDesign, width: int, model_floats: int = 0, label: str = "") -> Curves:
    """Run ``optim.algorithm`` on the designs made by ``build``, in replica groups within ``sim.data_gib``."""
    exact = problem.optim.algorithm in CLOSED_FORM
    method = label + METHODS[problem.optim.algorithm]

    def run_group(group: range, device: torch.device, dtype: torch.dtype, bar) -> Curves:
        design = build(problem, group, device, dtype)
        if not exact:
            return train(problem, FixedDesignSGD(problem, design, group), bar).curves(method, problem.optim.lr)
        curves = closed_form(problem, design, method)
        bar.update(1)
        return curves

    return run_in_groups(problem, bytes_per_replica(problem, width, model_floats), 1 if exact else problem.optim.steps, run_group)
