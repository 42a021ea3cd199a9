"""Predictors for linear/online: online SGD on linear regression, exact second moments (docs/theory.md §2).

Methods, default first: ``generating_function`` (the exact recursion inverted from its ζ-transform; an unstable η falls
back to the recursion, which reports the divergence step), ``recursion`` (the same theory step by step, a
cross-check) and ``continuous_time`` (the small-η approximation, γ = 0 only).  The mathematics is
:class:`theory.online_linear.OnlineSGD`.  :mod:`theory.predict_kernel` registers the first two for kernel/online as well.
"""

from __future__ import annotations

from twopoint.core.curves import Curves
from twopoint.core.errors import ConfigError
from twopoint.core.problem import Problem
from twopoint.core.registry import THEORY_ROLE, register
from twopoint.theory.online_linear import OnlineSGD
from twopoint.theory.predict_common import population, theory_curves


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


@register(THEORY_ROLE, "linear", "online", "recursion")
def online_recursion(problem: Problem) -> Curves:
    """The same exact theory by direct O(T·D) recursion (a cross-check; slow for large T·D)."""
    return _online_by_recursion(problem, "exact second-moment recursion (direct)")


def _no_ridge(problem: Problem) -> None:
    if problem.optim.ridge:
        raise ConfigError("theory.method", problem.theory_method, "continuous_time needs optim.ridge=0 (use generating_function)")


@register(THEORY_ROLE, "linear", "online", "continuous_time", check=_no_ridge)
def online_continuous_time(problem: Problem) -> Curves:
    """Small-learning-rate approximation a_k^t → e^{−2ηλ_k t} (off by 4–67 % at moderate η)."""
    sgd = _online(problem)
    _, test = sgd.continuous_time_curves(problem.record_steps)
    return theory_curves(problem, "continuous-time approximation (small lr)", {"test_risk": test}, info=_online_info(sgd))
