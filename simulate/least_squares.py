"""Least squares on features: the batch gradient and the train loss, for every replica at once.

For features h ∈ R^K, weights θ and targets y, the per-sample loss is ½(h·θ − y)² and a batch of B samples
has the mean gradient (1/B) Σ_b (h_b·θ − y_b) h_b (docs/theory.md §1).  The linear model is h = x (θ = w),
random features h = F x (θ = v), kernel machines in Mercer features h = ψ(x).  Every tensor carries the
replicas on its leading axis.
"""

from __future__ import annotations

import torch


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


def train_loss(features: torch.Tensor, targets: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """(1/P) Σ_μ (h_μ·θ − y_μ)² for weights θ (R, T, K) on features (R, P, K); shape (R, T)."""
    return (theta @ features.mT - targets[:, None, :]).pow(2).mean(-1)
