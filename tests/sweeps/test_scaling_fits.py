"""Power-law fits: known slopes recovered with an uncertainty that covers them at about the stated
rate; frontier exponents from curves with a known compute-optimal law; the theory's asymptotic slopes."""

import numpy as np
import pandas as pd
import pytest

from twopoint.compare.scaling import compute_frontier, fit_frontier, fit_power_law, fit_replicas, theory_slopes

STEPS = np.unique(np.geomspace(1, 3000, 50).round())


def _replicas(slope, seed, replicas=48, noise=0.3, offset=0.0):
    rng = np.random.default_rng(seed)
    return offset + 2.0 * STEPS**slope * np.exp(noise * rng.standard_normal((replicas, STEPS.size)))


def test_deterministic_fit_is_exact_on_a_power_law_with_offset():
    y = 0.25 + 3.0 * STEPS**-0.6
    fit = fit_power_law(STEPS, y, window=(10, 3000), offset=0.25)
    assert fit.slope == pytest.approx(-0.6, abs=1e-12) and fit.prefactor == pytest.approx(3.0, rel=1e-10)
    assert fit.window == (STEPS[STEPS >= 10][0], 3000) and np.isnan(fit.stderr)
    assert fit_power_law(STEPS, y, window=(10, 3000)).slope > -0.6  # ignoring the offset biases the slope


def test_replica_bootstrap_interval_covers_the_true_slope_at_the_stated_rate():
    fits = [fit_replicas(STEPS, _replicas(-0.7, seed), window=(10, 3000), n_boot=400, seed=seed) for seed in range(40)]
    coverage = np.mean([f.covers(-0.7) for f in fits])
    slopes, ses = np.array([f.slope for f in fits]), np.array([f.stderr for f in fits])
    assert 0.8 <= coverage <= 1.0  # nominal 95 %: 40 draws, binomial sd 3.4 %, percentile bootstrap runs a bit low
    assert abs(slopes.mean() + 0.7) < 3 * slopes.std() / np.sqrt(len(slopes))  # unbiased
    assert 0.7 < ses.mean() / slopes.std() < 1.4  # the stated error is the actual scatter


def test_wrong_slope_is_not_covered():
    fit = fit_replicas(STEPS, _replicas(-0.7, 0), window=(10, 3000))
    assert not fit.covers(-0.65) and not fit.covers(-0.75)


def test_diverged_replicas_are_left_out_and_offsets_subtracted():
    values = _replicas(-0.5, 1, offset=0.1)
    values[3, 20:] = np.nan
    fit = fit_replicas(STEPS, values, window=(10, 3000), offset=0.1)
    assert fit.covers(-0.5)
    with pytest.raises(ValueError, match="positive"):
        fit_replicas(STEPS, values, window=(10, 3000), offset=1.0)


def test_frontier_of_a_known_compute_law():
    """L(N, t) = a/N^p + b/t^q: the frontier is L* ~ C^(−pq/(p+q)) at N* ~ C^(q/(p+q)), C = B·t·N."""
    alpha, beta = 1.5, 2.0
    p, q = beta - 1, (beta - 1) / alpha
    sizes = np.unique(np.geomspace(4, 4096, 61).round())
    steps = np.unique(np.geomspace(1, 1e7, 200).round())
    n, t = np.meshgrid(sizes, steps, indexing="ij")
    curves = pd.DataFrame({"size": n.ravel(), "step": t.ravel(), "batch_size": 8, "value": (1 / n**p + 1 / t**q).ravel()})
    front = compute_frontier(curves)
    assert np.all(np.diff(front.loss) <= 1e-12)  # more compute never hurts on the frontier
    np.testing.assert_allclose(front.step * 8 * front["size"], front.compute)
    interior = front[(front["size"] > sizes[0]) & (front["size"] < sizes[-1])]
    fits = fit_frontier(front, window=(interior.compute.min(), interior.compute.max()))
    expected = theory_slopes(alpha, beta)
    assert -p * q / (p + q) == pytest.approx(expected["loss_vs_compute"])
    assert fits["loss_vs_compute"].slope == pytest.approx(expected["loss_vs_compute"], abs=0.01)
    assert fits["optimal_size_vs_compute"].slope == pytest.approx(expected["optimal_size_vs_compute"], abs=0.03)


def test_theory_slopes():
    s = theory_slopes(1.5, 1.5)  # docs/theory.md §11: α = β = 1.5
    assert s == pytest.approx({"risk_vs_time": -1 / 3, "approximation_vs_size": -0.5, "loss_vs_compute": -0.2,
                               "optimal_size_vs_compute": 0.4})
