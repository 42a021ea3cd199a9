"""Replica groups: run independent replicas a group at a time so that memory stays within ``sim.data_gib``.

Replicas never interact, and replica r draws from its own streams wherever it is computed, so
the concatenated curves do not depend on the grouping.  :func:`run_in_groups` is also where every
simulation's ``info`` is built (one place): device, dtype, number of groups and, for kernel machines,
the input distribution and kernel (so that every kernel run reports its Gaussian-equivalence gap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.simulate.device import resolve_device, resolve_dtype
from twopoint.simulate.progress import progress_bar

RunGroup = Callable[[range, torch.device, torch.dtype, "GroupBar"], Curves]


def replica_groups(replicas: int, bytes_per_replica: int, budget_gib: float) -> list[range]:
    size = max(1, int(budget_gib * 2**30 // max(bytes_per_replica, 1)))
    return [range(s, min(s + size, replicas)) for s in range(0, replicas, size)]


PREFETCH_AHEAD = 1  # chunks of random numbers drawn ahead of the one training (twopoint.simulate.engine.prefetched)
# Chunks alive at once: the one training, PREFETCH_AHEAD queued and one being drawn.  A model's ring of draw
# buffers (twopoint.simulate.rng.DrawBuffers) has this many slots, so no buffer is reused before its chunk is done.
CHUNKS_ALIVE = PREFETCH_AHEAD + 2


def peak_bytes(problem: Problem, bytes_per_replica: Callable[[torch.dtype], int]) -> int:
    """Estimated peak memory of a simulation: its largest replica group (``bytes_per_replica`` each, which
    includes one step of pre-drawn numbers) plus ``CHUNKS_ALIVE`` chunks of pre-drawn numbers (``sim.chunk_mib``)."""
    per_replica = bytes_per_replica(resolve_dtype(problem.sim.dtype))
    group = len(replica_groups(problem.sim.replicas, per_replica, problem.sim.data_gib)[0])
    return group * per_replica + CHUNKS_ALIVE * problem.sim.chunk_mib * 2**20


def memory_of(bytes_per_replica: Callable[[Problem], Callable[[torch.dtype], int]]) -> Callable[[Problem], int]:
    """``memory(problem)`` for the registry from a simulator's ``bytes_per_replica(problem)(dtype)``."""
    return lambda problem: peak_bytes(problem, bytes_per_replica(problem))


def run_in_groups(problem: Problem, bytes_per_replica: Callable[[torch.dtype], int], work_per_replica: int,
                  run_group: RunGroup) -> Curves:
    """``run_group(group, device, dtype, bar)`` on each group (sized by ``bytes_per_replica(dtype)``); one progress
    bar of ``work_per_replica`` × replicas units; the groups' curves concatenated, with the run's ``info``."""
    device, dtype = resolve_device(problem.sim.device), resolve_dtype(problem.sim.dtype)
    groups = replica_groups(problem.sim.replicas, bytes_per_replica(dtype), problem.sim.data_gib)
    with progress_bar(work_per_replica * problem.sim.replicas, problem.sim.progress, problem.optim.algorithm) as bar:
        parts = [run_group(g, device, dtype, GroupBar(bar, len(g))) for g in groups]
    first = parts[0]
    return replace(first, values={q: np.concatenate([p.values[q] for p in parts]) for q in first.values},
                   diverged_at=np.concatenate([p.diverged_at for p in parts]),
                   info=run_info(problem, device, dtype, len(groups)))


def run_info(problem: Problem, device: torch.device, dtype: torch.dtype, groups: int) -> dict:
    """The ``info`` of every simulation."""
    info = {"device": str(device), "dtype": str(dtype).removeprefix("torch."), "replica_groups": groups,
            "threads": torch.get_num_threads()}
    inputs = problem.data.inputs
    if inputs is not None:  # a kernel machine on real inputs: compare reports its Gaussian-equivalence gap
        info.update(inputs=inputs.kind, kernel=inputs.kernel)
    return info


class GroupBar:
    """Advances the shared bar by units × replicas of the group."""

    def __init__(self, bar, replicas: int):
        self.bar, self.replicas = bar, replicas

    def update(self, n: int) -> None:
        self.bar.update(n * self.replicas)
