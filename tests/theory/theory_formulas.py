"""Reference evaluations that only the tests use, assembled from the library's own sums.

``spectral_d2``, ``spectral_e2``: the derivative moments of docs/theory.md §3 on their own (the library takes them in
the same pass as d and E).  ``two_point``, ``sandwich_bilinear``: the two-point sums at (κ1, κ2) and the two-point
deterministic equivalent of docs/theory.md §4 as one function each (the library assembles them inside
:mod:`twopoint.theory.full_batch`).
"""

import numpy as np

from twopoint.theory.population import Population
from twopoint.theory.resolvent import resolvent_moments
from twopoint.theory.two_point import PairSums, divided_differences, mode_sums, pair_sums


def spectral_d2(omega, pop: Population):
    """d2(ω) = Σ λ²/(λ + ω)²."""
    lam = pop.eigenvalues
    zero = np.zeros_like(lam)
    return resolvent_moments(omega, lam, zero, pop.multiplicity * lam * lam)[1]


def spectral_e2(omega, pop: Population):
    """e2(ω) = dE/dω = Σ λ² w*²/(λ + ω)²."""
    lam = pop.eigenvalues
    weights = pop.multiplicity * lam * lam * pop.teacher_sq
    return resolvent_moments(omega, lam, np.zeros_like(lam), weights)[1]


def two_point(kappa1, kappa2, pop: Population) -> PairSums:
    """Two-point sums at κ1, κ2 (arrays broadcast against each other)."""
    return pair_sums(mode_sums(kappa1, pop), mode_sums(kappa2, pop))


def sandwich_bilinear(kappa1, kappa2, pop: Population, n_train, coefficients):
    """Deterministic equivalent of Σ_k c_k [λλ'(Σ̂+λ)⁻¹ M (Σ̂+λ')⁻¹]_kk (docs/theory.md §4).

    For per-mode coefficients c_k (e.g. w*_k² for the bilinear form in w*, ones for the trace)
    this is Σ_k c_k κ1κ2 [λ'_k + (dM/(1 − q)) λ_k] / ((λ_k + κ1)(λ_k + κ2)).
    """
    coeff = np.broadcast_to(np.asarray(coefficients, dtype=np.float64), pop.eigenvalues.shape)
    coeff = coeff * pop.multiplicity
    k1, k2 = np.asarray(kappa1), np.asarray(kappa2)
    pairs = two_point(k1, k2, pop)
    ratio = (pairs.sigma_test / n_train) / (1.0 - pairs.sigma_sigma / n_train)
    weights = np.stack([coeff * pop.test_eigenvalues, coeff * pop.eigenvalues], axis=1)
    both = divided_differences(mode_sums(k1, pop, weights), mode_sums(k2, pop, weights))
    return k1 * k2 * (both[..., 0] + ratio * both[..., 1])
