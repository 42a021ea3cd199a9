"""Regime diagnostics (compare/diagnostics.py): the known deviations fire on the configs where they were
measured and stay silent on a benign one; the verdict reason names them at a failing point.  No simulation."""

import numpy as np
import pytest

import twopoint as tp
from twopoint.compare.diagnostics import Deviation, regime_diagnostics
from twopoint.compare.verdict import Tolerances, curve_verdict

EDGE = ("data.dim=142", "data.n_train=212", "data.spectrum.alpha=1.215", "data.teacher.beta=1.7", "data.noise_std=0.01",
        "optim.algorithm=gd", "optim.ridge=0.0", "optim.lr=0.914", "optim.steps=91606", "record.points=40")
CONFIGS = {
    "heavy B = 1": (("data.dim=150", "data.spectrum.alpha=1.854", "data.teacher.beta=1.394", "data.noise_std=0.283",
                     "optim.batch_size=1", "optim.steps=1191", "optim.lr=0.2402"), {"heavy_tailed_replicas"}),
    "edge, random features": (("model=random_features", "model.n_features=229", *EDGE), {"edge_dominance", "rf_finite_width"}),
    "edge, linear": (EDGE, {"edge_dominance"}),
    "P = D": (("data.dim=300", "data.n_train=300", "optim.algorithm=gd", "optim.ridge=0.0", "optim.lr=0.9",
               "optim.steps=90000"), {"near_interpolation", "edge_dominance"}),
    "N = P": (("model=random_features", "model.n_features=300", "data.dim=1000", "data.n_train=300",
               "optim.algorithm=gd", "optim.ridge=0.0", "optim.lr=0.9", "optim.steps=90000"),
              {"near_interpolation", "edge_dominance", "rf_finite_width"}),
    "digits": (("experiment=kernel_digits", "optim.steps=1000"), {"non_gaussian_inputs"}),  # ηλ_edge T = 0.1
    "benign": ((), set()),
    "benign, ridge and large sizes": (("data.dim=1000", "data.n_train=600", "optim.algorithm=gd", "optim.ridge=0.01",
                                       "optim.lr=0.9", "optim.steps=90000"), set()),
}


def diagnose(*overrides):
    """The diagnostics of a config before any simulation; the theory's info (its critical learning rate) is
    predicted where it is cheap, online, the only regime here with a small batch."""
    problem = tp.build_problem(tp.compose(*overrides))
    info = tp.predict(problem).info if problem.data.online else {}
    return problem, regime_diagnostics(problem, info, {})


@pytest.mark.parametrize("name", list(CONFIGS))
def test_diagnostics_fire_where_measured_and_stay_silent_elsewhere(name):
    overrides, expected = CONFIGS[name]
    assert {d.name for d in diagnose(*overrides)[1]} == expected


def test_late_time_deviations_apply_only_after_the_edge_modes_are_reached():
    problem, found = diagnose(*EDGE)
    (edge,) = found
    lam = np.sort(problem.data.eigenvalues)[::-1][141]  # λ_edge = λ_min(D, P)
    assert edge.from_step == problem.record_steps[lam * problem.record_times >= 1][0]
    assert not edge.covers(problem.record_steps[problem.record_steps < edge.from_step]).any()
    assert "ηλ_edge t reaches 203" in edge.detail


def test_the_verdict_reason_names_the_deviations_at_the_failing_points():
    stats = {"test_risk": {"points": 3, "_rel": np.array([0.0, 0.0, 0.1]), "_z": np.array([0.0, 0.0, 9.0]),
                           "_steps": np.array([1, 10, 100]), "_heavy": np.zeros(3, bool), "_bias": 0.0, "_bias_z": 0.0}}
    tol = Tolerances(0.03, 4.0)
    late, early = Deviation("edge_dominance", "", from_step=50), Deviation("heavy_tailed_replicas", "", steps=(1,))
    verdict, reason = curve_verdict(stats, tol, 64, [late, early])
    assert verdict == "fail" and reason.endswith("[known deviations there: edge_dominance]")
    assert "known deviations" not in curve_verdict(stats, tol, 64, [Deviation("edge_dominance", "", from_step=200)])[1]
    by_config = Deviation("heavy_tailed_replicas", "")  # B = 1 at a large η: everywhere, measured or not
    assert curve_verdict(stats, tol, 64, [by_config])[1].endswith("[known deviations there: heavy_tailed_replicas]")
    stats["test_risk"]["_heavy"] = np.array([False, False, True])  # measured there: said once, as a tail note
    assert curve_verdict(stats, tol, 64, [by_config])[1].endswith("[heavy-tailed replicas at 1 of them (error bar unreliable)]")
