"""Full-batch gradient flow / GD with finite data (docs/theory.md §5, §9.2–§9.3)."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from twopoint.theory.full_batch import (
    gd_stability_edge,
    gradient_descent,
    gradient_flow,
    static_limit,
)
from twopoint.theory.feature_spaces import sampled_top_eigenvalue
from twopoint.theory.population import Population


def powerlaw(dim, alpha=1.5, beta=1.2, noise_var=0.09, test_alpha=None):
    k = np.arange(1, dim + 1, dtype=np.float64)
    lam = k**-alpha
    test = None if test_alpha is None else k**-test_alpha
    return Population(lam, k**-beta / lam, noise_var, test_eigenvalues=test)


POP = powerlaw(300)
TIMES = np.concatenate([[0.0], np.logspace(-1, 4, 30)])
STEPS = np.unique(np.concatenate([np.arange(0, 40), np.logspace(0, 4, 30).astype(np.int64)]))


def exact_average(pop, n_train, ridge, times, draws, lr=None, seed=0):
    """Monte-Carlo mean and standard error of GD (``lr``) or GF curves, exact per data set."""
    rng = np.random.default_rng(seed)
    lam, w, noise = pop.eigenvalues, np.sqrt(pop.teacher_sq), pop.noise_var
    times = np.asarray(times, dtype=np.float64)
    test, train = np.empty((draws, times.size)), np.empty((draws, times.size))
    with threadpool_limits(1):
        for i in range(draws):
            x = rng.standard_normal((n_train, lam.size)) * np.sqrt(lam)
            y = x @ w + np.sqrt(noise) * rng.standard_normal(n_train)
            h, v = np.linalg.eigh(x.T @ x / n_train + ridge * np.eye(lam.size))
            if lr is None:
                decay = np.exp(-np.outer(times, h))
            else:
                decay = (1.0 - lr * h)[None, :] ** times[:, None].astype(np.int64)
            live = np.abs(h) > 1e-12
            gain = np.where(live, (1.0 - decay) / np.where(live, h, 1.0), 0.0)
            weights = (gain * (v.T @ (x.T @ y / n_train))) @ v.T
            test[i] = (weights - w) ** 2 @ pop.test_eigenvalues + noise
            train[i] = np.mean((weights @ x.T - y) ** 2, axis=1)
    stats = lambda a: (a.mean(0), a.std(0) / np.sqrt(draws))  # noqa: E731
    return stats(test), stats(train)


def assert_matches_monte_carlo(theory, simulated, bias):
    for pred, (mean, stderr) in zip(theory, simulated):
        assert np.all(np.abs(pred - mean) <= 4 * stderr + bias * np.abs(pred)), (pred, mean, stderr)


def test_initial_values_are_exact():
    gf = gradient_flow(POP, 100, 0.01, np.array([0.0]))
    gd = gradient_descent(POP, 100, 0.01, 0.5, np.array([0]))
    for curves in (gf, gd):
        assert curves.test_risk[0] == POP.initial_risk
        assert curves.train_loss[0] == POP.signal + POP.noise_var
        assert curves.test_risk.dtype == np.float64


@pytest.mark.parametrize("n_train,ridge", [(100, 0.0), (600, 0.0), (100, 1e-2)])
def test_talbot_nodes_converged_gradient_flow(n_train, ridge):
    a = gradient_flow(POP, n_train, ridge, TIMES)
    b = gradient_flow(POP, n_train, ridge, TIMES, n_nodes=24)
    np.testing.assert_allclose(a.test_risk, b.test_risk, rtol=1e-7)
    assert np.max(np.abs(a.train_loss - b.train_loss)) <= 1e-7 * a.train_loss[0]


@pytest.mark.parametrize("fraction", [0.5, 1.6])  # 1.6: oscillating modes, shifted contour
def test_talbot_nodes_converged_gradient_descent(fraction):
    lr = fraction / sampled_top_eigenvalue(POP, 100)
    a = gradient_descent(POP, 100, 0.0, lr, STEPS)
    b = gradient_descent(POP, 100, 0.0, lr, STEPS, n_nodes=24)
    np.testing.assert_allclose(a.test_risk, b.test_risk, rtol=1e-7)
    assert np.max(np.abs(a.train_loss - b.train_loss)) <= 1e-7 * a.train_loss[0]


@pytest.mark.parametrize("fraction", [0.5, 1.6])
def test_early_circle_and_late_talbot_agree(fraction):
    """With 256 circle points every step below 64 uses the circle; by default steps ≥ 32 use Talbot."""
    lr = fraction / (sampled_top_eigenvalue(POP, 100) + 1e-2)
    steps = np.arange(0, 64)
    a = gradient_descent(POP, 100, 1e-2, lr, steps)
    b = gradient_descent(POP, 100, 1e-2, lr, steps, n_circle=256)
    np.testing.assert_allclose(a.test_risk, b.test_risk, rtol=1e-9)
    np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-9)


def test_static_limit_isotropic_closed_forms():
    """Σ = I: the DE gives the asymptotic forms exactly; exact finite-D values differ by O(1/D)."""
    dim, noise, w2 = 400, 0.25, 0.5 / 400
    pop = Population(np.ones(dim), np.full(dim, w2), noise)
    norm = dim * w2
    # g = D/P < 1: excess σ² g/(1 − g); exact σ² D/(P − D − 1); train σ²(1 − g)
    n_train = 800
    g = dim / n_train
    lim = static_limit(pop, n_train, 0.0)
    np.testing.assert_allclose(lim.test_risk - noise, noise * g / (1 - g), rtol=1e-10)
    np.testing.assert_allclose(lim.train_loss, noise * (1 - g), rtol=1e-12)
    exact = noise * dim / (n_train - dim - 1)
    assert abs(lim.test_risk - noise - exact) <= 2.0 / (n_train - dim) * exact
    # g > 1: excess (1 − 1/g)‖w*‖² + σ²/(g − 1); exact noise part σ² P/(D − P − 1); train 0
    n_train = 200
    g = dim / n_train
    lim = static_limit(pop, n_train, 0.0)
    np.testing.assert_allclose(lim.test_risk - noise, (1 - 1 / g) * norm + noise / (g - 1), rtol=1e-10)
    assert lim.train_loss == 0.0
    exact = (1 - n_train / dim) * norm + noise * n_train / (dim - n_train - 1)
    assert abs(lim.test_risk - noise - exact) <= 2.0 / (dim - n_train) * exact
    # ridge γ: κ² + (1 − g − γ)κ − γ = 0 (Marchenko–Pastur), q = g/(1 + κ)²
    ridge, n_train = 0.1, 300
    g = dim / n_train
    kappa = ((ridge - 1 + g) + np.sqrt((1 - ridge - g) ** 2 + 4 * ridge)) / 2
    q = g / (1 + kappa) ** 2
    bias = kappa**2 * norm / (1 + kappa) ** 2 / (1 - q)
    lim = static_limit(pop, n_train, ridge)
    np.testing.assert_allclose(lim.test_risk - noise, bias + noise * q / (1 - q), rtol=1e-10)
    train = (ridge / kappa) ** 2 * (kappa**2 * norm / (1 + kappa) ** 2 + noise) / (1 - q)
    np.testing.assert_allclose(lim.train_loss, train, rtol=1e-10)
    with pytest.raises(ValueError):
        static_limit(pop, dim, 0.0)


@pytest.mark.parametrize("n_train,ridge", [(100, 0.0), (600, 0.0), (100, 1e-2)])
def test_long_times_reach_static_limit(n_train, ridge):
    lim = static_limit(POP, n_train, ridge)
    lr = 0.7 / (sampled_top_eigenvalue(POP, n_train) + ridge)
    for curves in (gradient_flow(POP, n_train, ridge, np.array([1e7])),
                   gradient_descent(POP, n_train, ridge, lr, np.array([10**7]))):
        np.testing.assert_allclose(curves.test_risk, lim.test_risk, rtol=1e-6)
        assert abs(curves.train_loss[0] - lim.train_loss) <= 1e-6 * lim.test_risk


def test_small_step_gd_approaches_gradient_flow():
    """|(1 − a)^t − e^{−at}| ≤ a/(2e) per mode with a = ηλ̂: the gap shrinks linearly with η."""
    edge = sampled_top_eigenvalue(POP, 100)
    gaps = []
    for fraction in (0.02, 0.01):
        lr = fraction / edge
        steps = np.unique(np.logspace(0, 6, 25).astype(np.int64))
        gd = gradient_descent(POP, 100, 0.0, lr, steps)
        gf = gradient_flow(POP, 100, 0.0, lr * steps)
        gaps.append(np.max(np.abs(gd.test_risk - gf.test_risk) / gf.test_risk))
        assert gaps[-1] <= fraction / (2 * np.e)
    assert 1.6 <= gaps[0] / gaps[1] <= 2.4


def test_unstable_step_is_rejected():
    with pytest.raises(ValueError):
        gradient_descent(POP, 100, 0.0, 1.01 * gd_stability_edge(POP, 100, 0.0), STEPS)


@pytest.mark.parametrize(
    "n_train,ridge,fraction,test_alpha",
    [(60, 0.0, 0.5, None), (60, 1e-2, 0.5, 1.2), (200, 0.0, 1.5, None), (60, 0.0, None, 1.2)],
)
def test_theory_matches_exact_monte_carlo(n_train, ridge, fraction, test_alpha):
    """D = 100, 200 data sets; 4 standard errors plus 3 % for the O(1/D) DE bias (measured ≤ 2 %)."""
    pop = powerlaw(100, test_alpha=test_alpha)
    steps = np.array([1, 3, 10, 30, 100, 300, 1000, 3000])
    if fraction is None:
        theory = gradient_flow(pop, n_train, ridge, steps.astype(np.float64))
        simulated = exact_average(pop, n_train, ridge, steps, 200)
    else:
        lr = fraction / (sampled_top_eigenvalue(pop, n_train) + ridge)
        theory = gradient_descent(pop, n_train, ridge, lr, steps)
        simulated = exact_average(pop, n_train, ridge, steps, 200, lr=lr)
    assert_matches_monte_carlo(theory, simulated, bias=0.03)
