"""Kernel spectra: exact (circle), by quadrature (sphere), by pool eigendecomposition (digits), against Gram matrices.

Gram-matrix estimates: for n iid inputs the eigenvalues of K/n converge to the Mercer eigenvalues; the top ones
fluctuate by O(λ/√n) (a few % at n = 1500), which sets the statistical tolerances below.  On an equispaced grid
of n > 2M points the circle's Fourier modes are exactly orthogonal, so there the match is to rounding.
"""

import numpy as np
import pytest
from scipy.special import eval_chebyt, eval_gegenbauer
import torch

from conftest import make_problem
from twopoint.data.kernels import (circle_mode_eigenvalues, dot_product_eigenvalues, dot_product_profile, harmonic_multiplicity,
                              zonal_series, zonal_sums, zonal_table)

CIRCLE = ("data=circle", "model=kernel", "model.kernel.frequencies=40")


def circle_gram(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """K(x, x') = μ_0 + Σ_m 2μ_m cos 2πm(x − x') summed directly (independent of the Chebyshev recurrence)."""
    diff = x[:, None] - x[None, :]
    return mu[0] + sum(2 * mu[m] * np.cos(2 * np.pi * m * diff) for m in range(1, mu.size))


def test_circle_problem_spectrum_and_teacher():
    p = make_problem(*CIRCLE, "model.kernel.spectrum.alpha=2.0", "data.teacher.beta=1.5")
    mu = np.arange(1, 42) ** -2.0
    np.testing.assert_allclose(p.data.eigenvalues, np.concatenate([[1.0], np.repeat(mu[1:], 2)]))
    np.testing.assert_allclose(p.data.eigenvalues * p.data.teacher**2, np.arange(1, 82) ** -1.5)  # c*_k² = k^-β
    assert p.data.inputs.residual_power == 0 and p.data.noise_std == pytest.approx(0.1)


def test_circle_spectrum_exact_on_a_grid():
    mu = np.arange(1, 42) ** -2.0
    n = 100  # > 2M + 1 = 81: discrete orthogonality of the Fourier modes
    gram = circle_gram(np.arange(n) / n, mu)
    lam = np.sort(np.linalg.eigvalsh(gram / n))[::-1]
    expected = np.sort(circle_mode_eigenvalues(mu))[::-1]
    np.testing.assert_allclose(lam[: expected.size], expected, rtol=1e-10, atol=1e-13)
    assert np.all(np.abs(lam[expected.size :]) < 1e-12)
    # the same Gram matrix from the Chebyshev (Gegenbauer d = 2) series
    coeffs = mu * np.array([harmonic_multiplicity(2, m) for m in range(mu.size)])
    theta = 2 * np.pi * np.arange(n) / n
    np.testing.assert_allclose(zonal_series(np.cos(theta[:, None] - theta[None, :]), coeffs, 2), gram, atol=1e-12)


def test_circle_spectrum_from_random_inputs():
    mu = np.arange(1, 22) ** -2.0
    n = 1000
    x = np.random.default_rng(0).uniform(size=n)
    lam = np.sort(np.linalg.eigvalsh(circle_gram(x, mu) / n))[::-1]
    expected = np.sort(circle_mode_eigenvalues(mu))[::-1]
    # top 9 modes (λ ≥ 1/25): within 10 % (≈ 4 standard deviations of the O(λ/√n) fluctuation)
    np.testing.assert_allclose(lam[:9], expected[:9], rtol=0.10)
    assert np.sum(lam) == pytest.approx(np.sum(expected), rel=1e-12)  # trace: K(x, x) is constant


@pytest.mark.parametrize("kind,bandwidth", [("laplace", 1.0), ("rbf", 0.7), ("relu_ntk", 1.0)])
def test_gegenbauer_eigenvalues_reproduce_the_kernel(kind, bandwidth):
    """Σ_ℓ μ_ℓ N_ℓ P_ℓ(t) → k(t) (d = 3); quadrature converged; μ_ℓ ≥ 0."""
    L = 120
    mu = dot_product_eigenvalues(kind, 3, L, bandwidth)
    np.testing.assert_allclose(dot_product_eigenvalues(kind, 3, L, bandwidth, nodes=2000), mu, atol=1e-13)
    assert np.all(mu > -1e-14)
    t = np.linspace(-0.9, 0.9, 50)  # away from t = ±1, where the Laplace/NTK series converge slowly
    n = np.array([harmonic_multiplicity(3, ell) for ell in range(L + 1)])
    np.testing.assert_allclose(zonal_series(t, mu * n, 3), dot_product_profile(kind, t, bandwidth), atol=2e-3)


def test_relu_ntk_has_no_odd_modes_above_one():
    """Known result (Bietti & Mairal 2019): the two-layer ReLU NTK on the sphere has μ_ℓ = 0 for odd ℓ ≥ 3."""
    mu = dot_product_eigenvalues("relu_ntk", 4, 9, 1.0)
    assert np.all(np.abs(mu[3::2]) < 1e-14) and np.all(mu[:3] > 1e-3) and np.all(mu[2::2] > 0)


def test_zonal_polynomials_are_normalised_gegenbauer_polynomials():
    t = np.linspace(-1, 1, 33)
    for dim in (2, 3, 5):
        table = zonal_table(t, 8, dim)
        for ell in range(9):
            ref = eval_chebyt(ell, t) if dim == 2 else eval_gegenbauer(ell, dim / 2 - 1, t) / eval_gegenbauer(ell, dim / 2 - 1, 1.0)
            np.testing.assert_allclose(table[ell], ref, atol=1e-12)


def test_zonal_sums_agree_with_the_table_and_leave_t_alone():
    """One recurrence pass for several series = sums over :func:`zonal_table`; integer t works, t is not mutated."""
    coeffs = [[0.5, -1.0, 2.0, 0.0, 0.3], [1.0], [0.0, 0.0, 1.5]]
    for t in (np.linspace(-1, 1, 9), torch.linspace(-1, 1, 9, dtype=torch.float64), np.array([1, 0, -1])):
        before = t.copy() if isinstance(t, np.ndarray) else t.clone()
        table = zonal_table(t * 1.0, 4, 3)
        for cs, got in zip(coeffs, zonal_sums(t, coeffs, 3)):
            np.testing.assert_allclose(np.asarray(got), np.asarray(sum(c * p for c, p in zip(cs, table))), atol=1e-14)
        assert np.array_equal(np.asarray(t), np.asarray(before))


@pytest.mark.parametrize("dim,max_degree", [(3, 3), (5, 2)])
def test_gegenbauer_eigenvalues_match_gram_estimates(dim, max_degree):
    """Laplace kernel on S^{d−1}: blocks of the sorted Gram eigenvalues (sizes N_ℓ) average to μ_ℓ."""
    n, L = 1500, max_degree
    mu = dot_product_eigenvalues("laplace", dim, L, 1.0)
    assert np.all(np.diff(mu) < 0)  # so the blocks of the sorted spectrum are the degrees
    z = np.random.default_rng(dim).standard_normal((n, dim))
    x = z / np.linalg.norm(z, axis=1, keepdims=True)
    lam = np.sort(np.linalg.eigvalsh(dot_product_profile("laplace", np.clip(x @ x.T, -1, 1), 1.0) / n))[::-1]
    start = 0
    for ell in range(L + 1):
        size = harmonic_multiplicity(dim, ell)
        assert np.mean(lam[start : start + size]) == pytest.approx(mu[ell], rel=0.06), ell
        start += size


def test_sphere_problem_eigen_data():
    p = make_problem("experiment=kernel_sphere", "model.kernel.max_degree=6", "data.sphere.target_power=[0.0,1.0,0.5,0.25]")
    inputs = p.data.inputs
    assert p.data.dim == sum(harmonic_multiplicity(3, ell) for ell in range(7)) == 49
    assert np.sum(inputs.coefficients**2) == pytest.approx(1.75) and inputs.residual_power == pytest.approx(0.0)
    assert np.count_nonzero(inputs.coefficients) == 3
    # a target degree above the truncation is not learnable: it becomes effective noise
    q = make_problem("experiment=kernel_sphere", "model.kernel.max_degree=2", "data.sphere.target_power=[0.0,1.0,0.5,0.25]")
    assert q.data.inputs.residual_power == pytest.approx(0.25)
    assert q.data.noise_std**2 == pytest.approx(0.1**2 + 0.25)


def test_digits_spectrum_from_the_pool_gram_matrix():
    p = make_problem("experiment=kernel_digits")
    inputs = p.data.inputs
    M = inputs.target.size
    assert M == 1797 and p.data.dim == M  # every mode kept at cutoff 1e-12
    assert np.all(np.diff(inputs.eigenvalues) <= 0)
    assert np.sum(inputs.eigenvalues) == pytest.approx(np.trace(inputs.gram) / M, rel=1e-10)  # = 1 for the RBF
    assert inputs.target_power == pytest.approx(1.0) and set(np.unique(inputs.target)) == {-1.0, 1.0}
    # the eigen-expansion reproduces the target on the pool: Σ_k c*_k² = mean y*² (no residual)
    assert np.sum(inputs.coefficients**2) == pytest.approx(np.mean(inputs.target**2), rel=1e-10)
    # a coarser cutoff drops modes; their target power becomes effective noise, the total is unchanged
    q = make_problem("experiment=kernel_digits", "model.kernel.cutoff=1e-4")
    assert q.data.dim < M and q.data.inputs.residual_power > 0
    assert q.data.initial_risk == pytest.approx(p.data.initial_risk, rel=1e-10)
