"""Simulators: real minibatch SGD in PyTorch, replicas batched along the leading axis.

Every simulator has the same signature, ``fn(problem) -> Curves``; :func:`simulate` picks the one
registered for the problem's (model, data regime).
"""

from __future__ import annotations

from simulate.kernel import simulate_kernel
from simulate.kernel_online import simulate_kernel_online
from simulate.linear_finite import simulate_linear_finite
from simulate.linear_online import simulate_linear_online
from simulate.random_features import simulate_random_features_finite, simulate_random_features_online
from twopoint.curves import Curves
from twopoint.problem import Problem
from twopoint.registry import Registry

SIMULATORS: Registry = Registry("simulator")
SIMULATORS.register("linear/online")(simulate_linear_online)
SIMULATORS.register("linear/finite")(simulate_linear_finite)
SIMULATORS.register("random_features/online")(simulate_random_features_online)
SIMULATORS.register("random_features/finite")(simulate_random_features_finite)
SIMULATORS.register("kernel/finite")(simulate_kernel)
SIMULATORS.register("kernel/online")(simulate_kernel_online)


def select_simulator(problem: Problem):
    """The simulator for this problem; raises ConfigError for unsupported combinations."""
    return SIMULATORS.get(problem.regime, "model.kind/data.n_train")


def simulate(problem: Problem) -> Curves:
    return select_simulator(problem)(problem)
