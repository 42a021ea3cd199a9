"""Spectral functions and the master-equation solver (docs/theory.md §3, §9.1)."""

import numpy as np
import pytest

from theory_formulas import spectral_d2, spectral_e2
from twopoint.theory.errors import ConvergenceError
from twopoint.theory.feature_spaces import sampled_top_eigenvalue
from twopoint.theory.population import Population
from twopoint.theory.resolvent import (
    critical_omega,
    omega1,
    solve_master,
    spectral_d,
    spectral_E,
)


def powerlaw(dim, alpha=1.5, beta=1.2, noise_var=0.09):
    k = np.arange(1, dim + 1, dtype=np.float64)
    lam = k**-alpha
    return Population(lam, k**-beta / lam, noise_var)


POP = powerlaw(400)
CASES = [(150, None), (1000, None), (400, None), (150, 250), (None, 100), (300, 300)]
S_GRID = np.array([1e-7, 3e-4, 0.2, 5.0, 2 + 3j, 1e-3 - 1e-3j, -0.3 + 1e-4j, -2e-5 - 1e-6j, 1e-5j, -50 + 1j])


def master_rhs(omega, pop, n_train, n_features):
    d = spectral_d(omega, pop)
    factor_n = 1.0 if n_features is None else 1.0 - d / n_features
    factor_p = 1.0 if n_train is None else 1.0 - d / n_train
    return omega * factor_n * factor_p


def test_spectral_functions_match_direct_sums_and_multiplicity():
    omega = np.array([[0.3 + 0.1j, 2.0 - 1j], [1e-3 + 0j, -0.5 + 0.2j]])
    lam, w2 = POP.eigenvalues, POP.teacher_sq
    res = 1.0 / (lam + omega[..., None])
    np.testing.assert_allclose(spectral_d(omega, POP), np.sum(lam * res, -1), rtol=1e-12)
    np.testing.assert_allclose(spectral_d2(omega, POP), np.sum((lam * res) ** 2, -1), rtol=1e-12)
    np.testing.assert_allclose(spectral_E(omega, POP), np.sum(lam * w2 * omega[..., None] * res, -1),
                               rtol=1e-12)
    np.testing.assert_allclose(spectral_e2(omega, POP), np.sum(lam**2 * w2 * res**2, -1), rtol=1e-12)
    doubled = Population(np.repeat(lam, 2), np.repeat(w2, 2), POP.noise_var)
    weighted = Population(lam, w2, POP.noise_var, multiplicity=np.full(lam.shape, 2.0))
    for fn in (spectral_d, spectral_d2, spectral_E, spectral_e2):
        np.testing.assert_allclose(fn(omega, weighted), fn(omega, doubled), rtol=1e-12)
    s = np.array([0.01 + 0.02j, 1e-5 + 0j])
    np.testing.assert_allclose(solve_master(s, weighted, 500), solve_master(s, doubled, 500), rtol=1e-11)


def test_derivatives_by_finite_differences():
    omega, h = 0.02 + 0.01j, 1e-6
    fd = lambda fn: (fn(omega + h, POP) - fn(omega - h, POP)) / (2 * h)  # noqa: E731
    d, d2 = spectral_d(omega, POP), spectral_d2(omega, POP)
    np.testing.assert_allclose(fd(spectral_d), -(d - d2) / omega, rtol=1e-7)
    np.testing.assert_allclose(fd(spectral_E), spectral_e2(omega, POP), rtol=1e-7)


@pytest.mark.parametrize("n_train,n_features", CASES)
def test_master_residual_branch_and_symmetry(n_train, n_features):
    omega = solve_master(S_GRID, POP, n_train, n_features)
    residual = np.abs(master_rhs(omega, POP, n_train, n_features) - S_GRID)
    assert np.all(residual <= 1e-10 * (np.abs(S_GRID) + np.abs(omega)))
    complex_s = S_GRID.imag != 0
    assert np.all(np.sign(omega.imag[complex_s]) == np.sign(S_GRID.imag[complex_s]))
    np.testing.assert_allclose(solve_master(np.conj(S_GRID), POP, n_train, n_features), np.conj(omega),
                               rtol=1e-12, atol=1e-300)
    # analytic in s: the numerical derivative equals 1/(ds/dω)
    h = 1e-7 * np.abs(S_GRID)
    slope = (master_rhs(omega + 1e-7 * omega, POP, n_train, n_features)
             - master_rhs(omega - 1e-7 * omega, POP, n_train, n_features)) / (2e-7 * omega)
    fd = (solve_master(S_GRID + h, POP, n_train, n_features)
          - solve_master(S_GRID - h, POP, n_train, n_features)) / (2 * h)
    np.testing.assert_allclose(fd * slope, 1.0, rtol=1e-4)


@pytest.mark.parametrize("n_train,n_features", CASES)
def test_master_real_positive_branch(n_train, n_features):
    s = np.array([1e-9, 1e-4, 0.05, 3.0])
    omega = solve_master(s, POP, n_train, n_features)
    assert omega.dtype == np.float64
    star = critical_omega(POP, n_train, n_features)
    assert np.all(omega > star) and np.all(np.diff(omega) > 0)
    residual = np.abs(master_rhs(omega, POP, n_train, n_features) - s)
    assert np.all(residual <= 1e-10 * (s + omega))
    assert float(solve_master(0.0, POP, n_train, n_features)) == star
    sizes = [n for n in (n_train, n_features) if n is not None]
    if min(sizes) < POP.dim:
        np.testing.assert_allclose(spectral_d(star, POP), min(sizes), rtol=1e-12)
    else:
        assert star == 0.0


def test_linear_regression_limits():
    assert np.all(omega1(np.array([0.1 + 1j]), POP, None) == np.array([0.1 + 1j]))
    s = np.array([1e3 + 1e3j])
    np.testing.assert_allclose(solve_master(s, POP, 200), s, rtol=1e-4)  # ω ≈ s at |s| ≫ tr Σ/P
    np.testing.assert_allclose(solve_master(s, POP), s, rtol=0)
    omega = solve_master(0.01 + 0.0j, POP, 300, 200)
    np.testing.assert_allclose(omega1(omega, POP, 200), omega * (1 - spectral_d(omega, POP) / 200))


def test_negative_real_axis_left_of_spectrum_and_inside():
    n_train = 150
    edge = sampled_top_eigenvalue(POP, n_train)
    omega = solve_master(np.array([-1.2 * edge, -3 * edge]), POP, n_train)
    assert omega.dtype == np.float64
    np.testing.assert_allclose(master_rhs(omega, POP, n_train, None), [-1.2 * edge, -3 * edge], rtol=1e-9)
    with pytest.raises(ConvergenceError):
        solve_master(np.array([-1e-3]), POP, n_train)  # inside the bulk of −spec(Σ̂)
