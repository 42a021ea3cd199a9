"""Feature-space deterministic equivalents shared by the finite-data and SGD theories (docs/theory.md §3, §4, §7).

Both models are linear regression in a feature space.  Linear f = w·x: the features are x, with covariance
Σ = diag(λ_k), teacher w*, noise σ².  Random features f = v·(Fx), F ∈ R^{N×D} iid N(0, 1/N): given F the
features z = Fx have covariance K = FΣFᵀ, teacher v* = K⁺FΣw*, and the part of the target outside the
features acts as extra label noise, σ_e² = σ² + A(F) (docs/theory.md §7, exact for Gaussian x).  The test covariance
in feature space is M = diag(λ'_k) for linear models and K for random features (test covariance Σ).

The finite-data theories need, at complex resolvent arguments x (ridge included), the renormalised ridge
κ(x) of the *sampled* feature covariance (x = κ (1 − d_K(κ)/P)) and one-point sums over the eigenvalues μ_j
of the feature covariance, A(κ) = Σ_j a_j/(μ_j + κ) and B(κ) = Σ_j a_j/(μ_j + κ)² = −A'(κ) (diagonal
limits), for these weight families (m_j = M_jj, v_j the teacher in the eigenbasis):

    sigma_sigma   a = μ²        sigma_test    a = μ m        sigma  a = μ  (A = d_K)
    teacher_sigma a = v² μ      teacher_test  a = v² m       teacher_sigma2_test  a = v² μ² m

Linear models: exact sums over λ_k (P = ∞ gives κ = x).  Random features average over F: with ω(x) from the
master equation s = ω(1 − d/N)(1 − d/P) at s = x, κ = ω1 = ω(1 − d(ω)/N) and dκ/dω = 1 − d2(ω)/N,
    d_K(κ) ≍ d(ω),   Σ μ v²/(μ + κ) ≍ E_K(κ)/κ,   Σ μ²/(μ + κ) = tr Σ − κ d_K(κ),
    Σ μ³ v²/(μ + κ) = const − κ S_K + κ E_K(κ),
with E_K = E(ω) − E0, S_K = S − E0, E0 = E(ω_F*) (d(ω_F*) = N; 0 when N ≥ D) the approximation error of N
features.  The constant of the last family is dropped: it cancels in every divided difference and has no
derivative.  Those are all the families the theories use, so random features need no other moments.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from twopoint.theory.errors import ConvergenceError
from twopoint.theory.population import Population
from twopoint.theory.resolvent import critical_omega, resolvent_moments, solve_master, spectral_E
from twopoint.theory.two_point import AnchoredSums, ModeSums, anchored_mode_sums, mode_sums

PAIR_FAMILIES = ("sigma_sigma", "sigma_test", "teacher_test", "teacher_sigma")  # PairSums order


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


class RandomFeatures:
    """Random features of width N averaged over F (module docstring); test covariance Σ."""

    anchored = False

    def __init__(self, pop: Population, n_train, n_features):
        if np.any(pop.test_eigenvalues != pop.eigenvalues):
            raise ValueError("random-feature equivalents assume no covariate shift (test covariance = Σ)")
        self.pop, self.n_train, self.n_features = pop, n_train, float(n_features)
        lam, mult = pop.eigenvalues, pop.multiplicity
        self.approximation_error = approximation_error(pop, n_features)
        self.noise_var = pop.noise_var + self.approximation_error
        self.signal = pop.signal - self.approximation_error
        self.initial_risk = pop.signal + pop.noise_var
        self.trace = float(np.sum(mult * lam))
        self.feature_rank = min(self.n_features, float(np.sum(mult[lam > 0])))
        self.top_population_eigenvalue = float(lam.max())
        self._first = np.stack([mult * lam, mult * lam * pop.teacher_sq], axis=1)
        self._second = np.stack([mult * lam * lam, mult * lam * lam * pop.teacher_sq], axis=1)

    def kappa(self, x):
        omega = solve_master(x, self.pop, self.n_train, self.n_features)
        return omega * (1.0 - self._moments(omega)[0] / self.n_features)

    def _moments(self, omega):
        """d, E, d2, e2 at ω."""
        first, second = resolvent_moments(omega, self.pop.eigenvalues, self._first, self._second)
        return first[..., 0], omega * first[..., 1], second[..., 0], second[..., 1]

    def sums(self, x, families, anchor=None) -> ModeSums:
        if anchor is not None:
            raise ValueError("random-feature sums are not anchored")
        omega = solve_master(x, self.pop, self.n_train, self.n_features)
        d, e, d2, e2 = self._moments(omega)
        slope = 1.0 - d2 / self.n_features  # dκ/dω
        kappa = omega * (1.0 - d / self.n_features)
        e_k, e_slope = e - self.approximation_error, e2 / slope  # E_K and dE_K/dκ
        with np.errstate(divide="ignore", invalid="ignore"):  # κ = 0 (ω = ω*): only limits that are unused
            d_slope = -(d - d2) / (omega * slope)  # d d_K/dκ
            table = {
                "sigma_sigma": (self.trace - kappa * d, d + kappa * d_slope),
                "sigma": (d, -d_slope),
                "teacher_sigma": (np.where(kappa == 0, e_slope, e_k / kappa), e_k / kappa**2 - e_slope / kappa),
                "teacher_sigma2_test": (kappa * (e_k - self.signal), self.signal - e_k - kappa * e_slope),
            }
        table["sigma_test"], table["teacher_test"] = table["sigma_sigma"], table["teacher_sigma"]
        first = np.stack([table[f][0] for f in families], axis=-1)
        second = np.stack([table[f][1] for f in families], axis=-1)
        return ModeSums(kappa, first, second)


FeatureSpace = LinearFeatures | RandomFeatures


def feature_space(pop: Population, n_train=None, n_features=None) -> FeatureSpace:
    """Linear features (``n_features`` None) or random features of width ``n_features``; P = ∞ for None."""
    if n_features is None:
        return LinearFeatures(pop, n_train)
    return RandomFeatures(pop, n_train, n_features)


def approximation_error(pop: Population, n_features) -> float:
    """E0 = E(ω_F*) with d(ω_F*) = N: the excess risk of the best predictor in the span of N random features
    (averaged over F, leading order); 0 when N ≥ rank Σ."""
    omega = critical_omega(pop, None, n_features)
    return float(spectral_E(omega, pop)) if omega > 0 else 0.0


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

    lo, hi = np.log(top) - 28.0, np.log(top) + 60.0
    if not slope_and_value(lo)[0] < 0 < slope_and_value(hi)[0]:
        raise ConvergenceError("could not bracket the spectral edge of the sampled feature covariance")
    root = brentq(lambda y: slope_and_value(y)[0], lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500)
    return -slope_and_value(root)[1]
