"""On a CUDA GPU: the same seed gives the same curves, replica means agree with theory, and GPU and CPU agree within
Monte-Carlo error, for the engine's models (online linear with a schedule and momentum, online random features with
both samplers, finite-data SGD).  Skipped cleanly without a GPU (``pytest -m gpu``; ``make gpu-check`` runs these
and the benchmarks on the GPU)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_problem
from twopoint.api import evaluate, predict
from twopoint.simulate import simulate

pytestmark = pytest.mark.gpu

CASES = {
    "online linear": ("data.dim=200", "optim.batch_size=4", "optim.lr=0.5", "optim.steps=400"),
    "online linear, cosine + momentum": ("data.dim=200", "optim.batch_size=4", "optim.lr=0.2", "optim.momentum=0.5",
                                         "optim.steps=400", "optim.schedule.kind=cosine", "optim.schedule.warmup_steps=20"),
    "online random features, inputs": ("model=random_features", "model.n_features=100", "data.dim=300", "optim.batch_size=4",
                                       "optim.lr=0.5", "optim.steps=400", "sim.sampler=inputs"),
    "online random features, features": ("model=random_features", "model.n_features=100", "data.dim=300",
                                         "optim.batch_size=4", "optim.lr=0.5", "optim.steps=400", "sim.sampler=features"),
    "finite data, SGD": ("data.dim=200", "data.n_train=100", "optim.batch_size=4", "optim.lr=0.5", "optim.steps=400"),
}


def _run(case: str, *extra: str):
    return simulate(make_problem(*CASES[case], "sim.replicas=1024", "record.points=30", *extra))


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_seed_same_curves_on_the_gpu(case):
    a, b = _run(case, "sim.device=cuda"), _run(case, "sim.device=cuda")
    assert a.info["device"].startswith("cuda")
    np.testing.assert_array_equal(a.values["test_risk"], b.values["test_risk"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_gpu_agrees_with_cpu_and_with_theory(case):
    gpu, cpu = _run(case, "sim.device=cuda"), _run(case, "sim.device=cpu")
    se = np.hypot(gpu.stderr("test_risk"), cpu.stderr("test_risk"))[1:]
    assert np.all(np.abs(gpu.mean("test_risk") - cpu.mean("test_risk"))[1:] <= 5 * se)
    problem = make_problem(*CASES[case], "sim.replicas=1024", "record.points=30", "sim.device=cuda")
    assert evaluate(gpu, predict(problem)).metrics["verdict"] == "pass"
