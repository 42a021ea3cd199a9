"""Curves: the one container that simulations and theory hand to ``compare``.

``values[q]`` holds quantity ``q`` (``test_risk``, ``train_loss``) on the recorded steps: shape
``(replicas, steps)`` for a simulation, ``(steps,)`` for a theory prediction.  Entries after a
replica's divergence are NaN; ``diverged_at`` gives the step of divergence (−1 = never), per
replica for a simulation and as a single entry for theory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

SIMULATION = "simulation"
THEORY = "theory"


@dataclass(frozen=True)
class Curves:
    source: str
    method: str
    steps: np.ndarray
    time: np.ndarray
    values: dict[str, np.ndarray]
    diverged_at: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def quantities(self) -> list[str]:
        return list(self.values)

    @property
    def replicas(self) -> int:
        return 1 if self.source == THEORY else self.diverged_at.size

    @property
    def diverged(self) -> bool:
        return bool(np.any(self.diverged_at >= 0))

    @property
    def diverged_fraction(self) -> float:
        return float(np.mean(self.diverged_at >= 0))

    def _per_replica(self, quantity: str) -> np.ndarray:
        v = self.values[quantity]
        return v[None, :] if self.source == THEORY else v

    def mean(self, quantity: str) -> np.ndarray:
        """Mean over the replicas that have not diverged at each step (NaN where none is left)."""
        v = self._per_replica(quantity)
        count = np.sum(np.isfinite(v), axis=0)
        total = np.nansum(np.where(np.isfinite(v), v, np.nan), axis=0)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def stderr(self, quantity: str) -> np.ndarray:
        """Standard error of :meth:`mean` (NaN for theory or with fewer than 2 replicas)."""
        v = self._per_replica(quantity)
        finite = np.isfinite(v)
        count = finite.sum(axis=0)
        if self.source == THEORY:
            return np.full(v.shape[1], np.nan)
        dev = np.where(finite, v - self.mean(quantity)[None, :], 0.0)
        var = np.sum(dev**2, axis=0) / np.maximum(count - 1, 1)
        return np.where(count > 1, np.sqrt(var / np.maximum(count, 1)), np.nan)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: source, method, quantity, step, time, value (replica mean), stderr."""
        import pandas as pd  # loaded on first use: the command line starts faster without it

        frames = [
            pd.DataFrame(
                {
                    "source": self.source,
                    "method": self.method,
                    "quantity": q,
                    "step": self.steps,
                    "time": self.time,
                    "value": self.mean(q),
                    "stderr": self.stderr(q),
                }
            )
            for q in self.values
        ]
        return pd.concat(frames, ignore_index=True)
