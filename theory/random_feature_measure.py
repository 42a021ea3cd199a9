"""A deterministic spectral measure of the random-feature covariance K = FΣFᵀ, averaged over F (docs/theory.md §14).

Given F, online SGD on random features f = v·(Fx) is online SGD on linear regression in feature space with the
population (eig K, (Uᵀv*)², σ² + A(F)) (docs/theory.md §7, :mod:`theory.given_features`).  Every online theory of a
population is a sum over its modes, so averaging over F amounts to replacing that population by the deterministic
equivalent of its two spectral measures

    ν(dμ) = Σ_j δ(μ − μ_j) dμ        (eigenvalues of K),        τ(dμ) = Σ_j v_j² δ(μ − μ_j) dμ    (teacher),

whose Stieltjes-type sums the random-feature equivalent supplies (:mod:`theory.random_feature_equivalent`, with
ω(x) the root of x = ω(1 − d(ω)/N)):

    d_K(x) = Σ_j μ_j/(μ_j + x) ≍ d(ω),        T(x) = Σ_j μ_j v_j²/(μ_j + x) ≍ (E(ω) − E0)/x.

Stieltjes inversion just above the negative real axis, x = −μ + iε (ε = ``IMAG_RTOL`` μ), gives the densities

    ν(μ) = −Im d_K(x)/(π μ),        μ τ(μ) = −Im T(x)/π,

sampled on a log-spaced grid of ``POINTS_PER_DECADE`` points per decade from below the lower edge of the spectrum
(λ_min (1 − √(min(N, D)/max(N, D)))², halved) to just above its upper edge (:func:`sampled_top_eigenvalue`), and
integrated by the trapezoid rule.  Consecutive groups of ``CELL_POINTS`` grid points become one atom, as in the
spectrum compression of docs/theory.md §9.4: multiplicity m_c = ∫_c ν, eigenvalue μ_c = ∫_c μ ν / m_c (preserves
tr K), teacher w_c² = ∫_c μ τ / (m_c μ_c) (preserves the signal v*ᵀKv* per cell); the noise is σ² + E0.  The
zero eigenvalues of K (N > D) carry neither signal nor dynamics and are left out.  The measure is checked against
the exact totals — mass min(N, D) = rank K, E tr K = tr Σ and E v*ᵀKv* ≍ S − E0 — and a
:class:`~theory.errors.ConvergenceError` is raised when they miss by more than ``TOTALS_RTOL``.
"""

from __future__ import annotations

import numpy as np

from twopoint.theory.errors import ConvergenceError
from twopoint.theory.feature_spaces import sampled_top_eigenvalue
from twopoint.theory.population import Population
from twopoint.theory.random_feature_equivalent import RandomFeatures

# 500 points per decade integrate the densities (square-root edges, the bumps of the top eigenvalues) with the
# totals right to ~2e-4 at D = 2000, N = 400 (1000 per decade: 4e-5); 4 points per atom give cells of relative width
# ~1.8 %, which move each resolvent sum by O(1e-4) of the cell's own contribution (docs/theory.md §9.4, §14).
POINTS_PER_DECADE = 500
CELL_POINTS = 4
IMAG_RTOL = 1e-6  # ε/μ of the inversion point: far below the grid spacing, so the densities are not smoothed
UPPER_MARGIN = 1.02  # the grid ends 2 % above the deterministic upper edge of the spectrum of K
LOWER_FLOOR = 1e-6  # the grid starts at least this fraction of λ_min below it (hard edge at 0 when N = D)
TOTALS_RTOL = 2e-3


def random_feature_measure(pop: Population, n_features) -> Population:
    """The atoms (μ_c, m_c, w_c²) of the deterministic spectral measure of K, with noise σ² + E0 (module docstring)."""
    features = RandomFeatures(pop, None, n_features)
    lam = pop.eigenvalues[pop.eigenvalues > 0]
    rank = min(float(n_features), float(np.sum(pop.multiplicity[pop.eigenvalues > 0])))
    ratio = rank / max(float(n_features), float(np.sum(pop.multiplicity[pop.eigenvalues > 0])))
    lower = 0.5 * lam.min() * max((1.0 - np.sqrt(ratio)) ** 2, LOWER_FLOOR)
    upper = UPPER_MARGIN * sampled_top_eigenvalue(pop, None, n_features)
    points = int(np.ceil(np.log10(upper / lower) * POINTS_PER_DECADE)) + 1
    points += (-points) % CELL_POINTS  # whole cells
    mu = np.geomspace(lower, upper, points)
    _, first, _ = features.sums(-mu + 1j * IMAG_RTOL * mu, ("sigma", "teacher_sigma"))
    density = np.clip(-first[:, 0].imag / (np.pi * mu), 0.0, None)  # ν(μ)
    signal_density = np.clip(-first[:, 1].imag / np.pi, 0.0, None)  # μ τ(μ)
    weights = _trapezoid_weights(mu)
    mass = (density * weights).reshape(-1, CELL_POINTS).sum(axis=1)
    trace = (density * mu * weights).reshape(-1, CELL_POINTS).sum(axis=1)
    signal = (signal_density * weights).reshape(-1, CELL_POINTS).sum(axis=1)
    keep = mass > 0
    mass, trace, signal = mass[keep], trace[keep], signal[keep]
    atoms = trace / mass
    _check_totals(mass.sum(), rank, trace.sum(), features.trace, signal.sum(), features.signal)
    return Population(atoms, signal / trace, features.noise_var, multiplicity=mass)


def _trapezoid_weights(x: np.ndarray) -> np.ndarray:
    """Weights of the trapezoid rule on the nodes ``x``."""
    gaps = np.diff(x)
    return 0.5 * (np.r_[gaps, 0.0] + np.r_[0.0, gaps])


def _check_totals(mass, rank, trace, exact_trace, signal, exact_signal) -> None:
    for name, got, want in (("mass (rank of K)", mass, rank), ("tr K", trace, exact_trace),
                            ("signal v*ᵀKv*", signal, exact_signal)):
        if not abs(got - want) <= TOTALS_RTOL * abs(want):
            raise ConvergenceError(f"random-feature spectral measure: {name} = {got:.6g}, expected {want:.6g} "
                                   f"(relative tolerance {TOTALS_RTOL})")
