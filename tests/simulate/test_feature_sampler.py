"""The feature-space sampler of random features (``sim.sampler=features``): (h, y) = L ξ with L Lᵀ = C.

It draws other numbers than the input-space sampler, so it is checked by distribution: both samplers
train the same problems (same F, per replica or shared) and the replica means of the test risk, of ‖v‖²
and of the overlap (Fᵀv)ᵀΣw* must agree within Monte-Carlo error at every recorded step.  Statistic:
replica r under the two samplers forms a pair (independent draws, the same F); d_r = Q_features − Q_inputs
is iid over r, so z = mean(d) / (std(d) / √R) is ~ t_{R−1} ≈ N(0, 1) under equal distributions.  Over the
≤ 3·15 correlated grid values of a config, max |z| ≤ 4 fails by chance with probability below
45 · 8e-5 ≈ 4e-3 (Bonferroni, t tails at R ≥ 300); the seeds are fixed, so the outcome is deterministic.
The same test rejects a wrong factor (C without the cross term FΣw*, or without the label noise σ²).
"""

import numpy as np
import pytest
import torch

import twopoint.simulate.random_features as rf
from conftest import make_problem
from test_random_features import on_grid, online_batches, risk_of, sgd_on_features
from twopoint.simulate import simulate
from twopoint.simulate.data import GaussianTeacher
from twopoint.simulate.engine import train
from twopoint.simulate.random_features import OnlineRandomFeatures, draw_features, feature_space_factor, sampler_of

CPU = torch.device("cpu")
BASE = ("model=random_features", "sim.device=cpu", "theory.enabled=false", "record.points=15", "optim.batch_size=2",
        "optim.lr=0.2", "optim.steps=80", "data.test_spectrum.kind=powerlaw", "data.test_spectrum.alpha=1.1")


class _Bar:
    def update(self, n):
        pass


class _Watched(OnlineRandomFeatures):
    """Records ‖v‖² and the overlap u·Σw* (u = Fᵀv) beside the test risk."""

    quantities = ("test_risk", "v_sq", "overlap")

    def evaluate(self, v):
        monitor, values = super().evaluate(v)
        if self.sampler == "features":  # C[:N, N] = FΣw*
            overlap = (v[:, None] @ self.C[..., :-1, -1:])[:, 0, 0]
        else:
            overlap = torch.matmul(v[:, None], self.F)[:, 0] @ (self.teacher.lam * self.teacher.w_star)
        return monitor, {**values, "v_sq": (v * v).sum(-1), "overlap": overlap}


def trajectories(p) -> dict[str, np.ndarray]:
    """Per-replica values (R, points) of online SGD on one group of all replicas."""
    model = _Watched(p, range(p.sim.replicas), CPU, torch.float64)
    curves = train(p, model, _Bar()).curves("sgd", p.optim.lr)
    assert not curves.diverged_at.max() >= 0, "a replica diverged"
    return curves.values


def max_z(a: dict, b: dict) -> float:
    """max |z| of the paired replica differences over the recorded steps after step 0 and all quantities."""
    zs = []
    for q in a:
        d = (a[q] - b[q])[:, 1:]
        zs.append(np.abs(d.mean(0)) / (d.std(0, ddof=1) / np.sqrt(len(d))))
    return float(np.max(zs))


def compare(*overrides: str) -> float:
    p = lambda s: make_problem(*BASE, *overrides, f"sim.sampler={s}")  # noqa: E731
    return max_z(trajectories(p("features")), trajectories(p("inputs")))


CONFIGS = {
    "own F, ridge 0, N < D": ("data.dim=12", "model.n_features=6", "sim.replicas=300"),
    "shared F, ridge > 0, N < D": ("data.dim=12", "model.n_features=6", "sim.replicas=300", "model.share_features=true",
                                   "optim.ridge=0.05"),
}
SLOW_CONFIGS = {
    "own F, ridge > 0, N > D": ("data.dim=6", "model.n_features=10", "sim.replicas=2000", "optim.ridge=0.05", "optim.steps=200",
                                "record.points=20"),
    "shared F, ridge 0, N > D, σ = 0": ("data.dim=6", "model.n_features=10", "sim.replicas=2000", "model.share_features=true",
                                        "data.noise_std=0", "optim.steps=200", "record.points=20"),
    "own F, ridge 0, N < D, B = 1": ("data.dim=40", "model.n_features=15", "sim.replicas=2000", "optim.batch_size=1",
                                     "optim.steps=300", "record.points=20"),
    "shared F, ridge > 0, N < D, D = 40": ("data.dim=40", "model.n_features=15", "sim.replicas=2000", "model.share_features=true",
                                   "optim.ridge=0.02", "optim.steps=300", "record.points=20"),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_samplers_give_the_same_trajectory_distribution(name):
    assert compare(*CONFIGS[name]) <= 4.0


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_CONFIGS)
def test_samplers_give_the_same_trajectory_distribution_slow(name):
    assert compare(*SLOW_CONFIGS[name]) <= 4.0


def _without_cross_term(C):
    C = C.clone()
    C[..., :-1, -1] = C[..., -1, :-1] = 0
    return feature_space_factor(C)


def _without_label_noise(C):
    C = C.clone()
    C[..., -1, -1] -= make_problem(*BASE, "data.noise_std=1.0").data.noise_std ** 2
    return feature_space_factor(C)


@pytest.mark.parametrize("wrong", [_without_cross_term, _without_label_noise])
def test_a_wrong_factor_is_rejected(wrong, monkeypatch):
    monkeypatch.setattr(rf, "feature_space_factor", wrong)
    assert compare(*CONFIGS["own F, ridge 0, N < D"], "data.noise_std=1.0") > 4.0


# The factor --------------------------------------------------------------------------------------------------

def covariance(p, F, lam=None) -> np.ndarray:
    """C of (F x, w*·x + σε), x ~ N(0, diag lam) (default Σ), written out block by block."""
    lam = p.data.eigenvalues if lam is None else lam
    w, s2 = p.data.teacher, p.data.noise_std**2
    N = F.shape[0]
    C = np.empty((N + 1, N + 1))
    C[:N, :N] = F @ np.diag(lam) @ F.T
    C[:N, N] = C[N, :N] = F @ (lam * w)
    C[N, N] = w @ (lam * w) + s2
    return C


@pytest.mark.parametrize("dim, n_features, noise", [(12, 6, 0.3), (6, 10, 0.3), (12, 6, 0.0), (6, 10, 0.0), (8, 8, 0.3),
                                                    (8, 8, 0.0), (8, 7, 0.0)])
def test_factor_reproduces_the_joint_covariance(dim, n_features, noise):
    """Cholesky where C is positive definite (rank min(N, D) + 1 for σ > 0, min(N + 1, D) for σ = 0), the
    clipped eigen-factor where it is singular; a replica's factor does not depend on the others'."""
    p = make_problem(*BASE, f"data.dim={dim}", f"model.n_features={n_features}", f"data.noise_std={noise}", "sim.replicas=3")
    F = draw_features(p, range(3), CPU, torch.float64).numpy()
    C = rf.joint_covariances(p, range(3), CPU, p.data.eigenvalues)
    L = feature_space_factor(C).numpy()
    for r in range(3):
        np.testing.assert_allclose(C[r].numpy(), covariance(p, F[r]), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(L[r] @ L[r].T, C[r].numpy(), atol=1e-12 * np.abs(C[r].numpy()).max())
        triangular = np.allclose(np.triu(L[r], 1), 0)
        assert triangular == (n_features + 1 <= dim or (n_features <= dim and noise > 0))  # C positive definite
    np.testing.assert_array_equal(feature_space_factor(C[1:2]).numpy()[0], L[1])
    np.testing.assert_array_equal(rf.joint_covariances(p, range(1, 2), CPU, p.data.eigenvalues).numpy(), C[1:2].numpy())


def test_risk_from_the_covariance_equals_the_risk_from_f():
    p = make_problem(*BASE, "data.dim=12", "model.n_features=6", "sim.replicas=4")
    F = draw_features(p, range(4), CPU, torch.float64)
    v = torch.randn(4, 6, dtype=torch.float64)
    lam = p.data.test_eigenvalues
    risk = [risk_of(p, F[r].numpy(), v[r].numpy()) for r in range(4)]
    np.testing.assert_allclose(rf.quadratic_risk(rf.joint_covariances(p, range(4), CPU, lam), v).numpy(), risk, rtol=1e-12)


def test_a_sample_has_covariance_c():
    """2·10⁵ rows of a training set drawn in feature space: sample covariance of (h, y) vs C (4σ per entry)."""
    p = make_problem(*BASE, "data.dim=9", "model.n_features=5", "data.n_train=200000", "sim.replicas=1", "sim.sampler=features",
                     "optim.algorithm=gd")
    design = rf.random_features_design(p, range(1), CPU, torch.float64)
    hy = np.concatenate([design.features[0].numpy(), design.targets[0].numpy()[:, None]], 1)
    C = covariance(p, draw_features(p, range(1), CPU, torch.float64)[0].numpy())
    n = len(hy)
    S = hy.T @ hy / n
    se = np.sqrt((C**2 + np.outer(np.diag(C), np.diag(C))) / n)  # Var of a product of two jointly Gaussian entries
    assert np.max(np.abs(S - C) / se) < 4.5


# Which sampler, and what it leaves alone -----------------------------------------------------------------------

def test_auto_picks_the_cheaper_sampler():
    bench = ("data.dim=1000", "model.n_features=200", "optim.batch_size=4", "optim.steps=300")
    assert sampler_of(make_problem(*BASE, *bench)) == "features"
    assert sampler_of(make_problem(*BASE, "data.dim=12", "model.n_features=20")) == "inputs"  # N > D
    assert sampler_of(make_problem(*BASE, "data.dim=12", "model.n_features=11")) == "inputs"  # N + 1 = D
    assert sampler_of(make_problem(*BASE, *bench, "optim.steps=1", "optim.batch_size=1")) == "inputs"  # the factor costs more
    assert sampler_of(make_problem(*BASE, *bench, "sim.sampler=inputs")) == "inputs"
    assert sampler_of(make_problem(*BASE, "data.dim=12", "model.n_features=20", "sim.sampler=features")) == "features"
    assert sampler_of(make_problem(*BASE, *bench, "model.share_features=true", "sim.replicas=1")) == \
        sampler_of(make_problem(*BASE, *bench, "model.share_features=true", "sim.replicas=5000"))  # never depends on R


def test_inputs_sampler_where_auto_would_pick_features_is_the_input_space_sgd():
    p = make_problem(*BASE, "data.dim=30", "model.n_features=5", "sim.replicas=2", "optim.steps=60", "sim.sampler=inputs")
    assert sampler_of(make_problem(*BASE, "data.dim=30", "model.n_features=5", "optim.steps=60")) == "features"
    c = simulate(p)
    for r in range(2):
        F, v = sgd_on_features(p, r, online_batches(p, r))
        np.testing.assert_allclose(c.values["test_risk"][r], on_grid(p, lambda t: risk_of(p, F, v[t])), rtol=1e-10)


FINITE = ("data.n_train=20", "optim.algorithm=sgd", "optim.batch_size=3", "optim.steps=60")


@pytest.mark.parametrize("regime", [(), ("model.share_features=true", "optim.ridge=0.05"), FINITE,
                                    ("data.n_train=20", "optim.algorithm=gd", "optim.lr=0.5", "model.share_features=true")])
def test_replicas_independent_of_count_and_grouping(regime):
    common = (*BASE, "data.dim=12", "model.n_features=6", "sim.sampler=features", *regime)
    base = simulate(make_problem(*common, "sim.replicas=5"))
    few = simulate(make_problem(*common, "sim.replicas=2"))
    grouped = simulate(make_problem(*common, "sim.replicas=5", "sim.data_gib=1e-9", "sim.chunk_mib=1"))
    inputs = simulate(make_problem(*common, "sim.replicas=5", "sim.sampler=inputs"))
    assert grouped.info["replica_groups"] == 5 and "feature-space sampler" in base.method
    for q in base.values:
        np.testing.assert_allclose(base.values[q][:2], few.values[q], rtol=1e-13)  # batched BLAS: last-bit differences
        np.testing.assert_allclose(base.values[q], grouped.values[q], rtol=1e-13)
        assert not np.allclose(base.values[q][:, -1], inputs.values[q][:, -1])  # other draws


def test_finite_gd_samplers_agree_in_distribution():
    """Closed-form GD on training sets drawn both ways: test risk and train loss, paired z as above."""
    common = (*BASE, "data.dim=12", "model.n_features=6", "data.n_train=10", "optim.algorithm=gd", "optim.lr=0.2",
              "optim.steps=200", "sim.replicas=400")
    a = simulate(make_problem(*common, "sim.sampler=features")).values
    b = simulate(make_problem(*common, "sim.sampler=inputs")).values
    assert not np.isnan(a["test_risk"]).any() and not np.isnan(b["test_risk"]).any()
    assert max_z(a, b) <= 4.0
