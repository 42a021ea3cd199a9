"""``predict(problem) -> Curves``: dispatch to the theory for the problem's model and regime.

Every predictor has the same signature ``fn(problem) -> Curves`` and names its method; the
``theory.method`` key picks one of the registered methods for the regime, ``auto`` the first
(most accurate) one.  Predictions are float64.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from theory.online import OnlineSGD
from theory.population import Population
from twopoint.curves import THEORY, Curves
from twopoint.problem import Problem
from twopoint.registry import ConfigError

Predictor = Callable[[Problem], Curves]
Check = Callable[[Problem], None]
# regime -> {method name: (predictor, check)}; the first method of a regime is its default ("auto").
# ``check`` raises ConfigError for problems the method cannot handle, before any compute.
PREDICTORS: dict[str, dict[str, tuple[Predictor, Check | None]]] = {}


def register(regime: str, method: str, check: Check | None = None):
    def add(fn: Predictor) -> Predictor:
        PREDICTORS.setdefault(regime, {})[method] = (fn, check)
        return fn

    return add


def population(problem: Problem) -> Population:
    d = problem.data
    return Population(d.eigenvalues, d.teacher**2, d.noise_std**2, d.test_eigenvalues)


def theory_curves(problem: Problem, method: str, values: dict[str, np.ndarray], diverged_at: int = -1, info: dict | None = None) -> Curves:
    steps = problem.record_steps
    return Curves(THEORY, method, steps, problem.record_times, values, np.array([diverged_at]), info or {})


def regime(problem: Problem) -> str:
    return f"{problem.model}/{'online' if problem.data.online else 'finite'}"


def select_predictor(problem: Problem) -> tuple[str, Predictor]:
    """(method name, predictor) for the problem; raises ConfigError when unavailable."""
    methods = PREDICTORS.get(regime(problem))
    if not methods:
        raise ConfigError("theory.enabled", True, f"no theory for {regime(problem)} yet; set theory.enabled=false")
    name = next(iter(methods)) if problem.theory_method == "auto" else problem.theory_method
    if name not in methods:
        raise ConfigError("theory.method", problem.theory_method, f"one of auto, {', '.join(methods)} for {regime(problem)}")
    fn, check = methods[name]
    if check is not None:
        check(problem)
    return name, fn


def predict(problem: Problem) -> Curves:
    return select_predictor(problem)[1](problem)


def _online(problem: Problem) -> OnlineSGD:
    o = problem.optim
    return OnlineSGD(population(problem), o.lr, o.batch_size, o.ridge)


def _online_info(sgd: OnlineSGD) -> dict:
    return {"kernel_mass": sgd.kernel_mass(), "stable": sgd.stable(), "critical_lr": sgd.critical_lr()}


def _online_by_recursion(problem: Problem, method: str) -> Curves:
    sgd = _online(problem)
    _, test, diverged = sgd.recursion(problem.record_steps)
    return theory_curves(problem, method, {"test_risk": test}, diverged, _online_info(sgd))


@register("linear/online", "generating_function")
def online_generating_function(problem: Problem) -> Curves:
    """Exact (Gaussian data, any D) second-moment recursion, inverted from its ζ-transform.

    Unstable learning rates fall back to the direct recursion, which reports the divergence step.
    """
    sgd = _online(problem)
    if not sgd.stable():
        return _online_by_recursion(problem, "exact recursion (unstable: divergence predicted)")
    _, test = sgd.generating_function_curves(problem.record_steps)
    return theory_curves(problem, "exact second-moment recursion via generating function", {"test_risk": test}, info=_online_info(sgd))


@register("linear/online", "recursion")
def online_recursion(problem: Problem) -> Curves:
    """The same exact theory by direct O(T·D) recursion (a cross-check; slow for large T·D)."""
    return _online_by_recursion(problem, "exact second-moment recursion (direct)")


def _no_ridge(problem: Problem) -> None:
    if problem.optim.ridge:
        raise ConfigError("theory.method", problem.theory_method, "continuous_time needs optim.ridge=0 (use generating_function)")


@register("linear/online", "continuous_time", check=_no_ridge)
def online_continuous_time(problem: Problem) -> Curves:
    """Small-learning-rate approximation a_k^t → e^{−2ηλ_k t} (off by 4–67 % at moderate η)."""
    sgd = _online(problem)
    _, test = sgd.continuous_time_curves(problem.record_steps)
    return theory_curves(problem, "continuous-time approximation (small lr)", {"test_risk": test}, info=_online_info(sgd))
