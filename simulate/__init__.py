"""Simulators: real minibatch SGD in PyTorch, replicas batched along the leading axis, on one engine.

Every model (linear, random features, kernel machines; online and on finite data) plugs into the engine of
:mod:`twopoint.simulate.engine`; closed-form GD and gradient flow live in :mod:`twopoint.simulate.closed_form`.
Each simulator has the signature ``fn(problem) -> Curves`` and is registered in
:data:`twopoint.core.registry.IMPLEMENTATIONS` under (``simulator``, model, regime, ``torch``);
:func:`simulate` runs the one registered for the problem's (model, data regime).  The package itself is
callable as that function, so that ``twopoint.simulate(problem)`` works although ``twopoint.simulate`` is
also this package.
"""

from __future__ import annotations

import sys
import types

import torch

from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.core.registry import SIMULATOR_ROLE, select
from twopoint.simulate import kernel, kernel_online, linear_finite, linear_online, random_features  # noqa: F401 (register)

METHOD = "torch"


def select_simulator(problem: Problem):
    """The simulator for this problem; raises ConfigError for unsupported combinations or devices."""
    model, regime = problem.regime.split("/")
    return select(SIMULATOR_ROLE, model, regime, METHOD, config_key="model.kind", problem=problem)[1].fn


def simulation_bytes(problem: Problem) -> int:
    """Estimated peak memory of the problem's simulation (its largest replica group plus one chunk of draws)."""
    model, regime = problem.regime.split("/")
    impl = select(SIMULATOR_ROLE, model, regime, METHOD, config_key="model.kind", problem=problem)[1]
    return impl.memory(problem) if impl.memory is not None else 0


def simulate(problem: Problem) -> Curves:
    """Train ``sim.replicas`` independent replicas of the problem's model; their curves on the record grid.

    With ``sim.threads`` set, torch uses that many CPU threads during the simulation and its previous setting
    again afterwards.  On CPU the engine draws the next chunk of random numbers in a background thread, so one
    thread fewer than the cores (``sim.threads=1`` on two) keeps the cores from being oversubscribed where drawing
    dominates (online linear and random features: 86 % instead of ~60 % of the RNG ceiling on two cores,
    ``benchmarks/bench_simulator.py``).
    """
    run = select_simulator(problem)
    if problem.sim.threads is None:
        return run(problem)
    before = torch.get_num_threads()
    torch.set_num_threads(problem.sim.threads)
    try:
        return run(problem)
    finally:
        torch.set_num_threads(before)


class _CallablePackage(types.ModuleType):
    """This package's type: calling the package calls :func:`simulate`."""

    def __call__(self, problem: Problem) -> Curves:
        return simulate(problem)


sys.modules[__name__].__class__ = _CallablePackage
