"""Two-point deterministic-equivalent quantities by partial fractions (docs/theory.md §4).

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

Nodes clustered around a point κ0 (late times of a Laplace inversion, where κ → κ(γ) or ω*)
lose digits in A(κ1) − A(κ2).  With an ``anchor`` κ0 the sums also hold
C(κ) = Σ a/((λ + κ0)(λ + κ)); since A(κ) = A(κ0) − (κ − κ0) C(κ),
    Σ a/((λ + κ1)(λ + κ2)) = C(κ2) + (κ1 − κ0) (C(κ2) − C(κ1)) / (κ2 − κ1),
with rounding error ~ ε |κ1 − κ0| |C| / |κ2 − κ1| against ε |A| / |κ2 − κ1| for the plain form;
each pair uses the form with the smaller estimate.

The two-point equivalent itself (Σ̂ = XᵀX/P, κ = κ(λ), κ' = κ(λ') from the master equation):
    λλ' (Σ̂ + λ)⁻¹ M (Σ̂ + λ')⁻¹ ≍ κκ' G M G' + κκ' [dM/(1 − q)] G Σ G';
:mod:`theory.full_batch` assembles the risk and loss transforms from these sums.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from twopoint.theory.population import Population
from twopoint.theory.resolvent import resolvent_moments

# Relative gap δ = |κ2 − κ1|/max|κ| at or below which the diagonal limit replaces the divided difference.  The limit
# errs by O(δ²), the divided difference by rounding ~ε/δ; they cross near δ ≈ ε^(1/3) ≈ 6e-6, and at δ = 1e-7 the
# limit errs by ~1e-14 while the divided difference would err by ~2e-9.
DIAGONAL_RTOL = 1e-7


class ModeSums(NamedTuple):
    """One-point sums at κ for weight columns j: ``first`` Σ a_j/(λ + κ), ``second`` Σ a_j/(λ + κ)²."""

    kappa: np.ndarray
    first: np.ndarray
    second: np.ndarray

    def map(self, fn):
        """Apply an array operation (indexing, concatenation, conjugation) to every field."""
        return type(self)(*(fn(a) for a in self))


class AnchoredSums(NamedTuple):
    """:class:`ModeSums` plus ``anchored`` Σ a_j/((λ + κ0)(λ + κ)) for an anchor κ0."""

    kappa: np.ndarray
    first: np.ndarray
    second: np.ndarray
    anchored: np.ndarray

    map = ModeSums.map


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
    return ModeSums(kappa, *resolvent_moments(kappa, pop.eigenvalues, weights, weights))


def anchored_mode_sums(kappa, pop: Population, anchor: float, weights=None) -> AnchoredSums:
    """:func:`mode_sums` plus the anchored sums for a real anchor κ0 with all λ_k + κ0 ≠ 0."""
    kappa = np.asarray(kappa)
    weights = _pair_weights(pop) if weights is None else weights
    both = np.concatenate([weights, weights / (pop.eigenvalues + anchor)[:, None]], axis=1)
    first, second = resolvent_moments(kappa, pop.eigenvalues, both, weights)
    columns = weights.shape[1]
    return AnchoredSums(kappa, first[..., :columns], second, first[..., columns:])


def divided_differences(left, right, anchor=None) -> np.ndarray:
    """Σ_k a_k/((λ_k + κ1)(λ_k + κ2)) for each weight column, with the diagonal limit.

    With ``anchor`` κ0 the arguments are :class:`AnchoredSums` for that κ0 and each pair uses the
    more accurate of the plain and anchored forms (module docstring).
    """
    k1, k2 = left.kappa[..., None], right.kappa[..., None]
    gap = k2 - k1
    near = np.abs(gap) <= DIAGONAL_RTOL * np.maximum(np.abs(k1), np.abs(k2))
    safe_gap = np.where(near, 1.0, gap)
    divided = (left.first - right.first) / safe_gap
    if anchor is not None:
        c1, c2 = left.anchored, right.anchored
        anchored = c2 + (k1 - anchor) * (c2 - c1) / safe_gap
        plain_error = np.maximum(np.abs(left.first), np.abs(right.first))
        anchored_error = np.abs(k1 - anchor) * np.maximum(np.abs(c1), np.abs(c2))
        divided = np.where(anchored_error < plain_error, anchored, divided)
    return np.where(near, 0.5 * (left.second + right.second), divided)


def pair_sums(left, right, anchor=None) -> PairSums:
    """Two-point sums for κ1 = ``left.kappa`` and κ2 = ``right.kappa`` (shapes broadcast)."""
    return PairSums(*np.moveaxis(divided_differences(left, right, anchor), -1, 0))
