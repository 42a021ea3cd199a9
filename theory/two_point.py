"""Two-point deterministic-equivalent quantities by partial fractions (THEORY.md §4).

With G = (Σ + κ1)⁻¹, G' = (Σ + κ2)⁻¹, Σ = diag(λ_k), a diagonal test covariance M = diag(λ'_k)
and teacher w*, every two-point trace or bilinear form is a mode sum Σ_k a_k/((λ_k + κ1)(λ_k + κ2))
for one of four weight vectors (each including ``pop.multiplicity``):

    sigma_sigma   = tr(Σ G Σ G')       = P q(κ1, κ2)           a_k = λ_k²
    sigma_test    = tr(Σ G M G')       = P dM(κ1, κ2)          a_k = λ_k λ'_k
    teacher_test  = w*ᵀ G M G' w*                              a_k = w*_k² λ'_k
    teacher_sigma = w*ᵀ G Σ G' w*      = w*ᵀ Σ G G' w*         a_k = w*_k² λ_k

Partial fractions reduce them to one-point sums A(κ) = Σ a/(λ + κ):
    Σ a/((λ + κ1)(λ + κ2)) = (A(κ1) − A(κ2)) / (κ2 − κ1),
e.g. P q = (κ2 d(κ2) − κ1 d(κ1))/(κ2 − κ1) because A(κ) = tr Σ − κ d(κ) for a = λ².  When
|κ2 − κ1| ≤ 1e-7·max(|κ1|, |κ2|) the divided difference is replaced by its diagonal limit
B(κ) = Σ a/(λ + κ)² = −A'(κ), averaged over both points (error O(|κ2 − κ1|²)).

The two-point equivalent itself (Σ̂ = XᵀX/P, κ = κ(λ), κ' = κ(λ') from the master equation):
    λλ' (Σ̂ + λ)⁻¹ M (Σ̂ + λ')⁻¹ ≍ κκ' G M G' + κκ' [dM/(1 − q)] G Σ G'.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from theory.population import Population
from theory.resolvent import resolvent_moments

DIAGONAL_RTOL = 1e-7


class ModeSums(NamedTuple):
    """One-point sums at κ: ``first[..., j] = Σ a_j/(λ + κ)``, ``second[..., j] = Σ a_j/(λ + κ)²``."""

    kappa: np.ndarray
    first: np.ndarray
    second: np.ndarray


class PairSums(NamedTuple):
    """Σ_k a_k/((λ_k + κ1)(λ_k + κ2)) for the four weights of the module docstring."""

    sigma_sigma: np.ndarray
    sigma_test: np.ndarray
    teacher_test: np.ndarray
    teacher_sigma: np.ndarray


def _pair_weights(pop: Population) -> np.ndarray:
    m, lam, test, w2 = pop.multiplicity, pop.eigenvalues, pop.test_eigenvalues, pop.teacher_sq
    return np.stack([m * lam * lam, m * lam * test, m * w2 * test, m * w2 * lam], axis=1)


def mode_sums(kappa, pop: Population, weights=None) -> ModeSums:
    """One-point sums for every κ (any shape) and per-mode weights (D, m).

    The default weights are the four of the module docstring, in :class:`PairSums` order.
    """
    kappa = np.asarray(kappa)
    weights = _pair_weights(pop) if weights is None else weights
    first, second = resolvent_moments(kappa, pop.eigenvalues, weights, weights)
    return ModeSums(kappa, first, second)


def conjugate(sums: ModeSums) -> ModeSums:
    """Sums at conj κ (the weights are real)."""
    return ModeSums(np.conj(sums.kappa), np.conj(sums.first), np.conj(sums.second))


def divided_differences(left: ModeSums, right: ModeSums) -> np.ndarray:
    """Σ_k a_k/((λ_k + κ1)(λ_k + κ2)) for each weight column, with the diagonal limit."""
    k1, k2 = left.kappa[..., None], right.kappa[..., None]
    gap = k2 - k1
    near = np.abs(gap) <= DIAGONAL_RTOL * np.maximum(np.abs(k1), np.abs(k2))
    divided = (left.first - right.first) / np.where(near, 1.0, gap)
    return np.where(near, 0.5 * (left.second + right.second), divided)


def pair_sums(left: ModeSums, right: ModeSums) -> PairSums:
    """Two-point sums for κ1 = ``left.kappa`` and κ2 = ``right.kappa`` (shapes broadcast)."""
    return PairSums(*np.moveaxis(divided_differences(left, right), -1, 0))


def two_point(kappa1, kappa2, pop: Population) -> PairSums:
    """Two-point sums at κ1, κ2 (arrays broadcast against each other)."""
    return pair_sums(mode_sums(kappa1, pop), mode_sums(kappa2, pop))


def sandwich_bilinear(kappa1, kappa2, pop: Population, n_train, coefficients):
    """Deterministic equivalent of Σ_k c_k [λλ'(Σ̂+λ)⁻¹ M (Σ̂+λ')⁻¹]_kk (THEORY §4).

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
