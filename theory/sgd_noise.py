"""Generating-function algebra of the closed C2 equations for multi-pass minibatch SGD (docs/theory.md §6).

Setting: P fixed samples, Σ̂ = XᵀX/P = V diag(κ_j) Vᵀ, b = Xᵀy/P, ridge γ ≥ 0 applied as weight
decay every step, w ← w − η[ĝ_B + γw], where ĝ_B is the mean gradient of ½(f − y)² over B
indices drawn uniformly with replacement.  With w_γ = (Σ̂ + γ)⁻¹b (the min-norm solution for γ = 0),
e = w − w_γ and the data gradient g = Σ̂w − b = Σ̂e − γw_γ, the batch noise ξ = ĝ_B − g has the
Gaussian (Wick, "C2") closed covariance (1/B)[L̂(w)Σ̂ + g gᵀ], L̂(w) = (1/P)‖Xw − y‖².  Then, with
φ_j = 1 − η(κ_j + γ), h = η²/B, a_j = φ_j² + hκ_j², c_j(t) = E(Vᵀe)_j², ē_j(t) = −φ_j^t w_j
(w_j = (Vᵀw_γ)_j) and L̂_γ = L̂(w_γ):

    L̂(t)     = L̂_γ + 2γ Σ_j φ_j^t w_j² + Σ_j κ_j c_j(t),
    c_j(t+1) = a_j c_j(t) + h[κ_j L̂(t) + 2γκ_j φ_j^t w_j² + γ² w_j²],      c_j(0) = w_j².

This is the Volterra equation L̂(t) = Lf(t) + h Σ_{s<t} k_tr(t−1−s) L̂(s) with the SGD-noise (memory) kernel
k_tr(τ) = Σ_j κ_j² a_j^τ, whose ζ-transform (f̃(ζ) = Σ_t f(t)ζ^t) is L̃ = Lf̃ / (1 − ζh k̃_tr) with

    Lf̃ = L̂_γ/(1−ζ) + 2γ Σ w_j²/(1−ζφ_j) + Σ κ_j w_j²/(1−ζa_j)
          + hζ Σ κ_j w_j²/(1−ζa_j) [2γκ_j/(1−ζφ_j) + γ²/(1−ζ)].

The test risk is R(t) = R_GD(t) + Dmean(t) + h Σ_{s<t} k_te(t−1−s) L̂(s), k_te(τ) = Σ_j M̂_jj κ_j a_j^τ
(M̂ = VᵀMV), so R̃_noise = ζh k̃_te L̃; the term Dmean (the g gᵀ part acting on the mean path) is
handled by the callers.  For γ = 0 all of this is docs/theory.md §6 verbatim.

Every sum Σ_j ν_j/(1 − ζa_j) is reduced to Stieltjes-type sums at the roots of 1 − ζa(κ):
with c = η²(1 + 1/B), 1 − ζa(κ) = −ζc(κ + x1)(κ + x2), x1,2 = −[ηϕ ± √((ηϕ)² − c(ϕ² − 1/ζ))]/c,
ϕ = 1 − ηγ, and 1 − ζφ(κ) = ζη(κ + x3), x3 = (1 − ζϕ)/(ζη):

    Σ_j ν_j/(1 − ζa_j) = [N(x1) − N(x2)] / (ζc(x1 − x2)),     N(x) = Σ_j ν_j/(κ_j + x),

symmetric in x1 ↔ x2 so the square-root branch is irrelevant.  The caller supplies the sums
through :class:`StieltjesSums` (exact eigenvalues, or deterministic equivalents).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class StieltjesSums(NamedTuple):
    """Sums at resolvent arguments x (arrays of one shape), w_j = (Vᵀw_γ)_j averaged over the noise.

    forcing            Σ_j κ_j w_j²/(κ_j + x)
    weights            Σ_j w_j²/(κ_j + x)          (only read when γ > 0)
    noise_kernel_train Σ_j κ_j²/(κ_j + x)          (of the noise kernel k_tr)
    noise_kernel_test  Σ_j M̂_jj κ_j/(κ_j + x)      (of the noise kernel k_te)
    """

    forcing: np.ndarray
    weights: np.ndarray
    noise_kernel_train: np.ndarray
    noise_kernel_test: np.ndarray


SumsAt = Callable[[np.ndarray], StieltjesSums]


@dataclass(frozen=True)
class StepRule:
    """Step size η, batch B and ridge γ of the SGD update, with the derived constants."""

    lr: float
    batch: int
    ridge: float = 0.0

    @property
    def noise_gain(self) -> float:
        """h = η²/B."""
        return self.lr**2 / self.batch

    @property
    def curvature(self) -> float:
        """c = η²(1 + 1/B), the κ² coefficient of a(κ)."""
        return self.lr**2 * (1.0 + 1.0 / self.batch)

    @property
    def decay(self) -> float:
        """ϕ = 1 − ηγ."""
        return 1.0 - self.lr * self.ridge

    def mean_factor(self, kappa):
        """φ(κ) = 1 − η(κ + γ)."""
        return self.decay - self.lr * np.asarray(kappa)

    def contraction(self, kappa):
        """a(κ) = φ(κ)² + hκ²."""
        kappa = np.asarray(kappa)
        return self.mean_factor(kappa) ** 2 + self.noise_gain * kappa**2

    def contraction_gap(self, kappa):
        """1 − a(κ) = u(2 − u) − hκ² with u = η(κ + γ), free of the cancellation of 1 − a(κ) when ηκ ≲ 1e-16."""
        kappa = np.asarray(kappa)
        u = self.lr * (kappa + self.ridge)
        return u * (2.0 - u) - self.noise_gain * kappa**2

    def roots(self, zeta):
        """(x1, x2, x3): 1 − ζa(κ) = −ζc(κ + x1)(κ + x2) and 1 − ζφ(κ) = ζη(κ + x3)."""
        zeta = np.asarray(zeta, dtype=np.complex128)
        c, lead = self.curvature, self.lr * self.decay
        root = np.sqrt(lead**2 - c * (self.decay**2 - 1.0 / zeta))
        return -(lead + root) / c, -(lead - root) / c, (1.0 - zeta * self.decay) / (zeta * self.lr)


def _divided(at1, at2, x1, x2):
    return (at1 - at2) / (x1 - x2)


def c2_transforms(rule: StepRule, sums_at: SumsAt, train_floor: float, zeta):
    """(L̃(ζ), R̃_noise(ζ)) of the module docstring for complex ζ of any shape."""
    zeta = np.asarray(zeta, dtype=np.complex128)
    x1, x2, x3 = rule.roots(zeta)
    ridge, c, h, eta = rule.ridge, rule.curvature, rule.noise_gain, rule.lr
    s1, s2 = sums_at(x1), sums_at(x2)
    scale = 1.0 / (zeta * c)
    noise_kernel_train = scale * _divided(s1.noise_kernel_train, s2.noise_kernel_train, x1, x2)  # k̃_tr
    noise_kernel_test = scale * _divided(s1.noise_kernel_test, s2.noise_kernel_test, x1, x2)  # k̃_te
    modes = scale * _divided(s1.forcing, s2.forcing, x1, x2)  # Σ κ w²/(1 − ζa)
    forcing = train_floor / (1.0 - zeta) + modes
    if ridge:
        s3 = sums_at(x3)
        mean_modes = s3.weights / (zeta * eta)  # Σ w²/(1 − ζφ)
        # Σ κ²w²/((1 − ζa)(1 − ζφ)) by partial fractions over the poles −x1, −x2, −x3
        v1, v2, v3 = s1.weights, s2.weights, s3.weights
        cross = (x1**2 * v1 / ((x2 - x1) * (x3 - x1)) + x2**2 * v2 / ((x1 - x2) * (x3 - x2))
                 + x3**2 * v3 / ((x1 - x3) * (x2 - x3)))
        cross = -cross / (zeta**2 * c * eta)
        forcing = forcing + 2.0 * ridge * mean_modes
        forcing = forcing + h * zeta * (2.0 * ridge * cross + ridge**2 * modes / (1.0 - zeta))
    train = forcing / (1.0 - zeta * h * noise_kernel_train)
    return train, zeta * h * noise_kernel_test * train
