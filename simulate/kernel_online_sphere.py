"""Online kernel SGD on the sphere S^{d−1}, in the dual form with a growing list of centres (docs/theory.md §8).

Every step draws B fresh x uniform on S^{d−1} (x = z/‖z‖, z ~ N(0, I_d); one more normal is the label noise
ε ~ N(0, σ²)), labels y = y*(x) + ε, and appends them as centres of f = Σ_s a_s K(x_s, ·).  The parameters
are the coefficients a of all T·B centres (zero until their step), so the engine's update
    a ← a − η[g + γ a],   g = (1/B) Σ_b (f(x_b) − y_b) e_b  (e_b the slot of the new centre x_b)
is minibatch SGD on ½(f − y)² with batch mean and ridge γ: old coefficients are scaled by 1 − ηγ and the new
ones set to −(η/B)(f(x_new) − y_new), the same iterates as :mod:`twopoint.simulate.kernel_online`'s Mercer
features would give.  K, K₂(x, x') = E_u K(x, u)K(u, x') and h(x) = E_u K(x, u)y*(u) are zonal series
(Funk–Hecke, :mod:`twopoint.data.kernels`), so the test risk is exact,
    R = aᵀK₂a − 2aᵀh + E y*² + σ²,
and kept up to date in O(t·B) per step.  Between two states the old coefficients change by one factor c per
replica (1 − ηγ while training, 1 for a replica the engine has frozen, 0 when it resets one), measured as the
projection of the new old-coefficients on the previous ones, and the step's new coefficients a_new appear:
    aᵀK₂a ← c² aᵀK₂a + 2c a_newᵀK₂(new, old)a_old + a_newᵀK₂(new, new)a_new,   aᵀh ← c aᵀh + a_newᵀh_new,
with K₂(new, old)a_old computed with f(x_new) when the gradient is taken.  This holds for any optimiser that
scales the old coefficients uniformly (SGD with ridge and any learning-rate schedule); one with momentum would
not.  Cost O(B²T²L) for T steps and kernel degree L (no finite feature map of the sphere is formed), memory
O(T·B·d) per replica: meant for T up to a few thousand steps.
"""

from __future__ import annotations

import torch

from twopoint.core.problem import Problem
from twopoint.simulate.engine import Chunk, chunk_steps
from twopoint.simulate.kernel import SphereKernel
from twopoint.simulate.rng import normals, replica_generators


class SphereOnline:
    """Engine model: dual coefficients of the growing centres, with the exact risk tracked incrementally."""

    METHOD = "online kernel SGD (fresh centres each step), dual form with exact Funk–Hecke risk"
    quantities = ("test_risk",)
    ridge_anchor = None

    def __init__(self, problem: Problem, group: range, device: torch.device, dtype: torch.dtype):
        self.problem, self.group, self.device, self.dtype = problem, group, device, dtype
        self.inputs = problem.data.inputs
        self.kernel = SphereKernel(self.inputs)
        R, B, T, d = len(group), problem.optim.batch_size, problem.optim.steps, self.inputs.dim
        self.batch, self.centres = B, torch.zeros((R, T * B, d), dtype=dtype, device=device)
        self.offset = self.inputs.target_power + self.inputs.label_noise_std**2
        self.quad = torch.zeros(R, dtype=dtype, device=device)  # aᵀK₂a of the state ``self._known_state``
        self.lin = torch.zeros(R, dtype=dtype, device=device)  # aᵀh
        self._known_state: torch.Tensor | None = None
        self._known_steps = 0  # centres whose coefficients the statistics include
        self._pending = None  # (K₂(new, old) a_old, h_new, x_new) of the last gradient

    def init(self) -> torch.Tensor:
        return torch.zeros(self.centres.shape[:2], dtype=self.dtype, device=self.device)

    def chunks(self):
        opt, d = self.problem.optim, self.inputs.dim
        gens = replica_generators(self.problem.seed, len(self.group), self.device, first=self.group.start)
        per_chunk = chunk_steps(len(self.group), opt.batch_size * (d + 1), self.problem.sim.chunk_mib, opt.steps)
        for start in range(0, opt.steps, per_chunk):
            z = normals(gens, (min(per_chunk, opt.steps - start), opt.batch_size, d + 1), self.device).to(self.dtype)
            yield Chunk(z.shape[1], lambda i, z=z: z[:, i])

    def _sync(self, coef: torch.Tensor) -> None:
        """Bring ``quad`` and ``lin`` up to date for the coefficients ``coef`` (see the module docstring)."""
        if coef is self._known_state:
            return
        B = self.batch
        if self._known_state is not None:
            old = slice(0, self._known_steps * B)
            prev, now = self._known_state[:, old], coef[:, old]
            norm = (prev * prev).sum(-1)
            c = torch.where(norm > 0, (now * prev).sum(-1) / norm.clamp(min=torch.finfo(norm.dtype).tiny), 0.0)
            self.quad, self.lin = c * c * self.quad, c * self.lin
            if self._pending is not None:
                smooth, h_new, x_new = self._pending
                a_new = coef[:, self._known_steps * B:(self._known_steps + 1) * B]
                k2_new = self.kernel.pair(x_new, x_new)[1]
                self.quad = (self.quad + 2 * c * (a_new * smooth).sum(-1)
                             + (a_new[:, None, :] @ k2_new @ a_new[..., None])[:, 0, 0])
                self.lin = self.lin + (a_new * h_new).sum(-1)
                self._known_steps += 1
                self._pending = None
        self._known_state = coef

    def gradient(self, coef: torch.Tensor, z: torch.Tensor):
        self._sync(coef)
        B, d, step = self.batch, self.inputs.dim, self._known_steps
        x = z[..., :d] / z[..., :d].norm(dim=-1, keepdim=True)
        target, h_new = self.kernel.at(x)
        old, new = slice(0, step * B), slice(step * B, (step + 1) * B)
        fit, smooth = self.kernel.apply(x, self.centres[:, old], coef[:, old])  # f(x_new), K₂(new, old) a_old
        residual = fit - target - self.inputs.label_noise_std * z[..., d]
        self.centres[:, new] = x
        self._pending = (smooth, h_new, x)
        grad = torch.zeros_like(coef)
        grad[:, new] = residual / B
        return grad, residual.pow(2).mean(-1)

    def evaluate(self, coef: torch.Tensor):
        self._sync(coef)
        risk = self.quad - 2 * self.lin + self.offset
        return risk, {"test_risk": risk}


def sphere_bytes_per_replica(problem: Problem):
    """Centres and coefficients of all T·B slots (the blocks of K, K₂ are small)."""
    opt, d = problem.optim, problem.data.inputs.dim
    return lambda dtype: (torch.finfo(dtype).bits // 8) * opt.steps * opt.batch_size * (d + 2)
