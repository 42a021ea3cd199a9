"""Online kernel SGD: every step adds the batch's fresh inputs as centres (docs/theory.md §8).

Kernel machine f_t = Σ_{s<t} Σ_b a_{s,b} K(x_{s,b}, ·), f_0 = 0, with fresh inputs x_{s,b} from the input
distribution each step and
    f_{t+1} = (1 − ηγ) f_t − (η/B) Σ_b (f_t(x_{t,b}) − y_{t,b}) K(x_{t,b}, ·),   y = y*(x) + ε,
i.e. minibatch SGD on ½(f − y)² with batch mean and ridge γ.  Where the kernel has a finite Mercer expansion
K(x, x') = ψ(x)·ψ(x') under the input distribution, f_t = w_t·ψ with w_t = Σ a ψ(x): the same iterates in
O(B·D) per step instead of O(t·B²) for the growing list of centres (tests check both on the same samples).
This is online SGD of a linear model on the non-Gaussian inputs ψ(x) (E ψψᵀ = diag λ), so the exact Gaussian
online theory (docs/theory.md §2) is a prediction to test, not a given.

* ``circle``: x uniform on [0, 1), the D = 2M + 1 Fourier modes ψ = √λ ⊙ e; test risk exact from the weights,
  R = Σ_k λ_k (w_k − w*_k)² + σ².
* ``digits``: x uniform on the pool (iid draws, with replacement), ψ(x_i) the pool's Mercer features over all
  M modes (ΨΨᵀ = G: the simulated kernel is the full Gram matrix, whatever ``model.kernel.cutoff`` keeps for
  the theory); test risk exact as the mean over the pool, R = (1/M) Σ_i (f(x_i) − y*(x_i))² + σ².
* ``sphere``: no finite feature map at hand; :mod:`twopoint.simulate.kernel_online_sphere` runs the dual form.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from twopoint.core import streams
from twopoint.core.curves import Curves
from twopoint.core.errors import ConfigError
from twopoint.core.problem import Problem
from twopoint.core.registry import OPTIMISER_EXTENSIONS as OPTIMISERS, SIMULATOR_ROLE, register
from twopoint.data.inputs import CircleInputs, DigitsInputs
from twopoint.simulate.device import check_device
from twopoint.simulate.engine import Chunk, chunk_steps, simulate_sgd
from twopoint.simulate.groups import memory_of
from twopoint.simulate.kernel import fourier_modes
from twopoint.simulate.kernel_online_sphere import SphereOnline, sphere_bytes_per_replica
from twopoint.simulate.least_squares import batch_gradient
from twopoint.simulate.rng import integers, normals, replica_generators

METHOD = "online kernel SGD (fresh centres each step), in the kernel's Mercer features"


class MercerOnline:
    """Engine model: online SGD of a linear model on the Mercer features ψ(x) of fresh inputs.

    Subclasses set ``dim`` (the number of features) and define ``chunks`` and ``risk``."""

    quantities = ("test_risk",)
    ridge_anchor = None
    dim: int

    def __init__(self, problem: Problem, group: range, device: torch.device, dtype: torch.dtype):
        self.problem, self.group, self.device, self.dtype = problem, group, device, dtype
        self.inputs = problem.data.inputs

    def init(self) -> torch.Tensor:
        return torch.zeros((len(self.group), self.dim), dtype=self.dtype, device=self.device)

    def gradient(self, w: torch.Tensor, batch):
        features, targets = batch
        grad, residual = batch_gradient(features, w, targets)
        return grad, residual.pow(2).mean(-1)

    def evaluate(self, w: torch.Tensor):
        risk = self.risk(w)
        return risk, {"test_risk": risk}

    def generators(self, stream: int = streams.ONLINE_BATCHES):
        return replica_generators(self.problem.seed, len(self.group), self.device, stream=stream, first=self.group.start)


class CircleOnline(MercerOnline):
    """x uniform on [0, 1): θ = 2πx is the angle of a standard Gaussian pair (as in the finite-data circle
    sampler), the third normal is the label noise; ψ = √λ ⊙ (Fourier modes); R = Σ_k λ_k (w_k − w*_k)² + σ²."""

    def __init__(self, problem: Problem, group: range, device: torch.device, dtype: torch.dtype):
        super().__init__(problem, group, device, dtype)
        inputs: CircleInputs = self.inputs
        as_t = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
        self.lam, self.coeff, self.w_star = as_t(inputs.eigenvalues), as_t(inputs.coefficients), as_t(inputs.teacher)
        self.sqrt_lam, self.dim = self.lam.sqrt(), self.lam.numel()
        self.offset = inputs.residual_power + inputs.label_noise_std**2

    def chunks(self):
        B, T = self.problem.optim.batch_size, self.problem.optim.steps
        gens = self.generators()
        per_chunk = chunk_steps(len(self.group), B * 3, self.problem.sim.chunk_mib, T)  # the draws; modes are formed per step
        for start in range(0, T, per_chunk):
            z = normals(gens, (min(per_chunk, T - start), B, 3), self.device).to(self.dtype)
            yield Chunk(z.shape[1], lambda i, z=z: self._batch(z[:, i]))

    def _batch(self, z: torch.Tensor):
        modes = fourier_modes(torch.atan2(z[..., 1], z[..., 0]), self.inputs.frequencies)  # (R, B, D)
        return modes * self.sqrt_lam, modes @ self.coeff + self.inputs.label_noise_std * z[..., 2]

    def risk(self, w: torch.Tensor) -> torch.Tensor:
        return ((w - self.w_star) ** 2) @ self.lam + self.offset


class DigitsOnline(MercerOnline):
    """Pool points iid (with replacement), label noise from a separate stream; ψ(x_i) the pool's Mercer features
    over all modes (ΨΨᵀ = G); R = (1/M) Σ_i (f(x_i) − y*(x_i))² + σ², the exact mean over the pool."""

    def __init__(self, problem: Problem, group: range, device: torch.device, dtype: torch.dtype):
        super().__init__(problem, group, device, dtype)
        inputs: DigitsInputs = self.inputs
        self.psi = torch.tensor(inputs.pool_features, dtype=dtype, device=device)  # (M, M): rows are points
        self.target = torch.tensor(inputs.target, dtype=dtype, device=device)
        self.dim = self.psi.shape[1]

    def chunks(self):
        B, T = self.problem.optim.batch_size, self.problem.optim.steps
        idx_gens, noise_gens = self.generators(streams.POOL_INDICES), self.generators(streams.POOL_LABEL_NOISE)
        per_chunk = chunk_steps(len(self.group), B * (self.dim + 1), self.problem.sim.chunk_mib, T)
        for start in range(0, T, per_chunk):
            n = min(per_chunk, T - start)
            idx = integers(idx_gens, self.target.numel(), (n, B), self.device)
            noise = self.inputs.label_noise_std * normals(noise_gens, (n, B), self.device).to(self.dtype)
            yield Chunk(n, lambda i, idx=idx, noise=noise: (self.psi[idx[:, i]], self.target[idx[:, i]] + noise[:, i]))

    def risk(self, w: torch.Tensor) -> torch.Tensor:
        return (w @ self.psi.T - self.target).pow(2).mean(-1) + self.inputs.label_noise_std**2


def _mercer_bytes_per_replica(problem: Problem) -> Callable[[torch.dtype], int]:
    inputs = problem.data.inputs
    D = inputs.pool_features.shape[1] if isinstance(inputs, DigitsInputs) else problem.data.dim
    return lambda dtype: (torch.finfo(dtype).bits // 8) * (2 * D + 2 * problem.optim.batch_size * D)


MODELS = {"circle": (CircleOnline, _mercer_bytes_per_replica, METHOD), "digits": (DigitsOnline, _mercer_bytes_per_replica, METHOD),
          "sphere": (SphereOnline, sphere_bytes_per_replica, SphereOnline.METHOD)}


def _bytes_per_replica(problem: Problem):
    return MODELS[problem.data.inputs.kind][1](problem)


def _check(problem: Problem) -> None:
    check_device(problem)
    if problem.data.inputs.kind == "sphere" and problem.optim.momentum:
        raise ConfigError("optim.momentum", problem.optim.momentum, "0 for online kernel SGD on the sphere (its exact "
                          "incremental risk needs plain SGD: see twopoint.simulate.kernel_online_sphere)")


@register(SIMULATOR_ROLE, "kernel", "online", "torch", check=_check, memory=memory_of(_bytes_per_replica),
          supports=OPTIMISERS)
def simulate_kernel_online(problem: Problem) -> Curves:
    model, _, method = MODELS[problem.data.inputs.kind]
    return simulate_sgd(problem, model, _bytes_per_replica(problem), method)
