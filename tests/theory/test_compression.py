"""Spectrum compression (docs/theory.md §9.4)."""

import numpy as np

from twopoint.theory.compression import compress_population
from twopoint.theory.feature_spaces import sampled_top_eigenvalue
from twopoint.theory.full_batch import gradient_descent, gradient_flow
from twopoint.theory.online_random_features import online_sgd_equivalent
from twopoint.theory.population import Population
from twopoint.theory.resolvent import solve_master


def powerlaw(dim, alpha=1.5, beta=1.2, test_alpha=1.3, noise_var=0.09):
    k = np.arange(1, dim + 1, dtype=np.float64)
    lam = k**-alpha
    return Population(lam, k**-beta / lam, noise_var, test_eigenvalues=k**-test_alpha)


def weighted(pop, values):
    return float(np.sum(pop.multiplicity * values))


def test_preserved_sums_and_small_populations():
    pop = powerlaw(5000)
    small = compress_population(pop, n_exact=500)
    assert small.eigenvalues.size < 2000
    assert small.dim == pop.dim
    for fn in (lambda p: p.eigenvalues, lambda p: p.eigenvalues * p.teacher_sq,
               lambda p: p.test_eigenvalues * p.teacher_sq):
        np.testing.assert_allclose(weighted(small, fn(small)), weighted(pop, fn(pop)), rtol=1e-12)
    np.testing.assert_array_equal(small.eigenvalues[:500], pop.eigenvalues[:500])
    ratio = small.eigenvalues[500:-1] / small.eigenvalues[501:]
    assert np.all(ratio > 1.0)
    np.testing.assert_array_equal(compress_population(powerlaw(300), n_exact=1000).eigenvalues,
                                  powerlaw(300).eigenvalues)


def test_recompression_honours_multiplicity_and_zero_modes():
    pop = powerlaw(3000)
    lam = np.concatenate([pop.eigenvalues, np.zeros(50)])
    w2 = np.concatenate([pop.teacher_sq, np.full(50, 0.3)])
    test = np.concatenate([pop.test_eigenvalues, np.full(50, 0.01)])
    with_zeros = Population(lam, w2, 0.09, test_eigenvalues=test)
    once = compress_population(with_zeros, n_exact=200, rel_width=0.002)
    twice = compress_population(once, n_exact=200, rel_width=0.01)
    for p in (once, twice):
        assert p.dim == with_zeros.dim
        np.testing.assert_allclose(p.initial_risk, with_zeros.initial_risk, rtol=1e-12)
        np.testing.assert_allclose(p.signal, with_zeros.signal, rtol=1e-12)
    s = np.array([0.01 + 0.01j, 1e-4 + 0j])
    np.testing.assert_allclose(solve_master(s, twice, 1000), solve_master(s, with_zeros, 1000), rtol=1e-4)


def test_compression_changes_curves_by_less_than_1e_5_at_d_20000():
    pop = powerlaw(20000)
    small = compress_population(pop)
    times = np.logspace(0, 5, 8)
    for n_train, ridge in ((2000, 0.0), (30000, 1e-4)):
        exact, approx = gradient_flow(pop, n_train, ridge, times), gradient_flow(small, n_train, ridge, times)
        np.testing.assert_allclose(approx.test_risk, exact.test_risk, rtol=1e-5)
        np.testing.assert_allclose(approx.train_loss, exact.train_loss, rtol=1e-5)
    lr = 0.8 / sampled_top_eigenvalue(pop, 2000)
    steps = np.array([3, 100, 10000])
    exact, approx = gradient_descent(pop, 2000, 0.0, lr, steps), gradient_descent(small, 2000, 0.0, lr, steps)
    np.testing.assert_allclose(approx.test_risk, exact.test_risk, rtol=1e-5)
    np.testing.assert_allclose(approx.train_loss, exact.train_loss, rtol=1e-5)


def test_compression_keeps_random_feature_theory_and_no_shift():
    """Without covariate shift the compressed population has none either (the random-feature equivalents
    require it), and the random-feature online and GD theories change by < 1e-6."""
    dim = 3000
    k = np.arange(1, dim + 1, dtype=float)
    pop = Population(k**-1.5, k**-1.5 / k**-1.5, 0.05)
    small = compress_population(pop)
    assert small.eigenvalues.size < dim and np.array_equal(small.test_eigenvalues, small.eigenvalues)
    steps = np.array([1, 10, 100, 1000, 10000])
    np.testing.assert_allclose(online_sgd_equivalent(small, 0.5, 4, steps, n_features=300),
                               online_sgd_equivalent(pop, 0.5, 4, steps, n_features=300), rtol=1e-6)
    a, b = gradient_descent(pop, 200, 0.0, 0.5, steps, n_features=300), gradient_descent(small, 200, 0.0, 0.5, steps, n_features=300)
    np.testing.assert_allclose(b.test_risk, a.test_risk, rtol=1e-6)
