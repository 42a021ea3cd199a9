"""Random features given F: the exact reduction to linear regression in feature space (docs/theory.md §7).

Model f = v·(Fx), F ∈ R^{N×D} with iid N(0, 1/N) entries, x ~ N(0, Σ), y = w*·x + ε.  Given F the
features z = Fx ~ N(0, K), K = FΣFᵀ, and y = v*·z + r with v* = K⁺FΣw* and r independent of z
(jointly Gaussian, Cov(z, r) = FΣw* − Kv* = 0), Var r = σ² + A(F), A(F) = S − v*ᵀKv* the approximation
error of these N features.  The test risk E(f − y)² = (v − v*)ᵀK(v − v*) + A(F) + σ² (test covariance Σ).
So for each F every linear-regression theory applies in N dimensions to the population
(eig K, (Uᵀv*)², σ² + A(F)); averaging over the replicas' F (:mod:`twopoint.data.features`) removes the O(1/N)
finite-width bias of the deterministic equivalent over F (docs/theory.md §11), and one F gives the exact theory of a
run with shared features.  (The deterministic equivalent over F itself is :mod:`theory.random_feature_equivalent`.)
"""

from __future__ import annotations

import numpy as np

from twopoint.theory.population import Population

# Eigenvalues of K below this fraction of the largest are numerical zeros (K has rank min(N, D); the rounding of
# the others is ~1e-16 relative) and are dropped with their directions, which carry no signal.
FEATURE_RANK_RTOL = 1e-12
_TINY = 1e-300  # keeps the cut-off positive for an all-zero K


def feature_population(eigenvalues, teacher, noise_var, features) -> Population:
    """The feature-space population (eig K, (Uᵀv*)², σ² + A(F)) of one feature matrix F (N, D)."""
    lam, w = np.asarray(eigenvalues, float), np.asarray(teacher, float)
    f = np.asarray(features, float)
    feature_covariance = (f * lam) @ f.T  # K = FΣFᵀ
    mu, basis = np.linalg.eigh(feature_covariance)
    mu = np.clip(mu, 0.0, None)
    keep = mu > FEATURE_RANK_RTOL * max(mu.max(), _TINY)
    projected = basis[:, keep].T @ (f @ (lam * w))  # Uᵀ FΣw* = μ (Uᵀv*)
    coeff = projected / mu[keep]
    signal = float(np.sum(lam * w * w))
    approximation = max(signal - float(np.sum(mu[keep] * coeff**2)), 0.0)
    return Population(mu[keep], coeff**2, noise_var + approximation)
