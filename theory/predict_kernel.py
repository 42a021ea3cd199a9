"""Predictors for kernel/finite and kernel/online: the linear theories on the kernel's eigen-spectrum (docs/theory.md §8).

Training a kernel machine is linear regression on its Mercer eigenfeatures, with Σ = diag(λ_k), λ_k w*_k² = c*_k²
and σ² → σ² + the target power outside the retained modes (:mod:`twopoint.data.inputs`).  The theories treat these
eigenfeatures as Gaussian (the universality assumption; the measured gaps are in docs/theory.md §11).

    kernel/finite   deterministic_equivalent (§5, §6 on the kernel spectrum), given_data (as for linear/finite)
    kernel/online   generating_function, recursion (the exact §2 theory, as for linear/online; recursion also with a
                    schedule or momentum, §14)
"""

from __future__ import annotations

from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.core.registry import THEORY_ROLE, register
from twopoint.theory.predict_common import compressed_population, with_divergence
from twopoint.theory.predict_linear_finite import (FINITE_METHODS, OPTIMISER_EXTENSIONS, finite_given_data, finite_info,
                                                   finite_values, gd_schedule_only, method_name, sgd_only)
from twopoint.theory.predict_linear_online import online_generating_function, online_recursion


@register(THEORY_ROLE, "kernel", "finite", "deterministic_equivalent", check=gd_schedule_only,
          supports=OPTIMISER_EXTENSIONS)
def kernel_deterministic_equivalent(problem: Problem) -> Curves:
    """The finite-data DE with Σ = diag(λ_k), λ_k w*_k² = c*_k², σ² → σ² + residual target power
    (:mod:`twopoint.data.inputs`): it treats the kernel's eigenfeatures as Gaussian (the universality assumption)."""
    pop, inputs = compressed_population(problem), problem.data.inputs
    info = finite_info(problem, pop) | {"inputs": inputs.kind, "kernel": inputs.kernel,
                                        "residual_target_power": inputs.residual_power}
    method = method_name(problem, FINITE_METHODS[problem.optim.algorithm]) + " on the kernel spectrum (Gaussian-equivalent features)"
    return with_divergence(problem, method, finite_values(problem, pop), info)


register(THEORY_ROLE, "kernel", "finite", "given_data", check=sgd_only, supports=OPTIMISER_EXTENSIONS)(finite_given_data)
# online kernel SGD: the exact Gaussian online theory on the kernel's spectrum, a universality prediction
register(THEORY_ROLE, "kernel", "online", "generating_function")(online_generating_function)
register(THEORY_ROLE, "kernel", "online", "recursion", supports=("schedule", "momentum"))(online_recursion)
