"""The exact finite-size variance factor of ridgeless least squares (theory/finite_size.py)."""

import numpy as np
import pytest

from twopoint.theory.finite_size import corrected_test_risk, variance_ratio


def test_corrected_static_risk_is_the_exact_inverse_wishart_value():
    """DE static risk σ²P/(P − D) with zero bias becomes σ²(P − 1)/(P − D − 1)."""
    sigma2, P, D = 0.3, 40, 30
    de = np.array([sigma2 * P / (P - D)])
    assert corrected_test_risk(de, np.zeros(1), sigma2, P, D)[0] == pytest.approx(sigma2 * (P - 1) / (P - D - 1))


def test_exact_factor_matches_monte_carlo_and_the_de_does_not():
    """Least squares on P = 16 Gaussian samples of D = 10 anisotropic features: the mean excess risk
    σ² tr(Σ E(XᵀX)⁻¹) is σ² D/(P − D − 1) = 2σ² (the DE says σ² D/(P − D) = 1.67σ²)."""
    rng = np.random.default_rng(0)
    P, D, draws = 16, 10, 20000
    lam = np.arange(1, D + 1) ** -1.5
    x = rng.standard_normal((draws, P, D)) * np.sqrt(lam)
    excess = np.einsum("k,nkk->n", lam, np.linalg.inv(np.einsum("npi,npj->nij", x, x)))  # tr(Σ (XᵀX)⁻¹)
    mean, se = excess.mean(), excess.std() / np.sqrt(draws)
    exact, de = D / (P - D - 1), D / (P - D)
    assert abs(mean - exact) < 4 * se < abs(mean - de)
    assert exact / de == pytest.approx(variance_ratio(P, D))


def test_no_factor_at_or_below_p_equal_r_plus_one():
    with pytest.raises(ValueError, match="P > r \\+ 1"):
        variance_ratio(31, 30)
