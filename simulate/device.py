"""Device and dtype resolution for the simulators (``auto`` picks CUDA when present)."""

from __future__ import annotations

import torch

from twopoint.core.errors import ConfigError
from twopoint.core.problem import Problem

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_dtype(name: str) -> torch.dtype:
    return DTYPES[name]


def check_device(problem: Problem) -> None:
    """Raise ConfigError (before any compute) when ``sim.device=cuda`` but no CUDA GPU is visible."""
    if problem.sim.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("sim.device", "cuda", "cuda needs a visible CUDA GPU; use auto or cpu here")
