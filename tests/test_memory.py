"""Memory is estimated before any allocation: oversized configs fail at once with one line naming a key."""

from __future__ import annotations

import time
from types import SimpleNamespace

import psutil
import pytest

import twopoint as tp
from twopoint.api import MEMORY_FRACTION, check_memory
from twopoint.simulate import simulation_bytes
from twopoint.simulate.groups import CHUNKS_ALIVE

GIB = 2**30


@pytest.mark.parametrize("overrides, key", [
    (("data.n_train=1000000", "data.dim=100000", "optim.algorithm=gd"), "data.n_train"),
    (("optim.batch_size=1000000000",), "optim.batch_size"),
    (("model=random_features", "model.n_features=100000", "data.dim=100000"), "data.dim"),
    (("sim.data_gib=100", "data.dim=200000", "sim.replicas=4096"), "sim.data_gib"),
])
def test_oversized_configs_fail_fast_naming_a_key(overrides, key):
    problem = tp.build_problem(tp.compose(*overrides))
    start = time.perf_counter()
    with pytest.raises(tp.ConfigError, match=key.replace(".", r"\.")) as err:
        check_memory(problem)
    assert time.perf_counter() - start < 1.0
    assert "GiB available" in str(err.value) and "\n" not in str(err.value)


def test_the_estimate_decides_at_the_budget(monkeypatch):
    """A config whose estimate is just inside the budget runs, one just outside is refused."""
    problem = tp.build_problem(tp.compose("data.dim=200", "optim.steps=10", "sim.replicas=16", "record.points=5"))
    need = simulation_bytes(problem)
    assert need > problem.sim.chunk_mib * 2**20  # the replicas count, not only the chunk budget
    fake = lambda available: lambda: SimpleNamespace(available=available)  # noqa: E731
    monkeypatch.setattr(psutil, "virtual_memory", fake(need / MEMORY_FRACTION * 1.01))
    res = tp.run("data.dim=200", "optim.steps=10", "sim.replicas=16", "record.points=5")
    assert res.simulation.values["test_risk"].shape[0] == 16
    monkeypatch.setattr(psutil, "virtual_memory", fake(need / MEMORY_FRACTION * 0.99))
    with pytest.raises(tp.ConfigError, match="GiB available"):
        tp.run("data.dim=200", "optim.steps=10", "sim.replicas=16", "record.points=5")


def test_estimate_grows_with_the_group_not_the_replica_count():
    """Replicas beyond one group cost time, not memory: the estimate stops growing at sim.data_gib."""
    few = simulation_bytes(tp.build_problem(tp.compose("data.dim=1000", "sim.replicas=64", "sim.data_gib=0.01")))
    many = simulation_bytes(tp.build_problem(tp.compose("data.dim=1000", "sim.replicas=4096", "sim.data_gib=0.01")))
    assert many == few and few <= 0.01 * GIB + CHUNKS_ALIVE * 64 * 2**20
