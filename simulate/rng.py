"""Per-replica random streams: replica r of a run with seed s always sees the same numbers.

Each replica owns a ``torch.Generator`` seeded from ``SeedSequence([s, r])``, so its draws do
not depend on how many replicas run beside it.  Standard normals are drawn in float32 (several
times faster than float64 on CPU) and cast to the working dtype; the float32 rounding of a
Gaussian sample (relative 6e-8) is far below any Monte-Carlo error we resolve.
"""

from __future__ import annotations

import numpy as np
import torch


def replica_generators(seed: int, replicas: int, device: torch.device, stream: int = 0, first: int = 0) -> list[torch.Generator]:
    """Generators of replicas ``first .. first + replicas − 1``; ``stream`` separates independent
    uses (fresh online batches, training data, batch indices)."""
    gens = []
    for r in range(first, first + replicas):
        state = np.random.SeedSequence([seed, r, stream]).generate_state(1, np.uint64)[0]
        gens.append(torch.Generator(device=device).manual_seed(int(state >> np.uint64(1))))
    return gens


def normals(gens: list[torch.Generator], shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """float32 standard normals of shape ``(replicas, *shape)``, one generator per leading index.

    Cast slices to the working dtype where they are used (casting the whole chunk at once is a
    memory-bound copy that costs more than drawing it).
    """
    out = torch.empty((len(gens), *shape), dtype=torch.float32, device=device)
    for r, g in enumerate(gens):
        torch.randn(shape, generator=g, out=out[r])
    return out


def integers(gens: list[torch.Generator], high: int, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Uniform integers in [0, high) of shape ``(replicas, *shape)``."""
    return torch.stack([torch.randint(high, shape, generator=g, device=device) for g in gens])


def permutations(gens: list[torch.Generator], n: int, device: torch.device) -> torch.Tensor:
    """One random permutation of range(n) per replica, shape ``(replicas, n)``."""
    return torch.stack([torch.randperm(n, generator=g, device=device) for g in gens])
