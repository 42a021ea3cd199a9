"""Online SGD with a schedule and momentum (docs/theory.md §14): the per-mode moment recursion against a dense
second-moment iteration, against the constant-rate theory of §2, and its momentum-aware stability edge."""

import numpy as np
import pytest

from twopoint.theory.online_linear import OnlineSGD
from twopoint.theory.online_momentum import MomentRecursion, MomentumRule, first_unstable_step
from twopoint.theory.population import Population


def population(D=8, noise=0.3, shift=False, seed=0):
    rng = np.random.default_rng(seed)
    lam = np.arange(1, D + 1) ** -1.2
    w = rng.standard_normal(D)
    test = np.arange(1, D + 1) ** -0.8 if shift else None
    return Population(lam, w**2, noise**2, test), w


def dense_moments(lam, w_star, noise_var, test_lam, rule: MomentumRule, step_sizes, rotation):
    """Risks R'(s), s = 0..T, from the exact mean and full 2D × 2D second moment of z = (e, p), p = b_{s−1}, in a
    rotated basis (Σ = U diag(λ) Uᵀ, not diagonal), with no diagonal closure.

    One update: g = He + c + ν with H = Σ + γ, c = γw*, E[ννᵀ | e] = (1/B)[ΣeeᵀΣ + Σ tr(eeᵀΣ) + σ²Σ]
    (E[x xᵀ A x xᵀ] = 2ΣAΣ + Σ tr AΣ); b = βp + g, d = θb − (θ − 1)p, z' = (e − ηd, b) = M z + k + J ν.
    """
    D, beta, theta = lam.size, rule.momentum, rule.lookahead
    sigma = rotation @ np.diag(lam) @ rotation.T
    test = rotation @ np.diag(test_lam) @ rotation.T
    w = rotation @ w_star
    H, c, eye = sigma + rule.ridge * np.eye(D), rule.ridge * w, np.eye(D)
    mean = np.concatenate([-w, np.zeros(D)])
    second = np.outer(mean, mean)
    risks = [noise_var + np.trace(test @ second[:D, :D])]
    for eta in step_sizes:
        M = np.block([[eye - eta * theta * H, -eta * (theta * beta - theta + 1.0) * eye], [H, beta * eye]])
        k = np.concatenate([-eta * theta * c, c])
        J = np.vstack([-eta * theta * eye, eye])
        ee = second[:D, :D]
        noise = (sigma @ ee @ sigma + sigma * np.trace(ee @ sigma) + noise_var * sigma) / rule.batch
        shifted = M @ mean
        second = M @ second @ M.T + np.outer(shifted, k) + np.outer(k, shifted) + np.outer(k, k) + J @ noise @ J.T
        mean = shifted + k
        risks.append(noise_var + np.trace(test @ second[:D, :D]))
    return np.array(risks)


@pytest.mark.parametrize("momentum, nesterov, ridge, shift, batch", [
    (0.0, False, 0.1, True, 2),   # schedule only, with ridge and covariate shift
    (0.8, False, 0.0, False, 3),  # heavy ball
    (0.7, False, 0.05, True, 1),  # heavy ball, ridge, covariate shift
    (0.6, True, 0.0, False, 4),   # Nesterov
    (0.9, True, 0.08, True, 2),   # Nesterov, ridge, covariate shift
])
def test_recursion_equals_dense_second_moment_iteration(momentum, nesterov, ridge, shift, batch):
    D, T = 9, 120
    pop, w = population(D, shift=shift)
    rule = MomentumRule(batch, ridge, momentum, nesterov)
    rng = np.random.default_rng(1)
    step_sizes = 0.25 * (1.0 - momentum) * rng.uniform(0.2, 1.5, T)  # a custom schedule
    rotation = np.linalg.qr(rng.standard_normal((D, D)))[0]
    dense = dense_moments(pop.eigenvalues, w, pop.noise_var, pop.test_eigenvalues, rule, step_sizes, rotation)
    curves = MomentRecursion(pop, rule).run(step_sizes, np.arange(T + 1))
    assert curves.diverged_at[0] == -1
    np.testing.assert_allclose(curves.test[0], dense, rtol=1e-10)
    # power: the same iteration without the momentum (or with the other variant) is far from it
    other = MomentumRule(batch, ridge, 0.0 if momentum else 0.5, nesterov)
    assert np.max(np.abs(MomentRecursion(pop, other).run(step_sizes, np.arange(T + 1)).test[0] / dense - 1)) > 1e-2


@pytest.mark.parametrize("ridge, shift", [(0.0, False), (0.1, True)])
def test_constant_rate_without_momentum_is_the_plain_recursion(ridge, shift):
    pop, _ = population(30, shift=shift)
    steps = np.unique(np.geomspace(1, 3000, 40).astype(int))
    plain = OnlineSGD(pop, 0.7, 3, ridge)
    train, test, _ = plain.recursion(steps)
    curves = MomentRecursion(pop, MomentumRule(3, ridge)).run(np.full(3000, 0.7), steps)
    np.testing.assert_allclose(curves.test[0], test, rtol=1e-12)
    np.testing.assert_allclose(curves.train[0], train, rtol=1e-12)
    assert MomentRecursion(pop, MomentumRule(3, ridge)).critical_lr() == pytest.approx(plain.critical_lr(), rel=1e-12)


def test_rows_are_independent_populations():
    pops = [population(12, seed=s)[0] for s in range(3)] + [population(7, seed=5)[0]]
    rule = MomentumRule(2, 0.05, 0.6, True)
    etas, steps = np.linspace(0.3, 0.05, 400), np.array([0, 1, 10, 100, 400])
    together = MomentRecursion(pops, rule).run(etas, steps)
    for row, pop in enumerate(pops):
        alone = MomentRecursion(pop, rule).run(etas, steps)
        np.testing.assert_allclose(together.test[row], alone.test[0], rtol=1e-13)


@pytest.mark.parametrize("momentum, nesterov", [(0.5, False), (0.9, False), (0.9, True)])
def test_momentum_critical_lr_separates_bounded_and_divergent_recursions(momentum, nesterov):
    pop, _ = population(30)
    recursion = MomentRecursion(pop, MomentumRule(2, 0.0, momentum, nesterov))
    lr_c = recursion.critical_lr()
    steps = np.array([0, 30000])
    below = recursion.run(np.full(30000, 0.97 * lr_c), steps)
    above = recursion.run(np.full(30000, 1.03 * lr_c), steps)
    assert below.diverged_at[0] == -1 and np.isfinite(below.test[0, -1])
    assert above.diverged_at[0] > 0
    assert 0 < lr_c < 2 * (1 + momentum) / pop.eigenvalues.max()


def test_first_unstable_step_reports_where_the_schedule_passes_the_edge():
    assert first_unstable_step(np.array([0.1, 0.5, 0.9, 0.4]), 0.6) == 2
    assert first_unstable_step(np.array([0.1, 0.5]), 0.6) == -1


def test_divergence_is_reported_at_the_first_step_over_the_threshold():
    pop, _ = population(10)
    recursion = MomentRecursion(pop, MomentumRule(1, 0.0, 0.9))
    etas = np.r_[np.full(50, 0.05), np.full(2000, 3 * recursion.critical_lr())]
    curves = recursion.run(etas, np.arange(2051))
    s = curves.diverged_at[0]
    assert 50 < s < 2050
    assert np.all(np.isnan(curves.test[0, s:])) and np.all(curves.train[0, :s] <= 1e6 * curves.train[0, 0])


@pytest.mark.parametrize("overrides, method", [
    ((), "exact second-moment recursion via generating function"),  # constant-rate plain SGD: unchanged
    (("optim.schedule.kind=cosine",), "exact per-mode moment recursion (schedule/momentum)"),
    (("optim.momentum=0.5", "optim.lr=0.3"), "exact per-mode moment recursion (schedule/momentum)"),
    (("data=circle", "model=kernel", "data.n_train=null", "optim.schedule.kind=wsd"),
     "exact per-mode moment recursion (schedule/momentum)"),
    (("model=random_features", "model.n_features=30", "optim.schedule.kind=wsd"),
     "DE over F, online SGD (moment recursion on the spectral measure of K)"),
])
def test_auto_picks_the_moment_recursion_for_schedules_and_momentum(overrides, method):
    import twopoint as tp

    size = () if "data=circle" in overrides else ("data.dim=60",)
    problem = tp.build_problem(tp.compose(*size, "optim.steps=200", "sim.enabled=false", *overrides))
    theory = tp.predict(problem)
    assert theory.method == method
    assert np.all(np.isfinite(theory.values["test_risk"])) and theory.values["test_risk"][-1] < theory.values["test_risk"][0]
