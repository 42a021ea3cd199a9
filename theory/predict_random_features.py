"""Predictors for random_features/online and random_features/finite: f = v·(Fx) (docs/theory.md §7).

Methods, default first, in both regimes:

* ``deterministic_equivalent`` — averaged over F.  Online: :func:`theory.online_random_features.online_sgd_equivalent`;
  finite data: the two-point equivalent over data and F (:mod:`theory.full_batch`, :mod:`theory.multipass_sgd` with
  ``n_features``=N), both with the random-feature equivalent of :mod:`theory.random_feature_equivalent`.  It needs
  independent F per replica (not ``model.share_features``) and no covariate shift.
* ``given_features`` — exact given F: each replica's F (replicas 0–15, or the one shared F) reduces the model to
  linear regression in feature space (:func:`theory.given_features.feature_population`), where the linear theories
  apply (online: :class:`theory.online_linear.OnlineSGD`; finite data: the linear deterministic equivalent over data);
  the curves are averaged over F.  No O(1/N) finite-width bias (docs/theory.md §11).
"""

from __future__ import annotations

import numpy as np

from twopoint.core.curves import Curves
from twopoint.core.errors import ConfigError
from twopoint.core.problem import Problem
from twopoint.core.registry import THEORY_ROLE, register
from twopoint.data.features import feature_matrix
from twopoint.theory.given_features import feature_population
from twopoint.theory.multipass_sgd import sgd_critical_lr
from twopoint.theory.online_linear import OnlineSGD
from twopoint.theory.online_random_features import online_sgd_equivalent
from twopoint.theory.population import Population
from twopoint.theory.predict_common import compressed_population, with_divergence
from twopoint.theory.predict_linear_finite import (FINITE_METHODS, OPTIMISER_EXTENSIONS, finite_info, finite_values,
                                                   gd_schedule_only, method_name, static_info)
from twopoint.theory.predict_linear_online import moment_info, moment_recursion, moment_recursion_curves
from twopoint.theory.random_feature_equivalent import approximation_error
from twopoint.theory.random_feature_measure import random_feature_measure

# given_features averages over the F of replicas 0–15 (:func:`twopoint.data.features.feature_matrix`, the F the
# simulator draws for them).  Each draw costs one eigendecomposition of the N × N feature covariance and one theory
# evaluation (16 draws: ~1.3 s online, docs/theory.md §9.5); the mean over 16 has ~1/4 of one F's spread about the
# average over F.
GIVEN_FEATURE_DRAWS = 16


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
    :mod:`twopoint.data.features`), or take the one shared F (docs/theory.md §7, §11).  Draws whose dynamics diverge
    are left out of the mean and counted in ``info`` (their probability, not an infinite mean, is what a finite
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


# --- online (docs/theory.md §7 with §2) ----------------------------------------------------------------------
@register(THEORY_ROLE, "random_features", "online", "deterministic_equivalent", check=_averaged_over_features,
          supports=("schedule", "momentum"))
def rf_online_deterministic_equivalent(problem: Problem) -> Curves:
    """Online SGD over F: generating functions with the nested renormalisation x = ω(1 − d(ω)/N).

    With a schedule or momentum: the moment recursion of docs/theory.md §14 on the deterministic spectral measure of
    K = FΣFᵀ (:func:`theory.random_feature_measure.random_feature_measure`).
    """
    o, N = problem.optim, problem.model.n_features
    pop = compressed_population(problem)
    if o.extensions:
        return moment_recursion_curves(problem, random_feature_measure(pop, N), "DE over F, online SGD (moment "
                                       "recursion on the spectral measure of K)", _feature_info(problem, pop))
    test = online_sgd_equivalent(pop, o.lr, o.batch_size, problem.record_steps, o.ridge, n_features=N)
    info = _feature_info(problem, pop) | {"critical_lr": sgd_critical_lr(pop, None, o.batch_size, o.ridge, N)}
    return with_divergence(problem, "DE over F, online SGD (generating function)", {"test_risk": test}, info)


@register(THEORY_ROLE, "random_features", "online", "given_features", check=_no_covariate_shift,
          supports=("schedule", "momentum"))
def rf_online_given_features(problem: Problem) -> Curves:
    """Exact online theory (docs/theory.md §2; with a schedule or momentum §14) for each sampled F in feature space,
    averaged over F."""
    o, steps = problem.optim, problem.record_steps

    def curves_for(pop: Population) -> dict:
        if o.extensions:
            curves = moment_recursion(problem, pop).run(o.step_sizes, steps)
            return {"test_risk": np.where((curves.diverged_at[0] >= 0) & (steps > 0), np.inf, curves.test[0])}
        sgd = OnlineSGD(pop, o.lr, o.batch_size, o.ridge)
        test = sgd.generating_function_curves(steps)[1] if sgd.stable() else np.where(steps > 0, np.inf, pop.initial_risk)
        return {"test_risk": test}

    values, info, label, draws = _given_features(problem, curves_for)
    if o.extensions:  # the edge of the least stable draw
        info |= moment_info(problem, moment_recursion(problem, draws))
    return with_divergence(problem, f"exact online theory given {label}", values, info)


# --- finite data (docs/theory.md §7 with §5, §6) ------------------------------------------------------------
def _finite_over_features(problem: Problem) -> None:
    _averaged_over_features(problem)
    gd_schedule_only(problem)


def _finite_given_features(problem: Problem) -> None:
    _no_covariate_shift(problem)
    gd_schedule_only(problem)


@register(THEORY_ROLE, "random_features", "finite", "deterministic_equivalent", check=_finite_over_features,
          supports=OPTIMISER_EXTENSIONS)
def rf_finite_deterministic_equivalent(problem: Problem) -> Curves:
    """Two-point DE over data and F (nested renormalisation ω → ω1): GF/GD (§7; a schedule or momentum §15) and
    multi-pass SGD (§6)."""
    pop, N = compressed_population(problem), problem.model.n_features
    info = finite_info(problem, pop, N) | _feature_info(problem, pop)
    method = method_name(problem, FINITE_METHODS[problem.optim.algorithm]).replace("two-point DE", "two-point DE over data and F")
    return with_divergence(problem, method, finite_values(problem, pop, N), info)


@register(THEORY_ROLE, "random_features", "finite", "given_features", check=_finite_given_features,
          supports=OPTIMISER_EXTENSIONS)
def rf_finite_given_features(problem: Problem) -> Curves:
    """The linear finite-data DE (over data) in feature space for each sampled F, averaged over F."""
    values, info, label, draws = _given_features(problem, lambda pop: finite_values(problem, pop))
    statics = [static_info(problem, pop) for pop in draws]
    if all("error" not in s for s in statics):  # the mean over F of each draw's t → ∞ limit
        info["static_limit"] = {q: float(np.mean([s[q] for s in statics])) for q in ("test_risk", "train_loss")}
    else:
        info["static_limit"] = next(s for s in statics if "error" in s)
    return with_divergence(problem, method_name(problem, FINITE_METHODS[problem.optim.algorithm]) + f", given {label}",
                           values, info)
