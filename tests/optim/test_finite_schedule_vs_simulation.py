"""Finite-data theory with schedules and momentum against simulation, by the verdict rule (docs/theory.md §15).

Each case must pass ``tp.evaluate(sim, theory).metrics["verdict"]`` and the theory of another optimiser (without the
decay, or with β = 0) must fail the same rule on the same simulation (power).  A constant schedule given as
multipliers reproduces the constant-rate theory.
"""

import numpy as np
import pytest

import twopoint as tp
from conftest import make_problem
from twopoint.core.errors import ConfigError

BASE = ("data.dim=100", "data.n_train=50", "sim.replicas=64", "sim.device=cpu", "record.points=25",
        "data.noise_std=0.3")
CASES = {  # overrides, the wrong optimiser's overrides (replacing the schedule/momentum keys)
    "gd_step_decay": (("optim.algorithm=gd", "optim.lr=1.0", "optim.steps=1000", "optim.schedule.kind=step",
                       "optim.schedule.milestones=[100]", "optim.schedule.gamma=0.1"), ("optim.schedule.kind=constant",)),
    "gd_heavy_ball": (("optim.algorithm=gd", "optim.lr=0.6", "optim.steps=600", "optim.momentum=0.5"),
                      ("optim.momentum=0.0",)),
    "gd_nesterov_cosine": (("optim.algorithm=gd", "optim.lr=0.6", "optim.steps=600", "optim.momentum=0.5",
                            "optim.nesterov=true", "optim.schedule.kind=cosine"), ("optim.momentum=0.0",)),
    "gradient_flow_cosine": (("optim.algorithm=gradient_flow", "optim.lr=1.0", "optim.steps=600",
                              "optim.schedule.kind=cosine"), ("optim.schedule.kind=constant",)),
    "sgd_cosine": (("data.n_train=40", "optim.algorithm=sgd", "optim.batch_size=4", "optim.lr=0.4", "optim.steps=400",
                    "optim.schedule.kind=cosine"), ("optim.schedule.kind=constant",)),
    "sgd_heavy_ball": (("data.n_train=40", "optim.algorithm=sgd", "optim.batch_size=4", "optim.lr=0.15",
                        "optim.steps=400", "optim.momentum=0.5"), ("optim.momentum=0.0",)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_theory_passes_and_another_optimiser_fails(case):
    overrides, wrong = CASES[case]
    problem = make_problem(*BASE, *overrides)
    sim, theory = tp.simulate(problem), tp.predict(problem)
    assert "with " in theory.method and theory.info["optimiser"]["theory"] == "docs/theory.md §15"
    if problem.optim.algorithm == "sgd":
        assert theory.method.startswith("C2 closure on")  # auto: the DE does not cover SGD with a schedule/momentum
    assert tp.evaluate(sim, theory).metrics["verdict"] == "pass"
    other = tp.predict(make_problem(*BASE, *overrides, *wrong, "sim.enabled=false"))
    assert tp.evaluate(sim, other).metrics["verdict"] == "fail"


@pytest.mark.parametrize("algorithm", ["gd", "gradient_flow", "sgd"])
def test_constant_multipliers_reproduce_the_constant_rate_theory(algorithm):
    over = (*BASE, "data.n_train=40", f"optim.algorithm={algorithm}", "optim.lr=0.4", "optim.steps=300",
            "sim.enabled=false", "theory.method=" + ("given_data" if algorithm == "sgd" else "deterministic_equivalent"))
    plain = make_problem(*over)
    ones = make_problem(*over, "optim.schedule.kind=custom", f"optim.schedule.values=[{','.join(['1.0'] * 300)}]")
    assert ones.optim.extensions == {"schedule"}
    a, b = tp.predict(plain), tp.predict(ones)
    for q in a.values:
        np.testing.assert_allclose(b.values[q], a.values[q], rtol=1e-8)


def test_sgd_with_a_schedule_is_not_claimed_by_the_deterministic_equivalent():
    over = (*BASE, "optim.algorithm=sgd", "optim.steps=100", "optim.schedule.kind=cosine", "sim.enabled=false")
    with pytest.raises(ConfigError) as err:
        tp.predict(make_problem(*over, "theory.method=deterministic_equivalent"))
    assert err.value.key == "optim.schedule.kind"


def test_divergent_schedule_is_predicted_and_agrees_with_simulation():
    """A warmup to 1.5× the GD edge held for 200 steps: the top modes grow past 1e6, both sides diverge."""
    problem = make_problem(*BASE, "optim.algorithm=gd", "optim.lr=3.0", "optim.steps=300", "optim.schedule.kind=constant",
                           "optim.schedule.warmup_steps=20")
    theory = tp.predict(problem)
    assert theory.diverged_at[0] > 0 and np.isinf(theory.values["test_risk"][-1])
    metrics = tp.evaluate(tp.simulate(problem), theory).metrics
    assert metrics["verdict"] == "pass", metrics


def test_random_features_gd_with_a_schedule_uses_the_deterministic_equivalent():
    problem = make_problem("model=random_features", "model.n_features=100", "data.dim=200", "data.n_train=80",
                           "sim.replicas=64", "sim.device=cpu", "record.points=25", "optim.algorithm=gd", "optim.lr=1.0",
                           "optim.steps=600", "optim.schedule.kind=step", "optim.schedule.milestones=[100]",
                           "optim.schedule.gamma=0.1")
    sim, theory = tp.simulate(problem), tp.predict(problem)
    assert theory.method.startswith("two-point DE over data and F, discrete GD with schedule")
    assert tp.evaluate(sim, theory).metrics["verdict"] == "pass"
