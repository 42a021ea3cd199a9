"""Online minibatch SGD on linear regression with Gaussian inputs: the exact second-moment recursion (docs/theory.md §2).

Exact at finite D for Gaussian features; the predictors use it for linear models (:mod:`theory.predict_linear_online`),
in the feature space of each sampled F of a random-feature model (:mod:`theory.given_features`) and on a kernel's
eigen-spectrum (docs/theory.md §8).

Conventions: per-sample loss ½(f − y)², batch-mean gradient, step size η, batch B, ridge γ
(w ← w − η[ĝ + γw]), w_0 = 0, time = step count.  Test risk R'(t) = E[eᵀΣ'e] + σ² with
e = w − w* (includes σ²); the SGD noise is driven by the training-distribution risk
R(t) = E[eᵀΣe] + σ².

Derivation (Gaussian x, E[x xᵀ A x xᵀ] = 2ΣAΣ + Σ tr(AΣ)): with w_γ = (Σ+γ)⁻¹Σw*, δ = w_γ − w*,
u = w − w_γ, b_k = 1 − η(λ_k + γ), a_k = b_k² + (η²/B) λ_k², m_k(t) = E u_k = −w_γ,k b_k^t,
c_k(t) = E u_k², q_k = E e_k² = c_k + 2δ_k m_k + δ_k²:
    c_k(t+1) = a_k c_k(t) + (η²/B) λ_k² (2 δ_k m_k(t) + δ_k²) + (η²/B) λ_k R(t),
    R(t) = σ² + Σ_k λ_k q_k(t),     R'(t) = σ² + Σ_k λ'_k q_k(t).
For γ = 0 this is docs/theory.md §2 (δ = 0).  In generating functions (ζ-transform Σ_t f(t) ζ^t):
    R̃ = F̃ / (1 − ζ(η²/B) K̃),  K̃ = Σ λ_k²/(1 − ζa_k),  R̃' = F̃' + ζ(η²/B) K̃' R̃,  K̃' = Σ λ'_k λ_k/(1 − ζa_k),
    F̃(') = σ²/(1−ζ) + Σ λ(')_k [ (c_k(0) + ζ(η²/B) λ_k² h_k)/(1 − ζa_k) + h_k ],
    h_k(ζ) = 2δ_k m_k(0)/(1 − ζ b_k) + δ_k²/(1 − ζ).
Here K̃ is the generating function of the SGD-noise (memory) kernel k(τ) = Σ λ_k² a_k^τ, through which the risk at
earlier steps feeds the noise of later ones.
Stability: max a_k < 1 and noise-kernel mass (η²/B) Σ λ_k²/(1 − a_k) < 1; otherwise E R diverges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twopoint.theory.contours import DEFAULT_NODES, invert_generating_function, invert_laplace
from twopoint.theory.population import Population
from twopoint.theory.sgd_noise import StepRule

DIVERGENCE_FACTOR = 1e6  # same threshold as the simulator: R > 1e6 × R(0) counts as diverged
_CHUNK = 2_000_000  # complex entries per chunk of (nodes × modes) work
GF_NODES = 20  # Talbot nodes: 3e-11 relative error vs the recursion (16 nodes: 2e-9)
# Halvings of the learning-rate bracket [0, 2/(λ_max + γ)] in critical_lr: more than enough, since the bracket reaches
# float64 resolution after ~55 and further halvings leave it unchanged.
CRITICAL_LR_BISECTIONS = 200


@dataclass(frozen=True)
class OnlineSGD:
    """Per-mode coefficients of the exact second-moment recursion."""

    pop: Population
    lr: float
    batch: int
    ridge: float = 0.0

    @property
    def rule(self) -> StepRule:
        """The SGD step (η, B, γ) with its derived constants, shared with the multi-pass theory."""
        return StepRule(self.lr, self.batch, self.ridge)

    @property
    def noise_gain(self) -> float:
        """η²/B."""
        return self.rule.noise_gain

    @property
    def mean_factor(self) -> np.ndarray:
        """b_k = 1 − η(λ_k + γ)."""
        return self.rule.mean_factor(self.pop.eigenvalues)

    @property
    def contraction(self) -> np.ndarray:
        """a_k = b_k² + (η²/B) λ_k²."""
        return self.rule.contraction(self.pop.eigenvalues)

    @property
    def contraction_gap(self) -> np.ndarray:
        """1 − a_k, computed without cancellation (tiny learning rates keep a finite, positive gap)."""
        return self.rule.contraction_gap(self.pop.eigenvalues)

    @property
    def ridge_target(self) -> np.ndarray:
        """w_γ = λ w*/(λ + γ) (per mode, |w*| convention: signs cancel in every moment)."""
        lam = self.pop.eigenvalues
        return lam / (lam + self.ridge) * np.sqrt(self.pop.teacher_sq)

    @property
    def ridge_bias(self) -> np.ndarray:
        """δ = w_γ − w*."""
        return self.ridge_target - np.sqrt(self.pop.teacher_sq)

    def noise_kernel_mass(self) -> float:
        """(η²/B) Σ λ_k²/(1 − a_k): the SGD-noise kernel summed over all lags (< 1 for stability)."""
        gap = self.contraction_gap
        if np.any(gap <= 0.0):
            return np.inf
        return float(self.noise_gain * np.sum(self.pop.multiplicity * self.pop.eigenvalues**2 / gap))

    def stable(self) -> bool:
        return bool(np.all(self.contraction_gap > 0.0) and self.noise_kernel_mass() < 1.0)

    def critical_lr(self) -> float:
        """Largest stable η at this batch size and ridge (bisection on the stability conditions)."""
        lo, hi = 0.0, 2.0 / float(np.max(self.pop.eigenvalues) + self.ridge)
        for _ in range(CRITICAL_LR_BISECTIONS):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if OnlineSGD(self.pop, mid, self.batch, self.ridge).stable() else (lo, mid)
        return lo

    # --- exact recursion -------------------------------------------------------------------
    def recursion(self, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Direct O(T·D) recursion: (train-distribution risk, test risk, divergence step or −1)."""
        pop, g = self.pop, self.noise_gain
        lam, mult, b, a = pop.eigenvalues, pop.multiplicity, self.mean_factor, self.contraction
        delta, wg = self.ridge_bias, self.ridge_target
        c, m = wg**2, -wg
        steps = np.asarray(steps, dtype=np.int64)
        train, test = np.full(steps.shape, np.nan), np.full(steps.shape, np.nan)
        want = {int(s): i for i, s in enumerate(steps)}
        limit, diverged = None, -1
        for t in range(int(steps.max()) + 1):
            q = c + 2.0 * delta * m + delta**2
            risk = pop.noise_var + np.sum(mult * lam * q)
            limit = DIVERGENCE_FACTOR * risk if limit is None else limit
            if not np.isfinite(risk) or risk > limit:
                diverged = t
                break
            if t in want:
                train[want[t]] = risk
                test[want[t]] = pop.noise_var + np.sum(mult * pop.test_eigenvalues * q)
            c = a * c + g * lam**2 * (2.0 * delta * m + delta**2) + g * lam * risk
            m = b * m
        return train, test, diverged

    # --- generating functions -----------------------------------------------------------------
    def transforms(self, zeta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(R̃(ζ), R̃'(ζ)) for complex ζ of any shape."""
        zeta = np.asarray(zeta, dtype=np.complex128)
        flat = zeta.reshape(-1)
        train, test = np.empty_like(flat), np.empty_like(flat)
        rows = max(1, _CHUNK // self.pop.eigenvalues.size)
        for start in range(0, flat.size, rows):
            sl = slice(start, start + rows)
            train[sl], test[sl] = self._transforms_flat(flat[sl])
        return train.reshape(zeta.shape), test.reshape(zeta.shape)

    def _transforms_flat(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pop, g = self.pop, self.noise_gain
        lam, test_lam, mult = pop.eigenvalues, pop.test_eigenvalues, pop.multiplicity
        zc = z[:, None]
        resolvent = 1.0 / (1.0 - zc * self.contraction)  # 1/(1 − ζa_k)
        const = 1.0 / (1.0 - z)
        mode = resolvent * (self.ridge_target**2)
        if self.ridge:
            delta, wg = self.ridge_bias, self.ridge_target
            h = -2.0 * delta * wg / (1.0 - zc * self.mean_factor) + delta**2 * const[:, None]
            mode = mode + (zc * g * lam**2 * h) * resolvent + h
        forcing = pop.noise_var * const + mode @ (mult * lam)
        forcing_test = pop.noise_var * const + mode @ (mult * test_lam)
        noise_kernel = resolvent @ (mult * lam**2)  # K̃
        noise_kernel_test = resolvent @ (mult * test_lam * lam)  # K̃'
        train = forcing / (1.0 - z * g * noise_kernel)
        return train, forcing_test + z * g * noise_kernel_test * train

    def generating_function_curves(self, steps: np.ndarray, n_nodes: int = GF_NODES) -> tuple[np.ndarray, np.ndarray]:
        """(train-distribution risk, test risk) at ``steps`` by ζ-transform inversion (stable case).

        Oscillating mean modes (b_k < 0, only with ridge) get the shifted contour.
        """
        oscillating = bool(self.ridge and np.any(self.mean_factor < 0))
        train = invert_generating_function(lambda z: self.transforms(z)[0], steps, n_nodes=n_nodes, oscillating=oscillating)
        test = invert_generating_function(lambda z: self.transforms(z)[1], steps, n_nodes=n_nodes, oscillating=oscillating)
        return train, test

    # --- continuous-time approximation ------------------------------------------------------
    def continuous_time_curves(self, steps: np.ndarray, n_nodes: int = DEFAULT_NODES) -> tuple[np.ndarray, np.ndarray]:
        """Small-η approximation (γ = 0): a_k^t → e^{−2ηλ_k t}, sums → integrals (docs/theory.md §2).

        R̂(s) = F̂/(1 − (η²/B)K̂),  F̂ = σ²/s + Σ λ w*²/(s + 2ηλ),  K̂ = Σ λ²/(s + 2ηλ).
        """
        if self.ridge:
            raise ValueError("the continuous-time approximation is implemented for ridge = 0 only")
        pop, g = self.pop, self.noise_gain
        lam, mult = pop.eigenvalues, pop.multiplicity

        def laplace(s: np.ndarray, outer: np.ndarray, noise_outer: np.ndarray, train: np.ndarray | None):
            res = 1.0 / (s[..., None] + 2.0 * self.lr * lam)
            forcing = pop.noise_var / s + res @ (mult * outer * pop.teacher_sq)
            noise_kernel = res @ (mult * noise_outer)  # K̂
            if train is None:
                return forcing / (1.0 - g * noise_kernel)
            return forcing + g * noise_kernel * train

        train_fn = lambda s: laplace(s, lam, lam**2, None)  # noqa: E731
        test_fn = lambda s: laplace(s, pop.test_eigenvalues, pop.test_eigenvalues * lam, train_fn(s))  # noqa: E731
        steps = np.asarray(steps, dtype=np.float64)
        pos = steps > 0
        train, test = np.full(steps.shape, pop.noise_var + pop.signal), np.full(steps.shape, pop.initial_risk)
        train[pos], test[pos] = invert_laplace(train_fn, steps[pos], n_nodes), invert_laplace(test_fn, steps[pos], n_nodes)
        return train, test

    def asymptotic_risk(self) -> tuple[float, float]:
        """(R(∞), R'(∞)) when stable: R(∞) = F(∞)/(1 − noise-kernel mass)."""
        g, lam, mult = self.noise_gain, self.pop.eigenvalues, self.pop.multiplicity
        delta = self.ridge_bias
        res = 1.0 / self.contraction_gap
        bias = g * lam**2 * delta**2 * res + delta**2
        train = (self.pop.noise_var + np.sum(mult * lam * bias)) / (1.0 - self.noise_kernel_mass())
        test = self.pop.noise_var + np.sum(mult * self.pop.test_eigenvalues * bias) + g * np.sum(mult * self.pop.test_eigenvalues * lam * res) * train
        return float(train), float(test)
