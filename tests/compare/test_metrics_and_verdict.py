"""compare on synthetic Curves: metrics, pointwise verdict rule and divergence agreement."""

import numpy as np
import pytest

from twopoint.compare import Tolerances, evaluate
from twopoint.compare.metrics import quantity_metrics
from twopoint.core.curves import SIMULATION, THEORY, Curves

STEPS = np.array([0, 1, 10, 100])


def make(values, source, diverged=None):
    values = np.asarray(values, dtype=float)
    div = np.full(values.shape[0] if source == SIMULATION else 1, -1) if diverged is None else np.asarray(diverged)
    return Curves(source, "test", STEPS, STEPS * 0.5, {"test_risk": values}, div)


def test_metrics_on_known_numbers():
    theory = make([2.0, 1.0, 0.5, 0.25], THEORY)
    sim = make([[2.0, 1.1, 0.5, 0.25], [2.0, 0.9, 0.5, 0.35]], SIMULATION)
    m = quantity_metrics(sim, theory, "test_risk")
    assert m["points"] == 3  # step 0 excluded
    assert m["max_rel_err"] == pytest.approx(0.2)  # (0.30 − 0.25)/0.25
    assert m["median_rel_err"] == pytest.approx(0.0)
    assert m["argmax_rel_err_step"] == 100
    assert m["max_abs_z"] == pytest.approx(1.0)  # stderr at step 100 is 0.05


def test_verdict_accepts_precise_small_bias_and_noisy_large_error_but_not_both():
    tol = Tolerances(max_rel_err=0.03, max_abs_z=4.0)
    theory = make([1.0, 1.0, 1.0, 1.0], THEORY)
    precise_biased = make([[1.0, 1.02, 1.02, 1.02], [1.0, 1.0201, 1.0201, 1.0201]], SIMULATION)
    assert evaluate(precise_biased, theory, tol).metrics["verdict"] == "pass"
    noisy = make([[1.0, 1.5, 1.5, 1.5], [1.0, 0.7, 0.7, 0.7]], SIMULATION)  # 10 % off, 0.5 stderr
    assert evaluate(noisy, theory, tol).metrics["verdict"] == "pass"
    wrong = make([[1.0, 1.2, 1.2, 1.2], [1.0, 1.21, 1.21, 1.21]], SIMULATION)
    ev = evaluate(wrong, theory, tol)
    assert ev.metrics["verdict"] == "fail" and "3/3 points" in ev.metrics["verdict_reason"]


@pytest.mark.parametrize(
    "theory_div, sim_div, verdict",
    [(5, [3, 4], "pass"), (5, [-1, -1], "fail"), (-1, [3, -1], "fail"), (5, [3, -1], "pass")],
)
def test_divergence_agreement(theory_div, sim_div, verdict):
    tol = Tolerances(0.03, 4.0)
    theory = make([1.0, 1.0, np.nan, np.nan] if theory_div >= 0 else [1.0] * 4, THEORY, [theory_div])
    sim = make([[1.0, 1.0, np.nan, np.nan], [1.0, 1.0, 1.0, 1.0]], SIMULATION, sim_div)
    assert evaluate(sim, theory, tol).metrics["verdict"] == verdict


def test_mean_skips_diverged_replicas_and_table_is_tidy():
    sim = make([[1.0, 2.0, np.nan, np.nan], [1.0, 4.0, 6.0, 8.0]], SIMULATION, [10, -1])
    np.testing.assert_allclose(sim.mean("test_risk"), [1.0, 3.0, 6.0, 8.0])
    assert np.isnan(sim.stderr("test_risk")[-1])  # one replica left: no error estimate
    df = sim.to_frame()
    assert list(df.columns) == ["source", "method", "quantity", "step", "time", "value", "stderr"]
    assert len(df) == 4


def test_tolerances_must_be_positive():
    from types import SimpleNamespace

    from twopoint.core.errors import ConfigError

    with pytest.raises(ConfigError, match="compare.max_rel_err"):
        Tolerances.from_config(SimpleNamespace(max_rel_err=0.0, max_abs_z=4.0))
