"""Feature spaces and their one-point deterministic equivalents, shared by the finite-data and SGD theories
(docs/theory.md §3, §4, §7).

Both models are linear regression in a feature space.  Linear f = w·x: the features are x, with covariance
Σ = diag(λ_k), teacher w*, noise σ².  Random features f = v·(Fx), F ∈ R^{N×D} iid N(0, 1/N): given F the
features z = Fx have the feature covariance K = FΣFᵀ, teacher v* = K⁺FΣw*, and the part of the target outside the
features acts as extra label noise, σ_e² = σ² + A(F) (docs/theory.md §7, exact for Gaussian x).  The test covariance
in feature space is M = diag(λ'_k) for linear models and K for random features (test covariance Σ).

The finite-data theories need, at complex resolvent arguments x (ridge included), the renormalised ridge
κ(x) of the *sampled* feature covariance (x = κ (1 − d_K(κ)/P)) and one-point sums over the eigenvalues μ_j
of the feature covariance, A(κ) = Σ_j a_j/(μ_j + κ) and B(κ) = Σ_j a_j/(μ_j + κ)² = −A'(κ) (diagonal
limits), for these weight families (m_j = M_jj, v_j the teacher in the eigenbasis):

    sigma_sigma   a = μ²        sigma_test    a = μ m        sigma  a = μ  (A = d_K)
    teacher_sigma a = v² μ      teacher_test  a = v² m       teacher_sigma2_test  a = v² μ² m

:class:`LinearFeatures` evaluates them as exact sums over λ_k (P = ∞ gives κ = x);
:class:`~theory.random_feature_equivalent.RandomFeatures` as their deterministic equivalents averaged over F.
:func:`feature_space` picks one; :func:`sampled_top_eigenvalue` is the right edge of the sampled spectrum (§3).
"""

from __future__ import annotations

import numpy as np

from twopoint.theory.errors import ConvergenceError
from twopoint.theory.population import Population
from twopoint.theory.random_feature_equivalent import RandomFeatures
from twopoint.theory.resolvent import resolvent_moments, solve_master
from twopoint.theory.two_point import AnchoredSums, ModeSums, anchored_mode_sums, mode_sums

PAIR_FAMILIES = ("sigma_sigma", "sigma_test", "teacher_test", "teacher_sigma")  # PairSums order
# The spectral edge ω_e = −λ_max − e^y is bracketed by y ∈ log λ_max + [−EDGE_NEAR_LOG, EDGE_FAR_LOG]: from
# e^−28 ≈ 7e-13 λ_max left of −λ_max (where d2 blows up and ds/dω < 0) to e^60 λ_max (where ds/dω ≈ 1 > 0).
EDGE_NEAR_LOG = 28.0
EDGE_FAR_LOG = 60.0
EDGE_TOL = 1e-14  # brentq xtol and rtol in y = log(−ω_e − λ_max): the distance of ω_e from −λ_max to ~1e-14
EDGE_MAX_ITERATIONS = 500


def _inverse(size) -> float:
    return 0.0 if size is None else 1.0 / float(size)


class LinearFeatures:
    """Features = inputs: exact mode sums over the population (any diagonal test covariance)."""

    anchored = True

    def __init__(self, pop: Population, n_train=None):
        self.pop, self.n_train = pop, n_train
        lam, mult = pop.eigenvalues, pop.multiplicity
        self.noise_var = pop.noise_var
        self.signal = pop.signal
        self.initial_risk = pop.initial_risk
        self.trace = float(np.sum(mult * lam))
        self.feature_rank = float(np.sum(mult[lam > 0]))
        self.top_population_eigenvalue = float(lam.max())
        test, w2 = pop.test_eigenvalues, pop.teacher_sq
        self._weights = {
            "sigma_sigma": mult * lam * lam, "sigma_test": mult * lam * test, "sigma": mult * lam,
            "teacher_sigma": mult * w2 * lam, "teacher_test": mult * w2 * test,
            "teacher_sigma2_test": mult * w2 * lam * lam * test,
        }

    def kappa(self, x):
        return solve_master(x, self.pop, self.n_train)

    def sums(self, x, families, anchor=None) -> ModeSums | AnchoredSums:
        weights = np.stack([self._weights[f] for f in families], axis=1)
        kappa = self.kappa(x)
        if anchor is None:
            return mode_sums(kappa, self.pop, weights)
        return anchored_mode_sums(kappa, self.pop, anchor, weights)

    def anchor_ok(self, anchor: float) -> bool:
        return bool(np.all(self.pop.eigenvalues + anchor > 0))


FeatureSpace = LinearFeatures | RandomFeatures


def feature_space(pop: Population, n_train=None, n_features=None) -> FeatureSpace:
    """Linear features (``n_features`` None) or random features of width ``n_features``; P = ∞ for None."""
    if n_features is None:
        return LinearFeatures(pop, n_train)
    return RandomFeatures(pop, n_train, n_features)


def sampled_top_eigenvalue(pop: Population, n_train=None, n_features=None) -> float:
    """Right edge of the deterministic-equivalent spectrum of the sampled feature covariance.

    Σ̂ = XᵀX/P for linear models, K̂ = FΣ̂Fᵀ for random features (K = FΣFᵀ when P = ∞).  The edge is −s(ω_e)
    at the real ω_e < −λ_max where ds/dω = 0 (s(ω) the master equation; Silverstein–Choi).  It exceeds λ_max
    for finite P (and N); finite samples fluctuate around it by O(P^{−2/3}) (more for an isolated spike).
    """
    lam, mult = pop.eigenvalues, pop.multiplicity
    inv_n, inv_p = _inverse(n_features), _inverse(n_train)
    if inv_n == 0.0 and inv_p == 0.0:
        return float(lam.max())
    top = float(lam.max())
    weights = np.stack([mult * lam, mult * lam * lam], axis=1)

    def slope_and_value(y):
        omega = -top - np.exp(y)
        first, second = resolvent_moments(np.asarray(omega), lam, weights[:, 0], weights[:, 1])
        d, d2 = float(first), float(second)
        a, b = 1.0 - d * inv_n, 1.0 - d * inv_p
        return a * b + (d - d2) * (inv_n * b + inv_p * a), omega * a * b

    lo, hi = np.log(top) - EDGE_NEAR_LOG, np.log(top) + EDGE_FAR_LOG
    if not slope_and_value(lo)[0] < 0 < slope_and_value(hi)[0]:
        raise ConvergenceError("could not bracket the spectral edge of the sampled feature covariance")
    from scipy.optimize import brentq  # imported where used: scipy.optimize costs ~0.3 s of start-up

    root = brentq(lambda y: slope_and_value(y)[0], lo, hi, xtol=EDGE_TOL, rtol=EDGE_TOL, maxiter=EDGE_MAX_ITERATIONS)
    return -slope_and_value(root)[1]
