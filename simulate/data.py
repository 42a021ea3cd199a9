"""Gaussian inputs, teacher labels and the exact population risks (docs/theory.md §1), in torch.

Raw draws are float32 standard normals z of width D + 1 per sample: the inputs are
x = √λ ⊙ z[:D] (Σ = diag λ in its eigenbasis) and the label is y = w*·x + σ z[D].  For a linear
predictor u (for random features u = Fᵀv) with error e = u − w*, the risk of a fresh sample is
eᵀΣ'e + σ² under the test covariance Σ' and eᵀΣe + σ² under the training distribution.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from twopoint.core import streams
from twopoint.simulate.rng import normals, replica_generators
from twopoint.core.problem import DataSpec, Problem

ROW_CHUNK_FLOATS = 2**22  # raw normals per chunk of training rows: 16 MiB of float32


class GaussianTeacher:
    """The data distribution of ``DataSpec`` as tensors on one device, in one dtype."""

    def __init__(self, data: DataSpec, device: torch.device, dtype: torch.dtype):
        as_t = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
        self.dim, self.noise_std = data.dim, data.noise_std
        self.sqrt_lam, self.lam, self.w_star = as_t(np.sqrt(data.eigenvalues)), as_t(data.eigenvalues), as_t(data.teacher)
        self.test_lam = as_t(data.test_eigenvalues)

    def sample(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs x (..., D) and labels y (...) from raw normals z (..., D + 1)."""
        x = z[..., : self.dim].to(self.sqrt_lam.dtype) * self.sqrt_lam
        return x, x @ self.w_star + self.noise_std * z[..., self.dim].to(x.dtype)

    def test_risk(self, err: torch.Tensor) -> torch.Tensor:
        """eᵀΣ'e + σ² over the last axis of ``err`` (computed in err's dtype)."""
        return (err * err) @ self.test_lam.to(err.dtype) + self.noise_std**2

    def train_risk(self, err: torch.Tensor) -> torch.Tensor:
        """eᵀΣe + σ²: the expected loss (f − y)² of a fresh training-distribution sample."""
        return (err * err) @ self.lam.to(err.dtype) + self.noise_std**2


def training_set(problem: Problem, group: range, device: torch.device, dtype: torch.dtype, width: int | None = None,
                 features: Callable[[int, torch.Tensor], torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (R, P, width) and labels (R, P) of the P training samples of each replica in ``group``.

    ``features(i, x)`` maps a chunk of inputs x (rows, D) of the group's i-th replica to its
    features (rows, width); ``None`` keeps the inputs (width D).  Rows are drawn replica by replica
    in chunks of at most ``ROW_CHUNK_FLOATS`` raw numbers, so the raw inputs of the whole group are
    never held at once; the chunking does not change the numbers (see :mod:`simulate.rng`).
    """
    P, D = problem.data.n_train, problem.data.dim
    teacher = GaussianTeacher(problem.data, device, dtype)
    out = torch.empty((len(group), P, width or D), dtype=dtype, device=device)
    labels = torch.empty((len(group), P), dtype=dtype, device=device)
    rows = max(1, min(P, ROW_CHUNK_FLOATS // (D + 1)))
    gens = replica_generators(problem.seed, len(group), device, stream=streams.TRAINING_DATA, first=group.start)
    for i, g in enumerate(gens):
        for s in range(0, P, rows):
            x, labels[i, s : s + rows] = teacher.sample(normals([g], (min(rows, P - s), D + 1), device)[0])
            out[i, s : s + rows] = x if features is None else features(i, x)
    return out, labels
