"""Exact online-SGD theory (docs/theory.md §2): recursion, generating function, stability, limits."""

import numpy as np
import pytest

from twopoint.theory.online_linear import OnlineSGD
from twopoint.theory.population import Population


def small_population(D=20, noise=0.3, shift=False, seed=0):
    rng = np.random.default_rng(seed)
    lam = np.arange(1, D + 1) ** -1.3
    w = rng.standard_normal(D)
    test = np.arange(1, D + 1) ** -0.9 if shift else None
    return Population(lam, w**2, noise**2, test), w


def brute_force_second_moment(lam, w_star, noise_var, lr, batch, ridge, steps, test_lam):
    """Dense m = E e, C = E e eᵀ iteration from the Gaussian fourth moment, no diagonal closure.

    e' = u − η ĝ with u = (1 − ηγ) e − ηγ w*, E[ĝ | e] = Σe and
    E[ĝ ĝᵀ | e] = (1 + 1/B) Σ e eᵀ Σ + (1/B) Σ tr(e eᵀ Σ) + (σ²/B) Σ   (E[x xᵀ A x xᵀ] = 2ΣAΣ + Σ tr AΣ).
    """
    S = np.diag(lam)
    m = -w_star.copy()
    C = np.outer(m, m)
    g = lr * ridge
    out = []
    for _ in range(steps + 1):
        out.append(noise_var + np.sum(test_lam * np.diag(C)))
        uu = (1 - g) ** 2 * C - g * (1 - g) * (np.outer(m, w_star) + np.outer(w_star, m)) + g**2 * np.outer(w_star, w_star)
        ug = (1 - g) * C @ S - g * np.outer(w_star, m) @ S
        gg = (1 + 1 / batch) * S @ C @ S + (S * np.trace(C @ S) + noise_var * S) / batch
        C = uu - lr * (ug + ug.T) + lr**2 * gg
        m = (1 - g) * m - lr * S @ m - g * w_star
    return np.array(out)


@pytest.mark.parametrize("ridge, shift, batch", [(0.0, False, 1), (0.0, True, 3), (0.1, False, 2), (0.05, True, 4)])
def test_recursion_equals_dense_second_moment_iteration(ridge, shift, batch):
    pop, w = small_population(shift=shift)
    lr, T = 0.3, 200
    sgd = OnlineSGD(pop, lr, batch, ridge)
    steps = np.arange(T + 1)
    _, test, div = sgd.recursion(steps)
    dense = brute_force_second_moment(pop.eigenvalues, w, pop.noise_var, lr, batch, ridge, T, pop.test_eigenvalues)
    assert div == -1
    np.testing.assert_allclose(test, dense, rtol=1e-12)


@pytest.mark.parametrize("ridge, shift, batch, frac", [(0.0, False, 1, 0.5), (0.0, True, 8, 0.95), (0.2, False, 2, 0.8), (0.5, True, 4, 0.9)])
def test_generating_function_equals_recursion(ridge, shift, batch, frac):
    pop, _ = small_population(D=40, shift=shift)
    sgd = OnlineSGD(pop, frac * OnlineSGD(pop, 1.0, batch, ridge).critical_lr(), batch, ridge)
    assert sgd.stable()
    steps = np.unique(np.r_[0, np.geomspace(1, 5000, 50).astype(int)])
    train_r, test_r, _ = sgd.recursion(steps)
    train_g, test_g = sgd.generating_function_curves(steps)
    np.testing.assert_allclose(test_g, test_r, rtol=1e-9)
    np.testing.assert_allclose(train_g, train_r, rtol=1e-9)


def test_step_zero_is_initial_risk_and_late_time_is_fixed_point():
    pop, _ = small_population(D=30, noise=0.2)
    for ridge in (0.0, 0.1):
        sgd = OnlineSGD(pop, 0.5, 2, ridge)
        steps = np.array([0, 10**6])
        train, test = sgd.generating_function_curves(steps)
        assert test[0] == pytest.approx(pop.initial_risk, rel=1e-10)
        np.testing.assert_allclose([train[1], test[1]], sgd.asymptotic_risk(), rtol=1e-8)


def test_stability_edge_separates_bounded_and_divergent_recursions():
    pop, _ = small_population(D=30)
    sgd = OnlineSGD(pop, 1.0, 2)
    lr_c = sgd.critical_lr()
    below, above = OnlineSGD(pop, 0.97 * lr_c, 2), OnlineSGD(pop, 1.03 * lr_c, 2)
    assert below.stable() and not above.stable()
    assert below.noise_kernel_mass() < 1 <= above.noise_kernel_mass() or np.max(above.contraction) >= 1
    steps = np.array([0, 20000])
    assert below.recursion(steps)[2] == -1
    assert above.recursion(steps)[2] > 0


def test_noise_kernel_mass_matches_closed_form_without_ridge():
    pop, _ = small_population(D=25)
    lr, B = 0.7, 3
    lam = pop.eigenvalues
    closed = (lr / B) * np.sum(lam / (2 - lr * lam * (1 + 1 / B)))
    assert OnlineSGD(pop, lr, B).noise_kernel_mass() == pytest.approx(closed, rel=1e-12)


def test_continuous_time_approaches_exact_at_small_lr():
    pop, _ = small_population(D=30)
    errors = []
    for lr in (0.4, 0.04):
        sgd = OnlineSGD(pop, lr, 4)
        steps = np.unique(np.geomspace(1, 20 / lr, 30).astype(int))
        exact = sgd.generating_function_curves(steps)[1]
        errors.append(np.abs(sgd.continuous_time_curves(steps)[1] / exact - 1).max())
    assert errors[1] < 0.2 * errors[0]
    assert errors[1] < 0.02


def test_tiny_learning_rate_is_stable_with_a_finite_noise_kernel():
    """At η = 1e-17, 1 − a_k rounds to 0 if formed as 1 − a_k; the gap u(2 − u) − hλ² keeps it positive."""
    from twopoint.theory.online_linear import OnlineSGD
    from twopoint.theory.population import Population

    lam = np.array([1.0, 0.5, 0.25])
    sgd = OnlineSGD(Population(lam, np.ones(3), 0.01, lam), 1e-17, 4, 0.0)
    assert sgd.stable() and 0 < sgd.noise_kernel_mass() < 1e-15
    np.testing.assert_allclose(sgd.contraction_gap, 2e-17 * lam, rtol=1e-12)
