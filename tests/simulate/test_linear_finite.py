"""Finite-data simulator: closed-form GD/GF vs explicit iteration, SGD paths, grouping."""

import numpy as np
import pytest
import torch

from conftest import assert_replicas_match, draw_data, make_problem
from twopoint.simulate import simulate

SMALL = ("data.dim=12", "optim.steps=80", "sim.replicas=3", "record.points=20", "sim.device=cpu", "theory.enabled=false")


def explicit_gd(problem, replica: int):
    """Plain numpy GD iteration on the replica's data, recorded on the grid."""
    z, noise = draw_data(problem, range(replica, replica + 1), torch.device("cpu"), torch.float64)
    x = z[0].numpy() * np.sqrt(problem.data.eigenvalues)
    y = x @ problem.data.teacher + noise[0].numpy()
    P = x.shape[0]
    w = np.zeros(problem.data.dim)
    risks, losses = [], []
    for t in range(problem.optim.steps + 1):
        if t in set(problem.record_steps.tolist()):
            e = w - problem.data.teacher
            risks.append(e @ (problem.data.test_eigenvalues * e) + problem.data.noise_std**2)
            losses.append(np.mean((x @ w - y) ** 2))
        w = w - problem.optim.lr * (x.T @ (x @ w - y) / P + problem.optim.ridge * w)
    return np.array(risks), np.array(losses)


@pytest.mark.parametrize("n_train, ridge", [(7, 0.0), (30, 0.0), (7, 0.05), (30, 0.1)])
def test_closed_form_gd_equals_explicit_iteration(n_train, ridge):
    p = make_problem(*SMALL, f"data.n_train={n_train}", "optim.algorithm=gd", f"optim.ridge={ridge}", "optim.lr=0.9",
                     "data.test_spectrum.kind=powerlaw", "data.test_spectrum.alpha=1.1")
    assert_replicas_match(simulate(p), lambda r: explicit_gd(p, r), 3, train_atol=1e-14)


def test_full_batch_epochs_equal_gd():
    """sgd_epochs with B = P visits the whole data set every step: exactly GD."""
    common = (*SMALL, "data.n_train=9", "optim.batch_size=9", "optim.ridge=0.02", "optim.lr=0.7")
    sgd = simulate(make_problem(*common, "optim.algorithm=sgd_epochs"))
    gd = simulate(make_problem(*common, "optim.algorithm=gd"))
    for q in ("test_risk", "train_loss"):
        np.testing.assert_allclose(sgd.values[q], gd.values[q], rtol=1e-9)


def test_gradient_flow_is_the_small_step_limit_of_gd():
    common = (*SMALL, "data.n_train=20", "record.points=10")
    gf = simulate(make_problem(*common, "optim.algorithm=gradient_flow", "optim.lr=0.5", "optim.steps=40"))
    gd = simulate(make_problem(*common, "optim.algorithm=gd", "optim.lr=0.005", "optim.steps=4000", "record.points=10"))
    # same physical times t = lr × step on both grids' last point
    assert gf.time[-1] == pytest.approx(gd.time[-1])
    np.testing.assert_allclose(gd.values["test_risk"][:, -1], gf.values["test_risk"][:, -1], rtol=2e-2)


def test_replica_groups_do_not_change_results():
    common = (*SMALL, "data.n_train=10", "optim.algorithm=sgd", "optim.batch_size=2", "optim.lr=0.5")
    one = simulate(make_problem(*common))
    many = simulate(make_problem(*common, "sim.data_gib=1e-9"))
    assert many.info["replica_groups"] == 3
    np.testing.assert_allclose(one.values["test_risk"], many.values["test_risk"], rtol=1e-12)


def test_sgd_with_replacement_records_both_quantities_and_starts_at_analytic_values():
    p = make_problem(*SMALL, "data.n_train=10", "optim.algorithm=sgd", "optim.batch_size=2", "optim.lr=0.5")
    c = simulate(p)
    assert set(c.values) == {"test_risk", "train_loss"}
    np.testing.assert_allclose(c.values["test_risk"][:, 0], p.data.initial_risk)
    assert np.all(c.values["train_loss"][:, -1] < c.values["train_loss"][:, 0])


def test_unstable_gd_diverges_as_a_result():
    p = make_problem(*SMALL, "data.n_train=30", "optim.algorithm=gd", "optim.lr=5.0", "optim.steps=2000")
    c = simulate(p)
    assert c.diverged_fraction == 1.0 and np.all(c.diverged_at > 0)
