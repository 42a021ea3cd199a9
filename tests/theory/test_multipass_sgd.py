"""Multi-pass minibatch SGD theory (docs/theory.md §6): algebra, limits, both methods, simulation, stability."""

import numpy as np
import pytest

from twopoint.theory.full_batch import gradient_descent
from twopoint.theory.multipass_sgd import (_Sample, _sample_curves, multipass_sgd, multipass_sgd_given_data,
                                           sgd_critical_lr, sgd_stability_margin, step_rule)
from twopoint.theory.population import Population


def powerlaw(dim, alpha=1.5, beta=1.2, noise_std=0.1):
    k = np.arange(1, dim + 1, dtype=np.float64)
    lam = k**-alpha
    return Population(lam, k**-beta / lam, noise_std**2)


def c2_recursion(sample, rule, horizon):
    """Direct O(T r²) time-domain iteration of the closed C2 equations for one data draw."""
    k, h, ridge = sample.kappa, rule.noise_gain, rule.ridge
    phi, a = rule.mean_factor(k), rule.contraction(k)
    second = sample.second
    moment, noise_part = second.copy(), np.zeros_like(k)
    pair_b = np.outer(phi, phi) + h * np.outer(k, k)
    pair_w = np.outer(sample.mean, sample.mean) + np.diag(sample.var)
    mean_part = np.zeros_like(pair_b)
    gd = sample.gd_risk(np.arange(horizon + 1))
    test, train = [], []
    for t in range(horizon + 1):
        loss = sample.floor + 2 * ridge * np.sum(phi**t * second) + np.sum(k * moment)
        train.append(loss)
        test.append(gd[t] + np.sum(sample.test * mean_part) + np.sum(sample.test_diag * noise_part))
        grad = k * phi**t + ridge
        moment = a * moment + h * (k * loss + 2 * ridge * k * phi**t * second + ridge**2 * second)
        noise_part = a * noise_part + h * k * loss
        mean_part = pair_b * mean_part + h * np.outer(grad, grad) * pair_w
    return np.array(test), np.array(train)


def simulate(pop, n_train, lr, batch, steps, replicas, seed, ridge=0.0):
    """Mean and standard error of test risk and train loss of SGD with replacement (numpy)."""
    rng = np.random.default_rng(seed)
    lam, dim = pop.eigenvalues, pop.eigenvalues.size
    teacher, noise = np.sqrt(pop.teacher_sq), np.sqrt(pop.noise_var)
    x = rng.standard_normal((replicas, n_train, dim)) * np.sqrt(lam)
    y = x @ teacher + noise * rng.standard_normal((replicas, n_train))
    w = np.zeros((replicas, dim))
    rows = np.arange(replicas)[:, None]
    record = {int(s): i for i, s in enumerate(steps)}
    test, train = np.zeros((len(steps), replicas)), np.zeros((len(steps), replicas))
    for t in range(int(max(steps)) + 1):
        if t in record:
            test[record[t]] = pop.noise_var + (w - teacher) ** 2 @ lam
            train[record[t]] = np.mean((np.einsum("rpd,rd->rp", x, w) - y) ** 2, axis=1)
        pick = rng.integers(0, n_train, (replicas, batch))
        xb, yb = x[rows, pick], y[rows, pick]
        residual = np.einsum("rbd,rd->rb", xb, w) - yb
        w = w - lr * (np.einsum("rb,rbd->rd", residual, xb) / batch + ridge * w)
    stderr = lambda v: v.std(axis=1, ddof=1) / np.sqrt(replicas)  # noqa: E731
    return test.mean(axis=1), stderr(test), train.mean(axis=1), stderr(train)


STEPS = np.array([0, 1, 2, 5, 10, 20, 31, 32, 50, 100, 300, 1000])


@pytest.mark.parametrize("ridge, batch, lr", [(0.0, 1, 0.6), (0.0, 4, 1.0), (0.05, 1, 0.6), (0.05, 8, 1.4)])
def test_generating_function_matches_recursion(ridge, batch, lr):
    pop = powerlaw(60)
    rule = step_rule(30, lr, batch, ridge)
    sample = _Sample(pop, 30, rule, np.random.default_rng(1))
    assert sample.noise_kernel_mass() < 1.0
    test, train = c2_recursion(sample, rule, int(STEPS.max()))
    curves = _sample_curves(sample, rule, STEPS, 16, 128)
    np.testing.assert_allclose(curves.test_risk, test[STEPS], rtol=0, atol=1e-9 * test[0])
    np.testing.assert_allclose(curves.train_loss, train[STEPS], rtol=0, atol=1e-9 * train[0])


@pytest.mark.parametrize("ridge", [0.0, 0.02])
def test_large_batch_is_gradient_descent(ridge):
    pop = powerlaw(200)
    lr = 1.0
    steps = np.array([0, 1, 5, 20, 31, 100, 1000])
    sgd = multipass_sgd(pop, 100, lr, 10**9, steps, ridge)
    gd = gradient_descent(pop, 100, ridge, lr, steps)
    np.testing.assert_allclose(sgd.test_risk, gd.test_risk, rtol=1e-7)
    np.testing.assert_allclose(sgd.train_loss, gd.train_loss, rtol=1e-7)


def test_equivalents_match_given_data():
    """Deterministic equivalents vs the exact spectra of 16 draws: ≤ 4 stderr (over draws) + 2 %."""
    pop = powerlaw(200)
    lr = 0.5 * sgd_critical_lr(pop, 100, 4)
    steps = np.array([0, 3, 10, 30, 100, 300, 1000, 3000])
    de = multipass_sgd(pop, 100, lr, 4, steps)
    draws = [multipass_sgd_given_data(pop, 100, lr, 4, steps, n_draws=1, seed=seed) for seed in range(16)]
    for index, name in enumerate(("test_risk", "train_loss")):
        values = np.array([d[index] for d in draws])
        mean, err = values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(len(draws))
        assert np.all(np.abs(getattr(de, name) - mean) <= 4 * err + 0.02 * mean), name


@pytest.mark.parametrize("batch", [1, 8])
def test_theory_matches_simulation(batch):
    """|mean − theory| ≤ 4 stderr + 2 % (the measured deterministic-equivalent bias at P = 50)."""
    pop = powerlaw(100)
    lr = 0.5 * sgd_critical_lr(pop, 50, batch)
    steps = np.array([0, 1, 3, 10, 30, 100, 300, 1000])
    test, test_err, train, train_err = simulate(pop, 50, lr, batch, steps, 200, seed=7)
    theory = multipass_sgd(pop, 50, lr, batch, steps)
    assert np.all(np.abs(test - theory.test_risk) <= 4 * test_err + 0.02 * theory.test_risk)
    big = train > 0.05 * train[0]
    gap = np.abs(train - theory.train_loss)[big]
    assert np.all(gap <= 4 * train_err[big] + 0.02 * theory.train_loss[big])


def test_ridge_closure_matches_simulation():
    """Weight decay with B = 1: the given-data C2 equations against SGD on the same data law."""
    pop = powerlaw(100)
    ridge = 0.02
    lr = 0.5 * sgd_critical_lr(pop, 50, 1, ridge)
    steps = np.array([0, 1, 3, 10, 30, 100, 300, 1000])
    test, test_err, train, train_err = simulate(pop, 50, lr, 1, steps, 200, seed=11, ridge=ridge)
    theory = multipass_sgd_given_data(pop, 50, lr, 1, steps, n_draws=40, seed=2, ridge=ridge)
    assert np.all(np.abs(test - theory.test_risk) <= 4 * test_err + 0.02 * theory.test_risk)
    assert np.all(np.abs(train - theory.train_loss) <= 4 * train_err + 0.02 * theory.train_loss)


def test_stability_margin_and_divergence():
    pop = powerlaw(100)
    edge = sgd_critical_lr(pop, 50, 1)
    assert sgd_stability_margin(pop, 50, edge * 0.999, 1) < 1.0 < sgd_stability_margin(pop, 50, edge * 1.001, 1)
    beyond = multipass_sgd(pop, 50, 1.5 * edge, 1, STEPS)
    assert beyond.test_risk[0] == pop.initial_risk and np.all(np.isinf(beyond.test_risk[1:]))
    steps = np.array([0, 300])
    stable = simulate(pop, 50, 0.5 * edge, 1, steps, 50, seed=1)[0]
    unstable = simulate(pop, 50, 1.5 * edge, 1, steps, 50, seed=1)[0]
    assert stable[1] < stable[0] and unstable[1] > 1e3 * unstable[0]
