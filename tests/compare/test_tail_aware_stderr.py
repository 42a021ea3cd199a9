"""The tail-aware standard error (compare/metrics.py) and the verdict that uses it.

Heavy-tailed replicas make a point's sample standard error too small exactly when its mean is low, so the
sample-stderr rule rejects an exact theory: online linear SGD (exact at finite D) at B = 1 and η = 0.4 η_crit
with 512 replicas fails at step 60 (−3.9 %, z = −4.7 by the sample stderr) with seed 0.  The tail-aware
stderr passes it, and a theory 4 % off everywhere is rejected by both rules.
"""

from dataclasses import replace

import numpy as np
import pytest

import twopoint as tp
from twopoint.compare.metrics import HEAVY_TAIL_SHARE, neighbourhoods, replica_tails, tail_aware_stderr
from twopoint.compare.verdict import Tolerances

HEAVY = ("data.dim=150", "data.spectrum.alpha=1.854", "data.teacher.beta=1.394", "data.noise_std=0.283",
         "optim.batch_size=1", "optim.steps=1191", "optim.lr=0.2402", "sim.replicas=512", "record.points=40",
         "sim.device=cpu", "seed=0")
SAMPLE, TAIL_AWARE = Tolerances(0.03, 4.0, tail_aware=False), Tolerances(0.03, 4.0)


def test_replica_shares_on_known_numbers():
    values = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [5.0, np.nan]])
    share, var_share = replica_tails(values)
    assert share == pytest.approx([5 / 8, 2 / 6])
    assert var_share[0] == pytest.approx(9 / 12)  # deviations (−1, −1, −1, 3) from the mean 2
    assert np.isnan(var_share[1])  # three equal finite values: no spread


def test_neighbourhood_is_a_factor_window_in_step():
    w = neighbourhoods(np.array([1, 2, 4, 100]), factor=2.0)
    assert w.tolist() == [[True, True, False, False], [True, True, True, False],
                          [False, True, True, False], [False, False, False, True]]


def test_tail_aware_stderr_pools_the_relative_spread_and_never_shrinks_it():
    mean = np.array([1.0, 2.0, 4.0])
    window = np.ones((3, 3), dtype=bool)
    same_cv = tail_aware_stderr(mean, 0.1 * mean, window)
    np.testing.assert_allclose(same_cv, 0.1 * mean)  # constant relative spread: unchanged
    low = tail_aware_stderr(mean, np.array([0.1, 0.02, 0.4]), window)  # the middle point lacks its outliers
    rel2 = np.mean([0.1**2, 0.01**2, 0.1**2])
    np.testing.assert_allclose(low, [0.1, 2.0 * np.sqrt(rel2), 0.4])


@pytest.fixture(scope="module")
def heavy_run():
    problem = tp.build_problem(tp.compose(*HEAVY))
    return problem, tp.simulate(problem), tp.predict(problem)


def test_exact_theory_fails_the_sample_stderr_rule_and_passes_the_tail_aware_one(heavy_run):
    problem, sim, theory = heavy_run
    old = tp.evaluate(sim, theory, SAMPLE, problem).metrics
    new = tp.evaluate(sim, theory, TAIL_AWARE, problem).metrics
    assert old["verdict"] == "fail" and "1/34 points" in old["verdict_reason"]
    assert "heavy-tailed replicas" in old["verdict_reason"]  # the reason says the failing point is unreliable
    q = new["quantities"]["test_risk"]
    assert q["max_abs_z_sample"] > 4.5 and q["max_abs_z"] < 4.0 and q["max_variance_share"] > HEAVY_TAIL_SHARE
    assert new["verdict"] == "pass"
    assert [d["name"] for d in new["regime_diagnostics"]] == ["heavy_tailed_replicas"]


@pytest.mark.parametrize("factor", [1.04, 0.96])
def test_a_theory_four_percent_off_fails_both_rules(heavy_run, factor):
    problem, sim, theory = heavy_run
    biased = replace(theory, values={q: v * factor for q, v in theory.values.items()})
    for tol in (SAMPLE, TAIL_AWARE):
        assert tp.evaluate(sim, biased, tol, problem).metrics["verdict"] == "fail"
