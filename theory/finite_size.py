"""Exact finite-size factors of ridgeless least squares that the deterministic equivalent replaces by their
large-size limits (docs/theory.md §11, "Ridgeless N ≈ P").

Linear model, Gaussian inputs x ~ N(0, Σ), P samples of D features, P > D + 1, no ridge.  The least-squares
solution ŵ = (XᵀX)⁻¹Xᵀy has E ŵ = w*, and E (XᵀX)⁻¹ = Σ⁻¹/(P − D − 1) (inverse Wishart), so the t → ∞ test
risk under Σ' is exactly

    R∞ = σ² + σ² tr(Σ'Σ⁻¹)/(P − D − 1)      (= σ² (P − 1)/(P − D − 1) without covariate shift),

while the deterministic equivalent has P − D in place of P − D − 1 (σ² P/(P − D) without shift).  The ratio
of the two variance terms, (P − D)/(P − D − 1), does not depend on Σ, Σ' or w*.  The expected train loss,
σ²(P − D)/P, is the same in both, so no factor of this kind touches it.

:func:`corrected_test_risk` rescales the variance part of a deterministic-equivalent curve (what the noise
adds, R(t; σ) − R(t; 0) − σ²) by that ratio.  It is exact as t → ∞ only: measured with
``benchmarks/finite_size.py`` at D = 100, σ = 0.5, t = 9·10⁷ (static), it takes the DE's error of +23.6 % /
+11.9 % / +2.9 % at P = 105 / 110 / 130 to −0.2 % / +1.6 % / +0.2 % (Monte-Carlo error 2.0 / 1.2 / 0.5 %);
before the smallest sample eigenvalues are fitted it over-corrects (D = 300, P = 310, σ = 0.1 at t = 9·10⁴:
−4.2 % against the DE's +0.7 %).  Use it in the static regime, ηλ̂_min t ≫ 1.
"""

from __future__ import annotations

import numpy as np


def variance_ratio(n_train: int, rank: int) -> float:
    """(P − r)/(P − r − 1): the exact ridgeless variance term over the deterministic equivalent's (P > r + 1)."""
    if n_train <= rank + 1:
        raise ValueError(f"the exact variance factor needs P > r + 1 (P = {n_train}, r = {rank}): the risk diverges")
    return (n_train - rank) / (n_train - rank - 1)


def corrected_test_risk(risk: np.ndarray, noiseless_risk: np.ndarray, noise_var: float, n_train: int,
                        rank: int) -> np.ndarray:
    """R(t; σ) + (ratio − 1)·(R(t; σ) − R(t; 0) − σ²): the DE test risk with its variance part rescaled to the
    exact finite-size factor (``risk`` and ``noiseless_risk`` on the same steps, the latter with σ = 0)."""
    variance = np.asarray(risk) - np.asarray(noiseless_risk) - noise_var
    return np.asarray(risk) + (variance_ratio(n_train, rank) - 1.0) * variance
