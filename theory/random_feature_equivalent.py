"""The deterministic equivalent over F of random features, f = v·(Fx) with F ∈ R^{N×D} iid N(0, 1/N)
(docs/theory.md §3, §7).

Given F the model is linear regression on features z = Fx with the feature covariance K = FΣFᵀ
(:mod:`theory.given_features`).  Averaged over F, the one-point sums of :mod:`theory.feature_spaces` at a resolvent
argument x follow from ω(x), the root of the master equation s = ω(1 − d/N)(1 − d/P) at s = x
(:mod:`theory.resolvent`), with κ = ω1 = ω(1 − d(ω)/N) and dκ/dω = 1 − d2(ω)/N:
    d_K(κ) ≍ d(ω),   Σ μ v²/(μ + κ) ≍ E_K(κ)/κ,   Σ μ²/(μ + κ) = tr Σ − κ d_K(κ),
    Σ μ³ v²/(μ + κ) = const − κ S_K + κ E_K(κ),
with E_K = E(ω) − E0, S_K = S − E0, E0 = E(ω_F*) (d(ω_F*) = N; 0 when N ≥ D) the approximation error of N
features.  The constant of the last family is dropped: it cancels in every divided difference and has no
derivative.  Those are all the families the theories use, so random features need no other moments.
"""

from __future__ import annotations

import numpy as np

from twopoint.theory.population import Population
from twopoint.theory.resolvent import critical_omega, resolvent_moments, solve_master, spectral_E
from twopoint.theory.two_point import ModeSums


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
        with np.errstate(divide="ignore", invalid="ignore"):  # κ = 0 (ω = ω*): only limits that are unused
            e_k, e_slope = e - self.approximation_error, e2 / slope  # E_K and dE_K/dκ (slope 0 at N = D, ω = 0)
            d_slope = -(d - d2) / (omega * slope)  # d d_K/dκ
            table = {
                # κ = 0 (ridgeless, P above the rank of K): Σ μ²/μ² over μ > 0 is rank K = d(ω) (N or D)
                "sigma_sigma": (self.trace - kappa * d, np.where(kappa == 0, d, d + kappa * d_slope)),
                "sigma": (d, -d_slope),
                "teacher_sigma": (np.where(kappa == 0, e_slope, e_k / kappa), e_k / kappa**2 - e_slope / kappa),
                "teacher_sigma2_test": (kappa * (e_k - self.signal), self.signal - e_k - kappa * e_slope),
            }
        table["sigma_test"], table["teacher_test"] = table["sigma_sigma"], table["teacher_sigma"]
        first = np.stack([table[f][0] for f in families], axis=-1)
        second = np.stack([table[f][1] for f in families], axis=-1)
        return ModeSums(kappa, first, second)


def approximation_error(pop: Population, n_features) -> float:
    """E0 = E(ω_F*) with d(ω_F*) = N: the excess risk of the best predictor in the span of N random features
    (averaged over F, leading order); 0 when N ≥ rank Σ."""
    omega = critical_omega(pop, None, n_features)
    return float(spectral_E(omega, pop)) if omega > 0 else 0.0
