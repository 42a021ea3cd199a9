"""Residual polynomials of full-batch GD with a step-size schedule and momentum (docs/theory.md §15).

On a fixed design every eigenmode of the (ridge-shifted) Gram matrix A = Σ̂ + γ evolves alone.  With update index
s = 0..T−1 (step s + 1 from step s), step sizes η_s and heavy-ball momentum β in PyTorch's convention
(b_s = β b_{s−1} + g_s, b_{−1} = 0, w ← w − η_s b_s; Nesterov: w ← w − η_s (g_s + β b_s)), GD from w = 0 gives

    w(t) = ψ_t(A) b,      φ_t(r) = 1 − r ψ_t(r),

with φ_t the residual polynomial (degree t, φ_t(0) = 1): the residual e = φ_t(r) of one mode of rate r obeys,
with g = −e,
    b ← β b − e,      e ← e + η_s r b              (heavy ball),
    b ← β b − e,      e ← e + η_s r (β b − e)       (Nesterov),
from e = 1, b = 0.  Plain GD (β = 0) gives φ_t(r) = Π_{s<t} (1 − η_s r); constant η gives (1 − ηr)^t.
The effective time τ_t = ψ_t(0) = −φ_t'(0) = Σ_{s<t} η_s (1 − β^{s+1})/(1 − β) (the same iteration at r → 0)
is the gradient-flow time the slow modes see: φ_t(r) ≈ e^{−r τ_t} for small r.

The deterministic equivalent integrates φ_t(r1) φ_t(r2) against the joint spectral weights of A
(:mod:`theory.full_batch`); this module evaluates φ_t at the complex contour nodes r = −s and measures its growth
on the real spectrum (a mode with |φ_t| ≫ 1 is a divergence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ResidualFilter:
    """Step sizes η_s (s = 0..T−1), momentum β ∈ [0, 1) and the Nesterov flag of a full-batch optimiser."""

    step_sizes: np.ndarray
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        eta = np.asarray(self.step_sizes, dtype=np.float64)
        if eta.ndim != 1 or not np.all(np.isfinite(eta)) or np.any(eta < 0):
            raise ValueError("step sizes must be a 1-D array of finite numbers >= 0")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        object.__setattr__(self, "step_sizes", eta)

    @property
    def horizon(self) -> int:
        """T, the number of updates the schedule defines."""
        return int(self.step_sizes.size)

    def check_steps(self, steps) -> np.ndarray:
        steps = np.asarray(steps)
        if not np.issubdtype(steps.dtype, np.integer) or np.any(steps < 0) or np.any(steps > self.horizon):
            raise ValueError(f"steps must be integers in [0, {self.horizon}]")
        return steps.astype(np.int64)

    def values(self, rates, steps) -> np.ndarray:
        """φ_t(r) at t = ``steps`` (k,): shape (k, n).

        ``rates`` (n,) are shared by all steps; ``rates`` (k, n) give row i its own rates, read at ``steps[i]``.
        One pass over the updates, vectorised over all rates (complex allowed).
        """
        steps = self.check_steps(steps)
        r = np.asarray(rates)
        per_row = r.ndim == 2
        if r.ndim not in (1, 2) or (per_row and r.shape[0] != steps.size):
            raise ValueError("rates must have shape (n,) or (len(steps), n)")
        e = np.ones(r.shape, dtype=np.result_type(r.dtype, np.float64))
        b = np.zeros_like(e)
        out = np.empty((steps.size, r.shape[-1]), dtype=e.dtype)
        want: dict[int, list[int]] = {}
        for i, t in enumerate(steps.tolist()):
            want.setdefault(t, []).append(i)
        beta, last = self.momentum, int(steps.max(initial=0))
        for s in range(last + 1):
            for i in want.get(s, ()):
                out[i] = e[i] if per_row else e
            if s == last:
                break
            b = beta * b - e
            e = e + self.step_sizes[s] * r * ((beta * b - e) if self.nesterov else b)
        return out

    def elapsed(self, steps) -> np.ndarray:
        """Effective time τ_t = ψ_t(0) = Σ_{s<t} η_s (1 − β^{s+1})/(1 − β) at each of ``steps``."""
        steps = self.check_steps(steps)
        beta = self.momentum
        s = np.arange(self.horizon, dtype=np.float64)
        gain = 1.0 if beta == 0.0 else (1.0 - beta ** (s + 1.0)) / (1.0 - beta)
        if self.nesterov:  # w ← w − η(g + βb): the r → 0 drift is (1 + β(1 − β^{s+1})/(1 − β))
            gain = 1.0 + beta * gain
        tau = np.concatenate([[0.0], np.cumsum(self.step_sizes * gain)])
        return tau[steps]

    def peak_effective_step(self) -> float:
        """max_s η_s/(1 − β): the largest step the slow modes see (the constant-rate step for β = 0)."""
        return float(self.step_sizes.max(initial=0.0)) / (1.0 - self.momentum)

    def stability_edge_rate(self) -> float:
        """Largest η·r for which a constant-rate mode does not grow: 2 (GD), 2(1 + β) (heavy ball),
        2(1 + β)/(1 + 2β) (Nesterov)."""
        beta = self.momentum
        return 2.0 * (1.0 + beta) / (1.0 + 2.0 * beta) if self.nesterov else 2.0 * (1.0 + beta)

    def fast_rate(self) -> float:
        """η·r up to which every constant-rate mode that is not slow (near r = 0) has both characteristic roots within
        √β: heavy ball (1 + √β)² (the end of the underdamped range, |roots| = √β inside it); Nesterov
        1 + √β/(1 + β + √β) (beyond ηr = 1 one root is negative and reaches −√β there).  β = 0: 1."""
        root = np.sqrt(self.momentum)
        return 1.0 + root / (1.0 + self.momentum + root) if self.nesterov else (1.0 + root) ** 2

    def contour_map(self, u, eta: float):
        """Nodes s and the factor J = −ζ (ds/dζ)·η at u = −log ζ for step η and this momentum (docs/theory.md §15):

            s = x(ζ) = (1 − ζ)(1 − βζ)/(ζη m(ζ)) = expm1(u)(1 − βζ)/(η m(ζ)),
            m = 1 (heavy ball) or 1 + β − βζ (Nesterov),

        so that 1/ζ = e^u is a characteristic root of the constant-η residual recursion at r = −s: on the circle
        |ζ| = ρ (an ellipse in s for the heavy ball) |φ_t| ≲ t ρ^{−t}, and near u = 0 the filter is ≈ e^{ut}, as
        for GD.  β = 0: s = expm1(u)/η, J = e^u (the GD contour of docs/theory.md §9.3).
        """
        u = np.asarray(u)
        beta = self.momentum
        if beta == 0.0:
            return np.expm1(u) / eta, np.exp(u)
        zeta = np.exp(-u)
        if self.nesterov:
            m = 1.0 + beta - beta * zeta
            return np.expm1(u) * (1.0 - beta * zeta) / (eta * m), (1.0 + beta - 2.0 * beta * zeta) / (zeta * m * m)
        return np.expm1(u) * (1.0 - beta * zeta) / eta, 1.0 / zeta - beta * zeta

    def covered_rate(self) -> float:
        """Largest max_s η_s·r the contour evaluation of docs/theory.md §15 covers: the stability edge for β = 0;
        with momentum also below :meth:`fast_rate` (beyond it slow oscillating modes would need another contour)."""
        edge = self.stability_edge_rate()
        return edge if self.momentum == 0.0 else min(edge, self.fast_rate())

