"""The Problem: one validated, immutable description shared by ``simulate`` and ``theory``.

Built once from the (Hydra) config by :func:`twopoint.data.build.build_problem`; every check runs
before any compute and raises :class:`~twopoint.core.errors.ConfigError` naming the key, the value
and what is allowed.  Conventions (docs/theory.md §1): x ~ N(0, Σ) with Σ = diag(eigenvalues); y = w*·x + ε,
ε ~ N(0, noise_std²); per-sample loss ½(f − y)²; test risk E(f − y)² under the test covariance
Σ' = diag(test_eigenvalues) (includes σ²); time = lr × step for discrete algorithms.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twopoint.data.inputs import InputSpec


@dataclass(frozen=True)
class DataSpec:
    eigenvalues: np.ndarray
    teacher: np.ndarray
    noise_std: float
    test_eigenvalues: np.ndarray
    n_train: int | None
    inputs: InputSpec | None = None  # non-Gaussian inputs of a kernel machine (eigenvalues/teacher: its spectrum)

    @property
    def dim(self) -> int:
        return self.eigenvalues.size

    @property
    def online(self) -> bool:
        return self.n_train is None

    @property
    def covariate_shift(self) -> bool:
        return not np.array_equal(self.eigenvalues, self.test_eigenvalues)

    @property
    def initial_risk(self) -> float:
        """Test risk of w = 0: w*ᵀΣ'w* + σ²."""
        return float(np.sum(self.test_eigenvalues * self.teacher**2) + self.noise_std**2)


@dataclass(frozen=True)
class ModelSpec:
    """``kind`` and, for random features, the width N and whether F is shared by all replicas."""

    kind: str
    n_features: int | None = None
    share_features: bool = False


@dataclass(frozen=True)
class OptimSpec:
    """The optimiser (docs/theory.md §1): step sizes η_s = lr · multipliers[s] (``multipliers`` None: constant lr),
    heavy-ball ``momentum`` β (``nesterov``: the look-ahead form), ridge γ."""

    algorithm: str
    lr: float
    batch_size: int
    steps: int
    ridge: float
    momentum: float = 0.0
    nesterov: bool = False
    multipliers: np.ndarray | None = None
    schedule: str = "constant"

    @property
    def step_sizes(self) -> np.ndarray:
        """η_s for s = 0..T−1 (float64)."""
        if self.multipliers is None:
            return np.full(self.steps, self.lr)
        return self.lr * self.multipliers

    @property
    def extensions(self) -> frozenset[str]:
        """What this optimiser adds to constant-rate plain SGD: ``schedule`` and/or ``momentum``."""
        return frozenset({"schedule"} if self.multipliers is not None else set()) | (
            {"momentum"} if self.momentum else set())

    def describe(self, extension: str) -> tuple[str, object]:
        """(config key, value) that asks for ``extension``, for error messages."""
        return ("optim.schedule.kind", self.schedule) if extension == "schedule" else ("optim.momentum", self.momentum)


@dataclass(frozen=True)
class SimSpec:
    enabled: bool
    replicas: int
    device: str
    dtype: str
    progress: bool | None
    chunk_mib: int
    data_gib: float
    sampler: str = "auto"  # random features: inputs | features | auto (twopoint.simulate.random_features)
    threads: int | None = None  # torch CPU threads while simulating (None: torch's setting)


@dataclass(frozen=True)
class Problem:
    seed: int
    data: DataSpec
    model: ModelSpec
    optim: OptimSpec
    sim: SimSpec
    theory_enabled: bool
    theory_method: str
    record_steps: np.ndarray

    @property
    def regime(self) -> str:
        """``<model kind>/online`` or ``<model kind>/finite``: (model, regime) of the registry key."""
        return f"{self.model.kind}/{'online' if self.data.online else 'finite'}"

    @property
    def record_times(self) -> np.ndarray:
        """Physical time lr × step of the recorded steps."""
        return self.optim.lr * self.record_steps.astype(np.float64)


def log_grid(steps: int, points: int) -> np.ndarray:
    """About ``points`` log-spaced integer steps in [0, steps], 0 and ``steps`` included (at most steps + 1)."""
    inner = np.rint(np.geomspace(1, steps, max(min(points, steps + 1) - 1, 1))).astype(np.int64)
    return np.unique(np.concatenate([[0], inner, [steps]]))
