"""The one simulation engine: a toy model plugged in online and on finite data, the optimiser and the
divergence rule applied by the engine, and every registered SGD simulator training through it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import make_problem
from twopoint.core.problem import ModelSpec
from twopoint.core.registry import IMPLEMENTATIONS, SIMULATOR_ROLE, register
from twopoint.simulate import engine, simulate
from twopoint.simulate.engine import Chunk, simulate_sgd

TARGET = 2.0


class Quadratic:
    """Toy model: loss ½‖θ − θ*‖² per replica with θ* = TARGET·(r + 1) and a per-step batch that scales it
    (so the batch loss differs from the monitor), two chunks of steps."""

    quantities = ("test_risk",)
    ridge_anchor = None

    def __init__(self, problem, group, device, dtype):
        self.problem = problem
        self.target = TARGET * torch.arange(group.start + 1, group.stop + 1, dtype=dtype, device=device)[:, None]

    def init(self):
        return torch.zeros_like(self.target)

    def chunks(self):
        T = self.problem.optim.steps
        half = T // 2
        yield Chunk(half, lambda i: 1.0)
        yield Chunk(T - half, lambda i: 1.0)

    def gradient(self, theta, scale):
        return scale * (theta - self.target), scale * ((theta - self.target) ** 2).sum(-1)

    def evaluate(self, theta):
        risk = ((theta - self.target) ** 2).sum(-1)
        return risk, {"test_risk": risk}


@pytest.fixture
def toy():
    keys = [(SIMULATOR_ROLE, "toy", regime, "torch") for regime in ("online", "finite")]
    for key in keys:
        register(*key)(lambda problem: simulate_sgd(problem, Quadratic, lambda dtype: 64, "toy quadratic"))
    yield
    for key in keys:
        IMPLEMENTATIONS._items.pop(key)


def toy_problem(*overrides):
    p = make_problem("data.dim=4", "optim.steps=30", "sim.replicas=3", "record.points=12", "sim.device=cpu", *overrides)
    return replace(p, model=ModelSpec("toy"))


@pytest.mark.parametrize("regime", [(), ("data.n_train=10",)])
@pytest.mark.parametrize("ridge", [0.0, 0.1])
def test_toy_model_follows_the_engine_update_exactly(toy, regime, ridge):
    """θ ← θ − η[(θ − θ*) + γθ] from 0: θ_t = θ*/(1 + γ) · (1 − (1 − η(1 + γ))^t)."""
    p = toy_problem(*regime, "optim.lr=0.3", f"optim.ridge={ridge}")
    c = simulate(p)
    t = p.record_steps.astype(float)
    star = TARGET * np.arange(1, 4)[:, None]
    theta = star / (1 + ridge) * (1 - (1 - 0.3 * (1 + ridge)) ** t)
    np.testing.assert_allclose(c.values["test_risk"], (theta - star) ** 2, rtol=1e-12, atol=1e-300)
    assert c.method == "toy quadratic" and c.info["device"] == "cpu" and not c.diverged


def test_engine_flags_divergence_and_freezes_the_replica(toy):
    """η = 2.5: |1 − η| = 1.5, the loss grows by 2.25 per step and passes 1e6 × its initial value at step 18."""
    p = toy_problem("optim.lr=2.5", "optim.steps=40", "record.points=40")
    c = simulate(p)
    first = int(np.ceil(np.log(1e6) / np.log(2.25)))
    assert (c.diverged_at == first).all()
    after = c.steps >= first
    assert np.isnan(c.values["test_risk"][:, after]).all() and np.isfinite(c.values["test_risk"][:, ~after]).all()


def test_replica_numbers_do_not_depend_on_the_group_size(toy):
    a = simulate(toy_problem("optim.lr=0.3")).values["test_risk"]
    b = simulate(toy_problem("optim.lr=0.3", "sim.data_gib=1e-7")).values["test_risk"]  # one replica per group
    np.testing.assert_array_equal(a, b)


SGD_CASES = {
    "linear/online": ("data.dim=8",),
    "linear/finite": ("data.dim=8", "data.n_train=12"),
    "random_features/online": ("data.dim=8", "model=random_features", "model.n_features=6"),
    "random_features/finite": ("data.dim=8", "model=random_features", "model.n_features=6", "data.n_train=12"),
    "kernel/online": ("experiment=kernel_circle", "data.n_train=null", "model.kernel.frequencies=4"),
    "kernel/finite": ("experiment=kernel_circle", "data.n_train=12", "model.kernel.frequencies=4"),
}


@pytest.mark.parametrize("case", SGD_CASES)
def test_every_sgd_simulator_trains_through_the_engine(case, monkeypatch):
    calls = []

    class Spy(engine.Recorder):
        def __init__(self, *args, **kwargs):
            calls.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(engine, "Recorder", Spy)
    p = make_problem("optim.steps=5", "sim.replicas=2", "record.points=4", "sim.device=cpu",
                     "optim.algorithm=sgd", "optim.batch_size=2", "theory.enabled=false", *SGD_CASES[case])
    assert p.regime == case
    c = simulate(p)
    assert len(calls) == 1 and c.values["test_risk"].shape == (2, p.record_steps.size)


def test_prefetched_yields_in_order_raises_where_the_producer_failed_and_stops_on_break():
    from twopoint.simulate.engine import prefetched

    assert list(prefetched(range(5))) == [0, 1, 2, 3, 4]

    def failing():
        yield 1
        raise RuntimeError("draw failed")

    got = []
    with pytest.raises(RuntimeError, match="draw failed"):
        for item in prefetched(failing()):
            got.append(item)
    assert got == [1]

    produced = []

    def endless():
        for i in range(10**6):
            produced.append(i)
            yield i

    for item in prefetched(endless()):
        if item == 3:
            break
    assert len(produced) <= 6  # the producer ran at most a couple of items ahead, then stopped


def test_prefetching_does_not_change_the_numbers(monkeypatch):
    p = make_problem("data.dim=200", "optim.steps=50", "sim.replicas=8", "sim.device=cpu", "sim.chunk_mib=1", "optim.batch_size=16")  # 5 chunks
    ahead = simulate(p).values["test_risk"]
    monkeypatch.setattr(engine, "prefetched", lambda items, ahead=1: iter(items))
    np.testing.assert_array_equal(ahead, simulate(p).values["test_risk"])
