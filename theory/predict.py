"""``predict(problem) -> Curves``: dispatch to the theory for the problem's model and regime.

Every predictor has the same signature ``fn(problem) -> Curves`` and names its method; the
``theory.method`` key picks one of the registered methods for the regime, ``auto`` the first
(most accurate) one.  Predictions are float64.  The predictors live in one module per (model, regime), named
like the simulators; importing them here registers them (``twopoint info`` prints the table):

    predict_linear_online     linear/online     generating_function, recursion, continuous_time     (docs/theory.md §2)
    predict_linear_finite     linear/finite     deterministic_equivalent, given_data                (§5, §6)
    predict_random_features   random_features/online and /finite: deterministic_equivalent, given_features  (§7)
    predict_kernel            kernel/finite, kernel/online: the linear theories on the kernel spectrum     (§8)
    predict_common            what they share: the problem's population, compression, the returned curves
"""

from __future__ import annotations

# imported for their registrations, in this order (it fixes each regime's default method and the table order)
import twopoint.theory.predict_linear_online  # noqa: F401
import twopoint.theory.predict_linear_finite  # noqa: F401
import twopoint.theory.predict_random_features  # noqa: F401
import twopoint.theory.predict_kernel  # noqa: F401
from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.core.registry import THEORY_ROLE, select


def select_predictor(problem: Problem):
    """(method name, predictor) for the problem; raises ConfigError when unavailable."""
    model, regime = problem.regime.split("/")
    name, impl = select(THEORY_ROLE, model, regime, problem.theory_method, problem=problem)
    return name, impl.fn


def predict(problem: Problem) -> Curves:
    """The theory curves of ``problem`` by the method ``theory.method`` selects (float64)."""
    return select_predictor(problem)[1](problem)
