"""Online SGD simulator: conventions, reproducibility, replica independence, divergence."""

import numpy as np
import pytest
import torch

from conftest import make_problem
from twopoint.simulate import simulate

SMALL = ("data.dim=20", "optim.steps=60", "sim.replicas=8", "record.points=15", "sim.device=cpu")


def test_shapes_time_axis_and_initial_risk():
    p = make_problem(*SMALL)
    c = simulate(p)
    v = c.values["test_risk"]
    assert v.shape == (8, p.record_steps.size) and v.dtype == np.float64
    np.testing.assert_array_equal(c.steps, p.record_steps)
    np.testing.assert_allclose(c.time, p.optim.lr * p.record_steps)
    np.testing.assert_allclose(v[:, 0], p.data.initial_risk, rtol=1e-12)
    assert not c.diverged


def test_same_seed_same_numbers_and_seed_matters():
    a = simulate(make_problem(*SMALL)).values["test_risk"]
    b = simulate(make_problem(*SMALL)).values["test_risk"]
    c = simulate(make_problem(*SMALL, "seed=5")).values["test_risk"]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[:, -1], c[:, -1])


def test_replica_does_not_depend_on_how_many_run_with_it():
    few = simulate(make_problem(*SMALL, "sim.replicas=3")).values["test_risk"]
    many = simulate(make_problem(*SMALL, "sim.replicas=7")).values["test_risk"]
    np.testing.assert_allclose(many[:3], few, rtol=1e-12)


def test_chunking_does_not_change_results():
    a = simulate(make_problem(*SMALL, "sim.chunk_mib=1")).values["test_risk"]
    b = simulate(make_problem(*SMALL, "sim.chunk_mib=256")).values["test_risk"]
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_float32_simulation_tracks_float64():
    a = simulate(make_problem(*SMALL, "sim.dtype=float32"))
    b = simulate(make_problem(*SMALL))
    assert a.info["dtype"] == "float32"
    np.testing.assert_allclose(a.values["test_risk"], b.values["test_risk"], rtol=1e-4)


def test_divergence_is_recorded_not_raised():
    p = make_problem(*SMALL, "optim.lr=3.0", "optim.steps=400", "record.points=30")
    c = simulate(p)
    assert c.diverged_fraction == 1.0
    v = c.values["test_risk"]
    for r, step in enumerate(c.diverged_at):
        assert 0 < step <= 400
        assert np.all(np.isnan(v[r, c.steps >= step]))
        assert np.all(np.isfinite(v[r, c.steps < step]))


def test_ridge_and_noise_free_single_sample_update_matches_hand_computation():
    """One SGD step with B = 1, σ = 0 from w = 0: w_1 = η y x, so e_1 = η (x·w*) x − w*."""
    p = make_problem("data.dim=5", "optim.steps=1", "sim.replicas=2", "record.points=2", "optim.batch_size=1", "data.noise_std=0")
    c = simulate(p)
    from twopoint.simulate.rng import normals, replica_generators

    z = normals(replica_generators(p.seed, 2, torch.device("cpu")), (1, 1, 6), torch.device("cpu")).double().numpy()
    x = z[:, 0, 0, :5] * np.sqrt(p.data.eigenvalues)
    w = p.optim.lr * (x @ p.data.teacher)[:, None] * x
    expected = ((w - p.data.teacher) ** 2) @ p.data.eigenvalues
    np.testing.assert_allclose(c.values["test_risk"][:, 1], expected, rtol=1e-12)


@pytest.mark.gpu
def test_cuda_simulation_runs_and_matches_statistics():
    p = make_problem(*SMALL, "sim.device=cuda", "sim.replicas=512")
    c = simulate(p)
    assert c.info["device"].startswith("cuda")
    q = simulate(make_problem(*SMALL, "sim.replicas=512"))
    se = np.hypot(c.stderr("test_risk"), q.stderr("test_risk"))[1:]
    assert np.all(np.abs(c.mean("test_risk") - q.mean("test_risk"))[1:] <= 5 * se)
