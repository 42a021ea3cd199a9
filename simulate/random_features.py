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

Samplers (``sim.sampler``).  For Gaussian inputs the features and the label of one sample,
(h, y) = (F x, w*·x + σε), are jointly Gaussian with mean 0 and covariance
    C = [[K, FΣw*], [(FΣw*)ᵀ, w*ᵀΣw* + σ²]],  K = FΣFᵀ  ((N + 1) × (N + 1)),
so besides drawing x (``inputs``: D + 1 normals and B·N·D multiply-adds per sample) one may draw
(h, y) = L ξ with ξ ~ N(0, I_{N+1}) and L Lᵀ = C (``features``: N + 1 normals and (N + 1)² multiply-adds
per sample, plus C and its factor once per replica, or once for all replicas when F is shared).  The two
give the same distribution of trajectories (tests/simulate/test_feature_sampler.py), not the same
numbers: ``features`` draws ξ from its own stream (``FEATURE_SPACE_BATCHES``).  L is computed in float64:
the Cholesky factor where C is numerically positive definite (every pivot above 1e-10 × max C_ii), else
U diag(√s₊) from the eigendecomposition C = U diag(s) Uᵀ, eigenvalues below 1e-10 × max s set to 0 —
C is singular when N > D (rank D + 1), or N ≥ D with σ = 0 (rank D).  ``auto`` picks ``features`` where it costs fewer multiply-adds (:func:`sampler_of`).

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

import numpy as np
import torch

from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.core.registry import OPTIMISER_EXTENSIONS as OPTIMISERS, SIMULATOR_ROLE, register
from twopoint.data.features import feature_matrix
from twopoint.core.streams import FEATURE_SPACE_BATCHES
from twopoint.simulate import data as sim_data
from twopoint.simulate.data import GaussianTeacher, training_set
from twopoint.simulate.device import check_device
from twopoint.simulate.engine import Chunk, chunk_steps, simulate_sgd
from twopoint.simulate.fixed_design import Design, bytes_per_replica, simulate_fixed_design
from twopoint.simulate.groups import CHUNKS_ALIVE, memory_of
from twopoint.simulate.least_squares import batch_gradient
from twopoint.simulate.linear_online import METHOD as ONLINE_METHOD
from twopoint.simulate.rng import DrawBuffers, normals, replica_generators


def draw_features(problem: Problem, group: range, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """F of the replicas in ``group``: (R, N, D), or one (N, D) matrix (replica 0's) when shared
    (:func:`twopoint.data.features.feature_matrix`, so the given-F theory can rebuild them)."""
    N, D = problem.model.n_features, problem.data.dim
    replicas = [0] if problem.model.share_features else list(group)
    F = torch.empty((len(replicas), N, D), dtype=dtype, device=device)
    for i, r in enumerate(replicas):
        F[i] = torch.as_tensor(feature_matrix(problem.seed, r, N, D), dtype=dtype, device=device)
    return F[0] if problem.model.share_features else F


def sampler_of(problem: Problem) -> str:
    """``inputs`` or ``features``: ``sim.sampler``, with ``auto`` resolved by counting multiply-adds per
    replica.  ``inputs`` costs N·D per sample (h = F x); ``features`` costs (N + 1)² per sample plus
    (N + 1)²·D + (N + 1)³ for C and its factor, counted per replica even when F is shared, so that the choice
    (and with it every replica's numbers) never depends on the replica count.  Samples per replica:
    steps × batch size online, P on a training set."""
    if problem.sim.sampler != "auto":
        return problem.sim.sampler
    N, D = problem.model.n_features, problem.data.dim
    samples = problem.optim.steps * problem.optim.batch_size if problem.data.online else problem.data.n_train
    setup = (N + 1) ** 2 * D + (N + 1) ** 3
    return "features" if setup + samples * (N + 1) ** 2 < samples * N * D else "inputs"


PIVOT_FLOOR = 1e-10  # Cholesky pivots below this × max C_ii: C is treated as singular (eigendecomposition)


def joint_covariances(problem: Problem, group: range, device: torch.device, lam) -> torch.Tensor:
    """C (R, N + 1, N + 1), float64 (R = 1 with shared F): the covariance of (F x, w*·x + σε) for x ~ N(0, diag lam),
    C = G Gᵀ + σ² e_N e_Nᵀ with G = [F √lam; w*ᵀ √lam] ((N + 1) × D), built one replica at a time from its F
    (:func:`twopoint.data.features.feature_matrix`), so the (R, N, D) stack of F is never held."""
    N, D = problem.model.n_features, problem.data.dim
    replicas = [0] if problem.model.share_features else list(group)
    sqrt_lam = torch.as_tensor(np.sqrt(lam), dtype=torch.float64, device=device)
    w = torch.as_tensor(problem.data.teacher, dtype=torch.float64, device=device)
    C = torch.empty((len(replicas), N + 1, N + 1), dtype=torch.float64, device=device)
    for i, r in enumerate(replicas):
        G = torch.empty((N + 1, D), dtype=torch.float64, device=device)
        G[:N] = torch.as_tensor(feature_matrix(problem.seed, r, N, D), device=device)
        G[:N] *= sqrt_lam
        G[N] = w * sqrt_lam
        torch.matmul(G, G.mT, out=C[i])
    C[:, N, N] += problem.data.noise_std**2
    return C


def feature_space_factor(C: torch.Tensor) -> torch.Tensor:
    """L (R, N + 1, N + 1), float64, with L Lᵀ = C (positive semi-definite, (R, N + 1, N + 1)).

    Cholesky where every pivot exceeds ``PIVOT_FLOOR`` × max C_ii; otherwise U diag(√s₊) from C = U diag(s) Uᵀ
    with eigenvalues below ``PIVOT_FLOOR`` × max s (rounding of exact zeros) set to 0, exact for a positive
    semi-definite C.  rank C = min(N, D) + 1 for σ > 0 and min(N + 1, D) for σ = 0, so C is singular when
    N > D, or N ≥ D with σ = 0.
    """
    L, info = torch.linalg.cholesky_ex(C)
    pivots = torch.diagonal(L, dim1=-2, dim2=-1) ** 2
    scale = torch.diagonal(C, dim1=-2, dim2=-1).amax(-1)
    singular = (info != 0) | ~(pivots > PIVOT_FLOOR * scale[:, None]).all(-1)
    for i in torch.nonzero(singular).flatten().tolist():  # one at a time: a replica's L never depends on its group
        s, U = torch.linalg.eigh(C[i])
        L[i] = U * torch.where(s > PIVOT_FLOOR * s.amax(), s, 0).sqrt()
    return L


def quadratic_risk(C: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """[v; −1]ᵀ C [v; −1] = (Fᵀv − w*)ᵀ Σ (Fᵀv − w*) + σ² (R,) for v (R, N) and C (R or 1, N + 1, N + 1) of
    :func:`joint_covariances` with Σ, in float64: (N + 1)² per replica instead of N·D.  Absolute rounding error
    about 1e-16 × (w*ᵀΣw* + ‖C‖ ‖v‖²), relative 1e-16 unless the risk falls far below w*ᵀΣw* (σ = 0, N ≥ D)."""
    a = torch.cat([v.to(torch.float64), -torch.ones_like(v[:, :1], dtype=torch.float64)], -1)
    return (torch.matmul(a[:, None], C)[:, 0] * a).sum(-1)


def _label(problem: Problem) -> str:
    shared = ", shared F" if problem.model.share_features else ""
    sampler = ", feature-space sampler" if sampler_of(problem) == "features" else ""
    return f"random features N={problem.model.n_features}{shared}{sampler}: "


def _model_floats(problem: Problem) -> int:
    """Per-replica numbers of F and, with the feature-space sampler, of C and L (finite data; none when one F is
    shared)."""
    if problem.model.share_features:
        return 0
    N = problem.model.n_features
    return N * problem.data.dim + (2 * (N + 1) ** 2 if sampler_of(problem) == "features" else 0)


class OnlineRandomFeatures:
    """Engine model: fresh batches, features of a whole chunk in one batched GEMM: h = F x from the inputs of the
    linear online stream (``inputs``), or (h, y) = L ξ directly (``features``; one GEMM for all replicas when F
    is shared)."""

    quantities = ("test_risk",)
    ridge_anchor = None

    def __init__(self, problem: Problem, group: range, device: torch.device, dtype: torch.dtype):
        self.problem, self.group, self.device, self.dtype = problem, group, device, dtype
        self.teacher = GaussianTeacher(problem.data, device, dtype)
        self.sampler = sampler_of(problem)
        if self.sampler == "features":  # F itself is not needed: sampling and risks go through C
            data = problem.data
            self.C = joint_covariances(problem, group, device, data.eigenvalues)
            self.test_C = joint_covariances(problem, group, device, data.test_eigenvalues) if data.covariate_shift else self.C
            self.L = feature_space_factor(self.C).to(dtype)
            self.L = self.L[0] if problem.model.share_features else self.L
        else:
            self.F = draw_features(problem, group, device, dtype)

    def init(self) -> torch.Tensor:
        return torch.zeros((len(self.group), self.problem.model.n_features), dtype=self.dtype, device=self.device)

    def chunks(self):
        if self.sampler == "features":
            yield from self._feature_space_chunks()
            return
        B, D, T, R = self.problem.optim.batch_size, self.problem.data.dim, self.problem.optim.steps, len(self.group)
        gens = replica_generators(self.problem.seed, R, self.device, first=self.group.start)
        # per step: the float32 draws, the inputs x in the working dtype, the features h and their step-major copy
        per_step = B * (D + 1) + (torch.finfo(self.dtype).bits // 32) * B * (D + 2 * self.problem.model.n_features)
        per_chunk = chunk_steps(R, per_step, self.problem.sim.chunk_mib, T)
        buffers = DrawBuffers(CHUNKS_ALIVE)
        for start in range(0, T, per_chunk):
            n = min(per_chunk, T - start)
            x, y = self.teacher.sample(normals(gens, (n, B, D + 1), self.device, buffers).reshape(R, n * B, D + 1))  # (R, n·B, D)
            h = (x @ self.F.mT).view(R, n, B, -1)  # one batched GEMM per chunk: F is read once per chunk
            # step-major copies, so that every step's (R, B, N) slice is contiguous
            h, y = h.transpose(0, 1).contiguous(), y.view(R, n, B).transpose(0, 1).contiguous()
            yield Chunk(n, lambda i, h=h, y=y: (h[i], y[i]))

    def _feature_space_chunks(self):
        B, N, T, R = self.problem.optim.batch_size, self.problem.model.n_features, self.problem.optim.steps, len(self.group)
        gens = replica_generators(self.problem.seed, R, self.device, stream=FEATURE_SPACE_BATCHES, first=self.group.start)
        # per step: the float32 draws, ξ in the working dtype, (h, y) and their step-major copies
        per_step = B * (N + 1) + (torch.finfo(self.dtype).bits // 32) * 3 * B * (N + 1)
        per_chunk = chunk_steps(R, per_step, self.problem.sim.chunk_mib, T)
        buffers = DrawBuffers(CHUNKS_ALIVE)
        for start in range(0, T, per_chunk):
            n = min(per_chunk, T - start)
            xi = normals(gens, (n, B, N + 1), self.device, buffers).reshape(R, n * B, N + 1).to(self.dtype)
            hy = xi @ self.L.mT  # shared F: one (R·n·B, N + 1) × (N + 1, N + 1) GEMM; else one batched GEMM
            hy = hy.view(R, n, B, N + 1).transpose(0, 1).contiguous()  # step-major: each step's slice contiguous
            yield Chunk(n, lambda i, hy=hy: (hy[i, ..., :N], hy[i, ..., N]))

    def gradient(self, v: torch.Tensor, batch):
        h, y = batch
        grad, residual = batch_gradient(h, v, y)
        return grad, residual.pow(2).mean(-1)

    def evaluate(self, v: torch.Tensor):
        if self.sampler == "features":
            train = quadratic_risk(self.C, v)
            return train, {"test_risk": train if self.test_C is self.C else quadratic_risk(self.test_C, v)}
        err = torch.matmul(v[:, None], self.F)[:, 0] - self.teacher.w_star
        return self.teacher.train_risk(err), {"test_risk": self.teacher.test_risk(err)}


def _online_bytes_per_replica(problem: Problem):
    """F (unless shared), v, one step of inputs and features, and one step of float32 draws; with the feature-space
    sampler no F but C (float64, twice with covariate shift) and L (unless shared), ξ and (h, y)."""
    N, D, B = problem.model.n_features, problem.data.dim, problem.optim.batch_size
    if sampler_of(problem) == "features":
        factors = 0 if problem.model.share_features else (N + 1) ** 2
        covariances = 8 * factors * (2 if problem.data.covariate_shift else 1)
        return lambda dtype: covariances + (torch.finfo(dtype).bits // 8) * (factors + N + 2 * B * (N + 1)) + 4 * B * (N + 1)
    return lambda dtype: (torch.finfo(dtype).bits // 8) * (_model_floats(problem) + N + B * (N + D)) + 4 * B * (D + 1)


def _finite_bytes_per_replica(problem: Problem):
    return bytes_per_replica(problem, problem.model.n_features, _model_floats(problem))


@register(SIMULATOR_ROLE, "random_features", "online", "torch", check=check_device, memory=memory_of(_online_bytes_per_replica),
          supports=OPTIMISERS)
def simulate_random_features_online(problem: Problem) -> Curves:
    return simulate_sgd(problem, OnlineRandomFeatures, _online_bytes_per_replica(problem), _label(problem) + ONLINE_METHOD)


def random_features_design(problem: Problem, group: range, device: torch.device, dtype: torch.dtype) -> Design:
    """H = X Fᵀ (R, P, N), y (R, P) and the exact test risk of v through u = Fᵀv; with the feature-space
    sampler, the rows (h, y) = L ξ."""
    teacher = GaussianTeacher(problem.data, device, dtype)
    F = draw_features(problem, group, device, dtype)
    if sampler_of(problem) == "features":
        L = feature_space_factor(joint_covariances(problem, group, device, problem.data.eigenvalues))
        H, y = _feature_space_training_set(problem, group, device, dtype, L[0] if problem.model.share_features else L)
    else:
        H, y = training_set(problem, group, device, dtype, problem.model.n_features,
                            lambda i, x: x @ (F if F.dim() == 2 else F[i]).mT)
    return Design(H, y, lambda v: teacher.test_risk(torch.matmul(v, F.to(v.dtype)) - teacher.w_star))


def _feature_space_training_set(problem: Problem, group: range, device: torch.device, dtype: torch.dtype,
                                L: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """H (R, P, N) and y (R, P) as (h, y) = L ξ, drawn replica by replica in chunks of rows (which does not
    change the numbers, see :mod:`twopoint.simulate.rng`)."""
    P, N = problem.data.n_train, problem.model.n_features
    H = torch.empty((len(group), P, N), dtype=dtype, device=device)
    y = torch.empty((len(group), P), dtype=dtype, device=device)
    rows = max(1, min(P, sim_data.ROW_CHUNK_FLOATS // (N + 1)))
    gens = replica_generators(problem.seed, len(group), device, stream=FEATURE_SPACE_BATCHES, first=group.start)
    for i, g in enumerate(gens):
        Li = (L if L.dim() == 2 else L[i]).to(dtype)
        for s in range(0, P, rows):
            hy = normals([g], (min(rows, P - s), N + 1), device)[0].to(dtype) @ Li.mT
            H[i, s : s + rows], y[i, s : s + rows] = hy[:, :N], hy[:, N]
    return H, y


@register(SIMULATOR_ROLE, "random_features", "finite", "torch", check=check_device, memory=memory_of(_finite_bytes_per_replica),
          supports=OPTIMISERS)
def simulate_random_features_finite(problem: Problem) -> Curves:
    return simulate_fixed_design(problem, random_features_design, problem.model.n_features, _model_floats(problem), _label(problem))
