"""Theory vs simulation for online SGD (exact theory at finite D, so only Monte-Carlo error).

Tolerance: every recorded point (step > 0) within K = 4 standard errors of the replica mean.
For ~30 points a Gaussian mean exceeds 4 stderr somewhere with probability < 30 × 6.3e-5 ≈ 0.2 %
(Bonferroni).  The learning rates stay at ≤ 0.5 of the critical value, where the per-replica
risk is not heavy-tailed (docs/theory.md §2).  Each test also checks *power*: a theory with a wrong
batch size (or the continuous-time approximation) must be rejected by the same criterion.
"""

import numpy as np
import pytest

from conftest import make_problem
from twopoint.simulate import simulate
from twopoint.theory.online_linear import OnlineSGD
from twopoint.theory.predict import predict
from twopoint.theory.predict_common import population

K = 4.0
BASE = ("data.dim=20", "data.spectrum.alpha=1.3", "data.teacher.kind=random", "optim.steps=300",
        "sim.replicas=2000", "record.points=30", "sim.device=cpu")


def z_scores(sim, prediction):
    keep = sim.steps > 0
    return ((sim.mean("test_risk") - prediction) / sim.stderr("test_risk"))[keep]


def critical_lr(batch, ridge=0.0):
    p = make_problem(*BASE, f"optim.batch_size={batch}", f"optim.ridge={ridge}")
    return OnlineSGD(population(p), 1.0, batch, ridge).critical_lr()


@pytest.mark.parametrize(
    "batch, frac, ridge, extra",
    [
        (1, 0.4, 0.0, ()),
        (4, 0.5, 0.0, ("data.noise_std=0.5",)),
        (4, 0.5, 0.1, ()),
        (2, 0.5, 0.0, ("data.test_spectrum.kind=powerlaw", "data.test_spectrum.alpha=0.7")),
    ],
)
def test_replica_mean_within_monte_carlo_error(batch, frac, ridge, extra):
    lr = frac * critical_lr(batch, ridge)
    p = make_problem(*BASE, f"optim.batch_size={batch}", f"optim.lr={lr}", f"optim.ridge={ridge}", *extra)
    sim, th = simulate(p), predict(p)
    z = z_scores(sim, th.values["test_risk"])
    assert np.abs(z).max() <= K, f"max |z| = {np.abs(z).max():.2f}"
    # power: the same data reject the theory for batch size 2B (half the SGD noise)
    wrong = OnlineSGD(population(p), lr, 2 * batch, p.optim.ridge).generating_function_curves(p.record_steps)[1]
    assert np.abs(z_scores(sim, wrong)).max() > K


def test_continuous_time_approximation_is_rejected_at_moderate_lr():
    p = make_problem(*BASE, "optim.batch_size=4", f"optim.lr={0.5 * critical_lr(4)}", "theory.method=continuous_time")
    sim, th = simulate(p), predict(p)
    assert np.abs(z_scores(sim, th.values["test_risk"])).max() > K


def test_beyond_the_edge_both_diverge():
    p = make_problem(*BASE, "optim.batch_size=2", f"optim.lr={1.3 * critical_lr(2)}", "optim.steps=3000", "sim.replicas=64")
    th = predict(p)
    sim = simulate(p)
    assert th.diverged and th.diverged_at[0] > 0
    assert sim.diverged_fraction >= 0.5
