"""Talbot inverse Laplace and generating-function inversion on transforms with known inverses."""

import numpy as np
import pytest

from twopoint.theory.contours import invert_generating_function, invert_laplace

STEPS = np.unique(np.r_[np.arange(0, 40), np.geomspace(1, 1e5, 60).astype(int)])


def geometric(a, c):
    return (lambda z: (c / (1 - z[..., None] * a)).sum(-1)), (c * a ** STEPS[:, None]).sum(1)


def test_laplace_of_exponentials():
    rates = np.array([0.0, 0.01, 1.0, 30.0])
    t = np.geomspace(0.01, 100, 30)
    exact = np.exp(-np.outer(t, rates)).sum(1)
    approx = invert_laplace(lambda s: (1 / (s[..., None] + rates)).sum(-1), t)
    np.testing.assert_allclose(approx, exact, rtol=1e-8, atol=1e-12)


def test_geometric_sequences_positive_ratios():
    gen, exact = geometric(np.array([0.9999, 0.99, 0.5, 1e-3]), np.array([1.0, 2.0, 0.5, 1.0]))
    for n in (16, 20):
        np.testing.assert_allclose(invert_generating_function(gen, STEPS, n_nodes=n), exact, rtol=0, atol=1e-8)


def test_oscillating_ratios_need_the_shifted_contour():
    gen, exact = geometric(np.array([0.999, 0.5, -0.7, -0.95]), np.array([1.0, 1.0, 0.3, 0.2]))
    np.testing.assert_allclose(invert_generating_function(gen, STEPS, oscillating=True), exact, atol=1e-8)
    plain = invert_generating_function(gen, STEPS, oscillating=False)
    assert np.abs(plain - exact).max() > 1e-3  # the plain contour misses the modes on Im u = π


def test_rejects_negative_steps():
    with pytest.raises(ValueError):
        invert_generating_function(lambda z: 1 / (1 - z), np.array([-1, 2]))
