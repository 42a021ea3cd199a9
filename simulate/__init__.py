"""Simulators: real minibatch SGD in PyTorch, replicas batched along the leading axis.

Every simulator has the same signature, ``fn(problem) -> Curves``, and is registered in
:data:`twopoint.core.registry.IMPLEMENTATIONS` under (``simulator``, model, regime, ``torch``);
:func:`simulate` runs the one registered for the problem's (model, data regime).  The package itself is
callable as that function, so that ``twopoint.simulate(problem)`` works although ``twopoint.simulate`` is
also this package.
"""

from __future__ import annotations

import sys
import types

from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.core.registry import SIMULATOR_ROLE, register, select
from twopoint.simulate.device import check_device
from twopoint.simulate.kernel import simulate_kernel
from twopoint.simulate.kernel_online import simulate_kernel_online
from twopoint.simulate.linear_finite import simulate_linear_finite
from twopoint.simulate.linear_online import simulate_linear_online
from twopoint.simulate.random_features import simulate_random_features_finite, simulate_random_features_online

METHOD = "torch"
for _model, _regime, _fn in (("linear", "online", simulate_linear_online), ("linear", "finite", simulate_linear_finite),
                             ("random_features", "online", simulate_random_features_online),
                             ("random_features", "finite", simulate_random_features_finite),
                             ("kernel", "online", simulate_kernel_online), ("kernel", "finite", simulate_kernel)):
    register(SIMULATOR_ROLE, _model, _regime, METHOD, check=check_device)(_fn)


def select_simulator(problem: Problem):
    """The simulator for this problem; raises ConfigError for unsupported combinations."""
    model, regime = problem.regime.split("/")
    return select(SIMULATOR_ROLE, model, regime, METHOD, config_key="model.kind", problem=problem)[1].fn


def simulate(problem: Problem) -> Curves:
    """Train ``sim.replicas`` independent replicas of the problem's model; their curves on the record grid."""
    return select_simulator(problem)(problem)


class _CallablePackage(types.ModuleType):
    """This package's type: calling the package calls :func:`simulate`."""

    def __call__(self, problem: Problem) -> Curves:
        return simulate(problem)


sys.modules[__name__].__class__ = _CallablePackage
