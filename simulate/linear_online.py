"""Online minibatch SGD on linear regression with Gaussian inputs, all replicas at once.

Model f = w·x, w_0 = 0; every step draws a fresh batch x_b ~ N(0, Σ), y_b = w*·x_b + ε_b and
updates  w ← w − η[(1/B) Σ_b (f(x_b) − y_b) x_b + γ w]  (per-sample loss ½(f − y)², batch mean,
ridge γ).  The state is the error e = w − w* of shape (replicas, D) in Σ's eigenbasis; the test
risk is exact from the weights: R = eᵀΣ'e + σ² (Σ' the test covariance), recorded on the log grid.
Random numbers are pre-drawn in chunks of steps (``sim.chunk_mib`` of memory) so that the cost of
the per-replica generators is paid once per chunk, not once per step.
"""

from __future__ import annotations

import torch

from twopoint.simulate.data import GaussianTeacher
from twopoint.simulate.device import resolve_device, resolve_dtype
from twopoint.simulate.progress import progress_bar
from twopoint.simulate.recorder import Recorder
from twopoint.simulate.rng import normals, replica_generators
from twopoint.simulate.sgd import batch_gradient
from twopoint.core.curves import Curves
from twopoint.core.problem import Problem

METHOD = "torch minibatch SGD, fresh Gaussian batches"


def sgd_step(err, z, noise, sqrt_lam, w_star, opt) -> torch.Tensor:
    """One minibatch SGD step on the error e = w − w* for every replica.

    ``z`` (R, B, D) are whitened inputs (x = √λ ⊙ z), ``noise`` (R, B) the label noise ε, so the
    residual is f − y = x·e − ε and w ← w − η[(1/B) Σ_b (f − y) x_b + γ w]; x is never formed.
    """
    grad, _ = batch_gradient(z, err, noise, scale=sqrt_lam)
    if opt.ridge:
        grad = grad + opt.ridge * (err + w_star)
    return err - opt.lr * grad


def chunk_steps(replicas: int, per_step: int, chunk_mib: int, total: int) -> int:
    """Steps per chunk so that one chunk of float32 draws takes about ``chunk_mib`` MiB."""
    return max(1, min(total, (chunk_mib * 2**20) // (4 * replicas * per_step)))


def simulate_linear_online(problem: Problem) -> Curves:
    data, opt = problem.data, problem.optim
    device, dtype = resolve_device(problem.sim.device), resolve_dtype(problem.sim.dtype)
    R, D, B, T = problem.sim.replicas, data.dim, opt.batch_size, opt.steps
    teacher = GaussianTeacher(data, device, dtype)
    err = -teacher.w_star.expand(R, D).clone()
    gens = replica_generators(problem.seed, R, device)
    rec = Recorder(problem.record_steps, R, ("test_risk",), device)
    risk = teacher.test_risk(err)
    rec.observe(0, risk)
    rec.record(0, test_risk=risk)
    per_chunk = chunk_steps(R, B * (D + 1), problem.sim.chunk_mib, T)
    step = 0
    with progress_bar(T, problem.sim.progress, "SGD") as bar:
        while step < T:
            n = min(per_chunk, T - step)
            z = normals(gens, (n, B, D + 1), device)
            for i in range(n):
                zi = z[:, i, :, :D].to(dtype)  # contiguous copy in the working dtype
                err = sgd_step(err, zi, data.noise_std * z[:, i, :, D].to(dtype), teacher.sqrt_lam, teacher.w_star, opt)
                step += 1
                risk = teacher.test_risk(err)
                new = rec.observe(step, risk)
                if new.any():
                    err[new] = 0.0
                if rec.wants(step):
                    rec.record(step, test_risk=risk)
            bar.update(n)
    return rec.curves(METHOD, opt.lr, info={"device": str(device), "dtype": str(dtype).removeprefix("torch.")})
