"""The verdict on real runs: a badly wrong theory fails with few replicas, a correct one passes on most seeds.

Config: online linear SGD, D = 50, B = 16, T = 200 (43 grid points).  The correct theory is the exact online
theory (generating function) at η = 0.88 ≈ 0.5 η_crit; the wrong one is the continuous-time approximation at
η = 1.5 ≈ 0.85 η_crit, 27–35 % too high everywhere while each point stays within its 16-replica error bar.
Measured (``pytest -m slow tests/compare/test_verdict_calibration.py``): correct theory passes 48/50 seeds at 16
replicas and 50/50 at 256; the wrong one fails 47/50 seeds at 16 replicas, seed 0 included.
"""

import pytest

import twopoint as tp

SMALL = ("optim.steps=200", "data.dim=50", "sim.device=cpu")
WRONG = (*SMALL, "sim.replicas=16", "optim.lr=1.5", "theory.method=continuous_time")


def test_the_wrong_theory_fails_at_16_replicas_by_its_consistent_bias():
    res = tp.run(*WRONG)
    q = res.metrics["quantities"]["test_risk"]
    assert q["max_abs_z"] < 4.0  # no single point resolves it
    assert res.verdict == "fail" and "consistent bias" in res.metrics["verdict_reason"]


def pass_count(*overrides, seeds=50) -> int:
    return sum(tp.run(*overrides, f"seed={s}").verdict == "pass" for s in range(seeds))


@pytest.mark.slow
@pytest.mark.parametrize("replicas, least", [(16, 46), (256, 49)])
def test_a_correct_theory_passes_on_most_seeds(replicas, least):
    """≥ 95 % at 16 replicas (48/50 measured; 46 allows for the binomial spread), ≥ 99 % at 256 (50/50)."""
    assert pass_count(*SMALL, f"sim.replicas={replicas}", "optim.lr=0.88") >= least


@pytest.mark.slow
def test_the_wrong_theory_fails_on_most_seeds():
    assert pass_count(*WRONG) <= 6  # 3/50 measured
