"""Online minibatch SGD on linear regression with Gaussian inputs (docs/theory.md §1–§2), on the engine.

Model f = w·x, w_0 = 0; every step draws a fresh batch x_b ~ N(0, Σ), y_b = w*·x_b + ε_b and the engine
updates  w ← w − η[(1/B) Σ_b (f(x_b) − y_b) x_b + γ w].  The state is the error e = w − w* of shape
(replicas, D) in Σ's eigenbasis (ridge anchored at w*); the test risk is exact from the weights,
R = eᵀΣ'e + σ² (Σ' the test covariance), recorded on the log grid.  Random numbers are pre-drawn in chunks
of steps (``sim.chunk_mib`` of memory), so the per-replica generators are called once per chunk.
"""

from __future__ import annotations

import torch

from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.core.registry import OPTIMISER_EXTENSIONS as OPTIMISERS, SIMULATOR_ROLE, register
from twopoint.simulate.data import GaussianTeacher
from twopoint.simulate.device import check_device
from twopoint.simulate.engine import Chunk, chunk_steps, simulate_sgd
from twopoint.simulate.groups import CHUNKS_ALIVE, memory_of
from twopoint.simulate.least_squares import batch_gradient
from twopoint.simulate.rng import DrawBuffers, normals, replica_generators

METHOD = "torch minibatch SGD, fresh Gaussian batches"


class OnlineLinear:
    """Engine model: fresh whitened batches z (x = √λ ⊙ z, never formed) and label noise from stream 0."""

    quantities = ("test_risk",)

    def __init__(self, problem: Problem, group: range, device: torch.device, dtype: torch.dtype):
        self.problem, self.group, self.device, self.dtype = problem, group, device, dtype
        self.teacher = GaussianTeacher(problem.data, device, dtype)
        self.ridge_anchor = self.teacher.w_star

    def init(self) -> torch.Tensor:
        return -self.teacher.w_star.expand(len(self.group), -1).clone()

    def chunks(self):
        data, opt = self.problem.data, self.problem.optim
        D, B, T = data.dim, opt.batch_size, opt.steps
        gens = replica_generators(self.problem.seed, len(self.group), self.device, first=self.group.start)
        per_chunk = chunk_steps(len(self.group), B * (D + 1), self.problem.sim.chunk_mib, T)
        buffers = DrawBuffers(CHUNKS_ALIVE)
        for start in range(0, T, per_chunk):
            z = normals(gens, (min(per_chunk, T - start), B, D + 1), self.device, buffers)
            yield Chunk(z.shape[1], lambda i, z=z: (z[:, i, :, :D].to(self.dtype), data.noise_std * z[:, i, :, D].to(self.dtype)))

    def gradient(self, err: torch.Tensor, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """f − y = x·e − ε, so the gradient is (1/B) Σ_b (x_b·e − ε_b) x_b."""
        z, noise = batch
        grad, residual = batch_gradient(z, err, noise, scale=self.teacher.sqrt_lam)
        return grad, residual.pow(2).mean(-1)

    def evaluate(self, err: torch.Tensor):
        return self.teacher.train_risk(err), {"test_risk": self.teacher.test_risk(err)}


def _bytes_per_replica(problem: Problem):
    """e and its update, and one step of draws (float32) with its working-dtype copy."""
    D, B = problem.data.dim, problem.optim.batch_size
    return lambda dtype: (torch.finfo(dtype).bits // 8) * (2 * D + B * D) + 4 * B * (D + 1)


@register(SIMULATOR_ROLE, "linear", "online", "torch", check=check_device, memory=memory_of(_bytes_per_replica),
          supports=OPTIMISERS)
def simulate_linear_online(problem: Problem) -> Curves:
    return simulate_sgd(problem, OnlineLinear, _bytes_per_replica(problem), METHOD)
