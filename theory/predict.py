"""``predict(problem) -> Curves``: dispatch to the theory for the problem's model and regime.

Every predictor has the same signature ``fn(problem) -> Curves`` and names its method; the
``theory.method`` key picks one of the registered methods for the regime, ``auto`` the first
(most accurate) one.  Predictions are float64.
"""

from __future__ import annotations

import numpy as np

from twopoint.theory.compression import compress_population
from twopoint.theory.finite_data import gd_stability_edge, gradient_descent, gradient_flow, static_limit
from twopoint.theory.equivalents import approximation_error
from twopoint.theory.errors import ConvergenceError
from twopoint.theory.multipass_sgd import multipass_sgd, multipass_sgd_given_data, online_sgd_equivalent, sgd_critical_lr
from twopoint.theory.online import OnlineSGD
from twopoint.theory.population import Population
from twopoint.theory.random_features import feature_population
from twopoint.core.curves import THEORY, Curves
from twopoint.data.features import feature_matrix
from twopoint.core.problem import Problem
from twopoint.core.errors import ConfigError
from twopoint.core.registry import THEORY_ROLE, register, select


def population(problem: Problem) -> Population:
    d = problem.data
    return Population(d.eigenvalues, d.teacher**2, d.noise_std**2, d.test_eigenvalues)


def theory_curves(problem: Problem, method: str, values: dict[str, np.ndarray], diverged_at: int = -1, info: dict | None = None) -> Curves:
    steps = problem.record_steps
    return Curves(THEORY, method, steps, problem.record_times, values, np.array([diverged_at]), info or {})


def select_predictor(problem: Problem):
    """(method name, predictor) for the problem; raises ConfigError when unavailable."""
    model, regime = problem.regime.split("/")
    name, impl = select(THEORY_ROLE, model, regime, problem.theory_method, problem=problem)
    return name, impl.fn


def predict(problem: Problem) -> Curves:
    """The theory curves of ``problem`` by the method ``theory.method`` selects (float64)."""
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


@register(THEORY_ROLE, "linear", "online", "generating_function")
def online_generating_function(problem: Problem) -> Curves:
    """Exact (Gaussian data, any D) second-moment recursion, inverted from its ζ-transform.

    Unstable learning rates fall back to the direct recursion, which reports the divergence step.
    """
    sgd = _online(problem)
    if not sgd.stable():
        return _online_by_recursion(problem, "exact recursion (unstable: divergence predicted)")
    _, test = sgd.generating_function_curves(problem.record_steps)
    return theory_curves(problem, "exact second-moment recursion via generating function", {"test_risk": test}, info=_online_info(sgd))


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


# --- finite training sets (docs/theory.md §5, §6, §7) ---------------------------------------------------------
COMPRESS_ABOVE_DIM = 2000  # spectrum compression (docs/theory.md §9.4) changes R(t) by < 1e-5 and is ~60× faster
GIVEN_DATA_DRAWS = 32
GIVEN_FEATURE_DRAWS = 16


def _finite_population(problem: Problem) -> Population:
    pop = population(problem)
    return compress_population(pop) if problem.data.dim > COMPRESS_ABOVE_DIM else pop


def _static_info(problem: Problem, pop: Population, n_features=None) -> dict:
    """The t → ∞ limit for ``info``, or the reason there is none (ridgeless P = rank)."""
    try:
        static = static_limit(pop, problem.data.n_train, problem.optim.ridge, n_features)
        return {"test_risk": float(static.test_risk), "train_loss": float(static.train_loss)}
    except (ValueError, ConvergenceError) as err:
        return {"error": str(err)}


def _finite_info(problem: Problem, pop: Population, n_features=None) -> dict:
    o, P = problem.optim, problem.data.n_train
    info = {"n_modes": int(pop.eigenvalues.size), "static_limit": _static_info(problem, pop, n_features)}
    if o.algorithm == "gd":
        info["gd_critical_lr"] = float(gd_stability_edge(pop, P, o.ridge, n_features))
    elif o.algorithm in ("sgd", "sgd_epochs"):
        info["sgd_critical_lr"] = float(sgd_critical_lr(pop, P, o.batch_size, o.ridge, n_features))
    if o.algorithm == "sgd_epochs":
        info["note"] = "theory is for sampling with replacement; epoch reshuffling is measurably lower"
    return info


def _finite_values(problem: Problem, pop: Population, n_features=None) -> dict[str, np.ndarray]:
    """Deterministic-equivalent test risk and train loss on the record grid (``inf`` where it diverges)."""
    o, P, steps = problem.optim, problem.data.n_train, problem.record_steps
    if o.algorithm == "gradient_flow":
        curves = gradient_flow(pop, P, o.ridge, problem.record_times, n_features=n_features)
    elif o.algorithm == "gd":
        if o.lr >= gd_stability_edge(pop, P, o.ridge, n_features):
            inf = np.where(steps > 0, np.inf, pop.initial_risk)
            return {"test_risk": inf, "train_loss": inf.copy()}
        curves = gradient_descent(pop, P, o.ridge, o.lr, steps, n_features=n_features)
    else:
        curves = multipass_sgd(pop, P, o.lr, o.batch_size, steps, o.ridge, n_features=n_features)
    return {"test_risk": np.asarray(curves.test_risk, float), "train_loss": np.asarray(curves.train_loss, float)}


FINITE_METHODS = {
    "gradient_flow": "two-point DE, gradient flow",
    "gd": "two-point DE, discrete GD",
    "sgd": "two-point DE + C2 closure, multi-pass SGD (with replacement)",
    "sgd_epochs": "two-point DE + C2 closure, multi-pass SGD (with replacement)",
}


def _with_divergence(problem: Problem, method: str, values: dict, info: dict) -> Curves:
    bad = ~np.isfinite(values["test_risk"])
    diverged = int(problem.record_steps[np.argmax(bad)]) if bad.any() else -1
    return theory_curves(problem, method, values, diverged, info)


@register(THEORY_ROLE, "linear", "finite", "deterministic_equivalent")
def finite_deterministic_equivalent(problem: Problem) -> Curves:
    """Two-point deterministic equivalent: GF/GD (§5) and C2-closed multi-pass SGD (§6)."""
    pop = _finite_population(problem)
    method = FINITE_METHODS[problem.optim.algorithm]
    return _with_divergence(problem, method, _finite_values(problem, pop), _finite_info(problem, pop))


def _sgd_only(problem: Problem) -> None:
    if problem.optim.algorithm not in ("sgd", "sgd_epochs"):
        raise ConfigError("theory.method", problem.theory_method, "given_data is for optim.algorithm=sgd or sgd_epochs")


@register(THEORY_ROLE, "linear", "finite", "given_data", check=_sgd_only)
def finite_given_data(problem: Problem) -> Curves:
    """C2-closed SGD equations on exactly diagonalised sampled data sets, averaged over draws."""
    o, P = problem.optim, problem.data.n_train
    pop = population(problem)
    curves = multipass_sgd_given_data(pop, P, o.lr, o.batch_size, problem.record_steps, n_draws=GIVEN_DATA_DRAWS,
                                      seed=problem.seed, ridge=o.ridge)
    values = {"test_risk": np.asarray(curves.test_risk, float), "train_loss": np.asarray(curves.train_loss, float)}
    return _with_divergence(problem, f"C2 closure on {GIVEN_DATA_DRAWS} sampled data sets", values,
                            _finite_info(problem, pop))


# --- random features (docs/theory.md §7) -------------------------------------------------------------------
def _no_covariate_shift(problem: Problem) -> None:
    if problem.data.covariate_shift:
        ts = problem.data
        key = "data.test_spectrum.scale" if np.allclose(ts.test_eigenvalues / ts.eigenvalues, ts.test_eigenvalues[0] / ts.eigenvalues[0]) else "data.test_spectrum.kind"
        raise ConfigError(key, "<covariate shift>", "kind=same with scale 1 for random-feature theory (simulate it with "
                          "theory.enabled=false)")


def _averaged_over_features(problem: Problem) -> None:
    _no_covariate_shift(problem)
    if problem.model.share_features:
        raise ConfigError("theory.method", problem.theory_method, "given_features for model.share_features=true "
                          "(the deterministic equivalent averages over F; one shared F needs the given-F theory)")


def _feature_info(problem: Problem, pop: Population) -> dict:
    e0 = approximation_error(pop, problem.model.n_features)
    return {"approximation_error": e0, "effective_noise_var": pop.noise_var + e0}


def _given_features(problem: Problem, curves_for) -> tuple[dict, dict, str, list[Population]]:
    """Average ``curves_for(feature population)`` over the F of replicas 0..15 (exactly the simulator's F:
    :mod:`twopoint.features`), or take the one shared F (docs/theory.md §7, §11).  Draws whose dynamics diverge are
    left out of the mean and counted in ``info`` (their probability, not an infinite mean, is what a finite
    set of replicas sees)."""
    d, m = problem.data, problem.model
    replicas = [0] if m.share_features else range(GIVEN_FEATURE_DRAWS)
    draws = [feature_population(d.eigenvalues, d.teacher, d.noise_std**2,
                                feature_matrix(problem.seed, r, m.n_features, d.dim)) for r in replicas]
    values = [curves_for(p) for p in draws]
    finite = [v for v in values if np.all(np.isfinite(v["test_risk"]))]
    mean = {q: np.mean([v[q] for v in finite or values], axis=0) for q in values[0]}
    errors = [p.noise_var - d.noise_std**2 for p in draws]
    info = {"feature_draws": len(draws), "unstable_feature_draws": len(values) - len(finite),
            "approximation_error": float(np.mean(errors)), "approximation_error_std": float(np.std(errors))}
    label = "the shared F" if m.share_features else f"the F of replicas 0–{GIVEN_FEATURE_DRAWS - 1}"
    return mean, info, label, draws


@register(THEORY_ROLE, "random_features", "online", "deterministic_equivalent", check=_averaged_over_features)
def rf_online_deterministic_equivalent(problem: Problem) -> Curves:
    """Online SGD over F: generating functions with the nested renormalisation x = ω(1 − d(ω)/N)."""
    o, N = problem.optim, problem.model.n_features
    pop = _finite_population(problem)
    test = online_sgd_equivalent(pop, o.lr, o.batch_size, problem.record_steps, o.ridge, n_features=N)
    info = _feature_info(problem, pop) | {"critical_lr": sgd_critical_lr(pop, None, o.batch_size, o.ridge, N)}
    return _with_divergence(problem, "DE over F, online SGD (generating function)", {"test_risk": test}, info)


@register(THEORY_ROLE, "random_features", "online", "given_features", check=_no_covariate_shift)
def rf_online_given_features(problem: Problem) -> Curves:
    """Exact online theory (docs/theory.md §2) for each sampled F in feature space, averaged over F."""
    o, steps = problem.optim, problem.record_steps

    def curves_for(pop: Population) -> dict:
        sgd = OnlineSGD(pop, o.lr, o.batch_size, o.ridge)
        test = sgd.generating_function_curves(steps)[1] if sgd.stable() else np.where(steps > 0, np.inf, pop.initial_risk)
        return {"test_risk": test}

    values, info, label, _ = _given_features(problem, curves_for)
    return _with_divergence(problem, f"exact online theory given {label}", values, info)


@register(THEORY_ROLE, "random_features", "finite", "deterministic_equivalent", check=_averaged_over_features)
def rf_finite_deterministic_equivalent(problem: Problem) -> Curves:
    """Two-point DE over data and F (nested renormalisation ω → ω1): GF/GD (§7) and multi-pass SGD (§6)."""
    pop, N = _finite_population(problem), problem.model.n_features
    info = _finite_info(problem, pop, N) | _feature_info(problem, pop)
    method = FINITE_METHODS[problem.optim.algorithm].replace("two-point DE", "two-point DE over data and F")
    return _with_divergence(problem, method, _finite_values(problem, pop, N), info)


@register(THEORY_ROLE, "random_features", "finite", "given_features", check=_no_covariate_shift)
def rf_finite_given_features(problem: Problem) -> Curves:
    """The linear finite-data DE (over data) in feature space for each sampled F, averaged over F."""
    values, info, label, draws = _given_features(problem, lambda pop: _finite_values(problem, pop))
    statics = [_static_info(problem, pop) for pop in draws]
    if all("error" not in s for s in statics):  # the mean over F of each draw's t → ∞ limit
        info["static_limit"] = {q: float(np.mean([s[q] for s in statics])) for q in ("test_risk", "train_loss")}
    else:
        info["static_limit"] = next(s for s in statics if "error" in s)
    return _with_divergence(problem, FINITE_METHODS[problem.optim.algorithm] + f", given {label}", values, info)


# --- kernel machines (docs/theory.md §8): the linear theory on the kernel's eigen-spectrum ------------------
@register(THEORY_ROLE, "kernel", "finite", "deterministic_equivalent")
def kernel_deterministic_equivalent(problem: Problem) -> Curves:
    """The finite-data DE with Σ = diag(λ_k), λ_k w*_k² = c*_k², σ² → σ² + residual target power
    (:mod:`twopoint.inputs`): it treats the kernel's eigenfeatures as Gaussian (the universality assumption)."""
    pop, inputs = _finite_population(problem), problem.data.inputs
    info = _finite_info(problem, pop) | {"inputs": inputs.kind, "kernel": inputs.kernel,
                                         "residual_target_power": inputs.residual_power}
    method = FINITE_METHODS[problem.optim.algorithm] + " on the kernel spectrum (Gaussian-equivalent features)"
    return _with_divergence(problem, method, _finite_values(problem, pop), info)


register(THEORY_ROLE, "kernel", "finite", "given_data", check=_sgd_only)(finite_given_data)
# online kernel SGD (circle): the exact Gaussian online theory on the kernel's spectrum, a universality prediction
register(THEORY_ROLE, "kernel", "online", "generating_function")(online_generating_function)
register(THEORY_ROLE, "kernel", "online", "recursion")(online_recursion)
