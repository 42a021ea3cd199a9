"""Random-feature simulator: closed forms, an independent re-implementation, exact risk, streams, divergence.

The re-implementations below are plain float64 numpy on the same random numbers (drawn through
``simulate.rng`` with the simulator's stream ids): features z = F x, linear-model SGD on z.
"""

import numpy as np
import pytest
import scipy.linalg
import torch

import twopoint.simulate.data as sim_data
from conftest import assert_replicas_match, draw_data, make_problem
from twopoint.simulate import simulate
from twopoint.core.streams import BATCH_INDICES as BATCH_STREAM
from twopoint.simulate.random_features import draw_features
from twopoint.core.streams import FEATURES as FEATURE_STREAM
from twopoint.simulate.rng import integers, normals, replica_generators

CPU = torch.device("cpu")
RF = ("model=random_features", "data.dim=12", "model.n_features=20", "sim.replicas=3", "record.points=15", "optim.steps=100",
      "sim.device=cpu", "theory.enabled=false")


def features(p, r: int) -> np.ndarray:
    """F of replica r (or the shared F), drawn here from its seed sequence: N(0, 1/N) entries."""
    first = 0 if p.model.share_features else r
    rng = np.random.default_rng(np.random.SeedSequence([p.seed, first, FEATURE_STREAM]))
    return rng.standard_normal((p.model.n_features, p.data.dim)) / np.sqrt(p.model.n_features)


def training_data(p, r: int):
    """Inputs X (P, D) and labels y (P,) of replica r."""
    z, noise = draw_data(p, range(r, r + 1), CPU, torch.float64)
    x = z[0].numpy() * np.sqrt(p.data.eigenvalues)
    return x, x @ p.data.teacher + noise[0].numpy()


def risk_of(p, F, v) -> float:
    e = F.T @ v - p.data.teacher
    return e @ (p.data.test_eigenvalues * e) + p.data.noise_std**2


def on_grid(p, trajectory):
    """Values of a per-step callable at the recorded steps."""
    return np.array([trajectory(int(t)) for t in p.record_steps])


# GD / gradient flow: closed form vs explicit iteration -------------------------------------------------

def explicit(p, r: int):
    """GD by iteration, gradient flow by the matrix exponential of [[−A, b], [0, 0]] (A = K̂ + γ)."""
    F = features(p, r)
    x, y = training_data(p, r)
    H = x @ F.T
    P, N = H.shape
    A = H.T @ H / P + p.optim.ridge * np.eye(N)
    b = H.T @ y / P
    if p.optim.algorithm == "gd":
        vs = [np.zeros(N)]
        for _ in range(p.optim.steps):
            vs.append(vs[-1] - p.optim.lr * (A @ vs[-1] - b))
        weights = lambda t: vs[t]  # noqa: E731
    else:
        gen = np.zeros((N + 1, N + 1))
        gen[:N, :N], gen[:N, N] = -A, b
        weights = lambda t: scipy.linalg.expm(gen * p.optim.lr * t)[:N, N]  # noqa: E731
    risk = on_grid(p, lambda t: risk_of(p, F, weights(t)))
    loss = on_grid(p, lambda t: np.mean((H @ weights(t) - y) ** 2))
    return risk, loss


@pytest.mark.parametrize("n_train, n_features, ridge, algorithm", [
    (7, 20, 0.0, "gd"),              # P < N: dual branch
    (30, 20, 0.0, "gd"),             # P > N: primal branch
    (30, 20, 0.05, "gd"),
    (40, 25, 0.0, "gd"),             # D < N < P: K̂ has N − D exact zero modes
    (18, 25, 0.0, "gradient_flow"),  # D < P < N: the Gram matrix has P − D zero modes
    (30, 20, 0.02, "gradient_flow"),
])
def test_closed_form_equals_explicit_iteration(n_train, n_features, ridge, algorithm, monkeypatch):
    monkeypatch.setattr(sim_data, "ROW_CHUNK_FLOATS", 50)  # H built 3 rows at a time
    p = make_problem(*RF, f"data.n_train={n_train}", f"model.n_features={n_features}", f"optim.ridge={ridge}",
                     f"optim.algorithm={algorithm}", "optim.lr=0.4", "optim.steps=120",
                     "data.test_spectrum.kind=powerlaw", "data.test_spectrum.alpha=1.1")
    assert_replicas_match(simulate(p), lambda r: explicit(p, r), 3, train_atol=1e-13)


# SGD = linear-model SGD on the features with the same random numbers; exact risk vs a held-out sample ------------

def sgd_on_features(p, r: int, batches):
    """Plain SGD v ← v − η[(1/B) Σ_b (v·z_b − y_b) z_b + γ v] on z = F x; returns F and the weights per step."""
    F = features(p, r)
    v = [np.zeros(p.model.n_features)]
    for x, y in batches:
        z = x @ F.T
        v.append(v[-1] - p.optim.lr * (z.T @ (z @ v[-1] - y) / len(y) + p.optim.ridge * v[-1]))
    return F, v


def online_batches(p, r: int):
    D, B = p.data.dim, p.optim.batch_size
    g = replica_generators(p.seed, 1, CPU, first=r)  # stream 0: the online batches
    raw = normals(g, (p.optim.steps, B, D + 1), CPU)[0].double().numpy()
    x = raw[..., :D] * np.sqrt(p.data.eigenvalues)
    return [(x[t], x[t] @ p.data.teacher + p.data.noise_std * raw[t, :, D]) for t in range(p.optim.steps)]


def finite_batches(p, r: int):
    x, y = training_data(p, r)
    g = replica_generators(p.seed, 1, CPU, stream=BATCH_STREAM, first=r)
    idx = integers(g, p.data.n_train, (p.optim.steps, p.optim.batch_size), CPU)[0].numpy()
    return [(x[i], y[i]) for i in idx]


ONLINE = (*RF, "optim.batch_size=3", "optim.lr=0.3", "optim.steps=150", "data.test_spectrum.kind=powerlaw",
          "data.test_spectrum.alpha=1.1")


@pytest.mark.parametrize("extra", [(), ("optim.ridge=0.05", "model.share_features=true")])
def test_online_sgd_equals_linear_sgd_on_features(extra):
    p = make_problem(*ONLINE, *extra)
    c = simulate(p)
    for r in range(3):
        F, v = sgd_on_features(p, r, online_batches(p, r))
        np.testing.assert_allclose(c.values["test_risk"][r], on_grid(p, lambda t: risk_of(p, F, v[t])), rtol=1e-10)


@pytest.mark.parametrize("extra", [(), ("optim.ridge=0.05", "model.share_features=true")])
def test_finite_sgd_equals_linear_sgd_on_features(extra):
    p = make_problem(*RF, "data.n_train=25", "optim.algorithm=sgd", "optim.batch_size=2", "optim.lr=0.3", "optim.steps=150", *extra)
    c = simulate(p)
    for r in range(3):
        F, v = sgd_on_features(p, r, finite_batches(p, r))
        x, y = training_data(p, r)
        np.testing.assert_allclose(c.values["test_risk"][r], on_grid(p, lambda t: risk_of(p, F, v[t])), rtol=1e-10)
        np.testing.assert_allclose(c.values["train_loss"][r], on_grid(p, lambda t: np.mean((x @ F.T @ v[t] - y) ** 2)), rtol=1e-10)


def test_recorded_risk_equals_held_out_monte_carlo():
    """E(f − y)² over 4·10⁵ fresh test samples x ~ N(0, Σ'), ε ~ N(0, σ²) vs the recorded exact risk."""
    p = make_problem(*ONLINE)
    recorded = simulate(p).values["test_risk"][:, -1]
    rng = np.random.default_rng(1)
    for r in range(3):
        F, v = sgd_on_features(p, r, online_batches(p, r))
        x = rng.standard_normal((400_000, p.data.dim)) * np.sqrt(p.data.test_eigenvalues)
        sq = (x @ (F.T @ v[-1]) - x @ p.data.teacher - p.data.noise_std * rng.standard_normal(len(x))) ** 2
        assert abs(sq.mean() - recorded[r]) < 4 * sq.std() / np.sqrt(len(sq))
        assert abs(sq.mean() - p.data.initial_risk) > 20 * sq.std() / np.sqrt(len(sq))  # training moved it


# Reproducibility and feature draws ---------------------------------------------------------------------------

FINITE_SGD = ("data.n_train=25", "optim.algorithm=sgd", "optim.batch_size=3", "optim.lr=0.3", "optim.steps=60")


@pytest.mark.parametrize("regime", [(), FINITE_SGD, ("data.n_train=25", "optim.algorithm=gd", "optim.lr=0.5")])
def test_same_seed_same_curves_and_replicas_independent_of_count_and_grouping(regime):
    base = simulate(make_problem(*RF, *regime, "sim.replicas=5"))
    again = simulate(make_problem(*RF, *regime, "sim.replicas=5"))
    few = simulate(make_problem(*RF, *regime, "sim.replicas=2"))
    grouped = simulate(make_problem(*RF, *regime, "sim.replicas=5", "sim.data_gib=1e-9"))
    other_seed = simulate(make_problem(*RF, *regime, "sim.replicas=5", "seed=3"))
    assert grouped.info["replica_groups"] == 5
    for q in base.values:
        np.testing.assert_array_equal(base.values[q], again.values[q])
        np.testing.assert_allclose(base.values[q][:2], few.values[q], rtol=1e-13)  # batched BLAS: last-bit differences
        np.testing.assert_allclose(base.values[q], grouped.values[q], rtol=1e-13)
        assert not np.allclose(base.values[q][:, -1], other_seed.values[q][:, -1])


def test_draws_split_along_the_leading_axis_equal_one_draw():
    """Chunks of steps (online) and of rows (training sets) may depend on R and the memory budget."""
    gens = lambda: replica_generators(0, 2, CPU)  # noqa: E731
    whole = normals(gens(), (10, 3, 13), CPU)  # 39 numbers a row: not a multiple of 16
    g = gens()
    np.testing.assert_array_equal(torch.cat([normals(g, (n, 3, 13), CPU) for n in (4, 1, 5)], dim=1).numpy(), whole.numpy())


def test_feature_draws_shared_or_per_replica():
    own = make_problem(*RF, "sim.replicas=4")
    shared = make_problem(*RF, "sim.replicas=4", "model.share_features=true")
    F = draw_features(own, range(4), CPU, torch.float64)
    assert F.shape == (4, 20, 12)
    assert all(not torch.equal(F[0], F[r]) for r in range(1, 4))
    np.testing.assert_array_equal(F[2].numpy(), features(own, 2))  # replica 2's stream, wherever it is drawn
    np.testing.assert_array_equal(draw_features(own, range(2, 4), CPU, torch.float64).numpy(), F[2:].numpy())
    S = draw_features(shared, range(4), CPU, torch.float64)
    assert S.shape == (20, 12)
    np.testing.assert_array_equal(S.numpy(), F[0].numpy())
    np.testing.assert_array_equal(draw_features(shared, range(2, 4), CPU, torch.float64).numpy(), S.numpy())
    # iid N(0, 1/N): N·F² has mean 1 and variance 2; 960 entries per replica, all replicas pooled
    nf2 = 20 * F.numpy() ** 2
    assert abs(nf2.mean() - 1) < 5 * np.sqrt(2 / nf2.size)


# Divergence -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("regime", [("optim.lr=8",), ("data.n_train=25", "optim.algorithm=sgd", "optim.lr=8"),
                                    ("data.n_train=25", "optim.algorithm=gd", "optim.lr=8")])
def test_divergence_is_recorded_not_raised(regime):
    c = simulate(make_problem(*RF, *regime, "optim.steps=400", "record.points=30"))
    assert c.diverged_fraction == 1.0
    for q, v in c.values.items():
        for r, step in enumerate(c.diverged_at):
            assert 0 < step <= 400
            assert np.all(np.isnan(v[r, c.steps >= step])) and np.all(np.isfinite(v[r, c.steps < step]))


# N → ∞: the random-feature curve approaches the linear one --------------------------------------------------

def test_wide_random_features_approach_linear_online_sgd():
    """At N = 100 D the mean risk over F approaches the linear model's.

    FᵀF = I + O(√(D/N)) fluctuations (Marchenko–Pastur spread) bias the mean risk by O(D/N).  Both
    runs see the same online batches (stream 0), so the paired difference per replica has a small
    spread; tolerance: 4 standard errors of the paired mean + 3 % of the risk for the bias (over
    seeds 0–2 the worst grid point uses 0.25–0.6 of this bound).  The same rule rejects N = D (a real
    difference, 2.4–3 times the bound), so the test has power.
    """
    common = ("data.dim=10", "optim.batch_size=4", "optim.lr=0.5", "optim.steps=60", "sim.replicas=64", "record.points=12",
              "sim.device=cpu", "theory.enabled=false")
    lin = simulate(make_problem(*common)).values["test_risk"]

    def excess(n_features):
        rf = simulate(make_problem(*common, "model=random_features", f"model.n_features={n_features}")).values["test_risk"]
        np.testing.assert_allclose(rf[:, 0], make_problem(*common).data.initial_risk, rtol=1e-12)  # v = 0: any F
        diff = rf - lin
        bound = 4 * diff.std(0, ddof=1) / np.sqrt(len(diff)) + 0.03 * lin.mean(0)
        return np.max(np.abs(diff.mean(0)) / bound)

    assert excess(1000) <= 1.0
    assert excess(10) > 1.0


def test_float32_tracks_float64():
    a = simulate(make_problem(*ONLINE, "sim.dtype=float32"))
    b = simulate(make_problem(*ONLINE))
    assert a.info["dtype"] == "float32" and a.values["test_risk"].dtype == np.float64
    np.testing.assert_allclose(a.values["test_risk"], b.values["test_risk"], rtol=1e-4)


@pytest.mark.gpu
def test_cuda_runs_and_matches_cpu_statistics():
    common = (*ONLINE, "sim.replicas=512")
    g, c = simulate(make_problem(*common, "sim.device=cuda")), simulate(make_problem(*common))
    assert g.info["device"].startswith("cuda")
    se = np.hypot(g.stderr("test_risk"), c.stderr("test_risk"))[1:]
    assert np.all(np.abs(g.mean("test_risk") - c.mean("test_risk"))[1:] <= 5 * se)
