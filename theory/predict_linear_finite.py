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
from twopoint.theory.full_batch import gd_stability_edge, gradient_descent, gradient_flow, static_limit
from twopoint.theory.multipass_sgd import multipass_sgd, multipass_sgd_given_data, sgd_critical_lr
from twopoint.theory.population import Population
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
    elif o.algorithm in ("sgd", "sgd_epochs"):
        info["sgd_critical_lr"] = float(sgd_critical_lr(pop, P, o.batch_size, o.ridge, n_features))
    if o.algorithm == "sgd_epochs":
        info["note"] = "theory is for sampling with replacement; epoch reshuffling is measurably lower"
    return info


def finite_values(problem: Problem, pop: Population, n_features=None) -> dict[str, np.ndarray]:
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


@register(THEORY_ROLE, "linear", "finite", "deterministic_equivalent")
def finite_deterministic_equivalent(problem: Problem) -> Curves:
    """Two-point deterministic equivalent: GF/GD (§5) and C2-closed multi-pass SGD (§6)."""
    pop = compressed_population(problem)
    method = FINITE_METHODS[problem.optim.algorithm]
    return with_divergence(problem, method, finite_values(problem, pop), finite_info(problem, pop))


def sgd_only(problem: Problem) -> None:
    """``check`` of the given_data method: SGD algorithms only."""
    if problem.optim.algorithm not in ("sgd", "sgd_epochs"):
        raise ConfigError("theory.method", problem.theory_method, "given_data is for optim.algorithm=sgd or sgd_epochs")


@register(THEORY_ROLE, "linear", "finite", "given_data", check=sgd_only)
def finite_given_data(problem: Problem) -> Curves:
    """C2-closed SGD equations on exactly diagonalised sampled data sets, averaged over draws."""
    o, P = problem.optim, problem.data.n_train
    pop = population(problem)
    curves = multipass_sgd_given_data(pop, P, o.lr, o.batch_size, problem.record_steps, n_draws=GIVEN_DATA_DRAWS,
                                      seed=problem.seed, ridge=o.ridge)
    values = {"test_risk": np.asarray(curves.test_risk, float), "train_loss": np.asarray(curves.train_loss, float)}
    return with_divergence(problem, f"C2 closure on {GIVEN_DATA_DRAWS} sampled data sets", values,
                           finite_info(problem, pop))
