"""Online SGD with a learning-rate schedule and momentum on linear regression with Gaussian inputs: the exact
per-mode moment recursion (docs/theory.md §14).

Conventions (docs/theory.md §1, §14): update s = 0..T−1 makes step s + 1 from step s with step size η_s; batch-mean
gradient plus ridge, g_s = (1/B) Σ_batch (wᵀx − y) x + γw; heavy-ball buffer b_s = βb_{s−1} + g_s (b_{−1} = 0);
heavy ball w ← w − η_s b_s, Nesterov w ← w − η_s (g_s + βb_s) (PyTorch ``SGD``, dampening 0).  Both are
w ← w − η_s d_s with d_s = θ b_s − (θ − 1) b_{s−1}, θ = 1 (heavy ball) or 1 + β (Nesterov).

With e = w − w*, p = b_{s−1}, h_k = λ_k + γ and the training-distribution risk r = σ² + Σ_j λ_j E e_j², Gaussian x
(E[x xᵀ A x xᵀ] = 2ΣAΣ + Σ tr AΣ) gives E[g_k | e] = h_k e_k + γw*_k and a batch noise of conditional variance
(λ_k (eᵀΣe + σ²) + λ_k² e_k²)/B, so the per-mode moments A = E e_k², C = E e_k p_k, Q = E p_k², u = E e_k, v = E p_k
close (no off-diagonal moment feeds back).  One update, with
    E[b e] = βC + h A + γw* u,        E[b p] = βQ + h C + γw* v,
    E[g²]  = (h² + λ²/B) A + 2hγw* u + γ²w*² + (λ/B) r,          E[b²] = β² Q + 2β(hC + γw* v) + E[g²],
is
    A' = A − 2η E[d e] + η² E[d²],   C' = E[b e] − η E[d b],   Q' = E[b²],
    u' = u − η E d,                  v' = E b = βv + h u + γw*,
where E[d e] = θE[b e] − (θ−1)C, E[d b] = θE[b²] − (θ−1)E[b p], E[d²] = θ²E[b²] − 2θ(θ−1)E[b p] + (θ−1)²Q,
E d = θ v' − (θ−1) v; start A = w*², u = −w*, C = Q = v = 0.  Test risk R' = σ² + Σ λ'_k A_k (covariate shift Σ').
For β = 0 and constant η it is docs/theory.md §2.

Stability at a constant η: per mode the map of (A, C, Q, u, v) is affine, with linear part M_k (5 × 5) and
injection f_k of the risk r; the risk obeys a renewal equation whose kernel Σ_k λ_k [M_k^τ f_k]_A is non-negative
(a variance), so E R stays bounded iff every spectral radius ρ(M_k) < 1 and the noise-kernel mass
Σ_k λ_k [(1 − M_k)⁻¹ f_k]_A < 1.  :meth:`MomentRecursion.critical_lr` bisects on these two conditions (at β = 0
the plain-SGD critical rate of §2).

Independent populations (e.g. the feature spaces of several sampled F, or a spectral measure) run side by side as
rows of one recursion: every per-mode array has shape (G, n) and each row has its own risk r.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twopoint.theory.online_linear import CRITICAL_LR_BISECTIONS, DIVERGENCE_FACTOR
from twopoint.theory.population import Population

_A, _C, _Q, _U, _V = range(5)  # rows of the moment state


@dataclass(frozen=True)
class MomentumRule:
    """Batch B, ridge γ, momentum β and the Nesterov flag of the update (module docstring)."""

    batch: int
    ridge: float = 0.0
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        if self.batch < 1 or self.ridge < 0 or not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"need B ≥ 1, γ ≥ 0, 0 ≤ β < 1; got {self.batch}, {self.ridge}, {self.momentum}")

    @property
    def lookahead(self) -> float:
        """θ of d = θ b − (θ − 1) p: 1 for heavy ball, 1 + β for Nesterov."""
        return 1.0 + self.momentum if self.nesterov else 1.0


@dataclass(frozen=True)
class MomentCurves:
    """Risks on the recorded steps, one row per population: ``train`` (training distribution), ``test`` (Σ'),
    ``diverged_at`` (first step with a non-finite risk or one above ``DIVERGENCE_FACTOR`` × R(0); −1 if none)."""

    train: np.ndarray
    test: np.ndarray
    diverged_at: np.ndarray


def _stacked(pops: Sequence[Population]) -> dict[str, np.ndarray]:
    """Per-mode arrays (G, n) of ``pops``, shorter populations padded with modes of zero multiplicity."""
    n = max(p.eigenvalues.size for p in pops)

    def pad(values):
        out = np.zeros((len(pops), n))
        for row, v in zip(out, values):
            row[:v.size] = v
        return out

    return {"lam": pad([p.eigenvalues for p in pops]), "teacher_sq": pad([p.teacher_sq for p in pops]),
            "test": pad([p.test_eigenvalues for p in pops]), "mult": pad([p.multiplicity for p in pops]),
            "noise_var": np.array([[p.noise_var] for p in pops])}


class MomentRecursion:
    """The per-mode moment recursion of the module docstring for one or several populations (rows)."""

    def __init__(self, pops: Population | Sequence[Population], rule: MomentumRule):
        pops = [pops] if isinstance(pops, Population) else list(pops)
        arrays = _stacked(pops)
        self.rule, self.groups = rule, len(pops)
        lam, gamma, beta = arrays["lam"], rule.ridge, rule.momentum
        self.lam, self.mult, self.noise_var = lam, arrays["mult"], arrays["noise_var"]
        self.weight, self.test_weight = self.mult * lam, self.mult * arrays["test"]  # risk read-outs Σ m λ A
        self.teacher = np.sqrt(arrays["teacher_sq"])
        self.curvature = lam + gamma  # h
        self.self_noise = self.curvature**2 + lam**2 / rule.batch  # h² + λ²/B
        self.noise_in = lam / rule.batch  # λ/B
        self.cross = 2.0 * beta * self.curvature  # 2βh
        self.pull = gamma * self.teacher  # γw*
        self.pull_noise = 2.0 * self.curvature * self.pull  # 2hγw*
        self.pull_momentum = 2.0 * beta * self.pull  # 2βγw*
        self.pull_sq = self.pull**2  # γ²w*²

    # --- one update ----------------------------------------------------------------------------------------
    def initial_state(self, shape=None) -> np.ndarray:
        """(A, C, Q, u, v) at step 0: A = w*², u = −w*, C = Q = v = 0."""
        state = np.zeros((5, *(shape or self.lam.shape)))
        state[_A], state[_U] = self.teacher**2, -self.teacher
        return state

    def advance(self, state: np.ndarray, lr: float, risk, scratch: np.ndarray) -> None:
        """One update with step size ``lr`` and training risk ``risk`` (shape (G, 1)), in place.

        ``scratch`` has the shape of ``state`` (5 rows of work space).  The per-mode constants broadcast against
        ``state[i]``, so a state of shape (5, m, G, n) advances m copies at once (used for the stability matrices).
        Rows are paired ((A, C) and (C, Q)) so that one ufunc call serves two moments.
        """
        beta, theta = self.rule.momentum, self.rule.lookahead
        step, look = lr * theta, lr * (theta - 1.0)  # d = θb − (θ − 1)p: ηd = step·b − look·p
        A, C, Q, u, v = state
        gp, bb, be, bp = scratch[1], scratch[2], scratch[3], scratch[4]
        np.multiply(self.curvature, state[_A:_Q], out=scratch[0:2])  # (hA, hC)
        np.multiply(state[_C:_U], beta, out=scratch[3:5])
        scratch[3:5] += scratch[0:2]  # E[b e] = βC + hA,  E[b p] = βQ + hC  (ridge terms below)
        np.multiply(self.self_noise, A, out=bb)
        bb += np.multiply(self.noise_in, risk)  # E[g²] without ridge terms: (h² + λ²/B)A + (λ/B) r
        if self.rule.ridge:
            mean_b = scratch[0]  # v' = E b = βv + hu + γw*
            np.multiply(self.curvature, u, out=mean_b)
            mean_b += self.pull
            mean_b += beta * v
            be += self.pull * u
            gp += self.pull * v
            bp += self.pull * v
            # E[g²] += 2hγw* u + γ²w*² = γw*(2(hu + γw*) − γw*)
            bb += self.pull * (2.0 * (mean_b - beta * v) - self.pull)
        gp += bp
        gp *= beta
        bb += gp  # E[b²] = β(E[b p] + E[G p]) + E[g²]
        if theta != 1.0:  # Nesterov: A gets η(θ−1)[2C − 2ηθ E[b p] + η(θ−1)Q] (old C and Q)
            nest = scratch[1]
            np.multiply(bp, -2.0 * step, out=nest)
            nest += 2.0 * C
            nest += look * Q
            A += look * nest
        np.multiply(bb, -step, out=C)  # C' = E[b e] − ηθ E[b²] (+ η(θ−1) E[b p])
        C += be
        if theta != 1.0:
            C += look * bp
            be -= look * bp  # so that A' = A − ηθ(E[b e] + C') below
        be += C
        be *= step
        A -= be  # A' = A − 2ηθ E[b e] + (ηθ)² E[b²]  (+ the Nesterov part above)
        Q[...] = bb
        if self.rule.ridge:  # u' = u − η(θ v' − (θ − 1) v)
            u -= step * mean_b
            u += look * v
            v[...] = mean_b

    def risk(self, state: np.ndarray) -> np.ndarray:
        """Training-distribution risk σ² + Σ m λ A per row, shape (G, 1)."""
        return self.noise_var + np.matmul(self.weight[:, None, :], state[_A][:, :, None])[:, :, 0]

    # --- the recursion ---------------------------------------------------------------------------------------
    def run(self, step_sizes: np.ndarray, steps: np.ndarray) -> MomentCurves:
        """Risks at the recorded ``steps`` (≤ len(step_sizes)) for the step sizes η_s, s = 0..T−1."""
        step_sizes = np.asarray(step_sizes, dtype=np.float64)
        steps = np.asarray(steps, dtype=np.int64)
        if steps.size and (steps.min() < 0 or steps.max() > step_sizes.size):
            raise ValueError(f"recorded steps must lie in [0, {step_sizes.size}]")
        state = self.initial_state()
        scratch = np.empty_like(state)
        train, test = np.full((self.groups, steps.size), np.nan), np.full((self.groups, steps.size), np.nan)
        diverged = np.full(self.groups, -1, dtype=np.int64)
        order = np.argsort(steps, kind="stable")
        last = int(steps.max()) if steps.size else 0
        limit = DIVERGENCE_FACTOR * self.risk(state)
        alive = np.ones(self.groups, dtype=bool)
        pending, next_step = 0, (int(steps[order[0]]) if steps.size else -1)
        for t in range(last + 1):
            risk = self.risk(state)
            if not (risk <= limit).all():  # also catches NaN and inf
                bad = ~(risk[:, 0] <= limit[:, 0])
                diverged[bad], alive = t, alive & ~bad
                state[:, bad], limit[bad] = 0.0, np.inf  # a diverged row idles at zero; its curves stay NaN
                if not alive.any():
                    break
            while t == next_step:  # a recorded step (repeated steps are recorded each time)
                i = order[pending]
                train[alive, i] = risk[alive, 0]
                test[alive, i] = self.noise_var[alive, 0] + np.einsum("gn,gn->g", self.test_weight, state[_A])[alive]
                pending += 1
                next_step = int(steps[order[pending]]) if pending < steps.size else -1
            if t < last:
                self.advance(state, step_sizes[t], risk, scratch)
        return MomentCurves(train, test, diverged)

    # --- stability at a constant step size -------------------------------------------------------------------
    def _linear_map(self, lr: float) -> tuple[np.ndarray, np.ndarray]:
        """(M, f): the linear part M (G, n, k, k) of one update and the injection f (G, n, k) of a unit risk, for the
        state (A, C, Q, u, v) (k = 5) with ridge and (A, C, Q) (k = 3) without."""
        zero = np.zeros((5, 6, *self.lam.shape))  # columns 0–4: unit states; column 5: the zero state
        for j in range(5):
            zero[j, j] = 1.0
        base = np.zeros((5, 1, *self.lam.shape))
        self.advance(base, lr, np.zeros((self.groups, 1)), np.empty_like(base))  # affine offset
        self.advance(zero, lr, np.zeros((self.groups, 1)), np.empty_like(zero))
        unit_risk = np.zeros((5, 1, *self.lam.shape))
        self.advance(unit_risk, lr, np.ones((self.groups, 1)), np.empty_like(unit_risk))
        k = 5 if self.rule.ridge else 3  # without ridge the means (not advanced) never feed the second moments
        linear = zero[:k, :k] - base[:k]  # (k out, k in, G, n)
        injection = unit_risk[:k, 0] - base[:k, 0]  # (k, G, n)
        return np.moveaxis(linear, (0, 1), (-2, -1)), np.moveaxis(injection, 0, -1)

    def noise_kernel_mass(self, lr: float) -> np.ndarray:
        """Per row: Σ_k m_k λ_k [(1 − M_k)⁻¹ f_k]_A, the risk-to-risk gain summed over all lags (inf if some
        ρ(M_k) ≥ 1)."""
        linear, injection = self._linear_map(lr)
        radius = np.abs(np.linalg.eigvals(linear)).max(axis=-1)  # (G, n)
        occupied = self.mult > 0
        contracting = (radius < 1.0)[..., None, None]
        resolvent = np.eye(linear.shape[-1]) - np.where(contracting, linear, 0.0)  # 1 − M_k where ρ(M_k) < 1
        response = np.linalg.solve(resolvent, injection[..., None])[..., _A, 0]
        mass = np.sum(np.where(occupied, self.weight * response, 0.0), axis=-1)
        return np.where(np.any(occupied & (radius >= 1.0), axis=-1), np.inf, mass)

    def stable(self, lr: float) -> np.ndarray:
        """Per row: whether E R stays bounded at the constant step size ``lr``."""
        return self.noise_kernel_mass(lr) < 1.0

    def critical_lr(self) -> float:
        """Largest constant η at which every row is stable (bisection; for β = 0 the critical rate of §2).

        The bracket starts at 2(1 + β)/(λ_max + γ), beyond the deterministic edge of heavy-ball momentum.
        """
        lo, hi = 0.0, 2.0 * (1.0 + self.rule.momentum) / float(self.lam.max() + self.rule.ridge)
        for _ in range(CRITICAL_LR_BISECTIONS):
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                break
            lo, hi = (mid, hi) if np.all(self.stable(mid)) else (lo, mid)
        return lo


def first_unstable_step(step_sizes: np.ndarray, critical_lr: float) -> int:
    """First update s whose step size η_s exceeds the constant-η critical value (the instantaneous stability
    condition); −1 if none.  A schedule may pass it briefly without diverging: the prediction is the recursion."""
    over = np.flatnonzero(np.asarray(step_sizes) > critical_lr)
    return int(over[0]) if over.size else -1
