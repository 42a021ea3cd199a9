"""Minibatch SGD on least squares: the batch gradient and the streaming training loop.

For features h ∈ R^K, weights θ and targets y, per-sample loss ½(h·θ − y)², batch mean and ridge γ:
    θ ← θ − η [(1/B) Σ_b (h_b·θ − y_b) h_b + γ θ].
The linear model is the case h = x (θ = w); random features are h = F x (θ = v).  Every tensor
carries the replicas on its leading axis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from twopoint.simulate.recorder import Recorder
from twopoint.core.problem import Problem

Batches = Iterator[tuple[torch.Tensor, torch.Tensor]]
Evaluate = Callable[[torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


def batch_gradient(features, weights, targets, scale=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(1/B) Σ_b (x_b·θ − y_b) x_b and the residuals x_b·θ − y_b, for every replica.

    ``features`` (R, B, K), ``weights`` θ (R, K), ``targets`` (R, B).  With ``scale`` s the inputs
    are x_b = s ⊙ features_b, never formed: x·θ = features·(s ⊙ θ), Σ_b r_b x_b = s ⊙ Σ_b r_b features_b.
    """
    residual = torch.einsum("rbk,rk->rb", features, weights if scale is None else scale * weights) - targets
    grad = torch.einsum("rbk,rb->rk", features, residual)
    if scale is not None:
        grad = scale * grad
    return grad / features.shape[1], residual


def run_sgd(problem: Problem, theta: torch.Tensor, batches: Batches, evaluate: Evaluate, quantities: tuple[str, ...], bar) -> Recorder:
    """Train θ (R, K) for ``optim.steps`` steps on ``batches`` (one (h (R, B, K), y (R, B)) per step).

    ``evaluate(θ)`` returns the exact quantities to record (keys ``quantities``) and a monitor of
    shape (R,): the expectation of the batch loss given θ (train loss on a fixed training set,
    population risk under the training distribution online).  It runs at the recorded steps only.
    Divergence: a replica is flagged at step t when the batch loss of the update that produced θ_t
    (taken at θ_{t−1}) or, at a recorded step, the monitor at θ_t is non-finite or beyond
    ``DIVERGENCE_FACTOR`` × the monitor at step 0 (the batch loss is cheap, so every step is checked).
    """
    opt = problem.optim
    rec = Recorder(problem.record_steps, theta.shape[0], quantities, theta.device)
    for step in range(opt.steps + 1):
        if step:
            h, y = next(batches)
            grad, residual = batch_gradient(h, theta, y)
            if opt.ridge:
                grad = grad + opt.ridge * theta
            theta = theta - opt.lr * grad
            theta = theta.masked_fill(rec.observe(step, residual.pow(2).mean(-1))[:, None], 0.0)
            bar.update(1)
        if rec.wants(step):
            monitor, values = evaluate(theta)
            theta = theta.masked_fill(rec.observe(step, monitor)[:, None], 0.0)
            rec.record(step, **values)
    return rec
