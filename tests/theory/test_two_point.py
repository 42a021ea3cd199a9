"""Two-point quantities (docs/theory.md §4): partial fractions, diagonal limits, Monte-Carlo check."""

import numpy as np
from threadpoolctl import threadpool_limits

from theory_formulas import sandwich_bilinear, spectral_e2, two_point
from twopoint.theory.population import Population
from twopoint.theory.resolvent import solve_master, spectral_d, spectral_E
from twopoint.theory.two_point import (
    PairSums,
    anchored_mode_sums,
    mode_sums,
    pair_sums,
)


def shifted_powerlaw(dim, alpha=1.5, beta=1.2, test_alpha=1.2, noise_var=0.04):
    k = np.arange(1, dim + 1, dtype=np.float64)
    lam = k**-alpha
    return Population(lam, k**-beta / lam, noise_var, test_eigenvalues=k**-test_alpha)


POP = shifted_powerlaw(300)
KAPPAS = np.array([0.03 + 0.02j, 1e-3 - 2e-3j, 0.4 + 0j, -0.2 + 0.05j])


def brute_force(k1, k2, pop):
    lam, test, w2 = pop.eigenvalues, pop.test_eigenvalues, pop.teacher_sq
    den = (lam + k1[..., None]) * (lam + k2[..., None])
    weights = [lam * lam, lam * test, w2 * test, w2 * lam]
    return PairSums(*(np.sum(a / den, -1) for a in weights))


def test_pair_sums_match_brute_force():
    k1, k2 = KAPPAS[:, None], np.conj(KAPPAS)[None, :] * 1.3
    for got, want in zip(two_point(k1, k2, POP), brute_force(k1, k2, POP)):
        np.testing.assert_allclose(got, want, rtol=1e-11)


def test_diagonal_limits_against_finite_differences():
    for kappa in KAPPAS:
        h = 1e-5 * abs(kappa)
        near = two_point(kappa - h, kappa + h, POP)  # divided differences, error O(h²)
        diag = two_point(kappa, kappa, POP)  # diagonal-limit branch
        for a, b in zip(near, diag):
            np.testing.assert_allclose(a, b, rtol=1e-7)
        # docs/theory.md §4 forms: P q → d + κ d'(κ),  κκ' w*ᵀΣGG'w* → E − κ e2
        d_prime = (spectral_d(kappa + h, POP) - spectral_d(kappa - h, POP)) / (2 * h)
        np.testing.assert_allclose(diag.sigma_sigma, spectral_d(kappa, POP) + kappa * d_prime, rtol=1e-7)
        np.testing.assert_allclose(kappa**2 * diag.teacher_sigma,
                                   spectral_E(kappa, POP) - kappa * spectral_e2(kappa, POP), rtol=1e-7)


def test_partial_fraction_forms_of_theory():
    k1, k2 = KAPPAS[0], KAPPAS[3]
    pairs = two_point(k1, k2, POP)
    d1, d2 = spectral_d(k1, POP), spectral_d(k2, POP)
    np.testing.assert_allclose(pairs.sigma_sigma, (k2 * d2 - k1 * d1) / (k2 - k1), rtol=1e-11)
    e1, e2 = spectral_E(k1, POP), spectral_E(k2, POP)
    np.testing.assert_allclose(k1 * k2 * pairs.teacher_sigma, (k2 * e1 - k1 * e2) / (k2 - k1), rtol=1e-11)


def test_anchored_form_for_clustered_nodes():
    """Nodes within 1e-9 of κ0 (late times): the anchored form keeps full accuracy."""
    anchor = 4e-4
    k1 = anchor + np.array([1e-10 + 1e-10j, 3e-9 - 1e-9j, 0.3 + 0.2j])
    k2 = anchor + np.array([2e-10 - 5e-11j, 1e-9 + 2e-9j, 1e-10j])
    left, right = anchored_mode_sums(k1, POP, anchor), anchored_mode_sums(k2, POP, anchor)
    for got, want in zip(pair_sums(left, right, anchor), brute_force(k1, k2, POP)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_broadcasting_of_mode_sums():
    left, right = mode_sums(KAPPAS[:, None], POP), mode_sums(KAPPAS[None, :2], POP)
    pairs = pair_sums(left, right)
    assert pairs.sigma_test.shape == (KAPPAS.size, 2)


def test_two_point_equivalent_against_random_matrices():
    """E λλ'(Σ̂+λ)⁻¹M(Σ̂+λ')⁻¹ at D = 200, P = 100 over 300 draws (bilinear in w* and trace).

    Tolerance: 4 Monte-Carlo standard errors plus 3 % for the O(1/D) deterministic-equivalent error.
    Dropping the dM/(1 − q) term changes the prediction by > 10 %, far outside this band.
    """
    pop = shifted_powerlaw(200, alpha=1.2, beta=1.1)
    n_train, draws = 100, 300
    rng = np.random.default_rng(1)
    lams = np.array([0.003, 0.01 + 0.01j])
    lam_primes = np.array([0.02, 0.01 - 0.01j])
    w = np.sqrt(pop.teacher_sq)
    samples = np.empty((draws, 2, lams.size), dtype=np.complex128)
    with threadpool_limits(1):
        for i in range(draws):
            x = rng.standard_normal((n_train, 200)) * np.sqrt(pop.eigenvalues)
            h, v = np.linalg.eigh(x.T @ x / n_train)
            test_in_basis = (v.T * pop.test_eigenvalues) @ v  # VᵀMV
            u = v.T @ w
            for j, (a, b) in enumerate(zip(lams, lam_primes)):
                fa, fb = a / (h + a), b / (h + b)
                samples[i, 0, j] = (fa * u) @ test_in_basis @ (fb * u)
                samples[i, 1, j] = np.sum(fa * np.diag(test_in_basis) * fb)
    mean = samples.mean(0)
    stderr = np.abs(samples.real.std(0)) / np.sqrt(draws) + 1j * samples.imag.std(0) / np.sqrt(draws)
    k1, k2 = solve_master(lams, pop, n_train), solve_master(lam_primes, pop, n_train)
    theory = np.stack([sandwich_bilinear(k1, k2, pop, n_train, pop.teacher_sq),
                       sandwich_bilinear(k1, k2, pop, n_train, 1.0)])
    gap = np.abs(theory - mean)
    assert np.all(gap <= 4 * np.abs(stderr) + 0.03 * np.abs(theory)), (theory, mean, stderr)
    without_variance = np.stack([
        k1 * k2 * np.sum(pop.teacher_sq * pop.test_eigenvalues
                         / ((pop.eigenvalues + k1[:, None]) * (pop.eigenvalues + k2[:, None])), -1),
        k1 * k2 * np.sum(pop.test_eigenvalues
                         / ((pop.eigenvalues + k1[:, None]) * (pop.eigenvalues + k2[:, None])), -1)])
    assert np.all(np.abs(without_variance - mean) > 0.1 * np.abs(mean))
