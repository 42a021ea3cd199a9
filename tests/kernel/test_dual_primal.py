"""Kernel simulator: dual SGD/GD = primal SGD/GD in an explicit finite feature map, and the exact test risk.

The circle kernel with M frequencies has the explicit feature map ψ(x) = √λ ⊙ e(x) (2M + 1 Fourier modes);
its Gram matrix is computed independently as the Chebyshev series K(x, x') = Σ_m μ_m N_m T_m(cos 2π(x − x'))
(:func:`twopoint.kernels.zonal_series`).  Both sides are deterministic given the inputs and the batch indices,
so they must agree to rounding (1e-10).
"""

import numpy as np
import pytest
import torch

from conftest import make_problem
from twopoint.simulate import simulate
from twopoint.core.streams import BATCH_INDICES as BATCH_STREAM
from twopoint.core.streams import TRAINING_DATA as DATA_STREAM
from twopoint.simulate.kernel import SAMPLERS, ExactRisk, dual_gradient, fourier_modes
from twopoint.simulate.rng import integers, normals, permutations, replica_generators
from twopoint.data.kernels import harmonic_multiplicity, zonal_series

CPU, F64 = torch.device("cpu"), torch.float64
SMALL = ("experiment=kernel_circle", "model.kernel.frequencies=6", "data.n_train=20", "sim.replicas=3", "sim.device=cpu",
         "record.points=15", "theory.enabled=false", "optim.steps=60")


def chebyshev_gram(theta: np.ndarray, mu: np.ndarray) -> np.ndarray:
    coeffs = mu * np.array([harmonic_multiplicity(2, m) for m in range(mu.size)])
    return zonal_series(np.cos(theta[:, None] - theta[None, :]), coeffs, 2)


def circle_draws(problem, replicas: range):
    """The simulator's design for ``replicas`` and, from the same random streams, the explicit features ψ(x_i)."""
    inputs, P = problem.data.inputs, problem.data.n_train
    gens = lambda: replica_generators(problem.seed, len(replicas), CPU, stream=DATA_STREAM, first=replicas.start)  # noqa: E731
    design = SAMPLERS["circle"](inputs, CPU, F64)(gens(), P)
    z = normals(gens(), (P, 3), CPU).to(F64)
    psi = fourier_modes(torch.atan2(z[..., 1], z[..., 0]), inputs.frequencies).numpy() * np.sqrt(inputs.eigenvalues)
    return design, psi


def test_dual_sgd_equals_primal_sgd_in_fourier_features():
    rng = np.random.default_rng(0)
    M, P, B, lr, ridge, steps = 5, 15, 4, 0.3, 0.05, 40
    mu = (np.arange(M + 1) + 1.0) ** -2.0
    lam = np.concatenate([mu[:1], np.repeat(mu[1:], 2)])
    theta = rng.uniform(0, 2 * np.pi, size=P)
    psi = fourier_modes(torch.as_tensor(theta), M).numpy() * np.sqrt(lam)  # (P, 2M + 1)
    y = rng.standard_normal(P)
    gram = chebyshev_gram(theta, mu)
    np.testing.assert_allclose(gram, psi @ psi.T, atol=1e-12)
    a, w = torch.zeros(1, P, dtype=F64), np.zeros(lam.size)
    for _ in range(steps):
        idx = rng.integers(P, size=B)
        idx[1] = idx[0]  # a repeated index counts twice, as in the primal batch
        grad, _ = dual_gradient(a, torch.as_tensor(gram)[None], torch.as_tensor(y)[None], torch.as_tensor(idx)[None])
        a = a - lr * (grad + ridge * a)  # the engine's update, θ ← θ − η(g + γθ)
        w = w - lr * (psi[idx].T @ (psi[idx] @ w - y[idx]) / B + ridge * w)
        np.testing.assert_allclose(psi.T @ a[0].numpy(), w, atol=1e-10)


def test_simulated_sgd_equals_primal_sgd_with_the_same_batches():
    p = make_problem(*SMALL, "optim.algorithm=sgd", "optim.batch_size=4", "optim.lr=0.5", "optim.ridge=0.01")
    sim = simulate(p)
    inputs, o, P = p.data.inputs, p.optim, p.data.n_train
    assert o.steps <= 4096 // o.batch_size  # the simulator draws all batch indices in one chunk
    for r in range(p.sim.replicas):
        design, psi = circle_draws(p, range(r, r + 1))
        y, psi = design.labels[0].numpy(), psi[0]
        idx = integers(replica_generators(p.seed, 1, CPU, stream=BATCH_STREAM, first=r), P, (o.steps, o.batch_size), CPU)[0]
        w, risks = np.zeros(inputs.eigenvalues.size), []
        for t in range(o.steps + 1):
            if t in set(p.record_steps.tolist()):
                err = w - p.data.teacher
                risks.append(err @ (inputs.eigenvalues * err) + inputs.label_noise_std**2)
            if t < o.steps:
                b = idx[t].numpy()
                w = w - o.lr * (psi[b].T @ (psi[b] @ w - y[b]) / o.batch_size + o.ridge * w)
        np.testing.assert_allclose(sim.values["test_risk"][r], risks, rtol=1e-10)


def explicit_dual_gd(problem, replica: int):
    """Dual GD iterated step by step; test risk from the primal weights w = Ψᵀa in the explicit features."""
    design, psi = circle_draws(problem, range(replica, replica + 1))
    inputs, o, P = problem.data.inputs, problem.optim, problem.data.n_train
    gram, y, psi = design.gram[0].numpy(), design.labels[0].numpy(), psi[0]
    np.testing.assert_allclose(gram, psi @ psi.T, atol=1e-12)
    a, risks, losses = np.zeros(P), [], []
    recorded = set(problem.record_steps.tolist())
    for t in range(o.steps + 1):
        if t in recorded:
            err = psi.T @ a - problem.data.teacher
            risks.append(err @ (inputs.eigenvalues * err) + inputs.label_noise_std**2)
            losses.append(np.mean((gram @ a - y) ** 2))
        a = (1 - o.lr * o.ridge) * a - o.lr * (gram @ a - y) / P
    return np.array(risks), np.array(losses)


@pytest.mark.parametrize("ridge", [0.0, 0.02])
def test_closed_form_gd_equals_explicit_dual_iteration(ridge):
    p = make_problem(*SMALL, "optim.algorithm=gd", "optim.lr=1.2", f"optim.ridge={ridge}")
    sim = simulate(p)
    for r in range(p.sim.replicas):
        risk, loss = explicit_dual_gd(p, r)
        np.testing.assert_allclose(sim.values["test_risk"][r], risk, rtol=1e-9)
        np.testing.assert_allclose(sim.values["train_loss"][r], loss, rtol=1e-9, atol=1e-13)


def test_gradient_flow_is_the_small_step_limit_of_gd():
    """GD with step η/k for k·T steps → gradient flow at time ηT (error O(η/k)); η itself is visibly off."""
    common = (*SMALL, "record.points=2", "optim.steps=64")
    flow = simulate(make_problem(*common, "optim.algorithm=gradient_flow", "optim.lr=1.0")).values["test_risk"][:, -1]
    fine = simulate(make_problem(*SMALL, "record.points=2", "optim.algorithm=gd", "optim.lr=0.01", "optim.steps=6400"))
    coarse = simulate(make_problem(*common, "optim.algorithm=gd", "optim.lr=1.6"))
    np.testing.assert_allclose(fine.values["test_risk"][:, -1], flow, rtol=5e-3)
    assert np.max(np.abs(coarse.values["test_risk"][:, -1] / flow - 1)) > 5e-3


def test_exact_test_risk_matches_primal_risk_on_the_circle():
    p = make_problem(*SMALL)
    design, psi = circle_draws(p, range(2))
    a = torch.as_tensor(np.random.default_rng(1).standard_normal((2, p.data.n_train)) * 0.1)
    risk, loss = ExactRisk(design, p.data.inputs)(a)
    lam = p.data.inputs.eigenvalues
    err = np.einsum("rpk,rp->rk", psi, a.numpy()) - p.data.teacher
    np.testing.assert_allclose(risk.numpy(), (err**2) @ lam + 0.1**2, rtol=1e-12)
    fit = np.einsum("rpq,rq->rp", design.gram.numpy(), a.numpy())
    np.testing.assert_allclose(loss.numpy(), np.mean((fit - design.labels.numpy()) ** 2, axis=1), rtol=1e-12)


def test_exact_test_risk_is_the_mean_over_the_digits_pool():
    P = 30
    p = make_problem("experiment=kernel_digits", f"data.n_train={P}", "data.noise_std=0.2", "data.digits.replace=true")
    inputs = p.data.inputs
    design = SAMPLERS["digits"](inputs, CPU, F64)(replica_generators(0, 1, CPU, stream=DATA_STREAM), P)
    a = torch.as_tensor(np.random.default_rng(2).standard_normal((1, P)) * 0.1)
    risk, _ = ExactRisk(design, inputs)(a)
    idx = integers(replica_generators(0, 1, CPU, stream=DATA_STREAM), inputs.target.size, (P,), CPU)[0].numpy()
    f_pool = inputs.gram[:, idx] @ a[0].numpy()
    np.testing.assert_allclose(risk.numpy()[0], np.mean((f_pool - inputs.target) ** 2) + 0.2**2, rtol=1e-12)
    np.testing.assert_allclose(design.gram[0].numpy(), inputs.gram[np.ix_(idx, idx)])


def test_digits_training_sets_are_subsets_of_the_pool_without_replacement():
    P = 50
    inputs = make_problem("experiment=kernel_digits", f"data.n_train={P}").data.inputs
    assert not inputs.replace
    design = SAMPLERS["digits"](inputs, CPU, F64)(replica_generators(0, 2, CPU, stream=DATA_STREAM), P)
    idx = permutations(replica_generators(0, 2, CPU, stream=DATA_STREAM), inputs.target.size, CPU)[:, :P].numpy()
    for r in range(2):
        assert np.unique(idx[r]).size == P
        np.testing.assert_array_equal(design.gram[r].numpy(), inputs.gram[np.ix_(idx[r], idx[r])])
        np.testing.assert_array_equal(design.labels[r].numpy(), inputs.target[idx[r]])  # σ = 0 in the recipe
