"""Replica groups: run independent replicas a group at a time so that memory stays within ``sim.data_gib``.

Replicas never interact, and replica r draws from its own streams wherever it is computed, so
the concatenated curves do not depend on the grouping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from twopoint.simulate.progress import progress_bar
from twopoint.core.curves import Curves
from twopoint.core.problem import Problem


def replica_groups(replicas: int, bytes_per_replica: int, budget_gib: float) -> list[range]:
    size = max(1, int(budget_gib * 2**30 // max(bytes_per_replica, 1)))
    return [range(s, min(s + size, replicas)) for s in range(0, replicas, size)]


def run_in_groups(problem: Problem, device: torch.device, dtype: torch.dtype, bytes_per_replica: int, work_per_replica: int,
                  run_group: Callable[[range, "GroupBar"], Curves]) -> Curves:
    """``run_group(group, bar)`` on each group; one progress bar of ``work_per_replica`` × replicas units."""
    groups = replica_groups(problem.sim.replicas, bytes_per_replica, problem.sim.data_gib)
    with progress_bar(work_per_replica * problem.sim.replicas, problem.sim.progress, problem.optim.algorithm) as bar:
        parts = [run_group(g, GroupBar(bar, len(g))) for g in groups]
    first = parts[0]
    return replace(first, values={q: np.concatenate([p.values[q] for p in parts]) for q in first.values},
                   diverged_at=np.concatenate([p.diverged_at for p in parts]),
                   info={"device": str(device), "dtype": str(dtype).removeprefix("torch."), "replica_groups": len(groups)})


class GroupBar:
    """Advances the shared bar by units × replicas of the group."""

    def __init__(self, bar, replicas: int):
        self.bar, self.replicas = bar, replicas

    def update(self, n: int) -> None:
        self.bar.update(n * self.replicas)
