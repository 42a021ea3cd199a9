"""Shared fixtures: compose the real Hydra config with overrides, as the CLI does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from twopoint.api import compose
from twopoint.core import streams
from twopoint.simulate.rng import normals, replica_generators
from twopoint.data.build import build_problem

REPO = Path(__file__).resolve().parent.parent


def compose_config(*overrides: str):
    return compose(*overrides)


def make_problem(*overrides: str):
    return build_problem(compose_config(*overrides))


def draw_data(problem, group: range, device, dtype):
    """Whitened inputs z (R, P, D) and label noise ε (R, P) of the replicas in ``group``: the raw numbers behind
    :func:`twopoint.simulate.data.training_set`, drawn again from the same streams for independent checks."""
    P, D = problem.data.n_train, problem.data.dim
    gens = replica_generators(problem.seed, len(group), device, stream=streams.TRAINING_DATA, first=group.start)
    z = normals(gens, (P, D + 1), device)
    return z[..., :D].to(dtype).contiguous(), problem.data.noise_std * z[..., D].to(dtype)


def assert_replicas_match(curves, reference, replicas: int, train_atol: float) -> None:
    """Each replica's test risk and train loss equal ``reference(r) -> (risk, loss)`` (an independent
    computation on the same random numbers) to 1e-9 relative."""
    for r in range(replicas):
        risk, loss = reference(r)
        np.testing.assert_allclose(curves.values["test_risk"][r], risk, rtol=1e-9)
        np.testing.assert_allclose(curves.values["train_loss"][r], loss, rtol=1e-9, atol=train_atol)


def run_cli(tmp_path: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``twopoint`` in a subprocess with its outputs under ``tmp_path``."""
    flags = [a for a in args if a.startswith("-")]
    overrides = [a for a in args if not a.startswith("-")]
    cmd = [sys.executable, "-m", "twopoint", *flags, f"hydra.run.dir={tmp_path}/run", f"hydra.sweep.dir={tmp_path}/sweep", *overrides]
    env = {**os.environ, "CI": "true"}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
