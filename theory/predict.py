"""``predict(problem) -> Curves``: dispatch to the theory for the problem's model and regime.

Every predictor has the same signature ``fn(problem) -> Curves`` and names its method; the
``theory.method`` key picks one of the registered methods for the regime, ``auto`` the first
(most accurate) one.  Predictions are float64.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from theory.compression import compress_population
from theory.finite_data import gd_stability_edge, gradient_descent, gradient_flow, static_limit
from theory.multipass_sgd import multipass_sgd, multipass_sgd_given_data, sgd_critical_lr
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


def select_predictor(problem: Problem) -> tuple[str, Predictor]:
    """(method name, predictor) for the problem; raises ConfigError when unavailable."""
    methods = PREDICTORS.get(problem.regime)
    if not methods:
        raise ConfigError("theory.enabled", True, f"no theory for {problem.regime} yet; set theory.enabled=false")
    name = next(iter(methods)) if problem.theory_method == "auto" else problem.theory_method
    if name not in methods:
        raise ConfigError("theory.method", problem.theory_method, f"one of auto, {', '.join(methods)} for {problem.regime}")
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


# --- finite training sets (THEORY §5, §6) -----------------------------------------------------------
COMPRESS_ABOVE_DIM = 2000  # spectrum compression (THEORY §9.4) changes R(t) by < 1e-5 and is ~60× faster
GIVEN_DATA_DRAWS = 32


def _finite_population(problem: Problem) -> Population:
    pop = population(problem)
    return compress_population(pop) if problem.data.dim > COMPRESS_ABOVE_DIM else pop


def _finite_info(problem: Problem, pop: Population) -> dict:
    o, P = problem.optim, problem.data.n_train
    info = {"n_modes": int(pop.eigenvalues.size)}
    try:
        static = static_limit(pop, P, o.ridge)
        info["static_limit"] = {"test_risk": float(static.test_risk), "train_loss": float(static.train_loss)}
    except ValueError as err:  # ridgeless P = D: no finite static limit
        info["static_limit"] = {"error": str(err)}
    if o.algorithm == "gd":
        info["gd_critical_lr"] = float(gd_stability_edge(pop, P, o.ridge))
    elif o.algorithm in ("sgd", "sgd_epochs"):
        info["sgd_critical_lr"] = float(sgd_critical_lr(pop, P, o.batch_size, o.ridge))
    if o.algorithm == "sgd_epochs":
        info["note"] = "theory is for sampling with replacement; epoch reshuffling is measurably lower"
    return info


def _finite_curves(problem: Problem, method: str, curves, info: dict) -> Curves:
    test, train = np.asarray(curves.test_risk, float), np.asarray(curves.train_loss, float)
    bad = ~np.isfinite(test)
    diverged = int(problem.record_steps[np.argmax(bad)]) if bad.any() else -1
    return theory_curves(problem, method, {"test_risk": test, "train_loss": train}, diverged, info)


@register("linear/finite", "deterministic_equivalent")
def finite_deterministic_equivalent(problem: Problem) -> Curves:
    """Two-point deterministic equivalent: GF/GD (§5) and C2-closed multi-pass SGD (§6)."""
    o, P = problem.optim, problem.data.n_train
    pop = _finite_population(problem)
    info = _finite_info(problem, pop)
    steps = problem.record_steps
    if o.algorithm == "gradient_flow":
        return _finite_curves(problem, "two-point DE, gradient flow", gradient_flow(pop, P, o.ridge, problem.record_times), info)
    if o.algorithm == "gd":
        if o.lr >= info["gd_critical_lr"]:
            inf = np.where(steps > 0, np.inf, pop.initial_risk)
            return theory_curves(problem, "two-point DE, GD (unstable: divergence predicted)",
                                 {"test_risk": inf, "train_loss": inf.copy()}, int(steps[1]), info)
        return _finite_curves(problem, "two-point DE, discrete GD", gradient_descent(pop, P, o.ridge, o.lr, steps), info)
    curves = multipass_sgd(pop, P, o.lr, o.batch_size, steps, o.ridge)
    return _finite_curves(problem, "two-point DE + C2 closure, multi-pass SGD (with replacement)", curves, info)


def _sgd_only(problem: Problem) -> None:
    if problem.optim.algorithm not in ("sgd", "sgd_epochs"):
        raise ConfigError("theory.method", problem.theory_method, "given_data is for optim.algorithm=sgd or sgd_epochs")


@register("linear/finite", "given_data", check=_sgd_only)
def finite_given_data(problem: Problem) -> Curves:
    """C2-closed SGD equations on exactly diagonalised sampled data sets, averaged over draws."""
    o, P = problem.optim, problem.data.n_train
    pop = population(problem)
    curves = multipass_sgd_given_data(pop, P, o.lr, o.batch_size, problem.record_steps, n_draws=GIVEN_DATA_DRAWS,
                                      seed=problem.seed, ridge=o.ridge)
    return _finite_curves(problem, f"C2 closure on {GIVEN_DATA_DRAWS} sampled data sets", curves, _finite_info(problem, pop))
