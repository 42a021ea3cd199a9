"""Linear random features f(x) = v·(F x), trained by minibatch SGD (online) or on P samples (finite).

F ∈ R^{N×D} has iid N(0, 1/N) entries (E FᵀF = I_D), v_0 = 0, per-sample loss ½(f − y)², batch mean,
ridge γ on v (docs/theory.md §1, §7).  Inputs x = √λ ⊙ z and labels y = w*·x + ε as for the linear
model (:mod:`twopoint.simulate.data`); online batches come from the same per-replica stream as the linear
online simulator, so the two see identical samples.  Each replica has its own F
(:mod:`twopoint.data.features`); with ``model.share_features`` every replica uses replica 0's F (a draw
that does not depend on the replica count).  The test risk is exact from the weights through the effective
linear predictor u = Fᵀv:  R = (u − w*)ᵀΣ'(u − w*) + σ².

* ``random_features/online``: SGD on fresh batches with features h = F x (R·B·N·D per step); the
  features of a whole chunk of pre-drawn steps are one batched GEMM, so F is read once per chunk.  The exact risk (R·N·D) is computed at the recorded steps only; divergence is
  checked every step on the batch loss (the engine, :mod:`twopoint.simulate.engine`).
* ``random_features/finite``: the fixed-design algorithms of :mod:`twopoint.simulate.fixed_design` on the
  feature matrix H = X Fᵀ (P × N), built in chunks of rows; only H, y and F are stored.

Both process replicas in groups within ``sim.data_gib``, so the replica count R costs only time.
Bytes one replica adds (float64; T recorded steps, m = min(P, N); N·D drops out with shared F):
  online:       8·(N·D + N + B·(N + D))          (+ one chunk of draws, inputs and features: ``chunk_mib``, once)
  finite SGD:   8·(N·D + P·(N + 1))
  finite GD/GF: 8·(N·D + P·(N + 1) + 3m² + T·(2m + N + 3P + 3D))
In 24 GiB (``sim.data_gib=23``: the interpreter and torch take 0.33 GiB) the largest single
replica is, by these counts:
  online:       D = N = 55 000, or D = 1e5 with N = 30 800 (N·D ≤ 3.1e9);
  finite SGD:   D = N = P = 39 000, or D = 1e5, N = 1e4, P = 208 000;
  finite GD/GF: D = N = P = 24 800, or D = 1e5, N = 1e4, P = 174 000;
and a group holds, e.g., 15 000 replicas of online D = 1000, N = 200, B = 4; 5 900 of GD at
D = 1000, N = 256, P = 128; 196 of GD at D = 1e4, N = P = 1000 (the default ``data_gib`` = 4
allows 5.75 times fewer).  Measured peak RSS above the interpreter (CPU, one thread): GD at
D = 2000, N = P = 1000, 20 replicas in one group: counted 0.98 GiB, measured 0.81 GiB; online,
SGD and GD at D = 1000, N = 500-1000 with ``data_gib`` = 0.25: 0.19-0.27 GiB.
"""

from __future__ import annotations

import torch

from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.core.registry import SIMULATOR_ROLE, register
from twopoint.data.features import feature_matrix
from twopoint.simulate.data import GaussianTeacher, training_set
from twopoint.simulate.device import check_device
from twopoint.simulate.engine import Chunk, chunk_steps, simulate_sgd
from twopoint.simulate.fixed_design import Design, bytes_per_replica, simulate_fixed_design
from twopoint.simulate.groups import memory_of
from twopoint.simulate.least_squares import batch_gradient
from twopoint.simulate.linear_online import METHOD as ONLINE_METHOD
from twopoint.simulate.rng import normals, replica_generators


def draw_features(problem: Problem, group: range, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """F of the replicas in ``group``: (R, N, D), or one (N, D) matrix (replica 0's) when shared
    (:func:`twopoint.data.features.feature_matrix`, so the given-F theory can rebuild them)."""
    N, D = problem.model.n_features, problem.data.dim
    replicas = [0] if problem.model.share_features else list(group)
    F = torch.empty((len(replicas), N, D), dtype=dtype, device=device)
    for i, r in enumerate(replicas):
        F[i] = torch.as_tensor(feature_matrix(problem.seed, r, N, D), dtype=dtype, device=device)
    return F[0] if problem.model.share_features else F


def _label(problem: Problem) -> str:
    shared = ", shared F" if problem.model.share_features else ""
    return f"random features N={problem.model.n_features}{shared}: "


def _model_floats(problem: Problem) -> int:
    """Per-replica numbers of F (none when one F is shared)."""
    return 0 if problem.model.share_features else problem.model.n_features * problem.data.dim


class OnlineRandomFeatures:
    """Engine model: fresh batches (the linear online stream), features of a whole chunk in one batched GEMM."""

    quantities = ("test_risk",)
    ridge_anchor = None

    def __init__(self, problem: Problem, group: range, device: torch.device, dtype: torch.dtype):
        self.problem, self.group, self.device, self.dtype = problem, group, device, dtype
        self.F = draw_features(problem, group, device, dtype)
        self.teacher = GaussianTeacher(problem.data, device, dtype)

    def init(self) -> torch.Tensor:
        return torch.zeros((len(self.group), self.problem.model.n_features), dtype=self.dtype, device=self.device)

    def chunks(self):
        B, D, T, R = self.problem.optim.batch_size, self.problem.data.dim, self.problem.optim.steps, len(self.group)
        gens = replica_generators(self.problem.seed, R, self.device, first=self.group.start)
        # per step: the float32 draws, the inputs x in the working dtype, the features h and their step-major copy
        per_step = B * (D + 1) + (torch.finfo(self.dtype).bits // 32) * B * (D + 2 * self.problem.model.n_features)
        per_chunk = chunk_steps(R, per_step, self.problem.sim.chunk_mib, T)
        for start in range(0, T, per_chunk):
            n = min(per_chunk, T - start)
            x, y = self.teacher.sample(normals(gens, (n, B, D + 1), self.device).reshape(R, n * B, D + 1))  # (R, n·B, D)
            h = (x @ self.F.mT).view(R, n, B, -1)  # one batched GEMM per chunk: F is read once per chunk
            # step-major copies, so that every step's (R, B, N) slice is contiguous
            h, y = h.transpose(0, 1).contiguous(), y.view(R, n, B).transpose(0, 1).contiguous()
            yield Chunk(n, lambda i, h=h, y=y: (h[i], y[i]))

    def gradient(self, v: torch.Tensor, batch):
        h, y = batch
        grad, residual = batch_gradient(h, v, y)
        return grad, residual.pow(2).mean(-1)

    def evaluate(self, v: torch.Tensor):
        err = torch.matmul(v[:, None], self.F)[:, 0] - self.teacher.w_star
        return self.teacher.train_risk(err), {"test_risk": self.teacher.test_risk(err)}


def _online_bytes_per_replica(problem: Problem):
    """F (unless shared), v, one step of inputs and features, and one step of float32 draws."""
    N, D, B = problem.model.n_features, problem.data.dim, problem.optim.batch_size
    return lambda dtype: (torch.finfo(dtype).bits // 8) * (_model_floats(problem) + N + B * (N + D)) + 4 * B * (D + 1)


def _finite_bytes_per_replica(problem: Problem):
    return bytes_per_replica(problem, problem.model.n_features, _model_floats(problem))


@register(SIMULATOR_ROLE, "random_features", "online", "torch", check=check_device, memory=memory_of(_online_bytes_per_replica))
def simulate_random_features_online(problem: Problem) -> Curves:
    return simulate_sgd(problem, OnlineRandomFeatures, _online_bytes_per_replica(problem), _label(problem) + ONLINE_METHOD)


def random_features_design(problem: Problem, group: range, device: torch.device, dtype: torch.dtype) -> Design:
    """H = X Fᵀ (R, P, N), y (R, P) and the exact test risk of v through u = Fᵀv."""
    F = draw_features(problem, group, device, dtype)
    teacher = GaussianTeacher(problem.data, device, dtype)
    H, y = training_set(problem, group, device, dtype, problem.model.n_features,
                        lambda i, x: x @ (F if F.dim() == 2 else F[i]).mT)
    return Design(H, y, lambda v: teacher.test_risk(torch.matmul(v, F.to(v.dtype)) - teacher.w_star))


@register(SIMULATOR_ROLE, "random_features", "finite", "torch", check=check_device, memory=memory_of(_finite_bytes_per_replica))
def simulate_random_features_finite(problem: Problem) -> Curves:
    return simulate_fixed_design(problem, random_features_design, problem.model.n_features, _model_floats(problem), _label(problem))
