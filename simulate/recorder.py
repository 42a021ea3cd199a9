"""Streaming recorder: values on the log grid, divergence per replica, memory independent of T.

A replica diverges at the first step where a monitored quantity is non-finite or exceeds
``DIVERGENCE_FACTOR`` × its initial value; from then on its recorded values are NaN and the
training loop stops updating it (its state is zeroed to keep the arithmetic finite).
"""

from __future__ import annotations

import numpy as np
import torch

from twopoint.core.curves import SIMULATION, Curves

DIVERGENCE_FACTOR = 1e6


class Recorder:
    def __init__(self, record_steps: np.ndarray, replicas: int, quantities: tuple[str, ...], device: torch.device):
        self.steps = np.asarray(record_steps, dtype=np.int64)
        self._slot = {int(s): i for i, s in enumerate(self.steps)}
        self._values = {q: torch.full((replicas, self.steps.size), float("nan"), dtype=torch.float64, device=device) for q in quantities}
        self.diverged_at = torch.full((replicas,), -1, dtype=torch.int64, device=device)
        self._limit: torch.Tensor | None = None

    @property
    def alive(self) -> torch.Tensor:
        return self.diverged_at < 0

    def observe(self, step: int, monitor: torch.Tensor) -> torch.Tensor:
        """Flag replicas whose monitored value (shape (R,)) blew up at ``step``; returns the new ones."""
        if self._limit is None:
            self._limit = DIVERGENCE_FACTOR * monitor.detach().abs().to(torch.float64)
        bad = ~torch.isfinite(monitor) | (monitor.to(torch.float64) > self._limit)
        new = bad & self.alive
        self.diverged_at = torch.where(new, step, self.diverged_at)  # no host sync, unlike a masked assignment
        return new

    def wants(self, step: int) -> bool:
        return step in self._slot

    def record(self, step: int, **values: torch.Tensor) -> None:
        i = self._slot[step]
        for q, v in values.items():
            self._values[q][:, i] = torch.where(self.alive, v.to(torch.float64), float("nan"))

    def curves(self, method: str, lr: float, info: dict | None = None) -> Curves:
        return Curves(
            source=SIMULATION,
            method=method,
            steps=self.steps,
            time=lr * self.steps.astype(np.float64),
            values={q: v.cpu().numpy() for q, v in self._values.items()},
            diverged_at=self.diverged_at.cpu().numpy(),
            info=info or {},
        )
