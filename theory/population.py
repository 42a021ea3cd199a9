"""The population seen by the theory: a diagonal covariance in its own eigenbasis.

Convention (docs/theory.md §1): x ~ N(0, Σ), Σ = diag(λ_k); teacher y = w*·x + ε, ε ~ N(0, σ²);
the test covariance Σ' is diagonal in the same basis (``test_eigenvalues``; equal to
``eigenvalues`` without covariate shift).  Every spectral sum over modes k is weighted by
``multiplicity`` (all ones unless the spectrum was compressed, docs/theory.md §9.4, in which case one
entry stands for ``multiplicity[k]`` modes sharing λ_k and the mean w*_k² of the bin).
All arrays are float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Population:
    eigenvalues: np.ndarray
    teacher_sq: np.ndarray
    noise_var: float = 0.0
    test_eigenvalues: np.ndarray | None = None
    multiplicity: np.ndarray | None = field(default=None)

    def __post_init__(self):
        lam = np.asarray(self.eigenvalues, dtype=np.float64)
        object.__setattr__(self, "eigenvalues", lam)
        object.__setattr__(self, "teacher_sq", np.asarray(self.teacher_sq, dtype=np.float64))
        test = lam if self.test_eigenvalues is None else self.test_eigenvalues
        object.__setattr__(self, "test_eigenvalues", np.asarray(test, dtype=np.float64))
        mult = np.ones_like(lam) if self.multiplicity is None else self.multiplicity
        object.__setattr__(self, "multiplicity", np.asarray(mult, dtype=np.float64))
        object.__setattr__(self, "noise_var", float(self.noise_var))
        shapes = {a.shape for a in (lam, self.teacher_sq, self.test_eigenvalues, self.multiplicity)}
        if len(shapes) != 1 or lam.ndim != 1:
            raise ValueError(f"population arrays must be 1-D of equal length, got shapes {shapes}")

    @property
    def dim(self) -> float:
        """Number of modes D (sum of multiplicities)."""
        return float(self.multiplicity.sum())

    @property
    def signal(self) -> float:
        """S = w*ᵀ Σ w* (training covariance)."""
        return float(np.sum(self.multiplicity * self.eigenvalues * self.teacher_sq))

    @property
    def initial_risk(self) -> float:
        """Test risk at w = 0: w*ᵀ Σ' w* + σ²."""
        return float(np.sum(self.multiplicity * self.test_eigenvalues * self.teacher_sq)) + self.noise_var
