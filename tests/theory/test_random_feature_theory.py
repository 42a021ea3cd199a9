"""Random-feature theory: one-point dictionary vs sampled random matrices, limits, symmetries, given F."""

import numpy as np
import pytest

from twopoint.theory.feature_spaces import feature_space, sampled_top_eigenvalue
from twopoint.theory.full_batch import gradient_descent, gradient_flow, static_limit
from twopoint.theory.given_features import feature_population
from twopoint.theory.multipass_sgd import multipass_sgd
from twopoint.theory.online_linear import OnlineSGD
from twopoint.theory.online_random_features import online_sgd_equivalent
from twopoint.theory.population import Population
from twopoint.theory.random_feature_equivalent import RandomFeatures, approximation_error
from twopoint.theory.resolvent import solve_master

D = 300
K = np.arange(1, D + 1)
LAM = K**-1.5
TEACHER = K ** (-(1.5 - 1.5) / 2)  # λ w*² = k^−1.5
POP = Population(LAM, TEACHER**2, 0.05)
STEPS = np.unique(np.rint(np.geomspace(1, 1e4, 25)).astype(np.int64))
HUGE_N = 1e9


def sampled_features(n_features, draws, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n_features, D)) / np.sqrt(n_features) for _ in range(draws)]


def test_one_point_dictionary_matches_sampled_feature_covariances():
    """(1/N) tr(K + x)⁻¹ ≍ 1/ω, tr K(K + x)⁻¹ ≍ d(ω), v*ᵀK(K + x)⁻¹v* ≍ (E(ω) − E0)/x, E A(F) ≍ E0."""
    n, x = 100, np.array([0.003, 0.03, 0.3])
    space = feature_space(POP, None, n)
    sums = space.sums(x, ("sigma", "teacher_sigma"))
    omega = solve_master(x, POP, None, n)
    stats = []
    for f in sampled_features(n, 40):
        k = (f * LAM) @ f.T
        mu, u = np.linalg.eigh(k)
        pop_f = feature_population(LAM, TEACHER, 0.0, f)
        resolvent = 1.0 / (mu[:, None] + x)
        stats.append([np.mean(resolvent, axis=0), mu @ resolvent, (pop_f.eigenvalues * pop_f.teacher_sq) @ (1.0 / (pop_f.eigenvalues[:, None] + x)),
                      np.full(x.shape, pop_f.noise_var)])
    mean = np.mean(stats, axis=0)
    np.testing.assert_allclose(mean[0], 1.0 / omega, rtol=0.03)
    np.testing.assert_allclose(mean[1], sums.first[:, 0], rtol=0.03)
    np.testing.assert_allclose(mean[2], sums.first[:, 1], rtol=0.03)
    assert mean[3][0] == pytest.approx(approximation_error(POP, n), rel=0.05)


def test_data_level_dictionary_matches_sampled_feature_gram_matrices():
    """tr K̂(K̂ + s)⁻¹ ≍ d(ω) with ω from the master equation with N and P (K̂ = FΣ̂Fᵀ, Σ̂ = XᵀX/P)."""
    n, p, s = 100, 150, np.array([0.003, 0.03, 0.3])
    expected = feature_space(POP, p, n).sums(s, ("sigma",)).first[:, 0]
    rng = np.random.default_rng(4)
    traces = []
    for f in sampled_features(n, 30, seed=5):
        h = (rng.standard_normal((p, D)) * np.sqrt(LAM)) @ f.T
        mu = np.linalg.eigvalsh(h.T @ h / p)
        traces.append((mu[:, None] / (mu[:, None] + s)).sum(0))
    np.testing.assert_allclose(np.mean(traces, axis=0), expected, rtol=0.03)


def test_sampled_top_eigenvalue_matches_feature_covariances():
    """The DE edge of K̂ = FΣ̂Fᵀ against a sampled top eigenvalue, for a spectrum without isolated spikes
    (an isolated λ_1 gives an outlier inside the DE's small island instead of at its edge).  The sample sits
    below the edge by O(N^(−2/3)) (measured: 4 % at N = 120, 1.6 % at N = 480)."""
    dim, n, p = 1200, 480, 800
    lam = np.linspace(0.5, 1.0, dim)
    rng = np.random.default_rng(0)
    f = rng.standard_normal((n, dim)) / np.sqrt(n)
    h = (rng.standard_normal((p, dim)) * np.sqrt(lam)) @ f.T
    edge = sampled_top_eigenvalue(Population(lam, np.ones(dim)), p, n)
    assert np.linalg.eigvalsh(h.T @ h / p).max() == pytest.approx(edge, rel=0.03)
    assert edge > sampled_top_eigenvalue(Population(lam, np.ones(dim)), p) > 1.0


def test_diagonal_limits_are_derivatives():
    space = RandomFeatures(POP, 150, 80)
    x = np.array([0.05 + 0.02j, 0.4 - 0.1j])
    h = 1e-6 * np.abs(x)
    families = ("sigma_sigma", "sigma", "teacher_sigma", "teacher_sigma2_test")
    plus, minus, at = space.sums(x + h, families), space.sums(x - h, families), space.sums(x, families)
    slope = (plus.first - minus.first) / (plus.kappa - minus.kappa)[:, None]  # dA/dκ
    np.testing.assert_allclose(-slope, at.second, rtol=1e-6)


@pytest.mark.parametrize("ridge", [0.0, 1e-2])
def test_infinite_width_recovers_linear_regression(ridge):
    p = 100
    for rf, lin in [
        (gradient_flow(POP, p, ridge, STEPS * 0.5, n_features=HUGE_N), gradient_flow(POP, p, ridge, STEPS * 0.5)),
        (gradient_descent(POP, p, ridge, 0.8, STEPS, n_features=HUGE_N), gradient_descent(POP, p, ridge, 0.8, STEPS)),
        (multipass_sgd(POP, p, 0.3, 4, STEPS, ridge, n_features=HUGE_N), multipass_sgd(POP, p, 0.3, 4, STEPS, ridge)),
        (static_limit(POP, p, ridge, HUGE_N), static_limit(POP, p, ridge)),
    ]:
        np.testing.assert_allclose(rf.test_risk, lin.test_risk, rtol=1e-5)
        np.testing.assert_allclose(rf.train_loss, lin.train_loss, rtol=1e-5, atol=1e-12)
    online = online_sgd_equivalent(POP, 0.6, 4, STEPS, ridge, n_features=HUGE_N)
    np.testing.assert_allclose(online, OnlineSGD(POP, 0.6, 4, ridge).generating_function_curves(STEPS)[1], rtol=1e-5)


@pytest.mark.parametrize("ridge", [0.0, 1e-2])
def test_online_feature_space_path_is_the_exact_linear_theory(ridge):
    """P = ∞ through the multi-pass machinery (linear features) equals the exact online recursion."""
    exact = OnlineSGD(POP, 0.6, 4, ridge).generating_function_curves(STEPS)[1]
    np.testing.assert_allclose(online_sgd_equivalent(POP, 0.6, 4, STEPS, ridge), exact, rtol=1e-8)


def test_static_limit_symmetry_peak_and_population_limit():
    clean = Population(LAM, TEACHER**2, 0.0)
    for a, b in [(60, 150), (40, 90)]:
        assert static_limit(clean, a, 0.0, b).test_risk == pytest.approx(float(static_limit(clean, b, 0.0, a).test_risk), rel=1e-8)
    p = 100
    widths = [40, 70, 90, 97, 103, 110, 140, 250]
    risks = [float(static_limit(POP, p, 0.0, n).test_risk) for n in widths]
    peak = int(np.argmax(risks))
    assert widths[peak] in (97, 103)
    assert np.all(np.diff(risks[: peak + 1]) > 0) and np.all(np.diff(risks[peak:]) < 0)
    with pytest.raises(ValueError, match="feature rank"):
        static_limit(POP, p, 0.0, p)
    n = 80
    big_p = static_limit(POP, 1e9, 1e-9, n).test_risk
    assert big_p == pytest.approx(POP.noise_var + approximation_error(POP, n), rel=1e-5)
    # ridgeless underparameterised: R∞ = (σ² + E0) P/(P − N)
    assert static_limit(POP, 200, 0.0, n).test_risk == pytest.approx((POP.noise_var + approximation_error(POP, n)) * 200 / 120, rel=1e-6)


def dense_online_moments(f, lr, batch, ridge, steps):
    """Brute force in feature space without the v*/A(F) reduction: iterate E v and E vvᵀ of
    v ← v − η[(1/B) Σ z(zᵀv − y) + γv] with Gaussian (z, y), z = Fx, Cov(z, y) = FΣw*."""
    k = (f * LAM) @ f.T
    g = f @ (LAM * TEACHER)
    total = float(np.sum(LAM * TEACHER**2)) + POP.noise_var
    n = k.shape[0]
    m, c = np.zeros(n), np.zeros((n, n))
    out, t_max = {}, int(steps.max())
    for t in range(t_max + 1):
        risk = np.trace(k @ c) - 2 * m @ g + total
        out[t] = risk
        grad_mean = k @ m - g  # E over the batch of the gradient, linear in v
        a = np.eye(n) - lr * (k + ridge * np.eye(n))
        cross = np.outer(m, g)
        # E[(Kv − g)(Kv − g)ᵀ] and E[z r² zᵀ] = E[r²] K + 2 E[(Kv − g)(Kv − g)ᵀ]
        outer = k @ c @ k - k @ cross - cross.T @ k + np.outer(g, g)
        c = a @ c @ a.T + lr * (a @ cross + cross.T @ a.T) + lr**2 * np.outer(g, g) \
            + (lr**2 / batch) * (risk * k + 2 * outer) - (lr**2 / batch) * outer
        c = 0.5 * (c + c.T)
        m = m - lr * (grad_mean + ridge * m)
    return np.array([out[int(s)] for s in steps])


@pytest.mark.parametrize("ridge", [0.0, 0.05])
def test_given_features_online_theory_matches_dense_moments(ridge):
    steps = np.array([0, 1, 2, 5, 17, 60])
    f = sampled_features(40, 1, seed=3)[0]
    pop_f = feature_population(LAM, TEACHER, POP.noise_var, f)
    np.testing.assert_allclose(OnlineSGD(pop_f, 0.5, 3, ridge).recursion(steps)[1], dense_online_moments(f, 0.5, 3, ridge, steps), rtol=1e-10)


# --- static limit = late-time value of the gradient-flow curve, every ordering of N, P, D --------------------
SIZES = (60, 120, 200)
ORDERINGS = [(n, p, d) for n in SIZES for p in SIZES for d in SIZES if len({n, p, d}) == 3]
ORDERINGS += [(None, 60, 200), (None, 200, 60)]  # linear model, P < D and P > D
# R(t) − R∞ decays like e^{−(μ_min + γ) t} (the cross term of w(t) − w∞ with w∞ − w* is linear in it; μ_min the left
# edge of the nonzero sampled spectrum): compare where that factor is TRANSIENT, far below INVERSION_RTOL, the accuracy
# of the 16-node Talbot inversion (docs/theory.md §9.2: ~2e-8; measured ≤ 3e-10 on these curves).
TRANSIENT = 1e-12
INVERSION_RTOL = 5e-8


def ordered_population(dim):
    k = np.arange(1, dim + 1, dtype=np.float64)
    return Population(k**-1.0, k**-0.2, 0.05)  # λ_k = 1/k, λ w*² = k^−1.2


def slowest_rate(pop, n_train, n_features, draws=3, seed=0):
    """Lower estimate of the left edge of the nonzero spectrum of the sampled feature covariance (Σ̂, or K̂ = FΣ̂Fᵀ):
    the smallest nonzero eigenvalue over a few draws, halved (the edge fluctuates by O(P^{−2/3}) about its
    deterministic equivalent)."""
    rng = np.random.default_rng(seed)
    lam, dim = pop.eigenvalues, pop.eigenvalues.size
    rank = min(n_train, dim, n_features or dim)
    edges = []
    for _ in range(draws):
        z = rng.standard_normal((n_train, dim)) * np.sqrt(lam)
        if n_features is not None:
            z = z @ rng.standard_normal((n_features, dim)).T / np.sqrt(n_features)
        edges.append(np.linalg.svd(z, compute_uv=False)[rank - 1] ** 2 / n_train)
    return 0.5 * min(edges)


@pytest.mark.parametrize("ridge", [0.0, 1e-2])
@pytest.mark.parametrize("n_features,n_train,dim", ORDERINGS)
def test_static_limit_is_the_late_time_curve_for_every_ordering(n_features, n_train, dim, ridge):
    """All six orderings of N, P, D (random features) and P ≶ D (linear): the t → ∞ limit is finite and equals
    gradient flow at a time where the slowest mode has decayed below ``TRANSIENT`` (ridgeless N > D, P > D used to
    be reported as not finite: rank K = D < N was taken for an interpolation singularity)."""
    pop = ordered_population(dim)
    lim = static_limit(pop, n_train, ridge, n_features)
    assert np.isfinite(lim.test_risk) and np.isfinite(lim.train_loss)
    time = np.log(1.0 / TRANSIENT) / (slowest_rate(pop, n_train, n_features) + ridge)
    late = gradient_flow(pop, n_train, ridge, np.array([time]), n_features=n_features)
    np.testing.assert_allclose(late.test_risk[0], lim.test_risk, rtol=INVERSION_RTOL)
    assert abs(late.train_loss[0] - lim.train_loss) <= INVERSION_RTOL * lim.test_risk
    rank = min(dim, n_features or dim)
    if ridge == 0.0 and n_train > rank:  # OLS on the r = rank K effective features: (σ² + E0) P/(P − r)
        noise = pop.noise_var + (0.0 if n_features is None else approximation_error(pop, n_features))
        np.testing.assert_allclose(lim.test_risk, noise * n_train / (n_train - rank), rtol=1e-10)
        np.testing.assert_allclose(lim.train_loss, noise * (1 - rank / n_train), rtol=1e-10)


@pytest.mark.parametrize("n_features,n_train,dim", [(200, 120, 120), (120, 60, 200), (60, 60, 120), (None, 120, 120)])
def test_static_limit_diverges_only_at_the_effective_rank(n_features, n_train, dim):
    """Ridgeless P = rank K = min(N, D) (or D) is the interpolation peak: reported as divergent, not as a value."""
    pop = ordered_population(dim)
    if n_train == min(dim, n_features or dim):
        with pytest.raises(ValueError, match="feature rank"):
            static_limit(pop, n_train, 0.0, n_features)
    else:
        assert np.isfinite(static_limit(pop, n_train, 0.0, n_features).test_risk)


def test_run_reports_finite_static_limit_for_wide_ridgeless_features():
    """N = 300 > D = 200, P = 400 > D, ridge 0: theory_info.static_limit is the late value of the GD curve."""
    import twopoint as tp
    from twopoint.theory.predict_common import population

    args = ("model=random_features", "model.n_features=300", "data.dim=200", "data.n_train=400", "optim.algorithm=gd",
            "optim.ridge=0.0", "sim.enabled=false")
    res = tp.run(*args, "optim.steps=20000000")
    static = res.metrics["theory_info"]["static_limit"]
    assert "error" not in static and np.isfinite(static["test_risk"])
    # late enough: (1 − ημ_min)^t ≤ e^{−ημ_min t} below TRANSIENT at the last step
    problem = res.problem
    rate = slowest_rate(population(problem), 400, 300)
    assert problem.optim.lr * rate * problem.record_steps[-1] > np.log(1.0 / TRANSIENT)
    np.testing.assert_allclose(res.theory.values["test_risk"][-1], static["test_risk"], rtol=INVERSION_RTOL)
    np.testing.assert_allclose(static["test_risk"], 2 * problem.data.noise_std**2, rtol=1e-10)  # OLS: σ² P/(P − D)
    peak = tp.run(*args[:3], "data.n_train=200", *args[4:], "optim.steps=100")  # P = D = rank K: divergent
    assert "feature rank" in peak.metrics["theory_info"]["static_limit"]["error"]
