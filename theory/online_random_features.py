"""Online minibatch SGD on random features, averaged over F: the deterministic equivalent (docs/theory.md §7).

Model f = v·(Fx), F ∈ R^{N×D} with iid N(0, 1/N) entries, a fresh batch of B samples x ~ N(0, Σ) every step,
step η, ridge γ, v_0 = 0.  Given F this is online SGD on linear regression in feature space, whose exact theory
(docs/theory.md §2, :mod:`theory.online_linear`) is a Volterra (renewal) equation for the risk whose memory is the
SGD-noise kernel.  Averaged over F, its generating function needs the sums Σ_j μ_j²/(μ_j + x) and
Σ_j μ_j v*_j²/(μ_j + x) over the eigenvalues μ_j of the feature covariance K = FΣFᵀ, which the random-feature
deterministic equivalent supplies (:mod:`theory.random_feature_equivalent`) through ω(x), the root of the nested
renormalisation x = ω(1 − d(ω)/N) (the master equation at P = ∞).  These are the equations of multi-pass SGD
(docs/theory.md §6, :mod:`theory.multipass_sgd`) at P = ∞, where the train equation is the online risk equation;
they are evaluated with the same deterministic-equivalent sums and stability margin.

The finite-width bias of this average is O(1/N) (docs/theory.md §11); the exact theory for the replicas' own F is
:mod:`theory.given_features` + :mod:`theory.online_linear` (method ``given_features``).
"""

from __future__ import annotations

import numpy as np

from twopoint.theory.contours import (DEFAULT_CIRCLE_POINTS, DEFAULT_NODES, OSCILLATION_THRESHOLD,
                                      invert_generating_function)
from twopoint.theory.feature_spaces import feature_space, sampled_top_eigenvalue
from twopoint.theory.multipass_sgd import EquivalentSums, diverged_curves, integer_steps, noise_kernel_mass, step_rule
from twopoint.theory.population import Population
from twopoint.theory.sgd_noise import c2_transforms


def online_sgd_equivalent(pop: Population, lr, batch, steps, ridge=0.0, *, n_features=None,
                          n_nodes: int = DEFAULT_NODES, n_circle: int = DEFAULT_CIRCLE_POINTS) -> np.ndarray:
    """Online (P = ∞) SGD test risk in a feature space: the train equation of multi-pass SGD at P = ∞.

    For random features of width ``n_features`` N it is the deterministic equivalent over F (docs/theory.md §7);
    for linear features (``n_features`` None) it is the exact online theory (docs/theory.md §2).  Test covariance Σ.
    ``inf`` beyond the stability edge.
    """
    rule = step_rule(1.0, lr, batch, ridge)
    steps = integer_steps(steps)
    space = feature_space(pop, None, n_features)
    top = sampled_top_eigenvalue(pop, None, n_features)
    if noise_kernel_mass(space, rule, top) >= 1.0:
        return diverged_curves(pop, steps, pop.initial_risk).test_risk
    sums = EquivalentSums(space, rule.ridge)
    floor = sums.train_floor()
    return invert_generating_function(lambda z: c2_transforms(rule, sums, floor, z)[0], steps, n_nodes=n_nodes,
                                      n_circle=n_circle, oscillating=rule.lr * (top + rule.ridge) > OSCILLATION_THRESHOLD)
