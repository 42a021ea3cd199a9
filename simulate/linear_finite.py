"""Linear regression on a fixed training set of P Gaussian samples per replica.

Each replica draws its own data once: x_μ = √λ ⊙ z_μ (z ~ N(0, I)), y_μ = w*·x_μ + ε_μ,
μ = 1..P.  Loss per sample ½(f − y)², ridge γ; e = w − w*, w_0 = 0.  Recorded: the exact test
risk eᵀΣ'e + σ² and the train loss (1/P) Σ_μ (f(x_μ) − y_μ)² (no ridge term).

Algorithms (``optim.algorithm``):
* ``sgd`` — minibatch SGD, B indices drawn uniformly *with* replacement every step;
* ``sgd_epochs`` — shuffled epochs *without* replacement (P // B batches per epoch, the
  remainder of each permutation is skipped);
* ``gd`` — full-batch GD  e ← (1 − η(Σ̂ + γ)) e + η(b − γw*),  Σ̂ = XᵀX/P, b = Xᵀε/P;
* ``gradient_flow`` — de/dt = −(Σ̂ + γ) e + (b − γw*), reported at time t = lr × step.
GD and gradient flow are linear in e, so they are evaluated exactly in the eigenbasis of each
replica's Σ̂ (every step of the iteration at once, no discretisation error; a test checks the
closed form against the explicit iteration).  Replicas are processed in groups so that the
stored data never exceed ``sim.data_gib``.
"""

from __future__ import annotations

import numpy as np
import torch

from simulate.device import resolve_device, resolve_dtype
from simulate.linear_online import sgd_step
from simulate.progress import progress_bar
from simulate.recorder import DIVERGENCE_FACTOR, Recorder
from simulate.rng import integers, normals, permutations, replica_generators
from twopoint.curves import SIMULATION, Curves
from twopoint.problem import Problem

DATA_STREAM, BATCH_STREAM = 1, 2
METHODS = {
    "sgd": "torch minibatch SGD, batches with replacement from P samples",
    "sgd_epochs": "torch minibatch SGD, shuffled epochs without replacement",
    "gd": "full-batch GD, exact in the eigenbasis of the sampled covariance",
    "gradient_flow": "gradient flow, exact in the eigenbasis of the sampled covariance",
}


def replica_groups(replicas: int, bytes_per_replica: int, budget_gib: float) -> list[range]:
    size = max(1, int(budget_gib * 2**30 // max(bytes_per_replica, 1)))
    return [range(s, min(s + size, replicas)) for s in range(0, replicas, size)]


def draw_data(problem: Problem, group: range, device, dtype):
    """Whitened inputs z (R, P, D) and label noise ε (R, P) of the replicas in ``group``."""
    P, D = problem.data.n_train, problem.data.dim
    gens = replica_generators(problem.seed, len(group), device, stream=DATA_STREAM, first=group.start)
    z = normals(gens, (P, D + 1), device).to(dtype)
    return z[..., :D].contiguous(), problem.data.noise_std * z[..., D]


def train_loss(z, noise, scaled_err):
    """(1/P) Σ_μ (x_μ·e − ε_μ)² with x = √λ ⊙ z and ``scaled_err`` = √λ ⊙ e."""
    return (torch.einsum("rpd,rd->rp", z, scaled_err) - noise).pow(2).mean(-1)


def _sgd_group(problem: Problem, group: range, device, dtype, bar) -> Curves:
    data, opt = problem.data, problem.optim
    P, B, T = data.n_train, opt.batch_size, opt.steps
    as_t = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
    sqrt_lam, test_lam, w_star = as_t(data.eigenvalues).sqrt(), as_t(data.test_eigenvalues), as_t(data.teacher)
    z, noise = draw_data(problem, group, device, dtype)
    R = len(group)
    rows = torch.arange(R, device=device)[:, None]
    err = -w_star.expand(R, data.dim).clone()
    gens = replica_generators(problem.seed, R, device, stream=BATCH_STREAM, first=group.start)
    rec = Recorder(problem.record_steps, R, ("test_risk", "train_loss"), device)

    def observe(step):
        risk = (err * err) @ test_lam + data.noise_std**2
        new = rec.observe(step, risk)
        if new.any():
            err[new] = 0.0
        if rec.wants(step):
            rec.record(step, test_risk=risk, train_loss=train_loss(z, noise, sqrt_lam * err))

    observe(0)
    per_epoch = P // B
    step = 0
    while step < T:
        n = min(max(1, 4096 // B), T - step)
        if opt.algorithm == "sgd":
            idx = integers(gens, P, (n, B), device)
        else:  # a fresh permutation per epoch; batch k of an epoch is a slice of it
            epochs = range(step // per_epoch, (step + n - 1) // per_epoch + 1)
            perm = torch.cat([permutations(gens, P, device)[:, : per_epoch * B] for _ in epochs], dim=1)
            offset = (step - epochs.start * per_epoch) * B
            idx = perm[:, offset : offset + n * B].reshape(R, n, B)
        for i in range(n):
            sel = idx[:, i]
            err = sgd_step(err, z[rows, sel], noise[rows, sel], sqrt_lam, w_star, opt)
            step += 1
            observe(step)
        bar.update(n)
    return rec.curves(METHODS[opt.algorithm], opt.lr)


def _spectral_group(problem: Problem, group: range, device, dtype) -> Curves:
    """GD / gradient flow in closed form: per mode c_j(t) = φ_j(t) c_j(0) + (1 − φ_j(t)) g_j/(κ_j + γ)."""
    data, opt = problem.data, problem.optim
    P, D, gamma = data.n_train, data.dim, opt.ridge
    f64 = torch.float64
    z, noise = draw_data(problem, group, device, dtype)
    sqrt_lam = torch.as_tensor(np.sqrt(data.eigenvalues), dtype=f64, device=device)
    w_star = torch.as_tensor(data.teacher, dtype=f64, device=device)
    test_lam = torch.as_tensor(data.test_eigenvalues, dtype=f64, device=device)
    x = z.to(f64) * sqrt_lam  # (R, P, D)
    eps = noise.to(f64)
    if P >= D:
        kappa, vecs = torch.linalg.eigh(x.transpose(1, 2) @ x / P)  # V: (R, D, D)
    else:  # range of Σ̂ from the P×P Gram matrix: v_j = Xᵀu_j / √(P κ_j)
        kappa, u = torch.linalg.eigh(x @ x.transpose(1, 2) / P)
        kappa = kappa.clamp_min(0.0)
        vecs = x.transpose(1, 2) @ u / torch.sqrt(P * kappa.clamp_min(1e-300))[:, None, :]
    b = torch.einsum("rpd,rp->rd", x, eps) / P
    proj_w = torch.einsum("rdj,d->rj", vecs, w_star)  # Vᵀw*
    null = -(w_star - torch.einsum("rdj,rj->rd", vecs, proj_w))  # e's component outside range(V): constant
    c0 = -proj_w
    rate = kappa + gamma
    target = torch.where(rate > 0, (torch.einsum("rdj,rd->rj", vecs, b) - gamma * proj_w) / rate.clamp_min(1e-300), c0)
    t = torch.as_tensor(problem.record_steps, dtype=f64, device=device)
    if opt.algorithm == "gd":
        decay = (1.0 - opt.lr * rate)[..., None] ** t  # (R, r, T)
    else:
        decay = torch.exp(-rate[..., None] * (opt.lr * t))
    coeff = target[..., None] + decay * (c0 - target)[..., None]  # (R, r, T)
    err = torch.einsum("rdj,rjt->rtd", vecs, coeff) + null[:, None, :]  # (R, T, D)
    risk = (err * err) @ test_lam + data.noise_std**2
    vb = torch.einsum("rdj,rd->rj", vecs, b)
    loss = (kappa[..., None] * coeff**2).sum(1) - 2 * (vb[..., None] * coeff).sum(1) + (eps * eps).mean(-1)[:, None]
    return _closed_form_curves(problem, risk, loss)


def _closed_form_curves(problem: Problem, risk: torch.Tensor, loss: torch.Tensor) -> Curves:
    """Curves with divergence flagged at the first recorded step beyond the threshold."""
    risk, loss = risk.cpu().numpy(), loss.cpu().numpy()
    bad = ~np.isfinite(risk) | (risk > DIVERGENCE_FACTOR * risk[:, :1])
    first = np.where(bad.any(1), problem.record_steps[np.argmax(bad, axis=1)], -1)
    after = problem.record_steps[None, :] >= np.where(first >= 0, first, np.iinfo(np.int64).max)[:, None]
    values = {"test_risk": np.where(after, np.nan, risk), "train_loss": np.where(after, np.nan, loss)}
    return Curves(SIMULATION, METHODS[problem.optim.algorithm], problem.record_steps, problem.record_times, values, first)


def _concat(parts: list[Curves]) -> Curves:
    first = parts[0]
    values = {q: np.concatenate([p.values[q] for p in parts]) for q in first.values}
    return Curves(first.source, first.method, first.steps, first.time, values, np.concatenate([p.diverged_at for p in parts]), first.info)


def simulate_linear_finite(problem: Problem) -> Curves:
    device, dtype = resolve_device(problem.sim.device), resolve_dtype(problem.sim.dtype)
    P, D, R = problem.data.n_train, problem.data.dim, problem.sim.replicas
    itemsize = torch.finfo(dtype).bits // 8
    spectral = problem.optim.algorithm in ("gd", "gradient_flow")
    per_replica = (P * (D + 1) + (2 * max(P, D) ** 2 + D * problem.record_steps.size if spectral else 0)) * max(itemsize, 8 if spectral else itemsize)
    groups = replica_groups(R, per_replica, problem.sim.data_gib)
    with progress_bar(problem.optim.steps * R if not spectral else R, problem.sim.progress, problem.optim.algorithm) as bar:
        if spectral:
            parts = []
            for g in groups:
                parts.append(_spectral_group(problem, g, device, dtype))
                bar.update(len(g))
        else:
            parts = [_sgd_group(problem, g, device, dtype, _GroupBar(bar, len(g))) for g in groups]
    curves = _concat(parts)
    return Curves(curves.source, curves.method, curves.steps, curves.time, curves.values, curves.diverged_at,
                  {"device": str(device), "dtype": str(dtype).removeprefix("torch."), "replica_groups": len(groups)})


class _GroupBar:
    """Advances the shared bar by steps × replicas of the group."""

    def __init__(self, bar, replicas: int):
        self.bar, self.replicas = bar, replicas

    def update(self, n: int) -> None:
        self.bar.update(n * self.replicas)
