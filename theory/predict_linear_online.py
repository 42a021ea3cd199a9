"""Predictors for linear/online: online SGD on linear regression, exact second moments (docs/theory.md §2).

Methods, default first: ``generating_function`` (the exact recursion inverted from its ζ-transform; an unstable η falls
back to the recursion, which reports the divergence step), ``recursion`` (the same theory step by step, a
cross-check) and ``continuous_time`` (the small-η approximation, γ = 0 only).  The mathematics is
:class:`theory.online_linear.OnlineSGD`.  :mod:`theory.predict_kernel` registers the first two for kernel/online as well.

With a learning-rate schedule or momentum (``problem.optim.extensions``) only ``recursion`` applies (``auto`` picks
it): the per-mode moment recursion of docs/theory.md §14 (:mod:`theory.online_momentum`), on the compressed spectrum
for D > 2000 (docs/theory.md §9.4).  :func:`moment_recursion_curves` serves the random-feature predictors as well.
"""

from __future__ import annotations

import numpy as np

from twopoint.core.curves import Curves
from twopoint.core.errors import ConfigError
from twopoint.core.problem import Problem
from twopoint.core.registry import THEORY_ROLE, register
from twopoint.theory.online_linear import OnlineSGD
from twopoint.theory.online_momentum import MomentRecursion, MomentumRule, first_unstable_step
from twopoint.theory.population import Population
from twopoint.theory.predict_common import compressed_population, population, theory_curves


def _online(problem: Problem) -> OnlineSGD:
    o = problem.optim
    return OnlineSGD(population(problem), o.lr, o.batch_size, o.ridge)


def _online_info(sgd: OnlineSGD) -> dict:
    return {"kernel_mass": sgd.noise_kernel_mass(), "stable": sgd.stable(), "critical_lr": sgd.critical_lr()}


def _online_by_recursion(problem: Problem, method: str) -> Curves:
    sgd = _online(problem)
    _, test, diverged = sgd.recursion(problem.record_steps)
    return theory_curves(problem, method, {"test_risk": test}, diverged, _online_info(sgd))


@register(THEORY_ROLE, "linear", "online", "generating_function")
def online_generating_function(problem: Problem) -> Curves:
    """Exact (Gaussian data, any D) second-moment recursion, inverted from its ζ-transform.

    Unstable learning rates fall back to the direct recursion, which reports the divergence step.
    """
    sgd = _online(problem)
    if not sgd.stable():
        return _online_by_recursion(problem, "exact recursion (unstable: divergence predicted)")
    _, test = sgd.generating_function_curves(problem.record_steps)
    return theory_curves(problem, "exact second-moment recursion via generating function", {"test_risk": test},
                         info=_online_info(sgd))


def moment_recursion(problem: Problem, pops: Population | list[Population]) -> MomentRecursion:
    """The §14 recursion with the problem's batch, ridge and momentum on ``pops`` (rows)."""
    o = problem.optim
    return MomentRecursion(pops, MomentumRule(o.batch_size, o.ridge, o.momentum, o.nesterov))


def moment_info(problem: Problem, recursion: MomentRecursion) -> dict:
    """``critical_lr`` (the largest stable constant η at this B, γ, β: the momentum-aware edge, §14), ``peak_lr``
    (max η_s), ``kernel_mass`` at the peak, ``stable`` (peak below the edge) and ``first_unstable_step`` (first s
    with η_s above the edge, −1 if none)."""
    step_sizes = problem.optim.step_sizes
    peak, critical = float(step_sizes.max()), recursion.critical_lr()
    return {"critical_lr": critical, "peak_lr": peak, "kernel_mass": float(np.max(recursion.noise_kernel_mass(peak))),
            "stable": peak < critical, "first_unstable_step": first_unstable_step(step_sizes, critical)}


def moment_recursion_curves(problem: Problem, pop: Population, method: str, extra_info: dict | None = None) -> Curves:
    """Theory curves of the §14 recursion on one population (the linear spectrum or a spectral measure)."""
    recursion = moment_recursion(problem, pop)
    curves = recursion.run(problem.optim.step_sizes, problem.record_steps)
    return theory_curves(problem, method, {"test_risk": curves.test[0]}, int(curves.diverged_at[0]),
                         (extra_info or {}) | moment_info(problem, recursion))


@register(THEORY_ROLE, "linear", "online", "recursion", supports=("schedule", "momentum"))
def online_recursion(problem: Problem) -> Curves:
    """The same exact theory by direct O(T·D) recursion (a cross-check; slow for large T·D).

    With a schedule or momentum: the per-mode moment recursion of docs/theory.md §14 (exact, any D).
    """
    if not problem.optim.extensions:
        return _online_by_recursion(problem, "exact second-moment recursion (direct)")
    return moment_recursion_curves(problem, compressed_population(problem),
                                   "exact per-mode moment recursion (schedule/momentum)")


def _no_ridge(problem: Problem) -> None:
    if problem.optim.ridge:
        raise ConfigError("theory.method", problem.theory_method, "continuous_time needs optim.ridge=0 (use generating_function)")


@register(THEORY_ROLE, "linear", "online", "continuous_time", check=_no_ridge)
def online_continuous_time(problem: Problem) -> Curves:
    """Small-learning-rate approximation a_k^t → e^{−2ηλ_k t} (off by 4–67 % at moderate η)."""
    sgd = _online(problem)
    _, test = sgd.continuous_time_curves(problem.record_steps)
    return theory_curves(problem, "continuous-time approximation (small lr)", {"test_risk": test}, info=_online_info(sgd))
