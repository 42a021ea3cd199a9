"""Predictors for linear/finite: P fixed samples, full-batch and multi-pass minibatch (docs/theory.md §5, §6).

Methods, default first: ``deterministic_equivalent`` (the two-point deterministic equivalent: gradient flow and GD
by :mod:`theory.full_batch`, multi-pass SGD with the C2 closure by :mod:`theory.multipass_sgd`) and ``given_data``
(the same closed SGD equations on exactly diagonalised sampled data sets, SGD only).  The curve, ``info`` and
static-limit helpers here also serve the random-feature and kernel predictors.
"""

from __future__ import annotations

import numpy as np

from twopoint.core.curves import Curves
from twopoint.core.errors import ConfigError
from twopoint.core.problem import Problem
from twopoint.core.registry import THEORY_ROLE, register
from twopoint.theory.errors import ConvergenceError
from twopoint.theory.feature_spaces import sampled_top_eigenvalue
from twopoint.theory.full_batch import (filter_growth, filtered_descent, filtered_flow, gd_stability_edge, gradient_descent,
                                        gradient_flow, static_limit)
from twopoint.theory.multipass_sgd import (multipass_sgd, multipass_sgd_given_data, multipass_sgd_given_data_stepped,
                                           sgd_critical_lr)
from twopoint.theory.online_linear import DIVERGENCE_FACTOR
from twopoint.theory.population import Population
from twopoint.theory.residual_filter import ResidualFilter
from twopoint.theory.predict_common import compressed_population, population, with_divergence

# Sampled data sets of the given_data method: each costs one SVD of a P × D matrix and an exact C2 evaluation, and
# the mean over 32 has ~1/√32 ≈ 0.18 of one draw's spread about the average over data sets.
GIVEN_DATA_DRAWS = 32

FINITE_METHODS = {
    "gradient_flow": "two-point DE, gradient flow",
    "gd": "two-point DE, discrete GD",
    "sgd": "two-point DE + C2 closure, multi-pass SGD (with replacement)",
    "sgd_epochs": "two-point DE + C2 closure, multi-pass SGD (with replacement)",
}


OPTIMISER_EXTENSIONS = ("schedule", "momentum")  # what the finite-data theories handle (docs/theory.md §15)


def method_name(problem: Problem, base: str) -> str:
    """``base`` plus, for a schedule or momentum, how the optimiser entered the theory (docs/theory.md §15)."""
    o = problem.optim
    if not o.extensions:
        return base
    what = " and ".join(sorted(o.extensions))
    how = "time τ(t) = Σ η_s" if o.algorithm == "gradient_flow" else "residual-polynomial filter"
    return f"{base} with {what} ({how})"


def gd_schedule_only(problem: Problem) -> None:
    """``check`` of the deterministic equivalents: a schedule or momentum only for gd and gradient_flow (SGD with
    them: the given_data method)."""
    o = problem.optim
    if o.extensions and o.algorithm not in ("gd", "gradient_flow"):
        key, value = o.describe(sorted(o.extensions)[0])
        raise ConfigError(key, value, f"optim.algorithm=gd or gradient_flow for {problem.theory_method} (multi-pass SGD "
                          "with a schedule or momentum: theory.method=given_data)")


def static_info(problem: Problem, pop: Population, n_features=None) -> dict:
    """The t → ∞ limit for ``info``, or the reason there is none (ridgeless P = rank)."""
    try:
        static = static_limit(pop, problem.data.n_train, problem.optim.ridge, n_features)
        return {"test_risk": float(static.test_risk), "train_loss": float(static.train_loss)}
    except (ValueError, ConvergenceError) as err:
        return {"error": str(err)}


def finite_info(problem: Problem, pop: Population, n_features=None) -> dict:
    """``info`` of a finite-data prediction: number of modes, static limit, critical learning rate."""
    o, P = problem.optim, problem.data.n_train
    info = {"n_modes": int(pop.eigenvalues.size), "static_limit": static_info(problem, pop, n_features)}
    if o.algorithm == "gd":
        info["gd_critical_lr"] = float(gd_stability_edge(pop, P, o.ridge, n_features))
        # momentum-aware: the largest stable constant step, edge/(λ̂_max + γ) with edge 2, 2(1 + β) or 2(1 + β)/(1 + 2β)
        info["critical_lr"] = info["gd_critical_lr"] * residual_filter(problem).stability_edge_rate() / 2.0
    elif o.algorithm in ("sgd", "sgd_epochs"):
        info["sgd_critical_lr"] = float(sgd_critical_lr(pop, P, o.batch_size, o.ridge, n_features))
        info["critical_lr"] = info["sgd_critical_lr"]  # constant rate without momentum
    if o.algorithm == "sgd_epochs":
        info["note"] = "theory is for sampling with replacement; epoch reshuffling is measurably lower"
    if o.extensions:
        info["optimiser"] = {"schedule": o.schedule, "momentum": o.momentum, "nesterov": o.nesterov,
                             "peak_lr": float(np.max(o.step_sizes, initial=0.0)),
                             "theory": "docs/theory.md §15"}
    return info


def residual_filter(problem: Problem) -> ResidualFilter:
    """The optimiser's step sizes η_s and momentum as a :class:`~theory.residual_filter.ResidualFilter` (§15)."""
    o = problem.optim
    return ResidualFilter(o.step_sizes, o.momentum, o.nesterov)


def filtered_values(problem: Problem, pop: Population, n_features=None) -> dict[str, np.ndarray]:
    """GD with a schedule and/or momentum, gradient flow with a schedule (docs/theory.md §15): the two-point DE with
    the residual polynomial φ_t as filter.  When some mode of the deterministic-equivalent spectrum grows to
    |φ_t|² > ``DIVERGENCE_FACTOR`` at a recorded step, divergence is predicted (``inf``) from the first recorded step
    whose steps left the covered range (η_s(λ̂_max + γ) ≥ :meth:`ResidualFilter.covered_rate`) or grew that far; a step
    outside the covered range without such growth raises ``ConvergenceError``."""
    o, P, steps = problem.optim, problem.data.n_train, problem.record_steps
    filt = residual_filter(problem)
    if o.algorithm == "gradient_flow":
        curves = filtered_flow(pop, P, o.ridge, filt, steps, n_features=n_features)
        return {"test_risk": np.asarray(curves.test_risk, float), "train_loss": np.asarray(curves.train_loss, float)}
    grown = filter_growth(pop, P, o.ridge, filt, steps, n_features=n_features) ** 2 > DIVERGENCE_FACTOR
    test, train = np.full(steps.shape, np.inf), np.full(steps.shape, np.inf)
    # the largest rate η_s(λ̂_max + γ) of each step's prefix; beyond the covered range the contour does not apply
    peak = np.concatenate([[0.0], np.maximum.accumulate(filt.step_sizes)])[steps]
    outside = peak * (sampled_top_eigenvalue(pop, P, n_features) + o.ridge) >= filt.covered_rate()
    if outside.any() and not grown.any():
        raise ConvergenceError(f"a step size beyond the range the deterministic equivalent covers (η_s(λ̂_max + γ) < "
                               f"{filt.covered_rate():.4g}) without divergence of the mean risk: no evaluation "
                               "(docs/theory.md §15)")
    finite = ~np.logical_or.accumulate(grown | outside)  # divergent from the first such recorded step
    if finite.any():
        horizon = int(steps[finite].max())
        curves = filtered_descent(pop, P, o.ridge, ResidualFilter(filt.step_sizes[:horizon], o.momentum, o.nesterov),
                                  steps[finite], n_features=n_features)
        test[finite], train[finite] = curves.test_risk, curves.train_loss
    return {"test_risk": test, "train_loss": train}


def finite_values(problem: Problem, pop: Population, n_features=None) -> dict[str, np.ndarray]:
    """Deterministic-equivalent test risk and train loss on the record grid (``inf`` where it diverges)."""
    o, P, steps = problem.optim, problem.data.n_train, problem.record_steps
    if o.extensions and o.algorithm in ("gd", "gradient_flow"):
        return filtered_values(problem, pop, n_features)
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


@register(THEORY_ROLE, "linear", "finite", "deterministic_equivalent", check=gd_schedule_only,
          supports=OPTIMISER_EXTENSIONS)
def finite_deterministic_equivalent(problem: Problem) -> Curves:
    """Two-point deterministic equivalent: GF/GD (§5; with a schedule or momentum §15) and C2-closed multi-pass SGD
    (§6)."""
    pop = compressed_population(problem)
    method = method_name(problem, FINITE_METHODS[problem.optim.algorithm])
    return with_divergence(problem, method, finite_values(problem, pop), finite_info(problem, pop))


def sgd_only(problem: Problem) -> None:
    """``check`` of the given_data method: SGD algorithms only."""
    if problem.optim.algorithm not in ("sgd", "sgd_epochs"):
        raise ConfigError("theory.method", problem.theory_method, "given_data is for optim.algorithm=sgd or sgd_epochs")


@register(THEORY_ROLE, "linear", "finite", "given_data", check=sgd_only, supports=OPTIMISER_EXTENSIONS)
def finite_given_data(problem: Problem) -> Curves:
    """C2-closed SGD equations on exactly diagonalised sampled data sets, averaged over draws (a schedule or momentum:
    stepped in time, docs/theory.md §15)."""
    o, P = problem.optim, problem.data.n_train
    pop = population(problem)
    if o.extensions:
        curves = multipass_sgd_given_data_stepped(pop, P, o.batch_size, residual_filter(problem), problem.record_steps,
                                                  n_draws=GIVEN_DATA_DRAWS, seed=problem.seed, ridge=o.ridge)
    else:
        curves = multipass_sgd_given_data(pop, P, o.lr, o.batch_size, problem.record_steps, n_draws=GIVEN_DATA_DRAWS,
                                          seed=problem.seed, ridge=o.ridge)
    values = {"test_risk": np.asarray(curves.test_risk, float), "train_loss": np.asarray(curves.train_loss, float)}
    name = method_name(problem, f"C2 closure on {GIVEN_DATA_DRAWS} sampled data sets").replace(
        "residual-polynomial filter", "moments stepped in time")
    return with_divergence(problem, name, values, finite_info(problem, pop))
