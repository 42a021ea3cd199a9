"""Two-point deterministic equivalent vs simulated finite-data training (docs/theory.md §5, §6).

Tolerance per recorded point: |mean − theory| ≤ 4·stderr + BIAS·|theory|.  4 stderr bounds the
Monte-Carlo error of ~25 points (Bonferroni, < 0.2 % false alarms for Gaussian means); BIAS = 3 %
allows the deterministic equivalent's own finite-size error at D = 100, which docs/theory.md §11 and the
given-data comparison measure at 0.5–3 % (it is O(1/D), not Monte-Carlo).  Each case also checks
power: the theory for a 30 % larger training set must be rejected by the same rule.
"""

import numpy as np
import pytest

from conftest import make_problem
from twopoint.simulate import simulate
from twopoint.theory.predict import predict

K, BIAS = 4.0, 0.03
BASE = ("data.dim=100", "sim.replicas=300", "record.points=25", "sim.device=cpu", "data.noise_std=0.3")


def worst(sim, theory, quantity, floor=0.05):
    """Largest violation ratio |mean − theory| / (K·stderr + BIAS·|theory|) over points that matter."""
    m, se, th = sim.mean(quantity), sim.stderr(quantity), theory.values[quantity]
    keep = (sim.steps > 0) & (np.abs(th) > floor * np.abs(th[0]))  # train loss: where > 5 % of its start
    return np.max(np.abs(m - th)[keep] / (K * se[keep] + BIAS * np.abs(th[keep])))


CASES = {
    "gd_P<D": ("data.n_train=60", "optim.algorithm=gd", "optim.lr=1.0", "optim.steps=3000"),
    "gd_P>D_ridge": ("data.n_train=300", "optim.algorithm=gd", "optim.lr=0.8", "optim.steps=3000", "optim.ridge=1e-3"),
    "gradient_flow_near_peak": ("data.n_train=90", "optim.algorithm=gradient_flow", "optim.lr=1.0", "optim.steps=5000"),
    "gd_covariate_shift": ("data.n_train=50", "optim.algorithm=gd", "optim.lr=1.0", "optim.steps=3000",
                           "data.test_spectrum.kind=powerlaw", "data.test_spectrum.alpha=1.2"),
    "sgd_B1": ("data.n_train=50", "optim.algorithm=sgd", "optim.batch_size=1", "optim.lr=0.25", "optim.steps=1500"),
    "sgd_B8": ("data.n_train=50", "optim.algorithm=sgd", "optim.batch_size=8", "optim.lr=0.6", "optim.steps=1000"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_theory_matches_simulation(case):
    p = make_problem(*BASE, *CASES[case])
    if p.optim.algorithm == "sgd":
        assert p.optim.lr <= 0.6 * predict(p).info["sgd_critical_lr"]  # benign region (docs/theory.md §6)
    sim, th = simulate(p), predict(p)
    for q in ("test_risk", "train_loss"):
        assert worst(sim, th, q) <= 1.0, f"{q}: violation ratio {worst(sim, th, q):.2f}"
    wrong = predict(make_problem(*BASE, *CASES[case], f"data.n_train={int(1.3 * p.data.n_train)}"))
    assert max(worst(sim, wrong, q) for q in ("test_risk", "train_loss")) > 1.0
